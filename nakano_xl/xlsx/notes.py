"""What people type beside the cells: comments (notes) and the text of shapes and text boxes.

A department sometimes answers in a note or a text box rather than in the cell; intake
reports such text, so it is never lost. Both live in their own parts, found through the
sheet's relationships: a comments part (``<comment>`` with a rich ``<text>``) and a drawing
part (DrawingML paragraphs ``<a:p>`` of ``<a:t>`` runs). The parts are small and parsed as
ElementTree trees after the zip guard's scan (`zipguard`); at most `KEEP_OUTSIDE` texts are
kept per sheet, as for cells outside the answer area.
"""

from __future__ import annotations

from .package import M, relationships
from .sharedstrings import tree_text
from .worksheet import KEEP_OUTSIDE
from .zipguard import GuardedZip

NS_DRAWING_MAIN = "http://schemas.openxmlformats.org/drawingml/2006/main"


def comments(parts: GuardedZip, sheet_part: str) -> list[tuple[str, str, str]]:
    """(A1, author, text) of every note on a sheet: typed by someone, so never ignored."""
    out: list[tuple[str, str, str]] = []
    for kind, part in relationships(parts, sheet_part).values():
        if not kind.endswith("/comments") or not parts.has(part):
            continue
        root = parts.parse_small(part)
        authors = [a.text or "" for a in root.iterfind(f"{M}authors/{M}author")]
        for el in root.iterfind(f"{M}commentList/{M}comment"):
            text_el = el.find(f"{M}text")
            text = tree_text(text_el) if text_el is not None else ""
            try:
                author = authors[int(el.get("authorId", "-1"))]
            except (ValueError, IndexError):
                author = ""
            out.append((el.get("ref", ""), author, text))
            if len(out) >= KEEP_OUTSIDE:
                return out
    return out


def drawing_texts(parts: GuardedZip, sheet_part: str) -> list[str]:
    """Texts of the text boxes and shapes drawn on a sheet, one per paragraph with text."""
    out: list[str] = []
    for kind, part in relationships(parts, sheet_part).values():
        if not kind.endswith("/drawing") or not parts.has(part):
            continue
        root = parts.parse_small(part)
        for body in root.iter(f"{{{NS_DRAWING_MAIN}}}p"):
            text = "".join(t.text or "" for t in body.iter(f"{{{NS_DRAWING_MAIN}}}t"))
            if text.strip():
                out.append(text)
                if len(out) >= KEEP_OUTSIDE:
                    return out
    return out
