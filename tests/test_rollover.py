"""The year cycle: R3 → R4 → R5, with last year's answers carried and the year words moving."""

from __future__ import annotations

import csv

import openpyxl
import pytest

from nakano_xl.consolidate import consolidate
from nakano_xl.distribute import distribute
from nakano_xl.errors import NakanoError
from nakano_xl.fill import fill_workbook
from nakano_xl.layout import HEADER_ROW
from nakano_xl.rollover import rollover

from .helpers import PLAN_HEADER, find_header_row, read_csv


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
    rows = [r for r in read_csv(r4.root / "plan.csv") if r["item_id"] != "T2"]
    rows.append({"item_id": "T7", "section_code": "1-2-①", "section_title": "研修", "content": "新しい研修",
                 "departments": "職員課", "reprint_of": ""})
    with (r4.root / "plan.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, PLAN_HEADER)
        writer.writeheader()
        writer.writerows(rows)
    from nakano_xl.workspace import open_workspace

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
    report = openpyxl.load_workbook(r5.report_path())["別紙1"]
    head = find_header_row(report, "実施内容")
    assert [c.value for c in report[head]][4:7] == ["令和5年度までの取組状況", "令和6年度取組予定", "令和7年度以降取組予定"]
    assert r5.report_path().name == "別紙1_R5.xlsx"


def test_the_kpi_table_gains_the_new_years_actual_column(demo, tmp_path):
    r4, _ = rollover(demo.workspace, "R4", tmp_path / "r4")
    for kpi in r4.kpis:
        actual = [v for v in kpi.values if v.year.code == "R4" and v.kind == "実績"]
        assert len(actual) == 1 and actual[0].value == ""
    assert len(r4.kpis) == 10
