"""Sheets and shared strings are read as they were written.

Random sheets mixing cells as spreadsheet programs write them with everything else a file
may hold — formulas, entities, inline strings, CDATA, cells without a reference, rows
without a number, cells past the limits, whitespace, rows without cells — are read and
compared with what was written into them: each cell's text, kind, formula and style,
merges, protection, rows counted, what lies outside the area, whether the limits cut the
sheet. Shared strings with rich text and furigana, a corrupt sheet, and parts read again
after the scan kept them or not, beside.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nakano_xl.xlsx import zipguard
from nakano_xl.xlsx.cells import column_index
from nakano_xl.xlsx.reader import XlsxFile
from nakano_xl.xlsx.worksheet import KEEP_OUTSIDE, Cell
from nakano_xl.xlsx.zipguard import Limits, RefusedFile

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRINGS = ["◎", "研修を実施", " 前後に空白 ", "改行\nあり", "a_x000D_b"]
# Style 1 is locked text, 2 a date, 3 a number with two decimals, unlocked (styles.xml below).
STYLES = f"""<?xml version="1.0" encoding="UTF-8"?>
<styleSheet xmlns="{MAIN}"><numFmts count="1"><numFmt numFmtId="164" formatCode="0.00"/></numFmts>
<cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="49"><protection locked="1"/></xf><xf numFmtId="14"/>
<xf numFmtId="164" applyProtection="1"><protection locked="0"/></xf></cellXfs></styleSheet>"""


def sst_xml(body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{MAIN}" count="9">{body}</sst>'


def plain_strings(texts: list[str]) -> str:
    return sst_xml("".join(f'<si><t xml:space="preserve">{t}</t></si>' for t in texts))


def sheet_xml(rows: str, after: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}" xmlns:r="{REL}">'
            f'<dimension ref="A1:C3"/><sheetViews><sheetView workbookViewId="0"/></sheetViews>'
            f'<sheetData>{rows}</sheetData>{after}</worksheet>')


def workbook(path: Path, sheet: str, strings: str) -> Path:
    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                               'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>',
        "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                       f'relationships"><Relationship Id="rId1" Type="{REL}/officeDocument" '
                       f'Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0"?><workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
                           f'<sheet name="回答" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                                      f'package/2006/relationships">'
                                      f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
                                      f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
                                      f'<Relationship Id="rId3" Type="{REL}/styles" Target="styles.xml"/>'
                                      f'</Relationships>',
        "xl/worksheets/sheet1.xml": sheet,
        "xl/sharedStrings.xml": strings,
        "xl/styles.xml": STYLES,
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text.encode("utf-8"))
    return path


# STRINGS as a cell shows them (Excel's _xHHHH_ escape decoded); a bad index reads as empty.
def shown(i: int) -> str:
    return ["◎", "研修を実施", " 前後に空白 ", "改行\nあり", "a\rb"][i] if i < len(STRINGS) else ""


# Cells as spreadsheet programs write them, and as they may otherwise come: (the <c>, what it
# reads as — (text, kind, formula, cached, style) from the string index i, None for no cell —,
# whether it holds anything, which makes a sheet cut when it stands past the column cap).
CELLS = [
    ('<c r="{c}{r}" s="1" t="s"><v>{i}</v></c>', lambda i: (shown(i), "text", None, True, 1), True),
    ('<c r="{c}{r}" t="s"><v>{i}</v></c>', lambda i: (shown(i), "text", None, True, 0), True),
    ('<c r="{c}{r}" s="1"/>', None, False),
    ('<c r="{c}{r}"><v>3.5</v></c>', lambda i: ("3.5", "number", None, True, 0), True),
    ('<c r="{c}{r}" s="2"><v>44652</v></c>', lambda i: ("2022/4/1", "date", None, True, 2), True),
    ('<c r="{c}{r}" s="3"><v>1.005</v></c>', lambda i: ("1.01", "number", None, True, 3), True),
    ('<c r="{c}{r}" t="b"><v>1</v></c>', lambda i: ("TRUE", "bool", None, True, 0), True),
    ('<c r="{c}{r}" t="b"><v>0</v></c>', lambda i: ("FALSE", "bool", None, True, 0), True),
    ('<c r="{c}{r}" t="e"><v>#N/A</v></c>', lambda i: ("#N/A", "error", None, True, 0), True),
    ('<c r="{c}{r}" t="str"><v>x_x000A_y</v></c>', lambda i: ("x\ny", "text", None, True, 0), True),
    ('<c r="{c}{r}" t="s"><v></v></c>', lambda i: ("", "text", None, True, 0), True),
    ('<c r="{c}{r}" t="s"><v>99</v></c>', lambda i: ("", "text", None, True, 0), True),
    ('<c r="{c}{r}" s="1"></c>', None, False),
    ('<c r="{c}{r}" t="n"><v>12</v></c>', lambda i: ("12", "number", None, True, 0), True),
    ('<c r="{c}{r}" t="d"><v>2022-04-01T00:00:00</v></c>', lambda i: ("2022/4/1", "date", None, True, 0), True),
    ('<c r="{c}{r}" t="str"><f>"◎"</f><v>◎</v></c>', lambda i: ("◎", "text", '"◎"', True, 0), True),
    ('<c r="{c}{r}" t="inlineStr"><is><t>手入力</t></is></c>', lambda i: ("手入力", "text", None, True, 0), True),
    ('<c r="{c}{r}" t="inlineStr"><is><r><rPr><b/></rPr><t>太字</t></r><r><t>と普通</t></r>'
     '<rPh sb="0" eb="2"><t>フトジ</t></rPh></is></c>', lambda i: ("太字と普通", "text", None, True, 0), True),
    ('<c r="{c}{r}" t="inlineStr"/>', lambda i: ("", "text", None, True, 0), False),
    ('<c r="{c}{r}" t="str"><v>a &amp; b</v></c>', lambda i: ("a & b", "text", None, True, 0), True),
    ('<c r="{c}{r}"><f>1+1</f></c>', lambda i: ("", "formula-text", "1+1", False, 0), True),
    ('<c r="{c}{r}" s="1" cm="1"><v>1</v></c>', lambda i: ("1", "number", None, True, 1), True),
    ('<c t="s"><v>{i}</v></c>', lambda i: (shown(i), "text", None, True, 0), True),  # placed after the last
    ('<c r="{c}{r}" t="s"><v>1</v><v>2</v></c>', lambda i: (shown(1), "text", None, True, 0), True),
    ('<c r="{c}{r}"><v><![CDATA[5]]></v></c>', lambda i: ("5", "number", None, True, 0), True),
]
# Row openings; the last has no number: the row after the last one read.
ROW_OPENINGS = ['<row r="{r}">', '<row r="{r}" spans="1:3" ht="15" customHeight="1">',
                '<row r="{r}" x14ac:dyDescent="0.25">', "<row>"]
AFTER = [
    ("", False, []),
    ('<sheetProtection sheet="1" objects="1"/>', True, []),
    ('<sheetProtection sheet="1"/><mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells>'
     '<dataValidations count="1"><dataValidation type="list" sqref="C2:C9"><formula1>"◎,○,△,×"</formula1>'
     '</dataValidation></dataValidations>', True, ["A1:B1"]),
]


@st.composite
def sheets(draw):
    """(the sheet's XML, its rows as written: (row number, opening, cells or None for <row/>),
    what follows the rows); a cell is (column letter, index into CELLS, string index)."""
    gap = st.sampled_from(["", "", "\n", "\n  "])
    xml, rows = [], []
    row = 0
    for _ in range(draw(st.integers(0, 8))):
        row += draw(st.integers(1, 2))
        opening = draw(st.integers(0, len(ROW_OPENINGS) - 1))
        if opening < 3 and draw(st.booleans()) and not draw(st.booleans()):
            xml.append(draw(gap) + ROW_OPENINGS[opening].format(r=row)[:-1] + "/>")  # a row with no cells
            rows.append((row, opening, []))
            continue
        cells = [(col, draw(st.integers(0, len(CELLS) - 1)), draw(st.integers(0, 5)))
                 for col in sorted(draw(st.sets(st.sampled_from("ABCDEFG"), max_size=6)))]
        body = "".join(draw(gap) + CELLS[kind][0].format(c=col, r=row, i=i) for col, kind, i in cells)
        xml.append(draw(gap) + ROW_OPENINGS[opening].format(r=row) + body + draw(gap) + "</row>")
        rows.append((row, opening, cells))
    after = draw(st.integers(0, len(AFTER) - 1))
    sheet = sheet_xml("".join(xml) + draw(gap), AFTER[after][0])
    sheet = sheet.replace("<worksheet ", '<worksheet xmlns:x14ac="http://schemas.microsoft.com/office/'
                                         'spreadsheetml/2009/9/ac" ', 1)
    return sheet, rows, after


def as_written(rows, after: int, limits: Limits, area: tuple[int, int] | None) -> dict:
    """What the reader must give for ``rows``: a cell's place is its reference, else the
    column after the last cell's in the row being read, whose number is its own, else the
    one after the last row's. Reading stops at the first row past the cap (nothing after the
    rows is read then); a cell past the column cap is skipped, and cuts the sheet if it holds
    anything."""
    rows_cap, col_cap = limits.max_rows, limits.max_columns
    got: dict = {"cells": {}, "outside": [], "outside_count": 0, "rows_read": 0, "truncated": False}
    last_row = 0
    stopped = False
    for number, opening, cells in rows:
        row_at = last_row + 1 if ROW_OPENINGS[opening] == "<row>" else number
        col_no = 0
        for col_letter, kind, i in cells:
            template, reads_as, holds = CELLS[kind]
            row, col = (number, column_index(col_letter)) if "{c}" in template else (row_at, col_no + 1)
            col_no = col
            if row > rows_cap:
                got["truncated"] = stopped = True
                break
            if col > col_cap:
                got["truncated"] |= holds
                continue
            if reads_as is None:
                continue
            cell = Cell(row, col, *reads_as(i))
            if area is None or (row <= area[0] and col <= area[1]):
                got["cells"][(row, col)] = cell
            elif cell.text or cell.formula is not None:
                got["outside_count"] += 1
                if len(got["outside"]) < KEEP_OUTSIDE:
                    got["outside"].append(cell)
        if stopped:
            break
        got["rows_read"] += 1
        last_row = row_at
        if last_row > rows_cap or got["rows_read"] > rows_cap:
            got["truncated"] = stopped = True
            break
    _, protected, merged = AFTER[after]
    got["protected"], got["merged"] = (False, []) if stopped else (protected, merged)
    return got


LIMITS = [Limits(), Limits(max_rows=4, max_columns=3)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=sheets(), limits=st.sampled_from(LIMITS), area=st.sampled_from([None, (3, 2)]))
def test_a_random_sheet_reads_as_it_was_written(tmp_path, drawn, limits, area):
    sheet_text, rows, after = drawn
    path = workbook(tmp_path / "x.xlsx", sheet_text, plain_strings(STRINGS))
    with XlsxFile(path, limits) as book:
        sheet = book.read_sheet(book.sheets[0], area=area)
        rows_read = book.rows_read
    read = {"cells": sheet.cells, "outside": sheet.outside, "outside_count": sheet.outside_count,
            "rows_read": sheet.rows_read, "truncated": sheet.truncated, "protected": sheet.protected,
            "merged": sheet.merged}
    assert read == as_written(rows, after, limits, area)
    assert rows_read == sheet.rows_read


@pytest.mark.parametrize(("template", "holds"), [(t, holds) for t, _, holds in CELLS if "{c}" in t])
def test_a_cell_past_the_column_cap_cuts_the_sheet_if_it_holds_anything(tmp_path, template, holds):
    rows = '<row r="1"><c r="A1" t="s"><v>0</v></c>' + template.format(c="D", r=1, i=0) + "</row>"
    path = workbook(tmp_path / "x.xlsx", sheet_xml(rows), plain_strings(STRINGS))
    with XlsxFile(path, Limits(max_columns=3)) as book:
        sheet = book.read_sheet(book.sheets[0])
    assert list(sheet.cells) == [(1, 1)] and sheet.truncated is holds


def test_a_formula_is_read_with_its_cached_value_and_styles_with_their_lock(tmp_path):
    rows = ('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><f>1+1</f><v>2</v></c>'
            '<c r="C1" s="3"><v>2</v></c><c r="D1" s="1"><v>2</v></c></row>')
    path = workbook(tmp_path / "x.xlsx", sheet_xml(rows), plain_strings(STRINGS))
    with XlsxFile(path) as book:
        sheet = book.read_sheet(book.sheets[0])
    assert sheet.get(1, 1) == Cell(1, 1, "◎", "text")
    assert sheet.get(1, 2) == Cell(1, 2, "2", "number", "1+1")
    assert [sheet.is_locked(1, col) for col in (1, 2, 3, 4, 5)] == [True, True, False, True, True]


def test_a_corrupt_sheet_is_refused_as_corrupt(tmp_path):
    rows = '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2">'  # never closed
    path = workbook(tmp_path / "x.xlsx", sheet_xml(rows), plain_strings(STRINGS))
    with XlsxFile(path) as book, pytest.raises(RefusedFile) as refused:
        book.read_sheet(book.sheets[0])
    assert refused.value.code == "file.corrupt" and "回答" in refused.value.reason


SHARED = [
    # (the <si> elements, the texts)
    ('<si><t>◎</t></si><si><t xml:space="preserve"> 空白 </t></si><si><t/></si>', ["◎", " 空白 ", ""]),
    ('<si><t>研修</t><rPh sb="0" eb="2"><t>ケンシュウ</t></rPh><phoneticPr fontId="1" type="noConversion"/></si>',
     ["研修"]),
    ("<si><t>a_x000D_b_x005F_x000D_</t></si>", ["a\rb_x000D_"]),
    ('<si><r><rPr><b/></rPr><t>太字</t></r><r><t>と普通</t></r><rPh sb="0" eb="2"><t>フトジ</t></rPh></si>'
     '<si><t>x</t></si>', ["太字と普通", "x"]),
    ("<si><t>a &amp; b</t></si>", ["a & b"]),
    ("\n  <si><t>改行\nあり</t></si>\n", ["改行\nあり"]),
]


@pytest.mark.parametrize(("body", "texts"), SHARED)
def test_shared_strings_are_read_without_furigana(tmp_path, body, texts):
    """A plain <t>, runs of rich text, furigana (<rPh>) left out, escapes decoded, entities."""
    rows = "".join(f'<row r="{n}"><c r="A{n}" t="s"><v>{n - 1}</v></c></row>' for n in range(1, len(texts) + 1))
    path = workbook(tmp_path / "x.xlsx", sheet_xml(rows), sst_xml(body))
    with XlsxFile(path) as book:
        sheet = book.read_sheet(book.sheets[0])
    assert [sheet.text(n, 1) for n in range(1, len(texts) + 1)] == texts


def test_parts_read_the_same_kept_from_the_scan_or_inflated_again(tmp_path, monkeypatch):
    """The scan keeps what it inflated for reading; without room to keep it, every part read
    is inflated a second time, under the same checks, and reads the same."""
    rows = "".join(f'<row r="{n}"><c r="A{n}" t="s"><v>{n % 5}</v></c><c r="B{n}" s="2"><v>{44650 + n}</v></c>'
                   f'</row>' for n in range(1, 3000))
    path = workbook(tmp_path / "x.xlsx", sheet_xml(rows), plain_strings(STRINGS))
    read = []
    for room in (zipguard.CACHE_BYTES, 0):
        monkeypatch.setattr(zipguard, "CACHE_BYTES", room)
        with XlsxFile(path) as book:
            scanned = book.inflated
            sheet = book.read_sheet(book.sheets[0])
            read.append((sheet.cells, sheet.truncated, book.inflated - scanned))
    (kept, kept_cut, kept_again), (again, again_cut, inflated_again) = read
    assert kept == again and len(kept) == 2 * 2999 and kept_cut is again_cut is False
    assert kept_again == 0 and inflated_again > 100_000
