from __future__ import annotations

from pathlib import Path

import pytest
import xlsxwriter

from nakano_xl.answers import load_answers
from nakano_xl.errors import PlanError
from nakano_xl.plan import load_kpis, load_plan
from nakano_xl.template import load_template

from .helpers import PLAN_HEADER, read_csv, write_csv

RULES = load_template().department_rules


def test_sample_plan_has_every_published_row(sample):
    plan = load_plan(sample / "plan.csv", RULES)
    assert len(plan) == 124
    assert sum(1 for i in plan if i.is_reprint) == 14
    assert len(plan.sections()) == 37
    assert len(plan.departments()) == 26
    # Texts exactly as printed, typos included.
    assert any("生活介護課" in i.departments for i in plan)
    assert plan["P012"].content.startswith("(1-1-②再掲)")
    assert plan["P012"].reprint_of == "P006"
    assert plan["P058"].section_title == "(1-2-①再掲)オープンデータの公開数の拡大"
    assert [plan[f"P{n:03d}"].reprint_of for n in (67, 68, 69)] == ["P007", "P008", "P009"]
    assert plan["P078"].section_label == "2-1-③"  # code alone where the title is missing


def test_sample_answers_and_kpis(sample):
    plan = load_plan(sample / "plan.csv", RULES)
    answers = load_answers(sample / "answers_r3.csv", plan)
    assert len(answers) == 110
    assert not any(plan[i].is_reprint for i in answers)
    kpis = load_kpis(sample / "kpis.csv")
    assert len(kpis) == 10
    assert {k.goal for k in kpis} == {"目標1", "目標2"}
    fm = next(k for k in kpis if k.name.endswith("※"))
    assert [v.value for v in fm.values] == ["約8,800fm", "約6,200fm", "約3,600fm", "約3,000fm"]
    assert fm.note.startswith("※fm")


def _to_xlsx(csv_path: Path, xlsx_path: Path, header: list[str] | None = None) -> Path:
    rows = read_csv(csv_path)
    keys = list(rows[0])
    wb = xlsxwriter.Workbook(xlsx_path)
    ws = wb.add_worksheet("計画")
    ws.write_row(0, 0, header or keys)
    for r, row in enumerate(rows, start=1):
        for c, key in enumerate(keys):
            ws.write_string(r, c, row[key])
    wb.close()
    return xlsx_path


def test_plan_as_xlsx_with_japanese_headers_loads_the_same(sample, tmp_path):
    japanese = ["項目ID", "実施内容番号", "実施内容", "事業内容", "所管課", "再掲元"]
    xlsx = _to_xlsx(sample / "plan.csv", tmp_path / "計画マスタ.xlsx", japanese)
    from_csv = load_plan(sample / "plan.csv", RULES)
    from_xlsx = load_plan(xlsx, RULES)
    assert from_xlsx.items == from_csv.items


def test_kpis_and_answers_as_xlsx_load(sample, tmp_path):
    plan = load_plan(sample / "plan.csv", RULES)
    assert load_kpis(_to_xlsx(sample / "kpis.csv", tmp_path / "k.xlsx")) == load_kpis(sample / "kpis.csv")
    assert load_answers(_to_xlsx(sample / "answers_r3.csv", tmp_path / "a.xlsx"), plan) == \
        load_answers(sample / "answers_r3.csv", plan)


def test_plan_saved_by_japanese_excel_as_shift_jis_csv_loads(sample, tmp_path):
    text = (sample / "plan.csv").read_text(encoding="utf-8")
    sjis = tmp_path / "plan_sjis.csv"
    sjis.write_bytes(text.encode("cp932"))
    assert load_plan(sjis, RULES).items == load_plan(sample / "plan.csv", RULES).items


def test_year_worded_answer_headers_are_recognised(tmp_path, sample):
    plan = load_plan(sample / "plan.csv", RULES)
    path = write_csv(tmp_path / "a.csv",
                     ["項目ID", "進捗状況", "スケジュールの変更理由", "令和3年度までの取組状況", "令和4年度取組予定",
                      "令和5年度以降取組予定"],
                     [["P001", "◎", "", "実施した", "継続する", "(推進)"]])
    a = load_answers(path, plan)["P001"]
    assert (a.results_to_date, a.plan_next_year, a.plan_later) == ("実施した", "継続する", "(推進)")


@pytest.mark.parametrize("rows, message", [
    ([["A", "1-1-①", "", "x", "税務課", ""], ["A", "1-1-①", "", "y", "税務課", ""]], "3行目: 項目ID「A」が2行目と重複しています"),
    ([["", "1-1-①", "", "x", "税務課", ""]], "2行目: 項目IDが空です"),
    ([["A", "", "", "x", "税務課", ""]], "2行目: 実施内容番号が空です"),
    ([["A", "1-1-①", "", "", "税務課", ""]], "2行目: 事業内容が空です"),
])
def test_plan_problems_name_the_row(tmp_path, rows, message):
    path = write_csv(tmp_path / "bad.csv", PLAN_HEADER, rows)
    with pytest.raises(PlanError, match=message):
        load_plan(path, RULES)


def test_plan_without_required_column_is_refused(tmp_path):
    path = write_csv(tmp_path / "bad.csv", ["item_id", "content"], [["A", "x"]])
    with pytest.raises(PlanError, match="section_code（実施内容番号）"):
        load_plan(path, RULES)
