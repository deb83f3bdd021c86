"""What a file holds can always be written: texts made representable, cells resolved or named,
saved times judged against the distribution.

Each case is one of the tiny workspace's valid returns spoiled once. The victim is 職員課
(T4 in row 5: 進捗状況 C5, 取組状況 E5 "研修を3回実施した。", 取組予定 F5); the other
departments' answers must land unchanged, and no command may stop (exit 2) on the file. The
KPI case starts from the demo's workspace rolled over, the tiny plan having no KPIs.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.comments import Comment

from nakano_xl.cli import cli
from nakano_xl.consolidate import consolidate, findings_json
from nakano_xl.distribute import distribute
from nakano_xl.fill import fill_workbook, type_into
from nakano_xl.findings import finding
from nakano_xl.intake import Submission, read_file
from nakano_xl.intake.caps import CAP
from nakano_xl.intake.identify import find_metadata, format_saved_at
from nakano_xl.intake.inbox import resolve_duplicates
from nakano_xl.rollover import rollover
from nakano_xl.validate import clean_text
from nakano_xl.xlsx import reader
from nakano_xl.xlsx.reader import XlsxFile
from nakano_xl.xlsx.text import decode_escapes
from nakano_xl.xlsx.zipguard import Limits

from .intake_kit import (
    GOOD,
    assert_landed,
    distributed_at,
    edit_part,
    file_of,
    others_than,
    part_of,
    replace_cell,
    report_answers,
    returned,
    rewrite_zip,
    set_saved_at,
    style_of,
    with_openpyxl,
)

VICTIM = "職員課"
FILE = file_of(VICTIM)
TYPED = GOOD[VICTIM]["T4"]["results_to_date"]  # 研修を3回実施した。
FFFD = "\ufffd"


def cli_run(*args: object):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code in (0, 1), result.output  # 2 would be a run stopped by the file
    assert "予期しない" not in result.output, result.output
    return result


def consolidate_cli(ws) -> list[dict]:
    """``nakano-xl consolidate``, then every output read back: the findings as written."""
    cli_run("consolidate", "-w", ws.root, "-q")
    found = json.loads(ws.findings_path().read_text(encoding="utf-8"))
    with ws.answers_path().open(encoding="utf-8-sig", newline="") as f:
        assert list(csv.reader(f))
    openpyxl.load_workbook(ws.report_path()).close()
    return found


def findings_of(found: list[dict], code: str, file: str = FILE) -> list[dict]:
    return [f for f in found if f["code"] == code and f["file"] == file]


def inline(ref: str, text: str, style: str = "10") -> str:
    return f'<c r="{ref}" s="{style}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


SST = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def to_shared_strings(path: Path, sheet: str, cells: dict[str, str]) -> None:
    """Excel's way of storing texts: those of ``cells`` (A1 → the text as XML, escapes and
    all) moved into a shared strings table the cells refer to by index."""
    for n, ref in enumerate(cells):
        replace_cell(path, sheet, ref, f'<c r="{ref}" s="{style_of(path, sheet, ref)}" t="s"><v>{n}</v></c>')
    table = "".join(f'<si><t xml:space="preserve">{text}</t></si>' for text in cells.values())
    sst = f'<sst xmlns="{SST}" count="{len(cells)}" uniqueCount="{len(cells)}">{table}</sst>'
    rewrite_zip(path, lambda name, data: data, add={"xl/sharedStrings.xml": sst.encode("utf-8")})
    edit_part(path, "xl/_rels/workbook.xml.rels", lambda t: t.replace(
        "</Relationships>", f'<Relationship Id="rIdS1" Type="{SST_REL}" Target="sharedStrings.xml"/></Relationships>'))
    edit_part(path, "[Content_Types].xml", lambda t: t.replace(
        "</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SST_TYPE}"/></Types>'))


# -- item 1: what cannot be written is replaced, visibly, with a finding ---------------------------

# (as written in the file, the code point named in the finding)
UNWRITABLE = [
    ("_xD800_", "U+D800"),  # a lone high surrogate, as Excel escapes it
    ("_xDFFF_", "U+DFFF"),  # a lone low surrogate
    ("_xdb7f_", "U+DB7F"),  # lower-case hex
    ("_x0001_", "U+0001"),
    ("_x001B_", "U+001B"),  # ESC: would drive a terminal
    ("_x007F_", "U+007F"),
    ("_xFFFE_", "U+FFFE"),
    ("_xFFFF_", "U+FFFF"),
    ("\u0085", "U+0085"),  # a C1 control, valid in XML, typed raw
    ("&#x9B;", "U+009B"),  # CSI as a character reference
]


@pytest.mark.parametrize("written,point", UNWRITABLE)
def test_a_shared_string_answer_with_what_cannot_be_written_is_replaced_and_named(tmp_path, written, point):
    ws, _, files = returned(tmp_path)
    to_shared_strings(files[VICTIM], "回答", {"E5": f"研修を{written}3回実施した。", "F5": "継続する。"})
    found = consolidate_cli(ws)
    [hit] = findings_of(found, "cell.unrepresentable")
    assert (hit["sheet"], hit["cell"], hit["item_id"], hit["severity"]) == ("回答", "E5", "T4", "warning")
    assert point in hit["message"] and FFFD in hit["value"]
    assert [f["code"] for f in found if f["file"] == FILE] == ["cell.unrepresentable"]
    assert report_answers(ws)["T4"]["results_to_date"] == f"研修を{FFFD}3回実施した。"
    assert report_answers(ws)["T4"]["plan_next_year"] == "継続する。"  # the next string of the table
    assert f"研修を{FFFD}3回実施した。" in ws.answers_path().read_text(encoding="utf-8-sig")
    assert_landed(ws, others_than(VICTIM))


@pytest.mark.parametrize("xml,want", [
    (inline("E6", "基盤の_xDBFF_設計を終えた。"), f"基盤の{FFFD}設計を終えた。"),
    (inline("E6", "_xDC00__x0002_基盤"), f"{FFFD}{FFFD}基盤"),
    ('<c r="E6" s="10" t="str"><f>"設計"&amp;"済"</f><v>設計_xD801_済</v></c>', f"設計{FFFD}済"),
])
def test_inline_and_formula_strings_are_replaced_the_same_way_in_check_and_consolidate(tmp_path, xml, want):
    ws, _, files = returned(tmp_path)
    path = files["情報システム課"]  # T3 in row 6
    replace_cell(path, "回答", "E6", xml)
    out = cli_run("check", path).output
    assert "回答!E6 [T3]" in out and "表示・保存できない文字" in out
    out = cli_run("check", path, "-w", ws.root).output
    assert "回答!E6 [T3]" in out and "表示・保存できない文字" in out
    cli_run("status", "-w", ws.root)
    found = consolidate_cli(ws)
    [hit] = findings_of(found, "cell.unrepresentable", file_of("情報システム課"))
    assert (hit["cell"], hit["item_id"]) == ("E6", "T3")
    assert report_answers(ws)["T3"]["results_to_date"] == want
    assert_landed(ws, ["戸籍住民課", "職員課"])


def test_an_escaped_surrogate_pair_is_one_character_as_excel_shows_it(tmp_path):
    ws, _, files = returned(tmp_path)
    replace_cell(files[VICTIM], "回答", "E5", inline("E5", "研修_xD83D__xDE00_済"))
    found = consolidate_cli(ws)
    assert [f["code"] for f in found if f["file"] == FILE] == []
    assert report_answers(ws)["T4"]["results_to_date"] == "研修\U0001F600済"
    assert decode_escapes("_xd83d__xde00__xD83D_") == f"\U0001F600{chr(0xD83D)}"  # a half stays half


def test_export_writes_csv_and_json_after_an_unwritable_answer(tmp_path):
    ws, _, files = returned(tmp_path)
    replace_cell(files[VICTIM], "回答", "E5", inline("E5", "研修を_xD800_3回実施した。"))
    for fmt in ("csv", "json"):
        target = tmp_path / f"out.{fmt}"
        out = cli_run("export", "-w", ws.root, "--format", fmt, "-o", target, "-q").output
        assert "表示・保存できない文字" in out
        text = target.read_bytes().decode("utf-8")
        assert f"研修を{FFFD}3回実施した。" in text
        if fmt == "json":
            json.loads(text)
        else:
            assert list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_a_fixed_text_with_a_control_character_is_named_and_the_plan_wins(tmp_path):
    ws, _, files = returned(tmp_path)
    replace_cell(files[VICTIM], "回答", "B5", inline("B5", "職員研修の_x0008_実施", style="5"))
    found = consolidate_cli(ws)
    [hit] = findings_of(found, "cell.unrepresentable")
    assert (hit["cell"], hit["item_id"]) == ("B5", "T4") and "U+0008" in hit["message"]
    [edited] = findings_of(found, "cell.fixed_edited")
    assert f"職員研修の{FFFD}実施" in edited["message"]
    assert_landed(ws)


def test_a_comment_with_a_lone_surrogate_is_reported_at_its_cell(tmp_path):
    ws, _, files = returned(tmp_path)

    def comment(book):
        book["回答"]["G5"].comment = Comment("来年度_xDABC_は未定", "山田\u0085")

    with_openpyxl(files[VICTIM], comment)
    found = consolidate_cli(ws)
    [note] = findings_of(found, "cell.comment")
    assert note["cell"] == "G5" and f"来年度{FFFD}は未定" in note["message"]
    places = sorted((f["cell"], f["sheet"], f["message"].split("に")[0]) for f in findings_of(found, "cell.unrepresentable"))
    assert places == [("G5", "回答", "コメント"), ("G5", "回答", "コメントの作成者")]
    assert_landed(ws)


DRAWING = ('<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
           'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><xdr:twoCellAnchor>'
           '<xdr:from><xdr:col>9</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>4</xdr:row><xdr:rowOff>0</xdr:rowOff>'
           '</xdr:from><xdr:to><xdr:col>12</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>8</xdr:row>'
           '<xdr:rowOff>0</xdr:rowOff></xdr:to><xdr:sp><xdr:nvSpPr><xdr:cNvPr id="2" name="TextBox 1"/>'
           '<xdr:cNvSpPr txBox="1"/></xdr:nvSpPr><xdr:spPr/><xdr:txBody><a:bodyPr/><a:p><a:r>'
           '<a:t>人員が&#x9B;揃い次第</a:t></a:r></a:p></xdr:txBody></xdr:sp><xdr:clientData/></xdr:twoCellAnchor>'
           '</xdr:wsDr>')
DRAWING_REL = ('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
               '<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
               'drawing" Target="../drawings/drawing1.xml"/></Relationships>')


def test_a_text_box_with_a_control_character_is_reported_on_its_sheet(tmp_path):
    ws, _, files = returned(tmp_path)
    path = files[VICTIM]
    rewrite_zip(path, lambda n, d: d, add={"xl/drawings/drawing1.xml": DRAWING.encode(),
                                           "xl/worksheets/_rels/sheet1.xml.rels": DRAWING_REL.encode()})
    found = consolidate_cli(ws)
    [box] = findings_of(found, "sheet.drawing_text")
    assert f"人員が{FFFD}揃い次第" in box["message"]
    [hit] = findings_of(found, "cell.unrepresentable")
    assert (hit["sheet"], hit["cell"]) == ("回答", None) and "図形の文字" in hit["message"] and "U+009B" in hit["message"]
    assert_landed(ws)


@pytest.mark.parametrize("sheet,renamed,code", [
    ("回答", "回答&#x85;", "sheet.renamed"),  # still found by its item ids
    ("記入要領", "記入&#x9B;要領", "sheet.extra"),
])
def test_a_sheet_name_with_a_control_character_is_named(tmp_path, sheet, renamed, code):
    ws, _, files = returned(tmp_path)
    edit_part(files[VICTIM], "xl/workbook.xml", lambda t: t.replace(f'name="{sheet}"', f'name="{renamed}"'))
    found = consolidate_cli(ws)
    [hit] = findings_of(found, "cell.unrepresentable")
    name = hit["sheet"]
    assert FFFD in name and "シート名" in hit["message"] and hit["cell"] is None
    assert [f["sheet"] for f in findings_of(found, code)] == [name]
    assert_landed(ws)
    out = cli_run("check", files[VICTIM]).output
    assert "シート名に表示・保存できない文字" in out


def test_a_metadata_text_that_cannot_be_written_is_a_finding_not_a_stop(tmp_path):
    """The signature no longer holds with the workspace; without it, the replacement is named."""
    ws, _, files = returned(tmp_path)
    path = files[VICTIM]
    with XlsxFile(path) as book:
        meta_sheet = book.read_sheet(book.sheets[-1])
    row = next(r for (r, c), cell in meta_sheet.cells.items() if c == 1 and cell.text == "department")
    replace_cell(path, "nakano-xl", f"B{row}", inline(f"B{row}", "職員_xD800_課", style="0"))
    found = consolidate_cli(ws)
    [bad] = [f for f in found if f["file"] == FILE]
    assert bad["code"] == "identity.bad_signature" and bad["department"] == f"職員{FFFD}課"
    assert_landed(ws, others_than(VICTIM))
    out = cli_run("check", path).output
    assert f"職員{FFFD}課" in out and f"nakano-xl!B{row}" in out
    cli_run("status", "-w", ws.root)


# -- item 8: a cell that cannot be resolved is a finding ----------------------------------------

@pytest.mark.parametrize("index", ["7", "-1", "abc", "2.5", ""])
def test_a_shared_string_index_that_is_not_in_the_table_is_an_error_not_a_blank(tmp_path, index):
    ws, _, files = returned(tmp_path)
    path = files[VICTIM]
    to_shared_strings(path, "回答", {"F5": "継続する。", "E5": TYPED})  # index 1 is E5's text
    replace_cell(path, "回答", "E5", f'<c r="E5" s="10" t="s"><v>{index}</v></c>')
    found = consolidate_cli(ws)
    [hit] = findings_of(found, "cell.unresolved")
    assert (hit["sheet"], hit["cell"], hit["item_id"], hit["severity"]) == ("回答", "E5", "T4", "error")
    assert "共有文字列" in hit["message"] and f"「{index}」" in hit["message"]
    assert report_answers(ws)["T4"]["results_to_date"] == ""  # not the last string of the table (-1)
    assert report_answers(ws)["T4"]["plan_next_year"] == "継続する。"
    assert_landed(ws, others_than(VICTIM))
    assert CliRunner().invoke(cli, ["check", str(path)]).exit_code == 1


def test_a_lost_string_outside_the_answers_is_a_warning(tmp_path):
    ws, _, files = returned(tmp_path)
    to_shared_strings(files[VICTIM], "回答", {"A5": "1-2-① 研修"})
    replace_cell(files[VICTIM], "回答", "A5", '<c r="A5" s="5" t="s"><v>3</v></c>')
    found = consolidate_cli(ws)
    [hit] = findings_of(found, "cell.unresolved")
    assert (hit["cell"], hit["item_id"], hit["severity"]) == ("A5", "T4", "warning")
    assert_landed(ws)


@pytest.mark.parametrize("xml,want", [
    (inline("E5", "研修を実施した。", style="400"), "研修を実施した。"),
    (inline("E5", "研修を実施した。", style="x"), "研修を実施した。"),
    ('<c r="E5" s="57"><v>44652</v></c>', "44652"),  # a date serial without its date format
])
def test_a_style_index_that_names_no_style_is_a_warning_and_the_value_is_read(tmp_path, xml, want):
    ws, _, files = returned(tmp_path)
    replace_cell(files[VICTIM], "回答", "E5", xml)
    found = consolidate_cli(ws)
    [hit] = findings_of(found, "cell.unresolved")
    assert (hit["cell"], hit["item_id"], hit["severity"]) == ("E5", "T4", "warning")
    assert "書式" in hit["message"]
    assert report_answers(ws)["T4"]["results_to_date"] == want
    assert_landed(ws, others_than(VICTIM))


# -- item 1: a saved time that cannot be real ---------------------------------------------------

SECOND = f"{VICTIM}_回答_再提出.xlsx"  # sorts after FILE: the name alone would make it win


def second_return(ws, dist) -> Path:
    """Another file of the victim, answering differently."""
    path = ws.inbox / SECOND
    fill_workbook(dist.files[VICTIM], path, {"T4": {"status": "△", "reason": "講師の都合で延期した。"}}, ws.template)
    return path


def bogus(ws, case: str) -> str:
    """A saved time that cannot be real, as core.xml would hold it."""
    t0 = distributed_at(ws)
    relative = {"two years after": t0 + dt.timedelta(days=730), "a year and two days after": t0 + dt.timedelta(days=367),
                "three days before": t0 - dt.timedelta(days=3)}
    if case in relative:
        return relative[case].astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return case


BOGUS = ["9999-12-31T23:00:00Z", "0001-01-01T00:00:00+09:00", "1999-06-30T12:00:00Z", "2099-04-01T09:00:00Z",
         "0001-01-01T00:00:00", "two years after", "a year and two days after", "three days before", "昨日の夕方",
         "2023-02-30T10:00:00Z"]


@pytest.mark.parametrize("case", BOGUS)
def test_an_impossible_saved_time_is_a_finding_and_never_wins(tmp_path, case):
    ws, dist, files = returned(tmp_path)
    set_saved_at(files[VICTIM], distributed_at(ws) + dt.timedelta(days=1))
    later = second_return(ws, dist)
    text = bogus(ws, case)
    set_saved_at(later, text)
    found = consolidate_cli(ws)
    [bad] = findings_of(found, "submission.bad_saved_time", SECOND)
    assert bad["severity"] == "warning" and bad["value"] == text and bad["department"] == VICTIM
    [lost] = findings_of(found, "submission.superseded", SECOND)
    assert f"「{FILE}」" in lost["message"] and "このファイル（保存 不明）" in lost["message"]
    assert report_answers(ws)["T4"]["status"] == "◎"
    assert_landed(ws)
    status = json.loads(cli_run("status", "-w", ws.root, "--json").output)
    victim = next(d for d in status["departments"] if d["department"] == VICTIM)
    assert victim["file"] == FILE and victim["other_files"] == [SECOND]
    out = cli_run("check", later, "-w", ws.root).output
    assert "保存 不明" in out and "保存日時" in out
    cli_run("check", later)


def test_two_impossible_times_leave_the_choice_to_the_names(tmp_path):
    ws, dist, files = returned(tmp_path)
    set_saved_at(files[VICTIM], "9999-12-31T23:00:00Z")
    set_saved_at(second_return(ws, dist), "0001-01-01T00:00:00+09:00")
    found = consolidate_cli(ws)
    assert len([f for f in found if f["code"] == "submission.bad_saved_time"]) == 2
    [lost] = [f for f in found if f["code"] == "submission.superseded"]
    assert lost["file"] == FILE
    assert report_answers(ws)["T4"]["status"] == "△"
    status = cli_run("status", "-w", ws.root).output
    assert next(line for line in status.splitlines() if line.startswith(VICTIM)).split()[3] == "不明"


@pytest.mark.parametrize("first,second", [(-0.5, 1), (2, 300), (1, 366)])
def test_times_within_the_window_order_the_returns(tmp_path, first, second):
    """Up to a day before the distribution (clocks differ) and a year and a day after it."""
    ws, dist, files = returned(tmp_path)
    t0 = distributed_at(ws)
    set_saved_at(files[VICTIM], t0 + dt.timedelta(days=second))
    set_saved_at(second_return(ws, dist), t0 + dt.timedelta(days=first))
    found = consolidate_cli(ws)
    assert [f for f in found if f["code"] == "submission.bad_saved_time"] == []
    [lost] = [f for f in found if f["code"] == "submission.superseded"]
    assert lost["file"] == SECOND
    assert f"（保存 {format_saved_at(t0 + dt.timedelta(days=first))}）" in lost["message"]
    assert report_answers(ws)["T4"]["status"] == "◎"


def test_a_file_still_carrying_the_workbooks_own_date_is_not_impossible(tmp_path):
    """Distribute dates every workbook with the workspace's document date (here in 2022, long
    before the distribution); a file saved without a change by LibreOffice keeps it."""
    ws, dist, files = returned(tmp_path)
    with zipfile.ZipFile(dist.files[VICTIM]) as z:
        core = z.read("docProps/core.xml").decode("utf-8")
    created = re.search(r"<dcterms:created[^>]*>([^<]+)<", core).group(1)
    assert dt.datetime.fromisoformat(created) < distributed_at(ws) - dt.timedelta(days=30)
    set_saved_at(files[VICTIM], created)
    set_saved_at(second_return(ws, dist), distributed_at(ws) + dt.timedelta(hours=5))
    found = consolidate_cli(ws)
    assert [f for f in found if f["code"] == "submission.bad_saved_time"] == []
    [lost] = [f for f in found if f["code"] == "submission.superseded"]
    assert lost["file"] == FILE and "2022/4/1 18:00" in lost["message"]
    # One second off the workbook's date is no longer its date: before the distribution.
    set_saved_at(files[VICTIM], dt.datetime.fromisoformat(created) + dt.timedelta(seconds=1))
    found = consolidate_cli(ws)
    assert [f["file"] for f in found if f["code"] == "submission.bad_saved_time"] == [FILE]


def test_the_distribution_time_is_signed_kept_and_renewed_with_the_distribution(tmp_path):
    ws, dist, files = returned(tmp_path)
    t0 = distributed_at(ws)
    with XlsxFile(files[VICTIM]) as book:
        meta, _ = find_metadata(book, "nakano-xl")
    assert meta is not None and dt.datetime.fromisoformat(meta.distributed) == t0 and meta.verify(ws.key())
    assert dataclasses.replace(meta, distributed="2020-01-01T00:00:00Z").verify(ws.key()) is False
    before = dist.files[VICTIM].read_bytes()
    again = distribute(ws)
    assert distributed_at(ws) == t0 and again.files[VICTIM].read_bytes() == before  # same bytes
    record = ws.distribution()
    assert record is not None
    ws.save_distribution({**record, "distributed_at": "2021-04-01T00:00:00Z"})
    distribute(ws, renew=True)  # a new distribution gets its own time
    assert distributed_at(ws) > dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def unsign_time(ws, path: Path) -> None:
    """The file as distributed before the time was signed: no ``distributed`` row, and the
    signature over the fields it had then."""
    with XlsxFile(path) as book:
        meta, _ = find_metadata(book, "nakano-xl")
    assert meta is not None
    old = dataclasses.replace(meta, distributed="").signed(ws.key())

    def rewrite(book: openpyxl.Workbook) -> None:
        sheet = book["nakano-xl"]
        for row in sheet.iter_rows():
            if row[0].value == "signature":
                row[1].value = old.signature
            if row[0].value == "distributed":
                row[0].value = row[1].value = None

    with_openpyxl(path, rewrite)


def test_a_file_distributed_before_the_time_was_signed_is_verified_and_judged_by_the_range(tmp_path):
    ws, _, files = returned(tmp_path)
    unsign_time(ws, files[VICTIM])
    set_saved_at(files[VICTIM], "2098-01-01T00:00:00Z")  # within the range: no distribution to judge by
    found = consolidate_cli(ws)
    assert [f for f in found if f["file"] == FILE] == []
    assert_landed(ws)
    set_saved_at(files[VICTIM], "9999-12-31T23:00:00Z")
    found = consolidate_cli(ws)
    assert [f["code"] for f in found if f["file"] == FILE] == ["submission.bad_saved_time"]
    assert_landed(ws)


def test_a_single_return_with_an_impossible_time_is_shown_unknown_by_every_command(tmp_path):
    ws, _, files = returned(tmp_path)
    set_saved_at(files["税務課"], "9999-12-31T23:00:00Z")
    set_saved_at(files["戸籍住民課"], "0001-01-01T00:00:00+09:00")
    for args in (["status", "-w", ws.root], ["check", files["税務課"], files["戸籍住民課"]],
                 ["check", "-w", ws.root, files["税務課"]], ["consolidate", "-w", ws.root, "--dry-run"]):
        out = cli_run(*args).output
        assert "保存日時" in out or "不明" in out, args
    found = consolidate_cli(ws)
    assert sorted(f["file"] for f in found if f["code"] == "submission.bad_saved_time") == [
        file_of("戸籍住民課"), file_of("税務課")]
    assert_landed(ws)


# -- the last guard: nothing reaches a writer that it cannot write ---------------------------------

def test_findings_and_answers_from_any_path_are_written_whatever_they_hold():
    made = finding("cell.outside", file=f"課{chr(0xD800)}.xlsx", sheet="回答\x9b", cell="J9", value=f"x{chr(0xDFFF)}")
    assert made.file == f"課{FFFD}.xlsx" and made.sheet == f"回答{FFFD}" and FFFD in made.message
    findings_json([made]).encode("utf-8")
    assert clean_text(f"a{chr(0xD800)}b\uffff") == f"a{FFFD}b{FFFD}"
    assert format_saved_at(dt.datetime.max.replace(tzinfo=dt.UTC)) == "不明"


def test_duplicates_are_ordered_whatever_times_they_carry(tmp_path):
    """`resolve_duplicates` never raises, even on times intake would not keep."""
    ws, _, files = returned(tmp_path)
    read, _, _ = read_file(files[VICTIM], FILE, ws=ws, limits=Limits())
    assert isinstance(read, Submission)
    times = [dt.datetime(9999, 12, 31, 23, tzinfo=dt.UTC), dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=9))),
             None, dt.datetime(2030, 1, 1, tzinfo=dt.UTC)]
    subs = [dataclasses.replace(read, file=f"{n}.xlsx", saved_at=t) for n, t in enumerate(times)]
    resolve_duplicates(subs)
    assert [s.used for s in subs] == [True, False, False, False]  # times as given: intake judges them earlier
    assert all(s.findings[0].code == "submission.superseded" and "不明" in s.findings[0].message
               for s in subs[1:3])


def test_a_sheet_full_of_unwritable_texts_is_reported_within_a_bound(tmp_path, monkeypatch):
    """The reader keeps a bounded number of issues (`MAX_ISSUES`); the rest are counted in one finding."""
    monkeypatch.setattr(reader, "MAX_ISSUES", 30)
    ws, _, files = returned(tmp_path)
    path = files[VICTIM]
    part = part_of(path, "記入要領")
    flood = "".join(f'<row r="{r}"><c r="B{r}" t="inlineStr"><is><t>メモ{r}_x0001_</t></is></c></row>'
                    for r in range(200, 245))
    edit_part(path, part, lambda t: t.replace("</sheetData>", flood + "</sheetData>"))
    found = consolidate_cli(ws)
    hits = findings_of(found, "cell.unrepresentable")
    assert len(hits) == CAP + 1  # listed up to the cap, then one count of the rest (`intake.caps`)
    [rest] = [h for h in hits if "ほかに" in h["message"]]
    assert f"ほかに{45 - CAP}個" in rest["message"]
    assert {h["sheet"] for h in hits if h is not rest} == {"記入要領"}
    assert_landed(ws)


def test_a_kpi_actual_with_a_lone_surrogate_is_replaced_and_named(demo, tmp_path):
    r4, _ = rollover(demo.workspace, "R4", tmp_path / "r4")
    dist = distribute(r4)
    book = openpyxl.load_workbook(dist.files["情報システム課"])  # the coordinator owns every KPI of the sample
    sheet = book["成果指標"]
    row = next(r for r in range(5, sheet.max_row + 1) if sheet.cell(r, 2).value == "区内のマイナンバーカード交付率")
    type_into(sheet, row, 5, "60.2_xDFFE_%")
    book.save(r4.inbox / "情報システム課_回答.xlsx")
    result = consolidate(r4)
    [hit] = [f for f in result.findings if f.code == "cell.unrepresentable"]
    assert (hit.file, hit.sheet, hit.cell) == ("情報システム課_回答.xlsx", "成果指標", f"E{row}")
    assert "U+DFFE" in hit.message
    summary = [[c.value for c in r] for r in openpyxl.load_workbook(r4.report_path())["集計"].iter_rows()]
    header = next(r for r in summary if "令和4年度" in r and "令和2年度" in r)
    kpi = next(r for r in summary if r[0] == "区内のマイナンバーカード交付率")
    assert kpi[header.index("令和4年度")] == f"60.2{FFFD}%"
    json.loads(r4.findings_path().read_text(encoding="utf-8"))
