"""The report as written with xlsxwriter, read back as anyone reads it: openpyxl (and so pandas)
and our own reader. Every cell of 別紙1 is the text of the row as printed; texts that look
like Excel's escapes, formulas or numbers stay as typed; a text longer than a cell shows its
first 32,767 UTF-16 units; two builds are the same bytes, whether xlsxwriter holds the parts
in memory or passes them through temporary files."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nakano_xl.report import header_row, progress_rows, write_report
from nakano_xl.xlsx.cells import CELL_TEXT_MAX
from nakano_xl.xlsx.measure import line_count, max_lines
from nakano_xl.xlsx.reader import XlsxFile
from nakano_xl.xlsx.writer import finish, fit_in_cell, new_workbook
from nakano_xl.xlsx.zipguard import Limits

TEXTS = [
    "研修を2回実施した。",
    "A&B <タグ> \"引用\"",
    "  前後に空白  ",
    "一行目\n二行目",
    "記号_x000D_はそのまま",  # looks like Excel's escape of a carriage return: stays as typed
    "=HYPERLINK(\"http://example.jp\")",
    "001",
    "あ" * (CELL_TEXT_MAX + 10),  # longer than a cell
    "𠮷" * CELL_TEXT_MAX,  # two UTF-16 units each: never cut in half
]


def tricky_answers(demo) -> dict:
    """The demo's answers, with the first answered items' 取組状況 replaced by `TEXTS`."""
    answers = dict(demo.result.answers)
    for item_id, text in zip([i for i in answers if not demo.workspace.plan[i].is_reprint], TEXTS):
        answers[item_id] = dataclasses.replace(answers[item_id], results_to_date=text)
    return answers


def build(demo, answers) -> bytes:
    result = demo.result
    return write_report(demo.workspace, answers, result.counts, result.findings, result.status.departments,
                        kpis=result.kpis)


@pytest.fixture(scope="module")
def written(demo) -> bytes:
    return build(demo, tricky_answers(demo))


def expected_rows(demo) -> list[list[str]]:
    """別紙1's data rows as printed: the template's columns, then the hidden item id."""
    ws = demo.workspace
    keys = [c.key for c in ws.template.columns]
    return [[fit_in_cell(row.cells[k]) for k in keys] + [row.item.item_id]
            for row in progress_rows(ws, tricky_answers(demo))]


def openpyxl_rows(data: bytes, ws) -> tuple[list[list[str]], set[str]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data))[ws.template.report["sheet"]]
    head, width = header_row(ws), len(ws.template.columns) + 1
    rows = [[cell.value or "" for cell in row]
            for row in sheet.iter_rows(min_row=head + 1, max_row=head + len(ws.plan), max_col=width)]
    return rows, {str(r) for r in sheet.merged_cells.ranges}


def section_cells(rows: list[list[str]], merged: set[str], ws, first: int) -> list[list[str]]:
    """``rows`` with the section cell a merge covers filled in from the merge's first cell."""
    col = [c.key for c in ws.template.columns].index("section")
    letter = openpyxl.utils.get_column_letter(col + 1)
    filled = [list(r) for r in rows]
    for ref in merged:
        top, bottom = (int(part[len(letter):]) for part in ref.split(":"))
        assert ref.startswith(letter), ref
        for r in range(top + 1, bottom + 1):
            assert filled[r - first][col] == "", f"a covered cell holds text: {ref}"
            filled[r - first][col] = filled[top - first][col]
    return filled


def test_every_cell_of_the_progress_list_reads_back_with_openpyxl(demo, written):
    ws = demo.workspace
    rows, merged = openpyxl_rows(written, ws)
    assert merged, "the demo has sections of several rows"
    assert section_cells(rows, merged, ws, header_row(ws) + 1) == expected_rows(demo)


def test_every_cell_of_the_progress_list_reads_back_with_our_reader(demo, written, tmp_path):
    ws = demo.workspace
    path = tmp_path / "report.xlsx"
    path.write_bytes(written)
    with XlsxFile(path, Limits(max_file_bytes=10**9, max_ratio=10**6)) as book:
        sheet = book.read_sheet(book.sheets[0])
    head, width = header_row(ws), len(ws.template.columns) + 1
    rows = [[sheet.text(r, c) for c in range(1, width + 1)] for r in range(head + 1, head + 1 + len(ws.plan))]
    assert section_cells(rows, set(sheet.merged), ws, head + 1) == expected_rows(demo)


def test_two_builds_are_the_same_bytes(demo, written):
    assert build(demo, tricky_answers(demo)) == written


def small_workbook(in_memory: bool) -> bytes:
    workbook, buffer = new_workbook(dt.datetime(2021, 4, 1), title="表題", in_memory=in_memory)
    sheet = workbook.add_worksheet("一覧")
    wrap = workbook.add_format({"text_wrap": True, "border": 1})
    for r, text in enumerate(TEXTS[:7]):
        sheet.write_string(r, 0, text, wrap)
        sheet.write_number(r, 1, r * 1.5)
        sheet.set_row(r, 18 + 3 * r)
    sheet.merge_range(0, 2, 3, 2, "節", wrap)
    return finish(workbook, buffer)


def test_a_workbook_through_temporary_files_holds_what_it_holds_in_memory():
    memory, disk = (openpyxl.load_workbook(io.BytesIO(small_workbook(m)))["一覧"] for m in (True, False))
    assert [[c.value for c in row] for row in memory.iter_rows()] == \
        [[c.value for c in row] for row in disk.iter_rows()] == \
        [[text, r * 1.5, "節" if r == 0 else None] for r, text in enumerate(TEXTS[:7])]
    assert [memory.row_dimensions[r].height for r in range(1, 8)] == \
        [disk.row_dimensions[r].height for r in range(1, 8)] == [18 + 3 * r for r in range(7)]
    assert {str(r) for r in memory.merged_cells.ranges} == {str(r) for r in disk.merged_cells.ranges} == {"C1:C4"}


@pytest.mark.parametrize("in_memory", [True, False])
def test_a_workbook_is_the_same_bytes_every_time(in_memory):
    first = small_workbook(in_memory)
    with zipfile.ZipFile(io.BytesIO(first)) as z:  # no clock in it: the created date is given
        assert "2021-04-01T00:00:00Z" in z.read("docProps/core.xml").decode()
    assert small_workbook(in_memory) == first


def test_texts_stay_as_typed(demo, written):
    rows, _ = openpyxl_rows(written, demo.workspace)
    texts = {text for row in rows for text in row}
    # An escape-like text, a formula, a URL and a number typed as text come back as typed.
    assert {"記号_x000D_はそのまま", "=HYPERLINK(\"http://example.jp\")", "001", "  前後に空白  "} <= texts
    sheet = openpyxl.load_workbook(io.BytesIO(written))[demo.workspace.template.report["sheet"]]
    assert all(cell.data_type == "s" for row in sheet.iter_rows() for cell in row if cell.value is not None)


def test_a_text_longer_than_a_cell_shows_its_first_32767_units(demo, written):
    rows, _ = openpyxl_rows(written, demo.workspace)
    texts = {text for row in rows for text in row}
    assert "あ" * CELL_TEXT_MAX in texts
    assert "𠮷" * (CELL_TEXT_MAX // 2) in texts


def test_fit_in_cell():
    assert fit_in_cell("普通の文") == "普通の文"
    assert fit_in_cell("あ" * CELL_TEXT_MAX) == "あ" * CELL_TEXT_MAX
    assert fit_in_cell("あ" * (CELL_TEXT_MAX + 1)) == "あ" * CELL_TEXT_MAX
    assert fit_in_cell("𠮷" * CELL_TEXT_MAX) == "𠮷" * (CELL_TEXT_MAX // 2)  # the next one would be cut in half
    assert fit_in_cell("a" + "𠮷" * CELL_TEXT_MAX) == "a" + "𠮷" * (CELL_TEXT_MAX // 2)


@given(st.lists(st.tuples(st.text(alphabet="あaｱ\n 漢", max_size=80), st.sampled_from([0.5, 1, 1.5, 2, 5, 10.5, 30])),
                max_size=5), st.integers(1, 3))
def test_max_lines_is_the_most_any_cell_needs(cells, min_lines):
    # max_lines skips line_count for short cells: the same answer as asking every cell.
    assert max_lines(cells, min_lines) == max([min_lines] + [line_count(text, width) for text, width in cells])
