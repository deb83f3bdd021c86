"""The shared strings table, and the text of a string element wherever it stands.

Excel stores most cell texts once, in ``xl/sharedStrings.xml``, one ``<si>`` per text, and a
cell refers to its text by index. An ``<si>`` holds a plain ``<t>``, or runs ``<r>`` of
formatted text each with its ``<t>``; Japanese Excel adds the reading of the text (furigana)
in ``<rPh>`` runs inside the same ``<si>``. The text is the ``<t>`` and the runs' ``<t>``
only: reading every ``<t>`` would glue the furigana onto the text. Inline strings (a cell's
``<is>``) and comments hold the same structure and are read by the same rule. Control
characters come escaped as ``_xHHHH_`` (`text.decode_escapes`); what cannot be written is
replaced where the texts are used (`worksheet.CellValues`, `notes`).

The table is as large as what was typed (up to the part cap), so it is streamed through expat
callbacks (`zipguard.GuardedZip.parse_stream`), keeping nothing but the texts, and read only
when a cell refers to it.
"""

from __future__ import annotations

from .package import NS_MAIN
from .text import decode_escapes
from .zipguard import GuardedZip

# Element names as expat gives them (namespace, "}", local name).
X_SI, X_T, X_R = f"{NS_MAIN}}}si", f"{NS_MAIN}}}t", f"{NS_MAIN}}}r"


class RichText:
    """The text of a string element (``<si>``, ``<is>``) as it streams by: its ``t``, and the
    first ``t`` of each run ``r``, not the ``t`` of a furigana run ``rPh``.

    The handler that holds it passes on the elements that open and end inside the string
    element (`start`, `end`), and the character data while ``capturing``; an end that comes
    at ``depth`` 0 is the string element's own.
    """

    __slots__ = ("capturing", "depth", "parts", "run_has_t", "run_name")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.depth = 0  # elements open inside the string element
        self.run_name = ""  # the child of the string element that is open
        self.run_has_t = False
        self.capturing = False  # character data now is text of the string

    def start(self, name: str) -> None:
        self.depth += 1
        if self.depth == 1:
            self.run_name = name
            self.run_has_t = False
            self.capturing = name == X_T
        elif self.depth == 2 and name == X_T and self.run_name == X_R and not self.run_has_t:
            self.run_has_t = self.capturing = True
        else:
            self.capturing = False

    def end(self) -> None:
        """An element inside the string element ends."""
        self.depth -= 1
        self.capturing = False

    def text(self) -> str:
        return decode_escapes("".join(self.parts))


class _StringsHandler:
    """The shared strings table, streamed: one text per ``<si>``, into ``out``."""

    def __init__(self, out: list[str]) -> None:
        self.out = out
        self.rich: RichText | None = None

    def start(self, name: str, attrs: dict[str, str]) -> None:
        rich = self.rich
        if rich is not None:
            rich.start(name)
        elif name == X_SI:
            self.rich = RichText()

    def end(self, name: str) -> None:
        rich = self.rich
        if rich is None:
            return
        if rich.depth:
            rich.end()
        else:  # the </si>
            self.out.append(rich.text())
            self.rich = None

    def data(self, text: str) -> None:
        rich = self.rich
        if rich is not None and rich.capturing:
            rich.parts.append(text)


def read_shared_strings(parts: GuardedZip, part: str | None) -> list[str]:
    """The texts of the shared strings ``part`` (None, or a part not in the zip: no texts)."""
    out: list[str] = []
    if part and parts.has(part):
        parts.parse_stream(part, _StringsHandler(out), "共有文字列を解析できません")
    return out

