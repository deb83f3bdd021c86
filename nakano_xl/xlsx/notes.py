"""What people type beside the cells: comments (notes) and the text of shapes and text boxes.

A department sometimes answers in a note or a text box rather than in the cell; intake
reports such text, so it is never lost. Both live in their own parts, found through the
sheet's relationships: a comments part (``<comment>`` with a rich ``<text>``) and a drawing
part (DrawingML paragraphs ``<a:p>`` of ``<a:t>`` runs). Both are as large as what was typed
(up to the part cap), so they are streamed through expat callbacks (`zipguard`) like a sheet:
at most `KEEP_OUTSIDE` texts are kept per sheet, as for cells outside the answer area, and
the rest only counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .package import NS_MAIN, relationships
from .sharedstrings import RichText
from .worksheet import KEEP_OUTSIDE
from .zipguard import GuardedZip

NS_DRAWING_MAIN = "http://schemas.openxmlformats.org/drawingml/2006/main"
# Element names as expat gives them (namespace, "}", local name).
X_AUTHOR, X_COMMENT, X_TEXT = (f"{NS_MAIN}}}{n}" for n in ("author", "comment", "text"))
X_P, X_T = f"{NS_DRAWING_MAIN}}}p", f"{NS_DRAWING_MAIN}}}t"
MAX_AUTHORS = 1_000  # authors kept from one comments part (Excel writes one per person)


@dataclass(slots=True)
class Notes:
    """The first `KEEP_OUTSIDE` texts of a sheet's notes or drawings, and how many there are."""

    kept: list = field(default_factory=list)
    count: int = 0

    def add(self, item: object) -> None:
        self.count += 1
        if len(self.kept) < KEEP_OUTSIDE:
            self.kept.append(item)


def comments(parts: GuardedZip, sheet_part: str) -> Notes:
    """(A1, author, text) of the notes on a sheet — typed by someone, so never ignored — the
    first `KEEP_OUTSIDE` of them, and the count of all."""
    notes = Notes()
    for kind, part in relationships(parts, sheet_part).values():
        if kind.endswith("/comments") and parts.has(part):
            parts.parse_stream(part, _CommentsHandler(notes), f"コメント（{part}）を解析できません")
    return notes


def drawing_texts(parts: GuardedZip, sheet_part: str) -> Notes:
    """Texts of the text boxes and shapes drawn on a sheet, one per paragraph with text: the
    first `KEEP_OUTSIDE`, and the count of all."""
    notes = Notes()
    for kind, part in relationships(parts, sheet_part).values():
        if kind.endswith("/drawing") and parts.has(part):
            parts.parse_stream(part, _DrawingHandler(notes), f"図形（{part}）を解析できません")
    return notes


class _CommentsHandler:
    """A comments part, streamed: the authors, then each ``<comment>``'s cell, author and text."""

    def __init__(self, notes: Notes) -> None:
        self.notes = notes
        self.authors: list[str] = []
        self.author: list[str] | None = None  # the text of the <author> being read
        self.ref = ""
        self.author_id = ""
        self.rich: RichText | None = None  # inside a comment's <text>
        self.text = ""

    def start(self, name: str, attrs: dict[str, str]) -> None:
        rich = self.rich
        if rich is not None:
            rich.start(name)
        elif name == X_COMMENT:
            self.ref, self.author_id, self.text = attrs.get("ref", ""), attrs.get("authorId", "-1"), ""
        elif name == X_TEXT:
            self.rich = RichText()
        elif name == X_AUTHOR:
            self.author = []

    def end(self, name: str) -> None:
        rich = self.rich
        if rich is not None:
            if rich.depth:
                rich.end()
            else:  # the </text>
                self.text = rich.text()
                self.rich = None
        elif name == X_COMMENT:
            try:
                author = self.authors[int(self.author_id)]
            except (ValueError, IndexError):
                author = ""
            self.notes.add((self.ref, author, self.text))
        elif name == X_AUTHOR and self.author is not None:
            if len(self.authors) < MAX_AUTHORS:
                self.authors.append("".join(self.author))
            self.author = None

    def data(self, text: str) -> None:
        rich = self.rich
        if rich is not None:
            if rich.capturing:
                rich.parts.append(text)
        elif self.author is not None and len(self.author) < 1_000:
            self.author.append(text)


class _DrawingHandler:
    """A drawing part, streamed: the text of each DrawingML paragraph ``<a:p>`` (its ``<a:t>`` runs)."""

    def __init__(self, notes: Notes) -> None:
        self.notes = notes
        self.depth = 0  # paragraphs open (one inside another reads as one)
        self.parts: list[str] = []
        self.capturing = False

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == X_P:
            if not self.depth:
                self.parts = []
            self.depth += 1
        elif name == X_T and self.depth:
            self.capturing = True

    def end(self, name: str) -> None:
        if name == X_T:
            self.capturing = False
        elif name == X_P and self.depth:
            self.depth -= 1
            if not self.depth:
                text = "".join(self.parts)
                if text.strip():
                    self.notes.add(text)

    def data(self, text: str) -> None:
        if self.capturing and len(self.parts) < 10_000:
            self.parts.append(text)
