"""What a department receives: its rows only, dropdowns, protection, instructions, metadata."""

from __future__ import annotations

import openpyxl
import pytest

from nakano_xl.distribute import distribute
from nakano_xl.layout import FIRST_ROW, HEADER_ROW, Metadata
from nakano_xl.plan import load_plan
from nakano_xl.template import load_template
from nakano_xl.workspace import init_workspace
from nakano_xl.xlsx.reader import XlsxFile

from .helpers import header_index

TEMPLATE = load_template()
R3_HEADERS = ["実施内容", "事業内容", "進捗状況", "スケジュールの変更理由", "令和3年度までの取組状況",
              "令和4年度取組予定", "令和5年度以降取組予定", "所管課"]


def item_ids(ws) -> list[str]:
    col = header_index(ws, HEADER_ROW)["項目ID"]
    return [ws.cell(r, col).value for r in range(FIRST_ROW, ws.max_row + 1) if ws.cell(r, col).value]


def test_one_workbook_per_department_with_exactly_its_rows(demo):
    ws = demo.workspace
    files = demo.distribution.files
    assert len(files) == 26
    assert sorted(p.name for p in ws.outbox.iterdir()) == sorted(p.name for p in files.values())
    sent_to: dict[str, list[str]] = {}
    for department, path in files.items():
        sheet = openpyxl.load_workbook(path)["回答"]
        ids = item_ids(sheet)
        assert ids == [i.item_id for i in ws.plan.items_for(department)]
        for i in ids:
            sent_to.setdefault(i, []).append(department)
        assert sheet["A2"].value == f"所管課：{department}"
    # Every answered row went out, to exactly the departments named outside parentheses,
    # and no 再掲 row was sent.
    for item in ws.plan:
        if item.is_reprint:
            assert item.item_id not in sent_to
        else:
            assert sorted(sent_to[item.item_id]) == sorted(item.assignment.answering)


def test_shared_row_goes_to_every_named_department(demo):
    plan = demo.workspace.plan
    shared = [i for i in plan if i.departments == "情報システム課 税務課 学校教育課 介護・高齢者支援課 福祉推進課"]
    assert len(shared) == 4
    for dept in ("情報システム課", "税務課", "学校教育課", "介護・高齢者支援課", "福祉推進課"):
        sheet = openpyxl.load_workbook(demo.distribution.files[dept])["回答"]
        assert {i.item_id for i in shared} <= set(item_ids(sheet))
    # Related departments in parentheses and groups answer nothing.
    assert "北部すこやか福祉センター" not in demo.distribution.files
    assert "各所管課" not in demo.distribution.files


def test_columns_in_published_order_with_r3_wording(demo):
    sheet = openpyxl.load_workbook(demo.distribution.files["情報システム課"])["回答"]
    headers = [c.value for c in sheet[HEADER_ROW]]
    assert headers == R3_HEADERS + ["項目ID"]
    first = demo.workspace.plan.items_for("情報システム課")[0]
    assert sheet.cell(FIRST_ROW, 1).value == f"{first.section_code} {first.section_title}"
    no_title = openpyxl.load_workbook(demo.distribution.files["情報システム課"])["回答"]
    codes = [no_title.cell(r, 1).value for r in range(FIRST_ROW, no_title.max_row + 1)]
    assert "1-7-②" in codes  # the code alone where the report prints no title


@pytest.mark.parametrize("department", ["情報システム課", "防災危機管理課", "保険医療課", "区議会事務局"])
def test_dropdown_protection_and_unlocked_answer_cells(demo, department):
    sheet = openpyxl.load_workbook(demo.distribution.files[department])["回答"]
    assert sheet.protection.sheet is True
    cols = header_index(sheet, HEADER_ROW)
    last = FIRST_ROW + len(item_ids(sheet)) - 1
    answer_cols = {cols[h] for h in R3_HEADERS[2:7]}
    [dv] = sheet.data_validations.dataValidation
    assert dv.type == "list" and dv.formula1 == '"◎,○,△,×"'
    # errorStyle is omitted when it is the default, "stop": a value outside the list is refused.
    assert dv.errorStyle in (None, "stop") and dv.showErrorMessage and dv.showInputMessage
    assert dv.prompt and dv.error
    for row in range(FIRST_ROW, last + 1):
        assert sheet.cell(row, cols["進捗状況"]).coordinate in dv.sqref  # every status cell
        for col in range(1, len(cols) + 1):
            locked = sheet.cell(row, col).protection.locked
            assert locked is (col not in answer_cols), (row, col)
    # Title, header and rows below the table are locked too.
    assert sheet.cell(HEADER_ROW, cols["進捗状況"]).protection.locked
    assert sheet.cell(last + 1, cols["進捗状況"]).protection.locked
    assert sheet.cell(last + 1, cols["進捗状況"]).coordinate not in dv.sqref


def test_instructions_sheet_explains_in_japanese(demo):
    wb = openpyxl.load_workbook(demo.distribution.files["税務課"])
    text = "\n".join(str(c.value) for row in wb["記入要領"].iter_rows() for c in row if c.value)
    assert "税務課が回答する事業内容" in text
    assert "スケジュールの変更理由を必ず記入" in text
    for mark, label in (("◎", "スケジュールどおり取り組んだ"), ("×", "未着手")):
        assert mark in text and label in text
    assert "令和4年度取組予定" in text


def test_metadata_is_hidden_signed_and_names_the_rows(demo):
    ws = demo.workspace
    path = demo.distribution.files["税務課"]
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["回答", "記入要領", "nakano-xl"]
    assert wb["nakano-xl"].sheet_state == "veryHidden"
    # Every metadata value is a string (LibreOffice would turn numbers into floats).
    assert all(isinstance(c.value, str) for row in wb["nakano-xl"].iter_rows() for c in row if c.value is not None)
    with XlsxFile(path) as book:
        meta = Metadata.from_sheet(book.read_sheet(book.sheet("nakano-xl")))
    assert meta.department == "税務課" and meta.fiscal_year == "R3"
    assert meta.item_ids == tuple(i.item_id for i in ws.plan.items_for("税務課"))
    assert meta.distribution_id == ws.distribution()["distribution_id"]
    assert meta.verify(ws.key())
    forged = Metadata(**{**{f: getattr(meta, f) for f in meta.__dataclass_fields__}, "department": "情報システム課"})
    assert not forged.verify(ws.key())


def test_r4_workspace_words_the_headers_for_r4(sample, tmp_path):
    ws = init_workspace(tmp_path / "r4", sample / "plan.csv", "令和4年度")
    result = distribute(ws)
    sheet = openpyxl.load_workbook(result.files["情報システム課"])["回答"]
    headers = [c.value for c in sheet[HEADER_ROW]]
    assert headers[4:7] == ["令和4年度までの取組状況", "令和5年度取組予定", "令和6年度以降取組予定"]
    assert "令和4年度" in sheet["A1"].value


def test_distribution_id_is_kept_unless_renewed(tiny_ws):
    first = distribute(tiny_ws).distribution_id
    assert distribute(tiny_ws).distribution_id == first
    assert distribute(tiny_ws, renew=True).distribution_id != first


def test_distribute_reports_the_groups_it_met(tiny_ws):
    result = distribute(tiny_ws)
    [group] = [f for f in result.findings if f.code == "plan.group_department"]
    assert group.value == "各所管課" and "T5" in group.message
    assert sorted(result.files) == ["情報システム課", "戸籍住民課", "税務課", "職員課"]


def test_distribute_writes_the_same_bytes_twice(tiny_ws):
    first = {d: p.read_bytes() for d, p in distribute(tiny_ws).files.items()}
    second = {d: p.read_bytes() for d, p in distribute(tiny_ws).files.items()}
    assert first == second


def test_template_plan_title_and_department_rules_come_from_the_template(sample):
    plan = load_plan(sample / "plan.csv", TEMPLATE.department_rules)
    assert "各窓口所管課" in TEMPLATE.department_rules.groups
    assert all("各窓口所管課" not in i.assignment.answering for i in plan)
