"""差し戻し: a department's own workbook back with its problems marked, fixed in place, accepted;
and the dry-run preview of what a late return changes."""

from __future__ import annotations

import openpyxl
from click.testing import CliRunner

from nakano_xl.cli import cli
from nakano_xl.consolidate import consolidate, preview
from nakano_xl.distribute import distribute
from nakano_xl.feedback import write_feedback
from nakano_xl.fill import fill_workbook, type_into
from nakano_xl.layout import Metadata
from nakano_xl.xlsx.reader import XlsxFile

GOOD = {
    "戸籍住民課": {"T1": {"status": "◎", "results_to_date": "予約を開始した。"}},
    "税務課": {"T3": {"status": "◎"}},
    "職員課": {"T4": {"status": "◎", "results_to_date": "研修を実施した。"}},
}
# 情報システム課 answers T2, T3 and T5: three kinds of problems, one per row.
BAD = {"T2": {"status": "▲"},  # not a mark at all (C5)
       "T3": {"status": "○", "results_to_date": "整備した。"},  # ○ without a reason (D6)
       "T5": {"results_to_date": "実践した。"}}  # no mark (C7)


def returned(ws, bad=BAD):
    dist = distribute(ws)
    for department, rows in {**GOOD, "情報システム課": bad}.items():
        # Pasted, as ▲ gets past the dropdown's check in Excel.
        fill_workbook(dist.files[department], ws.inbox / f"{department}_回答.xlsx", rows, ws.template, paste=True)
    return dist


def test_feedback_marks_exactly_the_problem_cells_and_the_fixed_copy_consolidates_cleanly(tiny_ws):
    returned(tiny_ws)
    original = (tiny_ws.inbox / "情報システム課_回答.xlsx").read_bytes()
    result = consolidate(tiny_ws)
    mine = sorted((f.cell, f.code) for f in result.findings if f.department == "情報システム課" and f.file)
    assert mine == [("C5", "status.invalid"), ("C7", "status.missing"), ("D6", "reason.missing")]

    written = write_feedback(tiny_ws, result)
    assert set(written.workbooks) == {"情報システム課"}
    path = written.workbooks["情報システム課"]
    assert (tiny_ws.inbox / "情報システム課_回答.xlsx").read_bytes() == original  # never modified

    book = openpyxl.load_workbook(path)
    assert book.sheetnames[0] == "修正のお願い" and book.active.title == "修正のお願い"
    sheet = book["回答"]
    commented = sorted(c.coordinate for row in sheet.iter_rows() for c in row if c.comment is not None)
    assert commented == ["C5", "C7", "D6"]
    assert "▲" in sheet["C5"].comment.text and "選び直してください" in sheet["C5"].comment.text
    assert "スケジュールの変更理由を記入してください" in sheet["D6"].comment.text
    assert sheet.protection.sheet and not sheet["C5"].protection.locked and sheet["B5"].protection.locked
    listed = [r[1].value for r in book["修正のお願い"].iter_rows(min_row=5) if r[1].value]
    assert sorted(listed) == ["回答!C5", "回答!C7", "回答!D6"]
    with XlsxFile(path) as xf:  # still signed: the metadata is untouched
        assert Metadata.from_sheet(xf.read_sheet(xf.sheet("nakano-xl"))).verify(tiny_ws.key())
    letter = written.letters["情報システム課"].read_text(encoding="utf-8")
    assert letter.startswith("情報システム課 ご担当者様")
    assert "C5" in letter and "C7" in letter and "D6" in letter and "情報システム課.xlsx" in letter

    # The department fixes the three cells in the copy it got back, and sends it again.
    type_into(sheet, 5, 3, "◎")
    type_into(sheet, 6, 4, "調達の時期を見直したため。")
    type_into(sheet, 7, 3, "◎")
    (tiny_ws.inbox / "情報システム課_回答.xlsx").unlink()
    book.save(tiny_ws.inbox / "情報システム課_修正版.xlsx")
    again = consolidate(tiny_ws)
    assert [f for f in again.findings if f.department == "情報システム課"] == []
    assert again.answers["T3"].reason == "調達の時期を見直したため。"


def test_feedback_lists_departments_that_sent_nothing(tiny_ws):
    dist = distribute(tiny_ws)
    fill_workbook(dist.files["戸籍住民課"], tiny_ws.inbox / "a.xlsx", GOOD["戸籍住民課"], tiny_ws.template)
    written = write_feedback(tiny_ws, consolidate(tiny_ws, write=False))
    text = written.reminder.read_text(encoding="utf-8")
    assert "未提出の課（3課）" in text
    for department in ("情報システム課", "税務課", "職員課"):
        assert f"・{department}" in text
    assert "戸籍住民課" not in text.split("---")[0]


def test_dry_run_shows_what_a_changed_return_would_change_and_writes_nothing(tiny_ws):
    dist = returned(tiny_ws)
    consolidate(tiny_ws)
    report = tiny_ws.report_path().read_bytes()
    # 職員課 sends a changed return: another mark and text for T4.
    fill_workbook(dist.files["職員課"], tiny_ws.inbox / "職員課_回答.xlsx",
                  {"T4": {"status": "○", "reason": "講師の都合で延期した。", "results_to_date": "研修を延期した。"}},
                  tiny_ws.template)
    _, changes = preview(tiny_ws)
    assert [(c.item_id, c.field, c.old, c.new) for c in changes] == [
        ("T4", "status", "◎", "○"),
        ("T4", "reason", "", "講師の都合で延期した。"),
        ("T4", "results_to_date", "研修を実施した。", "研修を延期した。"),
    ]
    assert tiny_ws.report_path().read_bytes() == report  # nothing written
    cli_run = CliRunner().invoke(cli, ["consolidate", "-w", str(tiny_ws.root), "--dry-run"])
    assert "前回の取りまとめから別紙1で変わるセル: 3件" in cli_run.output
    assert "T4 進捗状況: 「◎」→「○」" in cli_run.output
    assert tiny_ws.report_path().read_bytes() == report


def test_feedback_exits_1_while_errors_remain_and_0_once_they_are_fixed(tiny_ws):
    dist = returned(tiny_ws)
    result = CliRunner().invoke(cli, ["feedback", "-w", str(tiny_ws.root)])
    assert result.exit_code == 1, result.output  # 情報システム課's errors remain: its letter is written
    assert "情報システム課" in result.output and (tiny_ws.root / "feedback" / "情報システム課_依頼文.txt").is_file()
    fill_workbook(dist.files["情報システム課"], tiny_ws.inbox / "情報システム課_回答.xlsx",
                  {"T2": {"status": "◎"}, "T3": {"status": "◎"}, "T5": {"status": "△"}}, tiny_ws.template)
    again = CliRunner().invoke(cli, ["feedback", "-w", str(tiny_ws.root)])
    assert again.exit_code == 0, again.output  # △ without a reason: a warning, a letter, no error


def test_a_return_openpyxl_cannot_copy_gets_an_error_finding_and_no_letter(tiny_ws):
    """A date cell (t="d") holding text passes nakano-xl's reader (the text is read as typed)
    but openpyxl refuses the whole file: that department gets no copy and no letter, the others
    theirs, and the command says so with exit status 1."""
    from .intake_kit import replace_cell

    returned(tiny_ws)
    replace_cell(tiny_ws.inbox / "税務課_回答.xlsx", "回答", "C5", '<c r="C5" t="d"><v>▲</v></c>')
    result = CliRunner().invoke(cli, ["feedback", "-w", str(tiny_ws.root)])
    assert result.exit_code == 1, result.output
    assert "税務課" in result.output and "コピーを作れませんでした" in result.output
    folder = tiny_ws.root / "feedback"
    assert not (folder / "税務課.xlsx").exists() and not (folder / "税務課_依頼文.txt").exists()
    assert (folder / "情報システム課.xlsx").is_file() and (folder / "情報システム課_依頼文.txt").is_file()
