"""The styles part: which cell styles are locked, and the number format of each.

A cell refers to its style by index into ``<cellXfs>``. Two things are read from a style:
whether it locks its cells (`worksheet.Sheet.is_locked`), and its number format, so that a
number or a date is read as the department saw it in the cell (`numfmt`). What else a style
holds (fonts, fills, borders) is not read. The part is small and parsed as an ElementTree
tree after the zip guard's scan (`zipguard`). An index past the styles the part holds
resolves to nothing (``Styles.count``): such a cell is read as General and intake reports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .numfmt import format_code, is_date_format
from .package import M
from .zipguard import GuardedZip


@dataclass(frozen=True, slots=True)
class Styles:
    locked: frozenset[int]  # style indexes whose cells are locked
    formats: dict[int, str]  # style index → number format code, when not General nor text
    date_styles: frozenset[int]  # style indexes whose format shows a date or time
    # Styles in <cellXfs>: a cell's style index resolves when it is below this, or 0 (the default).
    count: int = 1


# A workbook without a styles part: every cell has the default style, locked by default.
NO_STYLES = Styles(frozenset({0}), {}, frozenset())


def read_styles(parts: GuardedZip, part: str | None) -> Styles:
    """The styles of ``part`` (the workbook's styles part, None if it names none)."""
    if not part or not parts.has(part):
        return NO_STYLES
    root = parts.parse_small(part)
    custom = {}
    for el in root.iterfind(f"{M}numFmts/{M}numFmt"):
        try:
            custom[int(el.get("numFmtId", "0"))] = el.get("formatCode", "")
        except ValueError:
            continue
    locked: set[int] = set()
    formats: dict[int, str] = {}
    dates: set[int] = set()
    xfs_el = root.find(f"{M}cellXfs")
    xfs = list(xfs_el) if xfs_el is not None else []
    for index, xf in enumerate(xfs):
        prot = xf.find(f"{M}protection")
        if prot is None or prot.get("locked", "1") not in ("0", "false"):
            locked.add(index)
        try:
            code = format_code(int(xf.get("numFmtId", "0")), custom)
        except ValueError:
            code = "General"
        if code not in ("General", "@"):
            formats[index] = code
            if is_date_format(code):
                dates.add(index)
    return Styles(frozenset(locked), formats, frozenset(dates), len(xfs))
