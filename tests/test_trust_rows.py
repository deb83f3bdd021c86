"""An answer lands on an item only when its row agrees with itself: item id and identifying texts.

The victim is 情報システム課, whose file holds T2 (row 5), T3 (row 6, shared with 税務課) and
T5 (row 7). Each test removes the sheet protection as a person does (it has no password yet)
and moves ids or rows the way a spreadsheet user would, then asserts the findings, where each
answer landed in 別紙1 (read back), what the other departments' answers are, and the exit
status of ``nakano-xl consolidate``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from nakano_xl.cli import cli
from nakano_xl.consolidate import consolidate
from nakano_xl.demo import run_demo
from nakano_xl.distribute import distribute
from nakano_xl.errors import NakanoError
from nakano_xl.fill import fill_workbook
from nakano_xl.template import Template, load_template
from nakano_xl.workspace import init_workspace

from . import lo
from .helpers import PLAN_HEADER, TINY_PLAN, write_csv
from .intake_kit import (
    GOOD,
    assert_landed,
    codes,
    edit_part,
    expected,
    file_of,
    others_than,
    report_answers,
    returned,
    run,
    with_openpyxl,
)

VICTIM = "情報システム課"
FILE = file_of(VICTIM)
ROWS = {"T2": 5, "T3": 6, "T5": 7}  # the victim's rows as distributed
ID_COL = "I"
VISIBLE = "ABCDEFGH"  # every column a person sees (the id column I is hidden)


def unprotected(change: Callable[[openpyxl.worksheet.worksheet.Worksheet], None]) -> Callable[[openpyxl.Workbook], None]:
    """``change`` of the 回答 sheet after removing its protection, as a person has to."""
    def edit(book: openpyxl.Workbook) -> None:
        sheet = book["回答"]
        sheet.protection.sheet = False
        change(sheet)
    return edit


def set_ids(ids: dict[int, str]) -> Callable[[openpyxl.Workbook], None]:
    """Write item ids into rows: the hidden id column alone is changed."""
    def change(sheet) -> None:
        for row, item_id in ids.items():
            sheet[f"{ID_COL}{row}"] = item_id
    return unprotected(change)


def consolidate_cli(ws) -> int:
    result = CliRunner().invoke(cli, ["consolidate", "-w", str(ws.root), "--quiet"], catch_exceptions=False)
    return result.exit_code


def of_file(result, code: str) -> list:
    return sorted((f for f in result.findings if f.file == FILE and f.code == code), key=lambda f: f.cell or "")


def victim_answer(item_id: str) -> dict[str, str]:
    return expected(GOOD[VICTIM][item_id])


def test_swapped_ids_land_by_the_rows_texts_with_a_warning_naming_both_items(tmp_path):
    ws, _, files = returned(tmp_path)
    with_openpyxl(files[VICTIM], set_ids({5: "T5", 7: "T2"}))  # T2's and T5's ids exchanged
    assert consolidate_cli(ws) == 0  # warnings only: every answer found its item
    result = run(ws)
    assert codes(result, FILE) == [("sheet.unprotected", FILE, None), ("row.moved", FILE, "I5"),
                                   ("row.moved", FILE, "I7")]
    first, second = of_file(result, "row.moved")
    assert (first.item_id, first.value, first.severity.name) == ("T2", "T5", "WARNING")
    assert (second.item_id, second.value) == ("T5", "T2")
    assert "T5 各課での実践" in first.message and "T2 (国)標準仕様の提供" in first.message
    seen = report_answers(ws)
    assert seen["T2"] == victim_answer("T2") and seen["T5"] == victim_answer("T5")
    assert seen["T2"]["results_to_date"] == "国の標準仕様に沿って移行計画を作成した。"
    assert_landed(ws)


def test_a_sort_that_left_the_id_column_behind_lands_every_answer_on_its_own_item(tmp_path):
    """Rows 5–7 sorted by 取組状況 (column E) over columns A–H only: texts and answers move, ids stay."""
    ws, _, files = returned(tmp_path)

    def sort_visible(sheet) -> None:
        rows = [[sheet[f"{c}{r}"].value for c in VISIBLE] for r in ROWS.values()]
        rows.sort(key=lambda values: str(values[4]))
        for r, values in zip(ROWS.values(), rows):
            for c, value in zip(VISIBLE, values):
                sheet[f"{c}{r}"] = value

    with_openpyxl(files[VICTIM], unprotected(sort_visible))
    sheet = openpyxl.load_workbook(files[VICTIM])["回答"]
    assert [sheet[f"B{r}"].value for r in (5, 6, 7)] == ["各課での実践", "(国)標準仕様の提供", "共通基盤の整備"]
    assert [sheet[f"I{r}"].value for r in (5, 6, 7)] == ["T2", "T3", "T5"]  # the ids did not move
    result = run(ws)
    moved = {(f.cell, f.value, f.item_id) for f in of_file(result, "row.moved")}
    assert moved == {("I5", "T2", "T5"), ("I6", "T3", "T2"), ("I7", "T5", "T3")}
    assert not [c for c in codes(result, FILE) if c[0] not in ("row.moved", "sheet.unprotected")]
    for item_id in ROWS:
        assert report_answers(ws)[item_id] == victim_answer(item_id), item_id
    assert_landed(ws)
    assert consolidate_cli(ws) == 0


def test_only_the_id_column_moved_is_the_same_as_texts_moved(tmp_path):
    """The ids rotated (T3, T5, T2) with texts and answers in place: each row still answers its texts' item."""
    ws, _, files = returned(tmp_path)
    with_openpyxl(files[VICTIM], set_ids({5: "T3", 6: "T5", 7: "T2"}))
    result = run(ws)
    assert {(f.cell, f.item_id) for f in of_file(result, "row.moved")} == {("I5", "T2"), ("I6", "T3"), ("I7", "T5")}
    assert not of_file(result, "row.reordered")  # row.moved says it already
    assert_landed(ws)


def test_whole_rows_sorted_with_their_ids_read_right_and_only_say_the_order_changed(tmp_path):
    ws, _, files = returned(tmp_path)

    def sort_whole(sheet) -> None:
        rows = [[sheet[f"{c}{r}"].value for c in VISIBLE + ID_COL] for r in ROWS.values()]
        order = [rows[1], rows[2], rows[0]]  # T3, T5, T2
        for r, values in zip(ROWS.values(), order):
            for c, value in zip(VISIBLE + ID_COL, values):
                sheet[f"{c}{r}"] = value

    with_openpyxl(files[VICTIM], unprotected(sort_whole))
    result = run(ws)
    assert codes(result, FILE) == [("sheet.unprotected", FILE, None), ("row.reordered", FILE, "I5")]
    assert_landed(ws)
    assert consolidate_cli(ws) == 0


def test_a_row_whose_texts_copy_another_row_is_not_used_and_its_item_is_an_error(tmp_path):
    """Row 5 (id T2) gets T5's texts pasted over it: T5 is still answered by its own row 7,
    T2 has no row that agrees with itself and stays unanswered, with an error."""
    ws, _, files = returned(tmp_path)

    def paste_texts(sheet) -> None:
        for c in "ABH":
            sheet[f"{c}5"] = sheet[f"{c}7"].value

    with_openpyxl(files[VICTIM], unprotected(paste_texts))
    assert consolidate_cli(ws) == 1
    result = run(ws)
    assert codes(result, FILE) == [("sheet.unprotected", FILE, None), ("row.id_conflict", FILE, "I5")]
    [conflict] = of_file(result, "row.id_conflict")
    assert (conflict.item_id, conflict.value, conflict.severity.name) == ("T2", "T2", "ERROR")
    assert "T5 各課での実践" in conflict.message and "T2 (国)標準仕様の提供" in conflict.message
    assert not of_file(result, "row.missing")  # said once, by the conflict
    seen = report_answers(ws)
    assert seen["T2"] == expected({})  # neither T2's answer nor a guess
    assert seen["T5"] == victim_answer("T5") and seen["T3"] == victim_answer("T3")
    assert_landed(ws, others_than(VICTIM))


def test_swapped_ids_with_an_edited_text_still_land_by_the_other_texts(tmp_path):
    """Ids of T2 and T3 exchanged and row 5's 所管課 edited too: its 実施内容 and 事業内容 still
    name T2 (the edit is reported as an edited fixed cell)."""
    ws, _, files = returned(tmp_path)

    def swap_and_edit(sheet) -> None:
        sheet["I5"], sheet["I6"] = "T3", "T2"
        sheet["H5"] = "情報システム課（国の事業）"

    with_openpyxl(files[VICTIM], unprotected(swap_and_edit))
    result = run(ws)
    assert {(f.cell, f.value, f.item_id) for f in of_file(result, "row.moved")} == {("I5", "T3", "T2"),
                                                                                     ("I6", "T2", "T3")}
    [edited] = of_file(result, "cell.fixed_edited")
    assert (edited.cell, edited.item_id) == ("H5", "T2")
    assert_landed(ws)
    assert consolidate_cli(ws) == 0


def test_a_plan_reworded_after_distribution_does_not_hide_moved_ids(tmp_path):
    """The coordinator renames T5's 実施内容 in the plan master after distributing; the department
    then sorts without the id column. 事業内容 and 所管課 still say which row is which."""
    ws, _, files = returned(tmp_path)
    plan = ws.root / ws.settings.plan_file
    text = plan.read_text(encoding="utf-8")
    assert text.count(",研修,各課での実践,") == 1
    plan.write_text(text.replace(",研修,各課での実践,", ",職員研修,各課での実践,"), encoding="utf-8")
    with_openpyxl(files[VICTIM], set_ids({5: "T5", 6: "T2", 7: "T3"}))
    from nakano_xl.workspace import open_workspace

    ws = open_workspace(ws.root)
    result = consolidate(ws)
    assert {(f.cell, f.item_id) for f in of_file(result, "row.moved")} == {("I5", "T2"), ("I6", "T3"), ("I7", "T5")}
    assert [(f.cell, f.item_id) for f in of_file(result, "cell.fixed_edited")] == [("A7", "T5")]
    assert_landed(ws)


def test_swapped_ids_on_rows_whose_texts_were_overwritten_are_errors_never_a_guess(tmp_path):
    """Ids of T2 and T3 exchanged and every fixed text of row 5 typed over: row 5's texts name no
    item, so its id (T3) would decide, but row 6's texts claim T3 as well. Neither row is used."""
    ws, _, files = returned(tmp_path)

    def swap_and_overwrite(sheet) -> None:
        sheet["I5"], sheet["I6"] = "T3", "T2"
        for c in "ABH":
            sheet[f"{c}5"] = "（記入例）"

    with_openpyxl(files[VICTIM], unprotected(swap_and_overwrite))
    assert consolidate_cli(ws) == 1
    result = run(ws)
    conflicts = {(f.cell, f.item_id) for f in of_file(result, "row.id_conflict")}
    assert conflicts == {("I5", "T3"), ("I6", "T2"), ("I6", "T3")}
    assert not of_file(result, "row.moved") and not of_file(result, "row.missing")
    seen = report_answers(ws)
    assert seen["T2"] == expected({})
    assert seen["T3"] == expected(GOOD["税務課"]["T3"])  # the shared row still has 税務課's answer
    assert seen["T5"] == victim_answer("T5")
    [status] = [d for d in run_status(ws) if d.department == VICTIM]
    assert status.unanswered == 2  # T2 and T3 count as unanswered for 情報システム課


def run_status(ws):
    from nakano_xl.intake import read_inbox
    from nakano_xl.intake.status import return_status

    return return_status(ws, read_inbox(ws)).departments


def test_an_edited_fixed_text_that_names_no_other_item_keeps_the_id_deciding(tmp_path):
    ws, _, files = returned(tmp_path)

    def typo(sheet) -> None:
        sheet["B6"] = "共通基盤の整傭"

    with_openpyxl(files[VICTIM], unprotected(typo))
    result = run(ws)
    assert codes(result, FILE) == [("sheet.unprotected", FILE, None), ("cell.fixed_edited", FILE, "B6")]
    assert_landed(ws)


def test_a_copied_row_with_its_id_is_still_a_duplicate(tmp_path):
    ws, _, files = returned(tmp_path)

    def copy_row(sheet) -> None:
        for c in VISIBLE + ID_COL:
            sheet[f"{c}8"] = sheet[f"{c}7"].value
        sheet["E8"] = "別の記入。"

    with_openpyxl(files[VICTIM], unprotected(copy_row))
    result = run(ws)
    assert codes(result, FILE) == [("sheet.unprotected", FILE, None), ("row.duplicate", FILE, "I8")]
    assert_landed(ws)


# -- items whose identifying texts are the same -------------------------------------------------

TWIN = ["T7", "1-2-①", "研修", "各課での実践", "情報システム課 各所管課", ""]  # T5's texts exactly
TWIN_ANSWERS = {"T2": {"status": "◎", "results_to_date": "移行計画を作った。"},
                "T3": {"status": "◎", "results_to_date": "設計を終えた。"},
                "T5": {"status": "△", "reason": "人が足りない。", "results_to_date": "試行した。"},
                "T7": {"status": "×", "reason": "予算がない。", "results_to_date": "未着手。"}}


def twin_workspace(root: Path):
    """The tiny plan plus T7, whose 実施内容, 事業内容 and 所管課 are T5's: rows 5–8 are T2, T3, T5, T7."""
    root.mkdir(parents=True, exist_ok=True)
    plan = write_csv(root / "plan.csv", PLAN_HEADER, [*TINY_PLAN, TWIN])
    ws = init_workspace(root / "ws", plan, "R3")
    dist = distribute(ws)
    target = ws.inbox / FILE
    fill_workbook(dist.files[VICTIM], target, TWIN_ANSWERS, ws.template, paste=True)
    return ws, target


def twin_landed(ws, items) -> dict[str, dict[str, str]]:
    seen = report_answers(ws)
    for item_id in items:
        assert seen[item_id] == expected(TWIN_ANSWERS[item_id]), item_id
    return seen


def test_items_with_the_same_texts_are_told_apart_by_their_ids(tmp_path):
    ws, _ = twin_workspace(tmp_path)
    result = consolidate(ws)
    assert [c for c in codes(result, FILE)] == []
    twin_landed(ws, TWIN_ANSWERS)


def test_an_id_moved_onto_identical_texts_is_an_error_and_no_guess(tmp_path):
    """T2's id and T5's exchanged: row 5 (T2's texts) lands on T2 by its texts; row 7 has the
    texts of T5 and T7 alike and T2's id, so it names nobody. Since ids moved among the
    identical rows, row 8's id (T7) is no proof either: T5 and T7 are errors, unanswered."""
    ws, target = twin_workspace(tmp_path)
    with_openpyxl(target, set_ids({5: "T5", 7: "T2"}))
    result = consolidate(ws)
    assert {(f.cell, f.item_id) for f in of_file(result, "row.moved")} == {("I5", "T2")}
    conflicts = {(f.cell, f.item_id) for f in of_file(result, "row.id_conflict")}
    assert conflicts == {("I7", "T5"), ("I7", "T7"), ("I8", "T5"), ("I8", "T7")}
    assert all(f.severity.name == "ERROR" for f in of_file(result, "row.id_conflict"))
    assert all("「T5 各課での実践」「T7 各課での実践」のいずれか" in f.message for f in of_file(result, "row.id_conflict"))
    seen = twin_landed(ws, ["T2", "T3"])
    assert seen["T5"] == expected({}) and seen["T7"] == expected({})
    assert consolidate_cli(ws) == 1


def test_identical_rows_sorted_with_their_ids_still_read_by_id(tmp_path):
    ws, target = twin_workspace(tmp_path)

    def swap_whole(sheet) -> None:
        for c in VISIBLE + ID_COL:
            sheet[f"{c}7"], sheet[f"{c}8"] = sheet[f"{c}8"].value, sheet[f"{c}7"].value

    with_openpyxl(target, unprotected(swap_whole))
    result = consolidate(ws)
    assert codes(result, FILE) == [("sheet.unprotected", FILE, None), ("row.reordered", FILE, "I7")]
    twin_landed(ws, TWIN_ANSWERS)


def test_the_samples_items_with_the_same_content_land_by_their_section(tmp_path):
    """In the bundled sample 情報システム課 answers P028 and P051, both 「パソコン教室や
    スマートフォン教室の開催」 under different 実施内容; their ids exchanged, each answer stays."""
    demo = run_demo(tmp_path / "令和3年度")
    ws = demo.workspace
    before = report_answers(ws)
    assert before["P028"] != before["P051"]
    [path] = [p for p in demo.filled if "情報システム課" in p.name]
    sheet = openpyxl.load_workbook(path)["回答"]
    rows = {sheet[f"{ID_COL}{r}"].value: r for r in range(5, sheet.max_row + 1)}
    with_openpyxl(path, set_ids({rows["P028"]: "P051", rows["P051"]: "P028"}))
    result = consolidate(ws)
    name = path.relative_to(ws.inbox).as_posix()
    moved = {(f.item_id, f.value) for f in result.findings if f.file == name and f.code == "row.moved"}
    assert moved == {("P028", "P051"), ("P051", "P028")}
    assert not [f for f in result.findings if f.file == name and f.severity.name == "ERROR"]
    assert report_answers(ws) == before


# -- the template names the identifying columns -------------------------------------------------

def test_the_identifying_columns_are_the_templates(tmp_path):
    """Ids of T2 and T3 exchanged, row 5's 実施内容 and 事業内容 typed over: by default its 所管課
    still names T2; with a template whose only identifying column is 事業内容 nothing does, and
    the two rows are errors instead."""
    assert load_template().identifying == ("section", "content", "departments")
    source = load_template().source.read_text(encoding="utf-8")
    mine = tmp_path / "only_content.toml"
    mine.write_text(source.replace('identifying_columns = ["section", "content", "departments"]',
                                   'identifying_columns = ["content"]'), encoding="utf-8")
    assert load_template(mine).identifying == ("content",)

    def swap_and_overwrite(sheet) -> None:
        sheet["I5"], sheet["I6"] = "T3", "T2"
        sheet["A5"] = sheet["B5"] = "（記入例）"

    ws, _, files = returned(tmp_path / "default")
    with_openpyxl(files[VICTIM], unprotected(swap_and_overwrite))
    result = run(ws)
    assert {(f.cell, f.item_id) for f in of_file(result, "row.moved")} == {("I5", "T2"), ("I6", "T3")}
    assert not of_file(result, "row.id_conflict")
    assert_landed(ws)

    ws, _, files = returned(tmp_path / "content")
    settings = ws.root / "nakano-xl.toml"
    text = settings.read_text(encoding="utf-8")
    assert text.count('template = "nakano"') == 1
    settings.write_text(text.replace('template = "nakano"', f'template = "{mine.as_posix()}"'), encoding="utf-8")
    with_openpyxl(files[VICTIM], unprotected(swap_and_overwrite))
    from nakano_xl.workspace import open_workspace

    result = consolidate(open_workspace(ws.root))
    assert {(f.cell, f.item_id) for f in of_file(result, "row.id_conflict")} == {("I5", "T3"), ("I6", "T2"),
                                                                                  ("I6", "T3")}
    assert not of_file(result, "row.moved")


@pytest.mark.parametrize("setting", ['["status"]', '["nothing"]', '"content"', '[]', '["content", 3]'])
def test_identifying_columns_must_be_fixed_columns(tmp_path, setting):
    source = load_template().source.read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(source.replace('identifying_columns = ["section", "content", "departments"]',
                                  f"identifying_columns = {setting}"), encoding="utf-8")
    with pytest.raises(NakanoError, match="identifying_columns"):
        load_template(bad)


def test_a_template_without_the_setting_identifies_by_every_fixed_column():
    data = load_template().source.read_text(encoding="utf-8")
    import tomllib

    parsed = tomllib.loads(data)
    del parsed["input_workbook"]["identifying_columns"]
    assert Template(parsed, Path("x.toml")).identifying == ("section", "content", "departments")


# -- without a workspace -----------------------------------------------------------------------

def test_check_without_a_workspace_cannot_compare_and_says_so(tmp_path):
    """No plan, no texts to compare: the ids decide, and the file's finding says the plan was not checked."""
    ws, _, files = returned(tmp_path)
    with_openpyxl(files[VICTIM], set_ids({5: "T5", 7: "T2"}))
    alone = CliRunner().invoke(cli, ["check", str(files[VICTIM])], catch_exceptions=False)
    assert alone.exit_code == 0, alone.output
    assert "項目IDと事業内容などの対応を含む）は確認していません" in alone.output
    assert "項目IDの列（非表示）" not in alone.output
    full = CliRunner().invoke(cli, ["check", str(files[VICTIM]), "-w", str(ws.root)], catch_exceptions=False)
    assert full.exit_code == 0 and full.output.count("項目IDの列（非表示）だけが並べ替えられた") == 2


# -- a return saved by LibreOffice -------------------------------------------------------------

def test_ids_swapped_in_libreoffice_land_by_the_rows_texts(tmp_path):
    """The sheet unprotected, then T3's and T5's ids typed over each other in Calc and saved."""
    lo.require()
    ws, _, files = returned(tmp_path)
    with_openpyxl(files[VICTIM], unprotected(lambda sheet: None))
    saved = tmp_path / "calc" / FILE
    edits = [lo.Edit("回答", "I6", "T5"), lo.Edit("回答", "I7", "T3"), lo.Edit("回答", "E7", "3課で試行した。")]
    lo.run_batch([lo.save_job(files[VICTIM], saved, edits)]).outcomes[0].check()
    files[VICTIM].write_bytes(saved.read_bytes())
    assert consolidate_cli(ws) == 0
    result = run(ws)
    assert {(f.cell, f.value, f.item_id) for f in of_file(result, "row.moved")} == {("I6", "T5", "T3"),
                                                                                     ("I7", "T3", "T5")}
    seen = report_answers(ws)
    assert seen["T5"] == {**victim_answer("T5"), "results_to_date": "3課で試行した。"}
    assert seen["T3"] == victim_answer("T3") and seen["T2"] == victim_answer("T2")
    assert_landed(ws, others_than(VICTIM))


# -- any permutation of ids, rows and edited texts ------------------------------------------------

# Eight items of one file: some share 実施内容, some 所管課, two (Q7, Q8) share every identifying text.
PLAN_ITEMS = [
    ("Q1", "1-1-①", "窓口", "予約の導入", "情報システム課"),
    ("Q2", "1-1-①", "窓口", "標準仕様の提供", "情報システム課"),
    ("Q3", "1-1-②", "", "共通基盤の整備", "情報システム課 税務課"),
    ("Q4", "1-2-①", "研修", "研修の実施", "情報システム課"),
    ("Q5", "1-3-①", "教室", "教室の開催", "情報システム課"),
    ("Q6", "1-6-①", "支援", "教室の開催", "情報システム課"),
    ("Q7", "2-3-①", "標準化", "対応度調査", "情報システム課 税務課"),
    ("Q8", "2-3-①", "標準化", "対応度調査", "情報システム課 税務課"),
]
TEXT_KEYS = ("section", "content", "departments")


def matching_of(sheet_rows: list[tuple[str, tuple[str, str, str]]]):
    """match_rows over a 回答 sheet whose rows hold (item id, identifying texts), from row 5."""
    from nakano_xl.intake.match import match_rows
    from nakano_xl.intake.rows import Reading
    from nakano_xl.layout import InputColumns, Metadata
    from nakano_xl.model import FiscalYear, Item, Plan
    from nakano_xl.xlsx.worksheet import Cell, Sheet

    template = load_template()
    cols = InputColumns.of(template)
    plan = Plan(Item(i, code, title, content, depts, None) for i, code, title, content, depts in PLAN_ITEMS)
    ids = tuple(i for i, *_ in PLAN_ITEMS)
    meta = Metadata(VICTIM, "R3", template.name, template.version, "x", "回答", ids, columns=cols.keys)
    reading = Reading("f.xlsx", VICTIM, meta, template, ids, plan, FiscalYear(3))
    sheet = Sheet("回答", "visible")
    for row, (item_id, texts) in enumerate(sheet_rows, start=5):
        for key, text in zip((*TEXT_KEYS, "item_id"), (*texts, item_id)):
            col = cols.col(key)
            sheet.cells[(row, col)] = Cell(row, col, text, "text")
    return match_rows(sheet, range(5, 5 + len(sheet_rows)), cols, reading, {"file": "f.xlsx"}), plan


def texts_of(item) -> tuple[str, str, str]:
    return (item.section_label, item.content, item.departments)


@settings(max_examples=300, deadline=None)
@given(order=st.permutations(range(8)), ids=st.permutations(range(8)),
       edits=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 2)), max_size=4))
def test_no_answer_lands_on_another_item_unless_a_finding_or_identical_texts_hide_it(order, ids, edits):
    """Rows in any order, ids in any order, up to four texts typed over. Row ``n`` carries the texts
    (and so the answers) of item ``order[n]``. An answer may land on another item only where no
    one can tell: the two items' texts are identical, or texts of the row were typed over (and
    ``cell.fixed_edited`` names them). Every row is used or in a finding."""
    edited = {(row, key) for row, key in edits}
    rows = []
    for n, source in enumerate(order):
        _, code, title, content, depts = PLAN_ITEMS[source]
        texts = [f"{code} {title}" if title else code, content, depts]
        for key in range(3):
            if (n, key) in edited:
                texts[key] = f"書き換え{n}{key}"
        rows.append((PLAN_ITEMS[ids[n]][0], tuple(texts)))
    matching, plan = matching_of(rows)
    conflicts = {int(f.cell[1:]) for f in matching.findings if f.code in ("row.id_conflict", "row.duplicate")}
    for row in range(5, 13):
        assert (row in matching.used) != (row in conflicts), row  # used, or said why not
    assert len(set(matching.used.values())) == len(matching.used)  # one row per item
    for row, item_id in matching.used.items():
        truth = PLAN_ITEMS[order[row - 5]][0]
        if item_id == truth:
            continue
        landed, source = plan[item_id], plan[truth]
        typed_over = any((row - 5, key) in edited for key in range(3))
        assert texts_of(landed) == texts_of(source) or typed_over, (row, item_id, truth)


def test_a_replaced_character_in_a_moved_row_is_named_with_the_item_the_row_was_read_as(tmp_path):
    """Row 5 holds T2's texts under T5's id: the U+FFFD finding about its 取組状況 names T2."""
    ws, _, files = returned(tmp_path)

    def spoil(sheet) -> None:
        sheet["I5"], sheet["I7"] = "T5", "T2"
        sheet["E5"] = "移行計画を作成した。_x0001_"  # openpyxl writes _x005F_ for "_": a program would not

    with_openpyxl(files[VICTIM], unprotected(spoil))
    edit_part(files[VICTIM], "xl/sharedStrings.xml", lambda t: t.replace("_x005F_x0001_", "_x0001_"))
    result = run(ws)
    [hit] = of_file(result, "cell.unrepresentable")
    assert (hit.cell, hit.item_id) == ("E5", "T2")
    assert report_answers(ws)["T2"]["results_to_date"] == "移行計画を作成した。\ufffd"
