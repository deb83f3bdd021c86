"""The package around the cells: content types, ``xl/workbook.xml`` and the relationships.

They say which sheets there are (name, visibility, part), where the shared strings and the
styles are, whether dates count from 1904, and where external links point. They are read
from these parts only, never guessed from part names, as a spreadsheet program does.

Refused here, from what the parts declare: a macro-enabled workbook (its content types), a
Strict Open XML workbook (its namespace: a department is asked to save a plain .xlsx), and a
``workbook.xml`` that is not a workbook. These parts are small and parsed as ElementTree
trees after the zip guard's scan (`zipguard`). Two sheets over one part are refused: the
part would be read once per sheet. External links are listed so intake can
report them; nothing they point to is opened.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from .zipguard import GuardedZip, RefusedFile

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
M = f"{{{NS_MAIN}}}"
EXTERNAL = "external:"  # a relationship's target outside the package, as `relationships` gives it


@dataclass(frozen=True, slots=True)
class SheetRef:
    name: str
    state: str  # visible | hidden | veryHidden
    part: str  # zip path of the worksheet part


@dataclass(frozen=True, slots=True)
class Package:
    """What the workbook's own parts say about it."""

    sheets: list[SheetRef]  # in the workbook's order; chart sheets and external ones left out
    external_links: list[str]  # where the workbook's external links point
    date1904: bool
    shared_strings: str | None  # the shared strings part, if the workbook names one
    styles: str | None  # the styles part, if the workbook names one


def read_package(parts: GuardedZip) -> Package:
    types = parts.parse_small("[Content_Types].xml")
    for el in types:
        content_type = el.get("ContentType", "")
        if "macroEnabled" in content_type or "vbaProject" in content_type:
            raise RefusedFile("file.macro", "マクロ有効ブック（.xlsm）は受け付けません")
    book = parts.parse_small("xl/workbook.xml")
    if book.tag.startswith(f"{{{NS_STRICT}}}"):
        raise RefusedFile("file.strict", "Strict Open XML 形式のブックは読み取れません。通常の「Excel ブック (.xlsx)」で保存してください")
    if book.tag != f"{M}workbook":
        raise RefusedFile("file.not_xlsx", "Excelブックの構造が不正です")
    pr = book.find(f"{M}workbookPr")
    rels = relationships(parts, "xl/workbook.xml")
    sheets: list[SheetRef] = []
    sheets_el = book.find(f"{M}sheets")
    owner: dict[str, str] = {}  # sheet part (lower case) → the first sheet naming it
    for el in sheets_el if sheets_el is not None else ():
        target = rels.get(el.get(f"{{{NS_REL}}}id", ""), ("", ""))[1]
        if not target or target.startswith(EXTERNAL):
            continue
        # No spreadsheet program writes two sheets over one part; read twice, one part would
        # cost its reading as many times as it is named.
        first = owner.get(target.lower())
        if first is not None:
            raise RefusedFile("file.bomb", f"シート「{el.get('name', '')}」と「{first}」が同じシート本体（{target}）を"
                                           "指しています")
        owner[target.lower()] = el.get("name", "")
        sheets.append(SheetRef(el.get("name", ""), el.get("state", "visible"), target))
    return Package(
        sheets=sheets,
        external_links=_external_targets(parts, rels),
        date1904=pr is not None and pr.get("date1904") in ("1", "true"),
        shared_strings=next((t for kind, t in rels.values() if kind.endswith("/sharedStrings")), None),
        styles=next((t for kind, t in rels.values() if kind.endswith("/styles")), None),
    )


def relationships(parts: GuardedZip, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id → (type, target part) of ``part``; external targets as ``external:<target>``."""
    folder, base = posixpath.split(part)
    rels_name = posixpath.join(folder, "_rels", base + ".rels")
    if not parts.has(rels_name):
        return {}
    out = {}
    for el in parts.parse_small(rels_name):
        target = el.get("Target", "")
        kind = el.get("Type", "")
        if el.get("TargetMode") == "External":
            out[el.get("Id", "")] = (kind, EXTERNAL + target)
            continue
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out[el.get("Id", "")] = (kind, path)
    return out


def _external_targets(parts: GuardedZip, rels: dict[str, tuple[str, str]]) -> list[str]:
    """Where the workbook's external links point. They are reported, never opened."""
    targets: list[str] = []
    for kind, part in rels.values():
        if not kind.endswith("/externalLink"):
            continue
        if part.startswith(EXTERNAL):
            targets.append(part[len(EXTERNAL):])
            continue
        link_rels = relationships(parts, part) if parts.has(part) else {}
        found = [t[len(EXTERNAL):] for _, t in link_rels.values() if t.startswith(EXTERNAL)]
        targets.extend(found or [part])
    return targets
