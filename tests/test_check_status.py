"""`nakano-xl check` and `nakano-xl status`: exit statuses, Japanese output, JSON."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
from click.testing import CliRunner

from nakano_xl.cli import cli
from nakano_xl.fill import fill_workbook
from nakano_xl.intake.identify import format_saved_at

from .intake_kit import distributed_at, file_of, returned, set_saved_at, with_openpyxl


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def relabel(path, department):
    def change(book: openpyxl.Workbook) -> None:
        for row in book["nakano-xl"].iter_rows():
            if row[0].value == "department":
                row[1].value = department

    with_openpyxl(path, change)


def test_check_without_a_workspace_reads_a_clean_file_and_says_what_it_could_not_check(tmp_path):
    _, _, files = returned(tmp_path)
    before = files["税務課"].read_bytes()
    result = run("check", files["税務課"])
    assert result.exit_code == 0, result.output
    assert files["税務課"].read_bytes() == before  # checking never changes the file
    assert "税務課の回答票" in result.output
    assert "署名" in result.output and "確認していません" in result.output
    assert "エラー 0件・警告 0件・情報 1件" in result.output


def test_check_without_a_workspace_finds_what_the_file_alone_tells(tmp_path):
    ws, dist, files = returned(tmp_path)
    fill_workbook(dist.files["情報システム課"], files["情報システム課"],
                  {"T2": {"status": "▲"}, "T3": {"status": "○"}}, ws.template, paste=True)
    with_openpyxl(files["情報システム課"], lambda b: b["回答"].delete_rows(7))  # T5, by the metadata's ids
    result = run("check", files["情報システム課"])
    assert result.exit_code == 1
    out = result.output
    assert "エラー: 回答!C5 [T2]: 進捗状況「▲ (U+25B2)」" in out
    assert "回答!D6 [T3]" in out and "変更理由を記入してください" in out
    assert "[T5]" in out and "行が見つかりません" in out


def test_check_needs_the_workspace_for_the_signature_and_the_plan(tmp_path):
    """A relabelled file passes a check of the file alone, and fails with the workspace."""
    ws, _, files = returned(tmp_path)
    forged = files["戸籍住民課"]
    relabel(forged, "職員課")

    def edit_fixed(book):
        book["回答"].protection.sheet = False
        book["回答"]["B5"] = "書き換えた事業内容"

    with_openpyxl(files["税務課"], edit_fixed)
    alone = run("check", forged, files["税務課"])
    assert alone.exit_code == 0, alone.output
    assert "職員課の回答票" in alone.output and "書き換えた事業内容" not in alone.output
    full = run("check", forged, files["税務課"], "-w", ws.root)
    assert full.exit_code == 1
    assert "管理情報の署名が一致しません" in full.output
    assert "書き換えた事業内容" in full.output and "計画マスタ" in full.output
    assert "合計 2ファイル" in full.output


def test_check_of_something_that_is_not_a_workbook_is_exit_1_and_a_missing_file_exit_2(tmp_path):
    page = tmp_path / "回答.xlsx"
    page.write_text("<html><body>回答</body></html>", encoding="utf-8")
    result = run("check", page)
    assert result.exit_code == 1
    assert "回答票として読み取れません" in result.output and "HTML" in result.output
    assert run("check", tmp_path / "ない.xlsx").exit_code == 2
    assert CliRunner().invoke(cli, ["check"]).exit_code == 2  # no file given: a usage error


def test_check_with_a_broken_workspace_cannot_run(tmp_path):
    _, _, files = returned(tmp_path)
    result = CliRunner().invoke(cli, ["check", str(files["税務課"]), "-w", str(tmp_path / "どこにもない")])
    assert result.exit_code == 2
    assert "作業フォルダではありません" in result.output


def test_status_lists_every_department_and_what_is_not_usable(tmp_path):
    ws, _, files = returned(tmp_path)
    files["職員課"].unlink()
    (ws.inbox / "職員課.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    fill_workbook(files["戸籍住民課"], files["戸籍住民課"], {"T1": {"status": "▲"}}, ws.template, paste=True)
    saved = distributed_at(ws) + dt.timedelta(days=5, minutes=7)
    set_saved_at(files["戸籍住民課"], saved)
    result = run("status", "-w", ws.root)
    assert result.exit_code == 1  # errors remain in what was returned
    lines = result.output.splitlines()
    assert lines[0].split() == ["所管課", "提出", "ファイル", "保存日時", "エラー", "警告", "未回答/行数"]
    row = next(line for line in lines if line.startswith("戸籍住民課"))
    assert row.split() == ["戸籍住民課", "提出済", file_of("戸籍住民課"), *format_saved_at(saved).split(), "1", "0", "1/1"]
    assert next(line for line in lines if line.startswith("職員課")).split() == ["職員課", "未提出", "1/1"]
    assert "提出済 3課・未提出 1課（職員課）" in result.output
    assert "職員課.xls" in result.output and "Excelブック以外の古いOffice形式" in result.output


def test_status_json_holds_the_same(tmp_path):
    ws, _, files = returned(tmp_path)
    files["職員課"].unlink()
    data = json.loads(run("status", "-w", ws.root, "--json").output)
    by_dept = {d["department"]: d for d in data["departments"]}
    assert list(by_dept) == ws.plan.departments()
    assert data["not_returned"] == ["職員課"]
    assert by_dept["税務課"]["returned"] is True and by_dept["税務課"]["file"] == file_of("税務課")
    assert by_dept["税務課"]["errors"] == 0 and by_dept["税務課"]["unanswered"] == 0
    assert by_dept["職員課"] == {**by_dept["職員課"], "returned": False, "file": None, "unanswered": 1}
    assert by_dept["情報システム課"]["saved_at"].endswith("+00:00")


def test_status_names_a_superseded_or_refused_file_under_its_department(tmp_path):
    ws, dist, files = returned(tmp_path)
    set_saved_at(files["税務課"], distributed_at(ws) + dt.timedelta(days=1))
    newer = ws.inbox / "税務課_再提出.xlsx"
    fill_workbook(dist.files["税務課"], newer, {"T3": {"status": "○", "reason": "調達時期を見直したため。"}},
                  ws.template)
    set_saved_at(newer, distributed_at(ws) + dt.timedelta(days=3))
    forged = ws.inbox / "職員課_別.xlsx"
    fill_workbook(dist.files["戸籍住民課"], forged, {}, ws.template)
    relabel(forged, "職員課")
    data = json.loads(run("status", "-w", ws.root, "--json").output)
    by_dept = {d["department"]: d for d in data["departments"]}
    assert by_dept["税務課"]["file"] == "税務課_再提出.xlsx"
    assert by_dept["税務課"]["other_files"] == [file_of("税務課")]
    assert by_dept["職員課"]["other_files"] == ["職員課_別.xlsx"]
    others = {o["file"]: o["code"] for o in data["other_files"]}
    assert others == {file_of("税務課"): "submission.superseded", "職員課_別.xlsx": "identity.bad_signature"}


def test_status_outside_a_workspace_cannot_run(tmp_path):
    result = CliRunner().invoke(cli, ["status", "-w", str(tmp_path)])
    assert result.exit_code == 2 and "作業フォルダではありません" in result.output


def test_status_and_the_submission_status_sheet_agree_after_a_deleted_row(tmp_path):
    """情報システム課 deletes the row of T5: one of its three items has no mark in the return
    used. `status`, `status --json` and the 提出状況 sheet of the consolidated workbook all say
    so, with the same errors and warnings."""
    ws, _, files = returned(tmp_path)
    with_openpyxl(files["情報システム課"], lambda b: b["回答"].delete_rows(7))  # T5
    files["職員課"].unlink()
    text = run("status", "-w", ws.root)
    row = next(line for line in text.output.splitlines() if line.startswith("情報システム課"))
    data = json.loads(run("status", "-w", ws.root, "--json").output)
    shown = {d["department"]: d for d in data["departments"]}["情報システム課"]
    assert shown["unanswered"] == 1 and shown["items"] == 3 and shown["errors"] == 1  # row.missing
    assert row.split()[-3:] == [str(shown["errors"]), str(shown["warnings"]), "1/3"]

    assert run("consolidate", "-w", ws.root, "-q").exit_code == 1
    sheet = openpyxl.load_workbook(ws.report_path())["提出状況"]
    header = [c.value for c in sheet[1]]
    rows = {r[0]: dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["情報システム課"]["未回答の行"] == shown["unanswered"] == 1
    assert rows["情報システム課"]["回答行数"] == shown["items"]
    assert (rows["情報システム課"]["エラー"], rows["情報システム課"]["警告"]) == (shown["errors"], shown["warnings"])
    for d in data["departments"]:  # every department, the same numbers in both
        assert rows[d["department"]]["提出"] == ("提出済" if d["returned"] else "未提出")
        assert (rows[d["department"]]["エラー"], rows[d["department"]]["警告"]) == (d["errors"], d["warnings"])
    assert rows["職員課"]["未回答の行"] == "—"
