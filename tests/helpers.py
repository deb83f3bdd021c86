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


def set_setting(root: Path, key: str, value: str) -> None:
    """Edit one `key = "value"` line of a workspace's nakano-xl.toml, as a coordinator would."""
    import re

    path = root / "nakano-xl.toml"
    text = path.read_text(encoding="utf-8")
    text, n = re.subn(rf'(?m)^{re.escape(key)} = .*$', f'{key} = "{value}"', text)
    assert n == 1, key
    path.write_text(text, encoding="utf-8")
