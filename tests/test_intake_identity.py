"""Identity: a file is whose its signed metadata says, never what its name says."""

from __future__ import annotations

import datetime as dt

import openpyxl

from nakano_xl.distribute import distribute
from nakano_xl.fill import fill_workbook
from nakano_xl.intake.identify import format_saved_at

from .intake_kit import (
    GOOD,
    assert_landed,
    codes,
    distributed_at,
    file_of,
    new_workspace,
    only,
    others_than,
    report_answers,
    returned,
    run,
    set_saved_at,
    with_openpyxl,
)


def test_valid_returns_give_no_file_finding_and_every_answer_lands(tmp_path):
    ws, _, _ = returned(tmp_path)
    result = run(ws)
    assert [f for f in result.findings if f.file] == []
    assert_landed(ws)


def test_metadata_sheet_hidden_instead_of_very_hidden_is_fine(tmp_path):
    """LibreOffice saves a very hidden sheet as hidden: the file must still be accepted."""
    ws, _, files = returned(tmp_path)

    def unhide(book: openpyxl.Workbook) -> None:
        book["nakano-xl"].sheet_state = "hidden"

    with_openpyxl(files["税務課"], unhide)
    assert openpyxl.load_workbook(files["税務課"])["nakano-xl"].sheet_state == "hidden"
    result = run(ws)
    assert codes(result, file_of("税務課")) == []
    assert_landed(ws)


def test_renamed_metadata_sheet_still_identifies_the_file(tmp_path):
    ws, _, files = returned(tmp_path)
    with_openpyxl(files["職員課"], lambda b: setattr(b["nakano-xl"], "title", "Sheet3"))
    result = run(ws)
    assert codes(result, file_of("職員課")) == []  # found by its first row; the signature still holds
    assert_landed(ws)


def test_missing_metadata_is_an_error_and_the_answers_are_not_used(tmp_path):
    """The answers copied into a workbook of one's own: no metadata, nothing used."""
    ws, _, files = returned(tmp_path)
    with_openpyxl(files["職員課"], lambda b: b.remove(b["nakano-xl"]))
    result = run(ws)
    assert codes(result, file_of("職員課")) == [("identity.missing", file_of("職員課"), None)]
    assert report_answers(ws)["T4"]["status"] == ""
    assert only(result, "submission.missing").department == "職員課"
    assert_landed(ws, others_than("職員課"))


def test_department_name_edited_in_the_metadata_breaks_the_signature(tmp_path):
    """戸籍住民課 relabels its file as 職員課's to answer T4: refused, T4 keeps 職員課's answer."""
    ws, _, files = returned(tmp_path)
    forged = ws.inbox / "職員課_差し替え.xlsx"
    fill_workbook(files["戸籍住民課"], forged, {}, ws.template)

    def relabel(book: openpyxl.Workbook) -> None:
        sheet = book["nakano-xl"]
        for row in sheet.iter_rows():
            if row[0].value == "department":
                row[1].value = "職員課"

    with_openpyxl(forged, relabel)
    result = run(ws)
    [bad] = [f for f in result.findings if f.file == forged.name]
    assert (bad.code, bad.department, bad.severity.name) == ("identity.bad_signature", "職員課", "ERROR")
    assert_landed(ws)


def test_a_file_of_another_year_is_refused(tmp_path):
    ws, _, files = returned(tmp_path / "r3")
    r4 = new_workspace(tmp_path / "r4", "R4")
    sent = distribute(r4).files["税務課"]
    fill_workbook(sent, ws.inbox / "税務課_令和4年度.xlsx", {"T3": {"status": "×", "reason": "来年度の回答"}},
                  r4.template)
    files["税務課"].unlink()
    result = run(ws)
    found = only(result, "identity.other_year")
    assert (found.file, found.department) == ("税務課_令和4年度.xlsx", "税務課")
    assert "令和4年度の回答票" in found.message and "令和3年度" in found.message
    assert result.answers["T3"].status.mark == "○"  # 情報システム課's, not the R4 file's ×
    assert_landed(ws, others_than("税務課"))


def test_a_file_of_an_earlier_distribution_is_refused(tmp_path):
    ws, dist, files = returned(tmp_path)
    old_id = dist.distribution_id
    renewed = distribute(ws, renew=True)
    fill_workbook(renewed.files["戸籍住民課"], files["戸籍住民課"], GOOD["戸籍住民課"], ws.template)
    result = run(ws)
    refused = [f for f in result.findings if f.code == "identity.other_distribution"]
    assert sorted(f.department for f in refused) == ["情報システム課", "税務課", "職員課"]
    assert all(old_id in f.message and renewed.distribution_id in f.message for f in refused)
    assert_landed(ws, ["戸籍住民課"])
    assert report_answers(ws)["T4"]["status"] == ""


def test_another_departments_file_under_this_departments_name_is_read_as_what_it_is(tmp_path):
    """職員課's file arrives named 戸籍住民課_回答.xlsx, and 戸籍住民課's own as 回答.xlsx."""
    ws, _, files = returned(tmp_path)
    files["戸籍住民課"].rename(ws.inbox / "回答.xlsx")
    files["職員課"].rename(ws.inbox / file_of("戸籍住民課"))
    result = run(ws)
    found = only(result, "identity.renamed")
    assert (found.file, found.department, found.severity.name) == (file_of("戸籍住民課"), "職員課", "WARNING")
    assert "戸籍住民課" in found.message
    assert [f for f in result.findings if f.file == "回答.xlsx"] == []  # a name naming nobody says nothing
    assert_landed(ws)


def test_two_files_of_one_department_the_latest_saved_wins_and_the_rule_is_stated(tmp_path):
    ws, dist, files = returned(tmp_path)
    first = distributed_at(ws) + dt.timedelta(days=2, hours=1)  # save times lie after the distribution
    second = first + dt.timedelta(days=1, hours=1, minutes=30)
    set_saved_at(files["職員課"], first)
    later = ws.inbox / "職員課_修正.xlsx"
    fill_workbook(dist.files["職員課"], later, {"T4": {"status": "△", "reason": "講師の都合で延期した。"}},
                  ws.template)
    set_saved_at(later, second)
    result = run(ws)
    found = only(result, "submission.superseded")
    assert (found.file, found.department) == (file_of("職員課"), "職員課")
    assert "保存日時が最も新しいもの" in found.message
    assert "職員課_修正.xlsx" in found.message
    assert f"（保存 {format_saved_at(second)}）" in found.message and f"（保存 {format_saved_at(first)}）" in found.message
    assert report_answers(ws)["T4"]["status"] == "△"
    assert [s.file for s in result.inbox.used() if s.department == "職員課"] == ["職員課_修正.xlsx"]
    assert_landed(ws, others_than("職員課"))
    # Swap the times: the other file wins, whatever the names or the listing order.
    set_saved_at(later, first - dt.timedelta(hours=12))
    assert report_answers(ws)["T4"]["status"] == "△"  # unchanged until consolidated again
    result = run(ws)
    assert only(result, "submission.superseded").file == "職員課_修正.xlsx"
    assert_landed(ws)


def test_departments_that_sent_nothing_are_listed_in_findings_and_submission_status(tmp_path):
    ws, _, files = returned(tmp_path)
    files["職員課"].unlink()
    result = run(ws)
    assert only(result, "submission.missing").department == "職員課"
    sheet = openpyxl.load_workbook(ws.report_path())["提出状況"]
    rows = {r[0].value: r[1].value for r in sheet.iter_rows(min_row=2) if r[0].value}
    assert rows["職員課"] == "未提出" and rows["税務課"] == "提出済"
    assert_landed(ws, others_than("職員課"))


def test_a_department_the_plan_no_longer_names_is_refused(tmp_path):
    """The plan master renames 職員課 to 人事課 after distribution: 職員課's file answers nothing."""
    ws, _, _ = returned(tmp_path)
    plan = ws.root / ws.settings.plan_file
    plan.write_text(plan.read_text(encoding="utf-8").replace("職員課 (情報システム課)", "人事課 (情報システム課)"),
                    encoding="utf-8")
    from nakano_xl.workspace import open_workspace

    ws = open_workspace(ws.root)
    result = run(ws)
    assert codes(result, file_of("職員課")) == [("identity.unknown_department", file_of("職員課"), None)]
    assert only(result, "submission.missing").department == "人事課"
    assert report_answers(ws)["T4"]["status"] == ""
    assert_landed(ws, others_than("職員課"))


def test_a_file_of_another_template_version_is_refused(tmp_path):
    ws, _, _ = returned(tmp_path)
    from nakano_xl.template import resource_dir
    from nakano_xl.workspace import open_workspace

    from .helpers import set_setting

    newer = tmp_path / "nakano_v2.toml"
    newer.write_text((resource_dir("templates") / "nakano.toml").read_text(encoding="utf-8")
                     .replace('version = "1"', 'version = "2"'), encoding="utf-8")
    set_setting(ws.root, "template", newer.as_posix())
    ws = open_workspace(ws.root)
    result = run(ws)
    refused = [f for f in result.findings if f.code == "identity.other_template"]
    assert len(refused) == 4 and all("版1" in f.message and "版2" in f.message for f in refused)
