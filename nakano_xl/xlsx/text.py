"""Texts as they leave a returned file: Excel's escapes decoded, and only what can be written.

Everything a department's file says ends in xlsxwriter, JSON, CSV or a terminal, and some
characters cannot go there: a lone surrogate (Excel's ``_xD800_`` decodes to one) makes
UTF-8 encoding fail, U+FFFE and U+FFFF are not XML characters, control characters (other
than tab, line feed and carriage return) are not text anyone typed and some of them drive a
terminal. `representable` replaces each with U+FFFD, visibly, so the text still shows where
something was; the reader records every replacement (`ReadIssue`) so intake reports it with
the file, sheet and cell. The same function is the last guard before the writers.

A high and a low surrogate escaped one after the other (``_xD83D__xDE00_``) are one character
in Excel, which counts in UTF-16: `decode_escapes` joins them, as Excel shows them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Control characters but tab, LF and CR (C0, DEL, C1), surrogates, and the two non-characters
# XML 1.0 leaves out of its character range.
UNREPRESENTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
REPLACEMENT = "\ufffd"
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")


def decode_escapes(text: str) -> str:
    """Excel writes control characters as ``_xHHHH_`` (and a literal ``_x`` as ``_x005F_x``).

    The result may still hold what cannot be written (a lone surrogate): see `representable`.
    """
    if "_x" not in text:
        return text
    return _PAIR.sub(_join_pair, _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text))


def _join_pair(m: re.Match[str]) -> str:
    return m.group(0).encode("utf-16-le", "surrogatepass").decode("utf-16-le")


def representable(text: str) -> str:
    """``text`` with every character that cannot be written replaced by U+FFFD."""
    return UNREPRESENTABLE.sub(REPLACEMENT, text)


def unrepresentable(text: str) -> str | None:
    """The code points that `representable` replaces in ``text`` (``U+D800、U+0001``), None if none."""
    found = UNREPRESENTABLE.findall(text)
    if not found:
        return None
    distinct = list(dict.fromkeys(found))
    points = "、".join(f"U+{ord(ch):04X}" for ch in distinct[:5])
    return points + ("…" if len(distinct) > 5 else "")


def cleaned(text: str) -> tuple[str, str | None]:
    """``text`` made representable, and the code points replaced (None: nothing was)."""
    points = unrepresentable(text)
    return (text, None) if points is None else (representable(text), points)


REPLACED = "replaced"  # characters replaced by U+FFFD; detail: their code points
NO_STRING = "no_string"  # a shared string index that is not one; detail: the index as written
NO_STYLE = "no_style"  # a style index that is not one; detail: the index as written


@dataclass(frozen=True, slots=True)
class ReadIssue:
    """Something the reader changed in a text or could not resolve, kept for intake to report.

    ``place``: what held it, in the words of a finding (セル, コメント, 図形の文字, シート名,
    外部リンク先); ``row``/``col`` for a cell (0 when the place has none), ``ref`` for a
    comment's cell as the file names it.
    """

    kind: str  # REPLACED | NO_STRING | NO_STYLE
    place: str
    sheet: str | None
    row: int
    col: int
    value: str  # the text as read (after replacement), for the finding
    detail: str
    ref: str | None = None
