"""The plain-shape reading of sheets and shared strings gives what the general reading gives.

A department's sheet whose rows hold only plain cells (`reader._ROW_TOKENS`) is read without a
callback per element; anything else goes the general way (issue 9). Random sheets mixing
plain cells with everything that is not plain — formulas, entities, inline strings, cells
past the limits, whitespace, rows without cells — are read both ways here, and the sheets
must be equal: cells, merges, protection, rows counted, what lies outside the
area, whether the limits cut the sheet.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nakano_xl.xlsx import reader
from nakano_xl.xlsx.reader import Limits, RefusedFile, XlsxFile

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRINGS = ["◎", "研修を実施", " 前後に空白 ", "改行\nあり", "a_x000D_b"]
# Style 1 is locked text, 2 a date, 3 a number with two decimals (styles.xml below).
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


def read_both(path: Path, monkeypatch, limits: Limits, area: tuple[int, int] | None):
    """(the sheet and rows read as the small-part path reads it, the same streamed)."""
    out = []
    for small in (reader.SMALL_PART_BYTES, 0):
        monkeypatch.setattr(reader, "SMALL_PART_BYTES", small)
        with XlsxFile(path, limits) as book:
            sheet = book.read_sheet(book.sheets[0], area=area)
            out.append((sheet, book.rows_read))
    return out


# Cells as spreadsheet programs write them: plain ones, and ones that are not plain.
PLAIN_CELLS = [
    '<c r="{c}{r}" s="1" t="s"><v>{i}</v></c>', '<c r="{c}{r}" t="s"><v>{i}</v></c>', '<c r="{c}{r}" s="1"/>',
    '<c r="{c}{r}"><v>3.5</v></c>', '<c r="{c}{r}" s="2"><v>44652</v></c>', '<c r="{c}{r}" s="3"><v>1.005</v></c>',
    '<c r="{c}{r}" t="b"><v>1</v></c>', '<c r="{c}{r}" t="e"><v>#N/A</v></c>', '<c r="{c}{r}" t="str"><v>x_x000A_y</v></c>',
    '<c r="{c}{r}" t="s"><v></v></c>', '<c r="{c}{r}" t="s"><v>99</v></c>', '<c r="{c}{r}" s="1"></c>',
    '<c r="{c}{r}" t="n"><v>12</v></c>', '<c r="{c}{r}" t="d"><v>2022-04-01T00:00:00</v></c>',
]
OTHER_CELLS = [
    '<c r="{c}{r}" t="str"><f>"◎"</f><v>◎</v></c>', '<c r="{c}{r}" t="inlineStr"><is><t>手入力</t></is></c>',
    '<c r="{c}{r}" t="str"><v>a &amp; b</v></c>', '<c r="{c}{r}"><f>1+1</f></c>', '<c r="{c}{r}" s="1" cm="1"><v>1</v></c>',
    '<c t="s"><v>0</v></c>', '<c r="{c}{r}" t="s"><v>1</v><v>2</v></c>', '<c r="{c}{r}"><v><![CDATA[5]]></v></c>',
]
ROW_OPENINGS = ['<row r="{r}">', '<row r="{r}" spans="1:3" ht="15" customHeight="1">', '<row r="{r}" x14ac:dyDescent="0.25">',
                "<row>"]


@st.composite
def sheets(draw, plain_only: bool):
    cells = PLAIN_CELLS if plain_only else PLAIN_CELLS + OTHER_CELLS
    openings = ROW_OPENINGS[:2] if plain_only else ROW_OPENINGS
    gap = st.sampled_from(["", "", "\n", "\n  "])
    rows = []
    row = 0
    for _ in range(draw(st.integers(0, 8))):
        row += draw(st.integers(1, 2))
        opening = draw(st.sampled_from(openings))
        if opening.endswith('">') and draw(st.booleans()) and not draw(st.booleans()):
            rows.append(draw(gap) + opening.format(r=row)[:-1] + "/>")  # a row with no cells
            continue
        body = []
        for col in sorted(draw(st.sets(st.sampled_from("ABCDEFG"), max_size=6))):
            body.append(draw(gap) + draw(st.sampled_from(cells)).format(c=col, r=row, i=draw(st.integers(0, 5))))
        rows.append(draw(gap) + opening.format(r=row) + "".join(body) + draw(gap) + "</row>")
    after = draw(st.sampled_from([
        "", '<sheetProtection sheet="1" objects="1"/>',
        '<sheetProtection sheet="1"/><mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells>'
        '<dataValidations count="1"><dataValidation type="list" sqref="C2:C9"><formula1>"◎,○,△,×"</formula1>'
        '</dataValidation></dataValidations>',
    ]))
    return sheet_xml("".join(rows) + draw(gap), after)


LIMITS = [Limits(), Limits(max_rows=4, max_columns=3)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sheet=sheets(plain_only=False), limits=st.sampled_from(LIMITS), area=st.sampled_from([None, (3, 2)]))
def test_a_sheet_reads_the_same_whole_or_streamed(tmp_path, monkeypatch, sheet, limits, area):
    x_prefix = sheet.replace("<worksheet ", '<worksheet xmlns:x14ac="http://schemas.microsoft.com/office/'
                                           'spreadsheetml/2009/9/ac" ', 1)
    path = workbook(tmp_path / "x.xlsx", x_prefix, plain_strings(STRINGS))
    small, streamed = read_both(path, monkeypatch, limits, area)
    assert small == streamed


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sheet=sheets(plain_only=True))
def test_a_plain_sheet_is_read_the_plain_way(tmp_path, monkeypatch, sheet):
    """The plain way is not only equal, it is taken: for rows as programs write them."""
    calls = []
    real = reader._replay_rows
    monkeypatch.setattr(reader, "_replay_rows", lambda tokens, h: (calls.append(len(tokens)), real(tokens, h)))
    path = workbook(tmp_path / "x.xlsx", sheet, plain_strings(STRINGS))
    with XlsxFile(path) as book:
        book.read_sheet(book.sheets[0])
    assert len(calls) == 1


def test_a_formula_sends_the_whole_sheet_the_general_way(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(reader, "_replay_rows", lambda tokens, h: calls.append(tokens))
    rows = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><f>1+1</f><v>2</v></c></row>'
    path = workbook(tmp_path / "x.xlsx", sheet_xml(rows), plain_strings(STRINGS))
    with XlsxFile(path) as book:
        sheet = book.read_sheet(book.sheets[0])
    assert calls == []
    assert sheet.get(1, 1).text == "◎" and sheet.get(1, 2).formula == "1+1"


def test_a_corrupt_small_sheet_is_refused_as_a_streamed_one_is(tmp_path, monkeypatch):
    rows = '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2">'  # never closed
    path = workbook(tmp_path / "x.xlsx", sheet_xml(rows), plain_strings(STRINGS))
    refusals = []
    for small in (reader.SMALL_PART_BYTES, 0):
        monkeypatch.setattr(reader, "SMALL_PART_BYTES", small)
        with XlsxFile(path) as book, pytest.raises(RefusedFile) as refused:
            book.read_sheet(book.sheets[0])
        refusals.append((refused.value.code, refused.value.reason))
    assert refusals[0] == refusals[1] and refusals[0][0] == "file.corrupt"


SHARED = [
    # (the <si> elements, the texts)
    ('<si><t>◎</t></si><si><t xml:space="preserve"> 空白 </t></si><si><t/></si>', ["◎", " 空白 ", ""]),
    ('<si><t>研修</t><rPh sb="0" eb="2"><t>ケンシュウ</t></rPh><phoneticPr fontId="1" type="noConversion"/></si>',
     ["研修"]),
    ("<si><t>a_x000D_b_x005F_x000D_</t></si>", ["a\rb_x000D_"]),
    ('<si><r><rPr><b/></rPr><t>太字</t></r><r><t>と普通</t></r></si><si><t>x</t></si>', ["太字と普通", "x"]),
    ("<si><t>a &amp; b</t></si>", ["a & b"]),
    ("\n  <si><t>改行\nあり</t></si>\n", ["改行\nあり"]),
]


@pytest.mark.parametrize(("body", "texts"), SHARED)
def test_shared_strings_read_the_same_every_way(tmp_path, monkeypatch, body, texts):
    """Plain (a <t>, furigana at most), whole through ElementTree, streamed: the same texts."""
    path = workbook(tmp_path / "x.xlsx", sheet_xml(""), sst_xml(body))
    found = []
    for way in ("plain", "whole", "streamed"):
        if way == "whole":
            monkeypatch.setattr(reader, "_plain_strings", lambda data, opening: None)
        if way == "streamed":
            monkeypatch.setattr(reader, "SMALL_PART_BYTES", 0)
        with XlsxFile(path) as book:
            found.append(book.shared_strings())
    assert found == [texts] * 3
