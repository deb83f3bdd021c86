"""The year cycle: R3 → R4 → R5, with last year's answers carried and the year words moving."""

from __future__ import annotations

import openpyxl
import pytest

from nakano_xl.consolidate import consolidate
from nakano_xl.distribute import distribute
from nakano_xl.errors import NakanoError
from nakano_xl.fill import fill_workbook
from nakano_xl.layout import HEADER_ROW
from nakano_xl.rollover import rollover
from nakano_xl.workspace import open_workspace

from .helpers import edit_plan, find_header_row


def fill_all(ws, answers_by_item: dict[str, dict[str, str]]):
    dist = distribute(ws)
    for department, path in dist.files.items():
        mine = {i.item_id: answers_by_item[i.item_id] for i in ws.plan.items_for(department)
                if i.item_id in answers_by_item}
        fill_workbook(path, ws.inbox / f"{department}.xlsx", mine, ws.template)
    return dist


def test_rollover_needs_a_consolidated_year_and_a_later_year(tiny_ws, tmp_path):
    with pytest.raises(NakanoError, match="先に nakano-xl consolidate を実行してください"):
        rollover(tiny_ws, "R4", tmp_path / "r4")
    consolidate(tiny_ws)
    with pytest.raises(NakanoError, match="より後の年度"):
        rollover(tiny_ws, "R3", tmp_path / "r3")


def test_r3_to_r4_to_r5_keeps_ids_moves_year_words_and_reports_plan_changes(tiny_ws, tmp_path):
    fill_all(tiny_ws, {"T1": {"status": "◎"}, "T2": {"status": "◎"}, "T3": {"status": "◎"},
                       "T4": {"status": "△", "plan_later": "(推進)"}, "T5": {"status": "◎"}})
    consolidate(tiny_ws)
    r4, findings = rollover(tiny_ws, "令和4年度", tmp_path / "r4")
    assert findings == []
    assert r4.year.code == "R4" and r4.previous.year.code == "R3"
    assert [i.item_id for i in r4.plan] == [i.item_id for i in tiny_ws.plan]
    assert [(i.section_code, i.content, i.departments, i.reprint_of) for i in r4.plan] == \
        [(i.section_code, i.content, i.departments, i.reprint_of) for i in tiny_ws.plan]
    assert r4.previous.answers["T4"].plan_later == "(推進)"

    # The coordinator retires T2 and adds T7 by editing the new plan master by hand.
    edit_plan(r4.root, drop="T2", add={"item_id": "T7", "section_code": "1-2-①", "section_title": "研修",
                                       "content": "新しい研修", "departments": "職員課"})
    r4 = open_workspace(r4.root)
    dist = distribute(r4)
    changes = {(f.code, f.item_id) for f in dist.findings if f.code.startswith("plan.item_")}
    assert changes == {("plan.item_added", "T7"), ("plan.item_retired", "T2")}
    sheet = openpyxl.load_workbook(dist.files["職員課"])["回答"]
    headers = [c.value for c in sheet[HEADER_ROW]]
    assert "令和4年度までの取組状況" in headers and "令和5年度取組予定" in headers
    assert "令和6年度以降取組予定" in headers
    assert "令和4年度" in sheet["A1"].value

    fill_all(r4, {"T1": {"status": "◎"}, "T3": {"status": "○", "reason": "延期"}, "T4": {"status": "◎"},
                  "T5": {"status": "◎"}, "T7": {"status": "◎"}})
    consolidate(r4)
    r5, _ = rollover(r4, "R5", tmp_path / "r5")
    assert r5.previous.year.code == "R4"
    assert [i.item_id for i in r5.plan] == [i.item_id for i in r4.plan]
    consolidate(r5)
    r5_words = ["令和5年度までの取組状況", "令和6年度取組予定", "令和7年度以降取組予定"]
    book = openpyxl.load_workbook(r5.report_path())
    report = book["別紙1"]
    head = find_header_row(report, "実施内容")
    assert [c.value for c in report[head]][4:7] == r5_words
    assert r5.report_path().name == "別紙1_R5.xlsx"
    assert "令和5年度" in str(book["集計"]["A1"].value)
    assert book["前年度比較"]["A1"].value == "前年度との比較（令和4年度 → 令和5年度）"
    # R5's workbooks: the year's words, and R4's answers (not R3's) as the locked reference.
    r5_dist = distribute(r5)
    sheet = openpyxl.load_workbook(r5_dist.files["税務課"])["回答"]
    headers = [c.value for c in sheet[HEADER_ROW]]
    assert headers[2:4] == ["前年度の進捗状況", "前年度に記入した令和5年度取組予定"]
    assert headers[4:9] == ["進捗状況", "スケジュールの変更理由", *r5_words]
    assert sheet.cell(5, 3).value == "○" and sheet.cell(5, 3).protection.locked  # T3: R4's ○
    guide = [c.value for r in openpyxl.load_workbook(r5_dist.files["税務課"])["記入要領"].iter_rows() for c in r]
    assert any("前年度（令和4年度）に回答した内容" in str(v) for v in guide)
    # R4's own outputs kept R4's words.
    r4_report = openpyxl.load_workbook(r4.report_path())["別紙1"]
    assert [c.value for c in r4_report[find_header_row(r4_report, "実施内容")]][4:7] == \
        ["令和4年度までの取組状況", "令和5年度取組予定", "令和6年度以降取組予定"]


def test_the_kpi_table_gains_the_new_years_actual_column(demo, tmp_path):
    r4, _ = rollover(demo.workspace, "R4", tmp_path / "r4")
    for kpi in r4.kpis:
        actual = [v for v in kpi.values if v.year.code == "R4" and v.kind == "実績"]
        assert len(actual) == 1 and actual[0].value == ""
    assert len(r4.kpis) == 10


def test_last_years_answers_are_locked_reference_cells_and_plans_start_from_them(tiny_ws, tmp_path):
    fill_all(tiny_ws, {"T1": {"status": "◎", "plan_next_year": "予約枠を広げる。", "plan_later": "(推進)"},
                       "T3": {"status": "△", "reason": "調達が遅れた。"}})
    consolidate(tiny_ws)
    r4, _ = rollover(tiny_ws, "R4", tmp_path / "r4")
    dist = distribute(r4)
    sheet = openpyxl.load_workbook(dist.files["戸籍住民課"])["回答"]
    headers = [c.value for c in sheet[HEADER_ROW]]
    assert headers[:4] == ["実施内容", "事業内容", "前年度の進捗状況", "前年度に記入した令和4年度取組予定"]
    assert headers[4] == "進捗状況"
    col = {h: n for n, h in enumerate(headers, start=1)}
    row = 5  # T1, the only row of 戸籍住民課
    assert sheet.cell(row, col["前年度の進捗状況"]).value == "◎"
    assert sheet.cell(row, col["前年度に記入した令和4年度取組予定"]).value == "予約枠を広げる。"
    assert sheet.cell(row, col["前年度の進捗状況"]).protection.locked
    assert sheet.cell(row, col["前年度に記入した令和4年度取組予定"]).protection.locked
    # The plan cells start from last year's 以降取組予定, still editable.
    assert sheet.cell(row, col["令和5年度取組予定"]).value == "(推進)"
    assert sheet.cell(row, col["令和6年度以降取組予定"]).value == "(推進)"
    assert not sheet.cell(row, col["令和5年度取組予定"]).protection.locked
    [dv] = sheet.data_validations.dataValidation
    assert str(dv.sqref) == f"{openpyxl.utils.get_column_letter(col['進捗状況'])}5"
    guide = "\n".join(str(c.value) for r in openpyxl.load_workbook(dist.files["戸籍住民課"])["記入要領"].iter_rows()
                      for c in r if c.value)
    assert "前年度（令和3年度）に回答した内容" in guide

    # A department answers the R4 workbook; intake reads it by its own layout, without findings
    # about the reference cells, and the comparison sheet lists the change it typed.
    fill_all(r4, {"T1": {"status": "○", "reason": "システム改修が遅れた。"}, "T2": {"status": "◎"},
                  "T3": {"status": "◎"}, "T4": {"status": "◎"}, "T5": {"status": "◎"}})
    result = consolidate(r4)
    assert not [f for f in result.findings if f.code == "cell.fixed_edited"]
    assert result.answers["T1"].plan_next_year == "(推進)"  # the pre-filled text, kept as sent back
    book = openpyxl.load_workbook(r4.report_path())
    assert "前年度比較" in book.sheetnames
    compare = [[c.value for c in r] for r in book["前年度比較"].iter_rows()]
    flat = [v for r in compare for v in r if v is not None]
    assert "前年度との比較（令和3年度 → 令和4年度）" in flat
    changed = {r[0]: (r[3], r[4]) for r in compare if r[0] in {"T1", "T2", "T3", "T4", "T5"} and len(r) > 4}
    assert changed == {"T1": ("◎", "○"), "T2": ("（記入なし）", "◎"), "T3": ("△", "◎"),
                       "T4": ("（記入なし）", "◎"), "T5": ("（記入なし）", "◎")}
    counts = {r[0][:1]: (r[1], r[2], r[3]) for r in compare if r[0] and str(r[0])[:1] in "◎○△×" and len(r) > 3
              and isinstance(r[1], int)}
    assert counts["◎"] == (1, 4, "+3") and counts["○"] == (0, 1, "+1") and counts["△"] == (1, 0, "-1")


def test_comparison_reports_added_and_retired_items(tiny_ws, tmp_path):
    fill_all(tiny_ws, {"T1": {"status": "◎"}})
    consolidate(tiny_ws)
    r4, _ = rollover(tiny_ws, "R4", tmp_path / "r4")
    edit_plan(r4.root, drop="T4", add={"item_id": "T8", "section_code": "1-3-①", "content": "新規事業",
                                       "departments": "戸籍住民課"})
    r4 = open_workspace(r4.root)
    distribute(r4)
    consolidate(r4)
    flat = [c.value for r in openpyxl.load_workbook(r4.report_path())["前年度比較"].iter_rows() for c in r if c.value]
    assert "今年度に追加された事業内容（1件）" in flat and "新規事業" in flat
    assert "前年度で終了した事業内容（1件）" in flat and "職員研修の実施" in flat


def test_a_kpi_actual_typed_by_its_department_lands_in_the_summary(demo, tmp_path):
    from nakano_xl.fill import type_into

    r4, _ = rollover(demo.workspace, "R4", tmp_path / "r4")
    dist = distribute(r4)
    owner = dist.files["情報システム課"]  # the coordinator owns every KPI of the sample
    book = openpyxl.load_workbook(owner)
    kpi_sheet = book["成果指標"]
    rows = {kpi_sheet.cell(r, 2).value: r for r in range(5, kpi_sheet.max_row + 1)}
    assert len(rows) == 10
    assert kpi_sheet.cell(4, 5).value == "令和4年度の実績"
    type_into(kpi_sheet, rows["区内のマイナンバーカード交付率"], 5, "60.2%")
    with pytest.raises(Exception, match="ロック"):
        type_into(kpi_sheet, rows["区内のマイナンバーカード交付率"], 2, "書き換え")
    book.save(r4.inbox / "情報システム課_回答.xlsx")
    assert "成果指標" not in openpyxl.load_workbook(dist.files["税務課"]).sheetnames
    result = consolidate(r4)
    missing = [f for f in result.findings if f.code == "kpi.missing"]
    assert len(missing) == 9  # the other nine actuals were left blank
    summary = [[c.value for c in r] for r in openpyxl.load_workbook(r4.report_path())["集計"].iter_rows()]
    header = next(r for r in summary if "令和4年度" in r and "令和2年度" in r)
    row = next(r for r in summary if r[0] == "区内のマイナンバーカード交付率")
    assert row[header.index("令和4年度")] == "60.2%"
    assert row[header.index("令和3年度")] == "46.0%"
