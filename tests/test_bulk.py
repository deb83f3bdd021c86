"""Rows serialised by us into an xlsxwriter sheet (`xlsx.bulk`, issue 9): read back with
openpyxl, and with our own reader, as anyone would read the report; and the shortcuts taken
to measure them."""

from __future__ import annotations

import io
import zipfile
import zlib

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nakano_xl.xlsx.bulk import CELL_TEXT_MAX, BulkWorksheet, cell_text
from nakano_xl.xlsx.measure import line_count, max_lines
from nakano_xl.xlsx.reader import XlsxFile
from nakano_xl.xlsx.writer import COMPRESS_LEVEL, crc32_combine, deflate, finish, new_workbook
from nakano_xl.xlsx.zipguard import Limits

TEXTS = [
    "研修を2回実施した。",
    "A&B <タグ> \"引用\"",
    "  前後に空白  ",
    "一行目\n二行目",
    "記号_x000D_はそのまま",  # a literal escape: goes to the shared strings (see share())
    "",
]


def build(tmp_path, rows, *, merges=(), share=True):
    workbook, buffer = new_workbook(__import__("datetime").datetime(2021, 4, 1))
    sheet = workbook.add_worksheet("別紙1", worksheet_class=BulkWorksheet)
    head = workbook.add_format({"bold": True})
    sheet.write_string(0, 0, "見出し", head)
    sheet.write_string(0, 2, "右", head)
    sheet.set_row(0, 30)
    wrap = workbook.add_format({"text_wrap": True, "border": 1})
    mark = workbook.add_format({"align": "center", "font_size": 12})
    styles = (sheet.style(wrap), sheet.style(mark))
    if share:
        for texts in rows:
            for text in texts:
                sheet.share(text)
    body = [(15.0 + n, [(c, text, styles[c % 2]) for c, text in enumerate(texts)]) for n, texts in enumerate(rows)]
    sheet.add_rows(1, len(rows), max(len(r) for r in rows) - 1, lambda a, b: iter(body[a:b]))
    for merge in merges:
        sheet.merge_cells(*merge)
    path = tmp_path / "bulk.xlsx"
    path.write_bytes(finish(workbook, buffer))
    return path


def test_rows_read_back_as_written(tmp_path):
    rows = [TEXTS[:3], TEXTS[3:]]
    path = build(tmp_path, rows)
    sheet = openpyxl.load_workbook(path)["別紙1"]
    assert sheet["A1"].value == "見出し" and sheet["A1"].font.b
    assert sheet["C1"].value == "右"
    assert sheet.row_dimensions[1].height == 30
    for r, texts in enumerate(rows, start=2):
        for c, text in enumerate(texts, start=1):
            assert (sheet.cell(r, c).value or "") == text, (r, c)
        assert sheet.row_dimensions[r].height == 15.0 + r - 2
    assert sheet["A2"].alignment.wrap_text and sheet["A2"].border.left.style == "thin"
    assert sheet["B2"].alignment.horizontal == "center" and sheet["B2"].font.sz == 12
    assert sheet.max_row == 3 and sheet.max_column == 3
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert '<dimension ref="A1:C3"/>' in xml
    assert xml.count('t="inlineStr"') == 4  # five texts, one of them shared, and one empty cell
    assert '<t xml:space="preserve">  前後に空白  </t>' in xml
    assert "A&amp;B &lt;タグ&gt;" in xml


def test_our_reader_reads_them_too(tmp_path):
    path = build(tmp_path, [TEXTS[:3], TEXTS[3:]])
    with XlsxFile(path, Limits()) as book:
        sheet = book.read_sheet(book.sheets[0])
    assert [sheet.text(2, c) for c in (1, 2, 3)] == TEXTS[:3]
    assert [sheet.text(3, c) for c in (1, 2, 3)] == TEXTS[3:]


def test_merges_and_blank_cells_of_a_merge(tmp_path):
    rows = [["第1節", "a"], ["", "b"], ["", "c"]]
    path = build(tmp_path, rows, merges=[(1, 0, 3, 0)])
    sheet = openpyxl.load_workbook(path)["別紙1"]
    assert [str(r) for r in sheet.merged_cells.ranges] == ["A2:A4"]
    assert sheet["A2"].value == "第1節"
    assert [sheet.cell(r, 2).value for r in (2, 3, 4)] == ["a", "b", "c"]


def test_a_literal_escape_without_share_is_still_right_for_excel(tmp_path):
    # Excel reads _x005F_ back as "_": the text is right for Excel even inline.
    path = build(tmp_path, [["記号_x000D_はそのまま"]], share=False)
    with zipfile.ZipFile(path) as z:
        assert "記号_x005F_x000D_はそのまま" in z.read("xl/worksheets/sheet1.xml").decode()


def test_escapes():
    assert cell_text("a\x07b") == "a_x0007_b"
    assert cell_text("x_x0041_y") == "x_x005F_x0041_y"
    assert cell_text("<&>") == "&lt;&amp;&gt;"
    assert cell_text("普通の文") == "普通の文"


def test_text_longer_than_a_cell_is_cut_at_excels_limit():
    long = "あ" * (CELL_TEXT_MAX + 10)
    assert len(cell_text(long)) == CELL_TEXT_MAX
    astral = "𠮷" * CELL_TEXT_MAX  # two UTF-16 units each: never cut in half
    assert cell_text(astral) == "𠮷" * (CELL_TEXT_MAX // 2)


def test_rows_must_match_what_was_announced(tmp_path):
    workbook, buffer = new_workbook(__import__("datetime").datetime(2021, 4, 1))
    sheet = workbook.add_worksheet("x", worksheet_class=BulkWorksheet)
    sheet.add_rows(0, 2, 0, lambda a, b: iter([(15.0, [(0, "a", 0)])]))
    with pytest.raises(ValueError, match="1 written, 3 announced"):
        finish(workbook, buffer)


def test_xlsxwriter_rows_inside_bulk_rows_are_refused():
    workbook, buffer = new_workbook(__import__("datetime").datetime(2021, 4, 1))
    sheet = workbook.add_worksheet("x", worksheet_class=BulkWorksheet)
    sheet.write_string(3, 0, "x")
    sheet.add_rows(2, 4, 0, lambda a, b: iter([(15.0, [(0, "a", 0)])] * (b - a)))
    with pytest.raises(ValueError, match="row 3 was written with xlsxwriter inside bulk rows"):
        finish(workbook, buffer)


def test_blocks_between_xlsxwriter_rows_with_numbers(tmp_path):
    workbook, buffer = new_workbook(__import__("datetime").datetime(2021, 4, 1))
    sheet = workbook.add_worksheet("集計", worksheet_class=BulkWorksheet)
    number = sheet.style(workbook.add_format({"num_format": "0", "border": 1}))
    sheet.write_string(0, 0, "目標別")
    sheet.add_rows(1, 2, 2, lambda a, b: iter([(15.0, [(0, "目標1", 0), (1, 3, number), (2, 0.5, number)]),
                                               (15.0, [(0, "目標2", 0), (1, 12, number), (2, 1e20, number)])][a:b]))
    sheet.write_string(3, 0, "合計")
    sheet.write_number(3, 1, 15)
    sheet.add_rows(5, 5, 1, lambda a, b: iter([(18.0, [(0, "実施内容1", 0), (1, 7, number)])][a:b]))
    sheet.write_string(7, 0, "注")
    path = tmp_path / "blocks.xlsx"
    path.write_bytes(finish(workbook, buffer))
    got = openpyxl.load_workbook(path)["集計"]
    assert [[c.value for c in row] for row in got.iter_rows(min_row=1, max_row=8, max_col=3)] == [
        ["目標別", None, None], ["目標1", 3, 0.5], ["目標2", 12, 1e20], ["合計", 15, None],
        [None, None, None], ["実施内容1", 7, None], [None, None, None], ["注", None, None]]
    assert got["B2"].number_format == "0" and got["B2"].border.left.style == "thin"
    assert got.row_dimensions[6].height == 18


def deflated_size(data: bytes, level: int) -> int:
    packer = zlib.compressobj(level, zlib.DEFLATED, -15)
    return len(packer.compress(data) + packer.flush())


def test_parts_are_deflated_at_the_fast_level(tmp_path):
    rows = [[f"{n}番目の取組を実施した。{'詳細' * (n % 7)}", str(n * 7919 % 1000)] for n in range(300)]
    path = build(tmp_path, rows)
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as z:
        styles = z.getinfo("xl/styles.xml")
        assert styles.compress_size == deflated_size(z.read(styles), COMPRESS_LEVEL)
        info = z.getinfo("xl/worksheets/sheet1.xml")
        data = z.read(info)  # (checks the CRC of the stretches put together)
    assert info.compress_type == zipfile.ZIP_DEFLATED
    assert deflated_size(data, COMPRESS_LEVEL) > deflated_size(data, 6) + 100
    # The sheet is deflated in three stretches (the XML before the rows, the rows, the XML
    # after), each on its own: about the size of level 1 in one go, not of level 6.
    assert abs(info.compress_size - deflated_size(data, COMPRESS_LEVEL)) < 0.03 * deflated_size(data, COMPRESS_LEVEL)


@given(st.lists(st.tuples(st.text(alphabet="あaｱ\n 漢", max_size=80), st.sampled_from([0.5, 1, 1.5, 2, 5, 10.5, 30])),
                max_size=5), st.integers(1, 3))
def test_max_lines_is_the_most_any_cell_needs(cells, min_lines):
    # max_lines skips line_count for short cells: the same answer as asking every cell.
    assert max_lines(cells, min_lines) == max([min_lines] + [line_count(text, width) for text, width in cells])


@given(st.binary(max_size=3000), st.binary(max_size=3000))
def test_crc32_combine_gives_the_crc_of_both(a, b):
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


def test_crc32_combine_over_a_long_stretch():
    a, b = bytes(range(256)) * 9000, "行".encode() * 1_000_000
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


@given(st.lists(st.binary(max_size=2000), max_size=5), st.binary(max_size=200))
def test_stretches_deflated_apart_are_one_deflate_stream(pieces, last):
    """How 別紙1's rows reach the zip: each stretch deflated on its own (on a worker), the
    stretches put one after another, the last one final."""
    stretches = [deflate(piece) for piece in pieces] + [deflate(last, final=True)]
    assert zlib.decompress(b"".join(s.data for s in stretches), -zlib.MAX_WBITS) == b"".join(pieces) + last


def test_a_bulk_sheet_needs_nakano_xls_workbook(tmp_path):
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(tmp_path / "x.xlsx"))
    sheet = workbook.add_worksheet("x", worksheet_class=BulkWorksheet)
    sheet.add_rows(0, 0, 0, lambda a, b: iter([(15.0, [(0, "a", 0)])]))
    with pytest.raises(TypeError, match="nakano_xl.xlsx.writer.Workbook"):
        workbook.close()
