"""Values: marks by the explicit table, reasons, formulas, text kept as typed, output as text.

The victim is 職員課: one row (T4, row 5), status in C5, reason in D5, 取組状況 in E5.
"""

from __future__ import annotations

import csv
import datetime as dt
import zipfile

import openpyxl
import pytest

from nakano_xl.answers import load_answers
from nakano_xl.fill import fill_workbook

from .helpers import read_csv
from .intake_kit import (
    GOOD,
    assert_landed,
    codes,
    edit_part,
    file_of,
    others_than,
    replace_cell,
    report_answers,
    returned,
    rewrite_zip,
    run,
    style_of,
    with_openpyxl,
)

VICTIM = "職員課"
FILE = file_of(VICTIM)


def retype(ws, dist, values):
    fill_workbook(dist.files[VICTIM], ws.inbox / FILE, {"T4": values}, ws.template, paste=True)


LOOKALIKES = [
    ("◯", "○", "U+25EF"),  # large circle
    ("〇", "○", "U+3007"),  # ideographic number zero
    ("✕", "×", "U+2715"),
    ("✖", "×", "U+2716"),
    ("✖\ufe0f", "×", "U+FE0F"),  # with the emoji selector a phone adds
    ("x", "×", "U+0078"),
    ("X", "×", "U+0058"),
    ("二重丸", "◎", "U+4E8C"),
    (" ○ ", "○", "U+0020"),  # ASCII spaces around a right mark
    ("\u3000◎\u3000", "◎", "U+3000"),  # full-width spaces
]


@pytest.mark.parametrize("typed,mark,point", LOOKALIKES)
def test_a_lookalike_mark_is_read_as_the_mark_with_a_warning_naming_what_was_typed(tmp_path, typed, mark, point):
    ws, dist, _ = returned(tmp_path)
    retype(ws, dist, {"status": typed, "reason": "会場の都合で日程を変えた。", "results_to_date": "実施した。"})
    result = run(ws)
    assert codes(result, FILE) == [("status.lookalike", FILE, "C5")]
    found = next(f for f in result.findings if f.code == "status.lookalike")
    assert point in found.value and f"「{mark}」" in found.message and found.severity.name == "WARNING"
    assert report_answers(ws)["T4"]["status"] == mark
    assert_landed(ws, others_than(VICTIM))


@pytest.mark.parametrize("typed,point", [("▲", "U+25B2"), ("済", "U+6E08"), ("⭕", "U+2B55"), ("○×", "U+00D7"),
                                         ("1", "U+0031")])
def test_anything_else_is_an_error_and_the_row_counts_as_unanswered(tmp_path, typed, point):
    ws, dist, _ = returned(tmp_path)
    retype(ws, dist, {"status": typed, "results_to_date": "実施した。"})
    result = run(ws)
    assert codes(result, FILE) == [("status.invalid", FILE, "C5")]
    assert point in next(f.value for f in result.findings if f.code == "status.invalid")
    seen = report_answers(ws)["T4"]
    assert seen["status"] == "" and seen["results_to_date"] == "実施した。"
    assert result.counts[next(s for s in result.counts if s.mark == "◎")] == 2  # T1, T2 — not T4
    assert_landed(ws, others_than(VICTIM))


@pytest.mark.parametrize("mark,code,severity", [("○", "reason.missing", "ERROR"), ("×", "reason.missing", "ERROR"),
                                                ("△", "reason.recommended", "WARNING")])
def test_marks_that_need_a_reason_without_one(tmp_path, mark, code, severity):
    ws, dist, _ = returned(tmp_path)
    retype(ws, dist, {"status": mark, "results_to_date": "実施した。"})
    result = run(ws)
    assert codes(result, FILE) == [(code, FILE, "D5")]
    assert next(f for f in result.findings if f.code == code).severity.name == severity
    assert report_answers(ws)["T4"]["status"] == mark  # the mark is used; the reason is asked for
    assert_landed(ws, others_than(VICTIM))


# -- formulas -----------------------------------------------------------------------------

def test_a_formula_with_a_cached_value_gives_the_value_and_a_warning(tmp_path):
    ws, _, files = returned(tmp_path)
    s = style_of(files[VICTIM], "回答", "E5")
    replace_cell(files[VICTIM], "回答", "E5",
                 f'<c r="E5" s="{s}" t="str"><f>"研修を"&amp;"3回実施した。"</f><v>研修を3回実施した。</v></c>')
    result = run(ws)
    assert codes(result, FILE) == [("formula.cached", FILE, "E5")]
    assert '="研修を"&"3回実施した。"' in next(f.message for f in result.findings if f.code == "formula.cached")
    assert report_answers(ws)["T4"]["results_to_date"] == "研修を3回実施した。"
    assert_landed(ws)


def test_a_formula_without_a_cached_value_is_an_error_and_blank(tmp_path):
    """openpyxl (a program) writes formulas without results: nobody recalculated this file."""
    ws, _, files = returned(tmp_path)

    def formula(book):
        book["回答"]["E5"] = "=CONCATENATE(\"研修を\",\"実施\")"

    with_openpyxl(files[VICTIM], formula)
    result = run(ws)
    assert codes(result, FILE) == [("formula.no_value", FILE, "E5")]
    assert report_answers(ws)["T4"]["results_to_date"] == ""
    assert_landed(ws, others_than(VICTIM))


EXTERNAL_LINK = ('<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                 '<externalBook r:id="rId1"/></externalLink>')
EXTERNAL_RELS = ('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                 '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                 'externalLinkPath" Target="file:///C:/Users/yamada/Desktop/課内集計.xlsx" TargetMode="External"/>'
                 '</Relationships>')


def test_an_external_reference_is_reported_and_never_followed(tmp_path):
    ws, _, files = returned(tmp_path)
    path = files[VICTIM]
    s = style_of(path, "回答", "E5")
    replace_cell(path, "回答", "E5", f'<c r="E5" s="{s}" t="str"><f>[1]集計!B3</f><v>研修を2回実施した。</v></c>')
    rewrite_zip(path, lambda n, d: d, add={"xl/externalLinks/externalLink1.xml": EXTERNAL_LINK.encode(),
                                           "xl/externalLinks/_rels/externalLink1.xml.rels": EXTERNAL_RELS.encode()})
    edit_part(path, "xl/_rels/workbook.xml.rels", lambda t: t.replace("</Relationships>", (
        '<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'externalLink" Target="externalLinks/externalLink1.xml"/></Relationships>')))
    result = run(ws)
    assert codes(result, FILE) == [("file.external_link", FILE, None), ("formula.external", FILE, "E5")]
    link = next(f for f in result.findings if f.code == "file.external_link")
    assert "課内集計.xlsx" in link.value
    assert report_answers(ws)["T4"]["results_to_date"] == "研修を2回実施した。"
    assert_landed(ws, others_than(VICTIM))


def test_an_error_value_is_an_error_and_blank(tmp_path):
    ws, _, files = returned(tmp_path)
    replace_cell(files[VICTIM], "回答", "E5", '<c r="E5" t="e"><f>VLOOKUP(A5,X!A:B,2,0)</f><v>#N/A</v></c>')
    result = run(ws)
    assert codes(result, FILE) == [("cell.error_value", FILE, "E5")]
    assert "#N/A" in next(f.message for f in result.findings if f.code == "cell.error_value")
    assert report_answers(ws)["T4"]["results_to_date"] == ""
    assert_landed(ws, others_than(VICTIM))


# -- text as typed --------------------------------------------------------------------------

def inline(text: str) -> str:
    return f'<c r="E5" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


TEXTS = {
    "escaped carriage return": (inline("一行目_x000D_\n二行目"), "一行目\n二行目"),
    "escaped underscore stays literal": (inline("記号_x005F_x000D_はそのまま"), "記号_x000D_はそのまま"),
    "decomposed kana composed (NFC)": (inline("か\u3099っこう"), "がっこう"),
    "whole number as shown": ('<c r="E5" t="n"><v>46</v></c>', "46"),
    "decimal number as shown": ('<c r="E5" t="n"><v>46.5</v></c>', "46.5"),
    "number as a float string": ('<c r="E5" t="n"><v>46.0</v></c>', "46"),
}


@pytest.mark.parametrize("case", sorted(TEXTS))
def test_text_is_kept_as_typed_and_numbers_as_shown(tmp_path, case):
    xml, want = TEXTS[case]
    ws, _, files = returned(tmp_path)
    replace_cell(files[VICTIM], "回答", "E5", xml)
    result = run(ws)
    assert codes(result, FILE) == []
    assert report_answers(ws)["T4"]["results_to_date"] == want
    assert_landed(ws, others_than(VICTIM))


@pytest.mark.parametrize("number_format,want", [("yyyy/m/d", "2022/4/1"), ("m/d", "4/1"),
                                                ('yyyy"年"m"月"d"日"', "2022年4月1日"),
                                                ('[$-ja-JP]ggge"年"m"月"d"日"', "令和4年4月1日")])
def test_a_date_in_a_text_column_reads_as_the_department_saw_it(tmp_path, number_format, want):
    ws, _, files = returned(tmp_path)

    def paste_date(book):
        cell = book["回答"]["F5"]
        cell.value = dt.datetime(2022, 4, 1)
        cell.number_format = number_format

    with_openpyxl(files[VICTIM], paste_date)
    result = run(ws)
    assert codes(result, FILE) == []
    assert report_answers(ws)["T4"]["plan_next_year"] == want
    assert_landed(ws, others_than(VICTIM))


def test_a_typed_hyperlink_formula_stays_text_end_to_end(tmp_path):
    ws, dist, _ = returned(tmp_path)
    typed = '=HYPERLINK("https://example.com/kenshu","研修の資料")'
    retype(ws, dist, {**GOOD[VICTIM]["T4"], "results_to_date": typed})
    result = run(ws)
    assert codes(result, FILE) == []
    assert result.answers["T4"].results_to_date == typed
    book = openpyxl.load_workbook(ws.report_path())
    sheet = book["別紙1"]
    [cell] = [c for row in sheet.iter_rows() for c in row if c.value == typed]
    assert cell.data_type == "s" and cell.hyperlink is None
    with zipfile.ZipFile(ws.report_path()) as z:
        assert not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/"))
    with (ws.output / "answers_R3.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = {r["item_id"]: r for r in csv.DictReader(f)}
    assert rows["T4"]["results_to_date"] == "'" + typed  # neutralised for whoever opens the CSV
    assert load_answers(ws.answers_path(), ws.plan)["T4"].results_to_date == typed
    assert_landed(ws, others_than(VICTIM))


def test_shared_string_runs_are_read_without_their_furigana(tmp_path):
    """Japanese Excel keeps the reading (ふりがな) of a string in <rPh> inside the same <si>:
    it is not part of the text. Rich text runs are."""
    ws, _, files = returned(tmp_path)
    si = ('<si><r><rPr><b/></rPr><t>研修</t></r><r><t xml:space="preserve">を実施 </t></r>'
          '<rPh sb="0" eb="2"><t>ケンシュウ</t></rPh><phoneticPr fontId="1"/></si>')
    sst = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.openxmlformats.org/'
           f'spreadsheetml/2006/main" count="2" uniqueCount="2"><si><t>未使用</t></si>{si}</sst>')
    main = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"

    def link(name: str, data: bytes) -> bytes:  # the part, as the workbook's relationships name it
        text = data.decode("utf-8")
        if name == "[Content_Types].xml":
            text = text.replace("</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{main}"/></Types>')
        elif name == "xl/_rels/workbook.xml.rels":
            text = text.replace("</Relationships>",
                                f'<Relationship Id="rIdSst" Type="{rel}" Target="sharedStrings.xml"/></Relationships>')
        return text.encode("utf-8")

    rewrite_zip(files[VICTIM], link, add={"xl/sharedStrings.xml": sst.encode("utf-8")})
    replace_cell(files[VICTIM], "回答", "E5", '<c r="E5" t="s"><v>1</v></c>')
    result = run(ws)
    assert codes(result, FILE) == []
    assert report_answers(ws)["T4"]["results_to_date"] == "研修を実施 "  # as typed, the space too
    assert_landed(ws, others_than(VICTIM))


def test_a_text_longer_than_a_cell_is_cut_in_the_report_only_and_said_so(tmp_path):
    """A file written by a program can hold more than Excel's 32,767 characters in a cell: the
    report's cell can only show that many; the answers CSV keeps the whole text."""
    ws, _, files = returned(tmp_path)
    text = "研修を実施した。" * 5_000  # 40,000 characters
    replace_cell(files[VICTIM], "回答", "E5", inline(text))
    result = run(ws)
    assert codes(result, FILE) == [("cell.too_long", FILE, "E5")]
    assert "40,000文字" in next(f.message for f in result.findings if f.code == "cell.too_long")
    assert report_answers(ws)["T4"]["results_to_date"] == text[:32_767]
    rows = {r["item_id"]: r for r in read_csv(ws.output / f"answers_{ws.year.code}.csv")}
    assert rows["T4"]["results_to_date"] == text
    assert_landed(ws, others_than(VICTIM))
