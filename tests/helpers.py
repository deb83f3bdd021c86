"""Helpers shared by the tests: small CSV tables, reading workbooks as a person sees them."""

from __future__ import annotations

import csv
from pathlib import Path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


PLAN_HEADER = ["item_id", "section_code", "section_title", "content", "departments", "reprint_of"]

# Six items, three departments, one shared row, one related department, a group, one 再掲.
TINY_PLAN = [
    ["T1", "1-1-①", "窓口の改善", "◎窓口予約の導入", "戸籍住民課", ""],
    ["T2", "1-1-①", "窓口の改善", "(国)標準仕様の提供", "(情報システム課)", ""],
    ["T3", "1-1-②", "", "共通基盤の整備", "情報システム課 税務課", ""],
    ["T4", "1-2-①", "研修", "職員研修の実施", "職員課 (情報システム課)", ""],
    ["T5", "1-2-①", "研修", "各課での実践", "情報システム課 各所管課", ""],
    ["T6", "2-1-①", "", "(1-1-①再掲)◎窓口予約の導入", "", "T1"],
]


def edit_plan(root: Path, *, drop: str | None = None, add: dict[str, str] | None = None) -> None:
    """Retire an item from and add one to a workspace's plan.csv, as a coordinator edits it by hand."""
    rows = [r for r in read_csv(root / "plan.csv") if r["item_id"] != drop]
    if add:
        rows.append({key: add.get(key, "") for key in PLAN_HEADER})
    with (root / "plan.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, PLAN_HEADER)
        writer.writeheader()
        writer.writerows(rows)


def cell_text(ws, row: int, col: int) -> str:
    """What a person sees in a cell: a merged range shows its top-left value in every cell."""
    for rng in ws.merged_cells.ranges:
        if rng.min_row <= row <= rng.max_row and rng.min_col <= col <= rng.max_col:
            row, col = rng.min_row, rng.min_col
            break
    value = ws.cell(row, col).value
    return "" if value is None else str(value)


def header_index(ws, header_row: int) -> dict[str, int]:
    return {str(c.value): c.column for c in ws[header_row] if c.value is not None}


def find_header_row(ws, first_header: str, max_row: int = 20) -> int:
    for row in range(1, max_row + 1):
        if ws.cell(row, 1).value == first_header:
            return row
    raise AssertionError(f"no header row starting with {first_header!r}")


def set_setting(root: Path, key: str, value: str, *, quoted: bool = True) -> None:
    """Edit one `key = "value"` line of a workspace's nakano-xl.toml, as a coordinator would
    (``quoted=False``: `key = value`, for a number)."""
    import re

    path = root / "nakano-xl.toml"
    text = path.read_text(encoding="utf-8")
    written = f'"{value}"' if quoted else value
    text, n = re.subn(rf'(?m)^{re.escape(key)} = .*$', lambda _: f'{key} = {written}', text)
    assert n == 1, key
    path.write_text(text, encoding="utf-8")
