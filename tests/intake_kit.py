"""Returned workbooks for the intake tests: the tiny plan's valid returns, and ways to spoil one.

A valid return is the project's own distributed workbook filled with `fill_workbook`, as a
person types. A spoiled one is that file changed once: by openpyxl where a person's
spreadsheet program would do it (delete a row, rename a sheet), or by rewriting a part of
the zip where only a program would (a formula with a cached value, a bomb).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl

from nakano_xl.consolidate import Consolidation, consolidate
from nakano_xl.demo import SAMPLE_CREATED
from nakano_xl.distribute import Distribution, distribute
from nakano_xl.fill import fill_workbook
from nakano_xl.findings import Finding
from nakano_xl.validate import clean_text
from nakano_xl.workspace import Workspace, init_workspace
from nakano_xl.xlsx.cells import column_letter
from nakano_xl.xlsx.reader import XlsxFile

from .helpers import PLAN_HEADER, TINY_PLAN, write_csv

# Every department's correct answers. T3 is shared by 情報システム課 and 税務課, who agree.
GOOD: dict[str, dict[str, dict[str, str]]] = {
    "戸籍住民課": {"T1": {"status": "◎", "results_to_date": "オンライン予約を開始した。",
                       "plan_next_year": "対象窓口を広げる。", "plan_later": "全窓口で予約制。"}},
    "情報システム課": {
        "T2": {"status": "◎", "results_to_date": "国の標準仕様に沿って移行計画を作成した。"},
        "T3": {"status": "○", "reason": "調達時期を見直したため。", "results_to_date": "基盤の設計を終えた。"},
        "T5": {"status": "△", "reason": "人員不足のため。", "results_to_date": "2課で試行した。"},
    },
    "税務課": {"T3": {"status": "○", "reason": "調達時期を見直したため。", "results_to_date": "基盤の設計を終えた。"}},
    "職員課": {"T4": {"status": "◎", "results_to_date": "研修を3回実施した。", "plan_next_year": "継続する。"}},
}
FIELDS = ("status", "reason", "results_to_date", "plan_next_year", "plan_later")
# 回答 sheet columns (template order) and the rows of each department's file.
COL = {"section": "A", "content": "B", "status": "C", "reason": "D", "results_to_date": "E",
       "plan_next_year": "F", "plan_later": "G", "departments": "H", "item_id": "I"}
ROW = {"戸籍住民課": {"T1": 5}, "情報システム課": {"T2": 5, "T3": 6, "T5": 7}, "税務課": {"T3": 5},
       "職員課": {"T4": 5}}


def file_of(department: str) -> str:
    return f"{department}_回答.xlsx"


def new_workspace(root: Path, year: str = "R3") -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    plan = write_csv(root / "plan.csv", PLAN_HEADER, TINY_PLAN)
    return init_workspace(root / f"ws_{year}", plan, year, now=SAMPLE_CREATED)


def fill_all(ws: Workspace, dist: Distribution, answers: dict[str, dict[str, dict[str, str]]] | None = None,
             *, paste: bool = True) -> dict[str, Path]:
    """Every department's answers typed into its own workbook, saved into the inbox."""
    out = {}
    for department, rows in (answers or GOOD).items():
        target = ws.inbox / file_of(department)
        fill_workbook(dist.files[department], target, rows, ws.template, paste=paste)
        out[department] = target
    return out


def returned(root: Path) -> tuple[Workspace, Distribution, dict[str, Path]]:
    """A workspace whose inbox holds every department's valid return."""
    ws = new_workspace(root)
    dist = distribute(ws)
    return ws, dist, fill_all(ws, dist)


def report_answers(ws: Workspace) -> dict[str, dict[str, str]]:
    """別紙1 read back with openpyxl: item id → the five answer texts as a person sees them."""
    sheet = openpyxl.load_workbook(ws.report_path())["別紙1"]
    head = next(r for r in range(1, 30) if any(c.value == "項目ID" for c in sheet[r]))
    by_header = {c.value: c.column for c in sheet[head] if c.value}
    headers = {"status": "進捗状況", "reason": "スケジュールの変更理由", "results_to_date": f"{ws.year.label}までの取組状況",
               "plan_next_year": f"{ws.year.shifted(1).label}取組予定",
               "plan_later": f"{ws.year.shifted(2).label}以降取組予定"}
    out = {}
    for row in range(head + 1, sheet.max_row + 1):
        item_id = sheet.cell(row, by_header["項目ID"]).value
        if item_id:
            out[str(item_id)] = {k: str(sheet.cell(row, by_header[h]).value or "") for k, h in headers.items()}
    return out


def expected(rows: dict[str, str]) -> dict[str, str]:
    return {f: clean_text(rows.get(f, "")) for f in FIELDS}


def assert_landed(ws: Workspace, departments: list[str] | None = None) -> None:
    """Each named department's answers (default: every one) are in 別紙1, read back."""
    seen = report_answers(ws)
    for department in departments if departments is not None else list(GOOD):
        for item_id, rows in GOOD[department].items():
            assert seen[item_id] == expected(rows), (department, item_id)


def others_than(department: str) -> list[str]:
    """Departments whose answers must land whatever ``department`` sent."""
    return [d for d in GOOD if d != department]


def codes(result: Consolidation, file: str | None = None) -> list[tuple[str, str | None, str | None]]:
    """(code, file, cell) of the findings, optionally of one file only."""
    return [(f.code, f.file, f.cell) for f in result.findings if file is None or f.file == file]


def only(result: Consolidation, code: str) -> Finding:
    [found] = [f for f in result.findings if f.code == code]
    return found


def run(ws: Workspace) -> Consolidation:
    return consolidate(ws)


# -- changing a file as a program would -------------------------------------------------

def rewrite_zip(path: Path, change: Callable[[str, bytes], bytes | None], *,
                add: dict[str, bytes] | None = None) -> None:
    """Rewrite ``path`` entry by entry: ``change(name, data)`` returns new data, or None to drop."""
    tmp = Path(tempfile.mkdtemp()) / "x.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = change(info.filename, src.read(info))
            if data is not None:
                dst.writestr(info.filename, data)
        for name, data in (add or {}).items():
            dst.writestr(name, data)
    shutil.move(tmp, path)


def part_of(path: Path, sheet: str) -> str:
    """The zip part of a sheet, by its name."""
    with XlsxFile(path) as book:
        ref = book.sheet(sheet)
        assert ref is not None, sheet
        return ref.part


def edit_part(path: Path, part: str, edit: Callable[[str], str]) -> None:
    rewrite_zip(path, lambda name, data: edit(data.decode("utf-8")).encode("utf-8") if name == part else data)


def typed_rows(first_row: int, rows: int, first_col: int, cols: int, value: str = "7") -> str:
    """``rows`` × ``cols`` typed numbers from (``first_row``, ``first_col``), as sheet XML: a flood."""
    letters = [column_letter(c) for c in range(first_col, first_col + cols)]
    out = []
    for r in range(first_row, first_row + rows):
        cells = "".join(f'<c r="{c}{r}"><v>{value}</v></c>' for c in letters)
        out.append(f'<row r="{r}">{cells}</row>')
    return "".join(out)


def replace_cell(path: Path, sheet: str, ref: str, xml: str) -> None:
    """Put ``xml`` (a whole ``<c>`` element) in place of cell ``ref`` of ``sheet``."""
    part = part_of(path, sheet)

    def edit(text: str) -> str:
        pattern = re.compile(rf'<c r="{ref}"(?:[^>]*/>|[^>]*>.*?</c>)', re.DOTALL)
        new, n = pattern.subn(xml, text)
        assert n == 1, (ref, n)
        return new

    edit_part(path, part, edit)


def style_of(path: Path, sheet: str, ref: str) -> str:
    part = part_of(path, sheet)
    with zipfile.ZipFile(path) as z:
        text = z.read(part).decode("utf-8")
    m = re.search(rf'<c r="{ref}"[^>]*?\bs="(\d+)"', text)
    return m.group(1) if m else "0"


def distributed_at(ws: Workspace) -> dt.datetime:
    """When the workspace's distribution was made (signed into every workbook it wrote)."""
    record = ws.distribution()
    assert record is not None
    return dt.datetime.fromisoformat(record["distributed_at"])


def set_saved_at(path: Path, iso: str | dt.datetime) -> None:
    """The time the file says it was saved (docProps/core.xml), as Excel writes it."""
    if isinstance(iso, dt.datetime):
        iso = iso.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    edit_part(path, "docProps/core.xml", lambda t: re.sub(
        r"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rf"\g<1>{iso}\g<2>", t))


def with_openpyxl(path: Path, change: Callable[[openpyxl.Workbook], None]) -> None:
    """Open, change and save as a spreadsheet program would (openpyxl keeps the rest)."""
    book = openpyxl.load_workbook(path)
    change(book)
    book.save(path)


def make_cfb(streams: list[str]) -> bytes:
    """A minimal OLE compound file whose directory names ``streams`` (empty streams).

    Enough for the sniffer: header, one FAT sector, one directory sector (4 entries each).
    """
    import struct

    assert len(streams) <= 3
    sector = 512
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9)  # minor, major, byte order, sector shift
    struct.pack_into("<H", header, 0x20, 6)  # mini sector shift
    struct.pack_into("<I", header, 0x2C, 1)  # FAT sectors
    struct.pack_into("<I", header, 0x30, 1)  # first directory sector
    struct.pack_into("<I", header, 0x38, 4096)  # mini stream cutoff
    struct.pack_into("<I", header, 0x3C, 0xFFFFFFFE)  # no mini FAT
    struct.pack_into("<I", header, 0x44, 0xFFFFFFFE)  # no DIFAT sectors
    header[0x4C:0x4C + 4 * 109] = b"\xff" * (4 * 109)
    struct.pack_into("<I", header, 0x4C, 0)  # FAT in sector 0
    fat = bytearray(b"\xff" * sector)
    struct.pack_into("<II", fat, 0, 0xFFFFFFFD, 0xFFFFFFFE)  # sector 0: FAT; sector 1: directory, end
    directory = bytearray(sector)
    for n, (name, kind) in enumerate([("Root Entry", 5)] + [(s, 2) for s in streams]):
        entry = bytearray(128)
        raw = name.encode("utf-16-le") + b"\x00\x00"
        entry[0:len(raw)] = raw
        struct.pack_into("<HB", entry, 64, len(raw), kind)
        struct.pack_into("<III", entry, 68, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
        struct.pack_into("<I", entry, 116, 0xFFFFFFFE)
        directory[n * 128:(n + 1) * 128] = entry
    return bytes(header + fat + directory)
