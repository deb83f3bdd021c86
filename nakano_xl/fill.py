"""Fill a department workbook the way a person would: answer cells only, then save as.

Used by ``nakano-xl demo`` and by the tests. A person in Excel cannot type into a locked
cell of a protected sheet nor pick a mark outside the dropdown's stop alert, so neither can
this: it raises `FillRefused` instead (openpyxl itself would happily write anywhere).
Values are always written as text, never as formulas, exactly as given.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import openpyxl
from openpyxl.worksheet.worksheet import Worksheet

from .layout import FIRST_ROW, InputColumns
from .model import ANSWER_FIELDS, Answer
from .template import Template


class FillRefused(Exception):
    """Excel would have refused this edit (locked cell, value outside the dropdown)."""


Values = Mapping[str, str]  # field (status, reason, ...) → text as typed


def fill_workbook(src: Path, dst: Path, answers: Mapping[str, Values | Answer], template: Template,
                  *, skip_blank: bool = True, paste: bool = False) -> None:
    """Open ``src``, type ``answers`` ({item_id: {field: text}}) into its rows, save as ``dst``.

    Rows are found by their item id, as a person finds them by their text. Blank values are
    not typed (a person leaves the cell alone) unless ``skip_blank`` is False. ``paste`` puts
    the values in as a paste would: Excel checks a pasted value against no dropdown, which is
    how ▲ or 〇 reach a status cell.
    """
    workbook = openpyxl.load_workbook(src)
    sheet = workbook[template.input["answer_sheet"]]
    cols = columns_of(workbook, template)
    rows = {}
    for row in range(FIRST_ROW, sheet.max_row + 1):
        item_id = sheet.cell(row, cols.item_id).value
        if item_id:
            rows[str(item_id)] = row
    for item_id, given in answers.items():
        values = given.cells() if isinstance(given, Answer) else dict(given)
        if item_id not in rows:
            raise FillRefused(f"{src.name} に項目ID {item_id} の行はありません")
        for key, text in values.items():
            if key not in ANSWER_FIELDS:
                raise FillRefused(f"{key} は回答欄ではありません")
            if text == "" and skip_blank:
                continue
            type_into(sheet, rows[item_id], cols.col(key), text, paste=paste)
    workbook.save(dst)


def columns_of(workbook: openpyxl.Workbook, template: Template) -> InputColumns:
    """The answer sheet's layout as its metadata says (a person reads the headers instead)."""
    name = template.input["metadata_sheet"]
    if name in workbook.sheetnames:
        keys = [str(row[1]) for row in workbook[name].iter_rows(values_only=True) if row[0] == "column"]
        if keys:
            return InputColumns(tuple(keys))
    return InputColumns.of(template)


def type_into(sheet: Worksheet, row: int, col: int, text: str, *, paste: bool = False) -> None:
    """Type (or paste) ``text`` into one cell, refusing what Excel would refuse."""
    cell = sheet.cell(row, col)
    if sheet.protection.sheet and cell.protection.locked:
        raise FillRefused(f"{sheet.title}!{cell.coordinate} はロックされています")
    for dv in [] if paste else sheet.data_validations.dataValidation:
        if dv.type == "list" and dv.errorStyle in (None, "stop") and cell.coordinate in dv.sqref:
            allowed = (dv.formula1 or "").strip('"').split(",")
            if text and text not in allowed:
                raise FillRefused(f"{sheet.title}!{cell.coordinate}: 「{text}」はリストにありません")
    cell.value = text if text != "" else None
    if text:
        # openpyxl turns a string starting with "=" into a formula; a person typing into a
        # text-formatted cell gets text.
        cell.data_type = "s"
