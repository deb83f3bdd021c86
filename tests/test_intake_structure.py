"""Structure: rows by item id, fixed cells against the plan, nothing typed anywhere goes unseen.

The victim is 情報システム課, whose file holds T2 (row 5), T3 (row 6, shared with 税務課)
and T5 (row 7). Each test changes its file one way and asserts the finding at its cell, what
landed in 別紙1 from that file, and that every other department's answers landed.
"""

from __future__ import annotations

import openpyxl
import pytest
from openpyxl.comments import Comment

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
    rewrite_zip,
    run,
    with_openpyxl,
)

VICTIM = "情報システム課"
FILE = file_of(VICTIM)


def victim_rows_landed(ws, items=("T2", "T3", "T5")) -> None:
    seen = report_answers(ws)
    for item_id in items:
        assert seen[item_id] == expected(GOOD[VICTIM][item_id]), item_id


def only_code(result, code):
    found = [f for f in result.findings if f.code == code]
    assert len(found) == 1, [(f.code, f.file, f.cell) for f in result.findings]
    return found[0]


def test_a_sorted_sheet_reads_right_and_says_the_order_changed(tmp_path):
    ws, _, files = returned(tmp_path)

    def reverse(book):
        sheet = book["回答"]
        rows = [[c.value for c in sheet[r]] for r in (5, 6, 7)]
        for r, values in zip((5, 6, 7), reversed(rows)):
            for col, value in enumerate(values, start=1):
                sheet.cell(r, col).value = value

    with_openpyxl(files[VICTIM], reverse)
    result = run(ws)
    assert codes(result, FILE) == [("row.reordered", FILE, "I5")]
    assert only_code(result, "row.reordered").severity.name == "INFO"
    victim_rows_landed(ws)
    assert_landed(ws)


def test_a_deleted_row_is_missing_and_the_rest_still_read(tmp_path):
    ws, _, files = returned(tmp_path)
    with_openpyxl(files[VICTIM], lambda b: b["回答"].delete_rows(6))  # T3
    result = run(ws)
    assert codes(result, FILE) == [("row.missing", FILE, None)]
    missing = only_code(result, "row.missing")
    assert (missing.item_id, missing.department) == ("T3", VICTIM) and "共通基盤の整備" in missing.message
    victim_rows_landed(ws, ("T2", "T5"))
    assert_landed(ws, others_than(VICTIM))  # T3 still answered, by 税務課


def test_an_inserted_row_is_not_read_as_an_answer(tmp_path):
    ws, _, files = returned(tmp_path)

    def insert(book):
        sheet = book["回答"]
        sheet.insert_rows(6)
        sheet["C6"] = "◎"
        sheet["E6"] = "別の取組も始めた。"

    with_openpyxl(files[VICTIM], insert)
    result = run(ws)
    assert codes(result, FILE) == [("row.inserted", FILE, "C6")]
    assert "別の取組も始めた。" in only_code(result, "row.inserted").message
    victim_rows_landed(ws)
    assert_landed(ws)


def test_an_edited_item_id_is_recognised_and_its_row_not_used(tmp_path):
    ws, _, files = returned(tmp_path)
    with_openpyxl(files[VICTIM], lambda b: b["回答"].cell(5, 9, "T2-1"))
    result = run(ws)
    assert codes(result, FILE) == [("row.id_edited", FILE, "I5")]  # not also "missing": said once
    edited = only_code(result, "row.id_edited")
    assert (edited.item_id, edited.value) == ("T2", "T2-1")
    assert report_answers(ws)["T2"]["status"] == ""
    victim_rows_landed(ws, ("T3", "T5"))
    assert_landed(ws, others_than(VICTIM))


def test_a_department_cannot_answer_a_row_assigned_to_another(tmp_path):
    """情報システム課 adds 戸籍住民課's T1 to its own file, with an answer: never used."""
    ws, _, files = returned(tmp_path)

    def add_foreign_row(book):
        sheet = book["回答"]
        for col, value in zip("BCDI", ("◎窓口予約の導入", "×", "予算がつかなかった。", "T1")):
            sheet[f"{col}8"] = value

    with_openpyxl(files[VICTIM], add_foreign_row)
    result = run(ws)
    assert codes(result, FILE) == [("row.unknown", FILE, "I8")]
    assert report_answers(ws)["T1"] == expected(GOOD["戸籍住民課"]["T1"])
    victim_rows_landed(ws)
    assert_landed(ws)


def test_an_edited_locked_cell_is_reported_with_both_texts_and_the_plan_wins(tmp_path):
    ws, _, files = returned(tmp_path)

    def edit(book):
        sheet = book["回答"]
        sheet.protection.sheet = False  # the only way a person gets at a locked cell
        sheet["B5"] = "(国)標準仕様の提供と移行"
        sheet["E4"] = "取組状況"

    with_openpyxl(files[VICTIM], edit)
    result = run(ws)
    assert codes(result, FILE) == [("sheet.unprotected", FILE, None), ("cell.fixed_edited", FILE, "E4"),
                                   ("cell.fixed_edited", FILE, "B5")]
    [content] = [f for f in result.findings if f.cell == "B5"]
    assert "(国)標準仕様の提供と移行" in content.message and "(国)標準仕様の提供" in content.message
    assert content.item_id == "T2"
    sheet = openpyxl.load_workbook(ws.report_path())["別紙1"]
    texts = [c.value for row in sheet.iter_rows() for c in row]
    assert "(国)標準仕様の提供" in texts and "(国)標準仕様の提供と移行" not in texts
    victim_rows_landed(ws)
    assert_landed(ws)


def test_a_renamed_answer_sheet_is_found_by_its_item_ids(tmp_path):
    ws, _, files = returned(tmp_path)
    with_openpyxl(files[VICTIM], lambda b: setattr(b["回答"], "title", "回答（情報システム課）"))
    result = run(ws)
    assert codes(result, FILE) == [("sheet.renamed", FILE, None)]
    assert only_code(result, "sheet.renamed").sheet == "回答（情報システム課）"
    victim_rows_landed(ws)
    assert_landed(ws)


def test_a_missing_answer_sheet_is_an_error(tmp_path):
    ws, _, files = returned(tmp_path)
    with_openpyxl(files[VICTIM], lambda b: b.remove(b["回答"]))
    result = run(ws)
    assert codes(result, FILE) == [("sheet.missing", FILE, None)]
    assert report_answers(ws)["T2"]["status"] == ""
    assert_landed(ws, others_than(VICTIM))


def test_an_extra_sheet_is_reported_with_what_is_typed_on_it(tmp_path):
    ws, _, files = returned(tmp_path)

    def add(book):
        book.create_sheet("メモ")["B2"] = "T3は来年度に再検討する"
        book.create_sheet("Sheet1")

    with_openpyxl(files[VICTIM], add)
    result = run(ws)
    extra = sorted((f.sheet, f.cell, f.severity.name) for f in result.findings if f.code == "sheet.extra")
    assert extra == [("Sheet1", None, "INFO"), ("メモ", "B2", "WARNING")]
    assert "T3は来年度に再検討する" in next(f.message for f in result.findings if f.sheet == "メモ")
    assert [c for c in codes(result, FILE) if c[0] != "sheet.extra"] == []
    victim_rows_landed(ws)
    assert_landed(ws)


def test_merged_cells_over_answer_cells_are_an_error_at_the_merge(tmp_path):
    ws, _, files = returned(tmp_path)
    with_openpyxl(files[VICTIM], lambda b: b["回答"].merge_cells("C6:C7"))  # T3 and T5 status
    result = run(ws)
    merged = only_code(result, "cell.merged")
    assert (merged.file, merged.cell, merged.value, merged.severity.name) == (FILE, "C6", "C6:C7", "ERROR")
    assert report_answers(ws)["T5"]["status"] == ""  # the cell under the merge lost its value
    assert ("status.missing", FILE, "C7") in codes(result, FILE)
    victim_rows_landed(ws, ("T2", "T3"))
    assert_landed(ws, others_than(VICTIM))


NOTES = {
    # where a person typed it → (sheet, cell)
    "below the table": ("回答", "A9"),
    "below the table, in an answer column": ("回答", "E9"),
    "right of the table": ("回答", "J6"),
    "far below": ("回答", "C400"),
    "far right": ("回答", "Z5"),
    "in the title rows": ("回答", "D2"),
    "on the instructions sheet": ("記入要領", "D3"),
}


@pytest.mark.parametrize("where", sorted(NOTES))
def test_a_note_typed_outside_the_answer_area_is_reported_at_its_cell(tmp_path, where):
    sheet_name, cell = NOTES[where]
    ws, _, files = returned(tmp_path)
    note = "※この事業は再来年度に統合予定です。"

    def type_note(book):
        book[sheet_name][cell] = note

    with_openpyxl(files[VICTIM], type_note)
    result = run(ws)
    code = "row.inserted" if where == "below the table, in an answer column" else "cell.outside"
    assert codes(result, FILE) == [(code, FILE, cell)]
    found = only_code(result, code)
    assert found.sheet == sheet_name and note[:20] in found.message
    victim_rows_landed(ws)
    assert_landed(ws)


def test_a_comment_on_a_cell_is_reported_at_its_cell(tmp_path):
    ws, _, files = returned(tmp_path)

    def comment(book):
        book["回答"]["E6"].comment = Comment("税務課と調整中のため、後日差し替えます。", "山田")

    with_openpyxl(files[VICTIM], comment)
    result = run(ws)
    assert codes(result, FILE) == [("cell.comment", FILE, "E6")]
    assert "後日差し替えます" in only_code(result, "cell.comment").message
    victim_rows_landed(ws)
    assert_landed(ws)


DRAWING = ('<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
           'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><xdr:twoCellAnchor>'
           '<xdr:from><xdr:col>9</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>4</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>'
           '<xdr:to><xdr:col>12</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>8</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>'
           '<xdr:sp><xdr:nvSpPr><xdr:cNvPr id="2" name="TextBox 1"/><xdr:cNvSpPr txBox="1"/></xdr:nvSpPr><xdr:spPr/>'
           '<xdr:txBody><a:bodyPr/><a:p><a:r><a:t>T5は人員が揃い次第、</a:t></a:r><a:r><a:t>再開します。</a:t></a:r></a:p>'
           '</xdr:txBody></xdr:sp><xdr:clientData/></xdr:twoCellAnchor></xdr:wsDr>')
DRAWING_REL = ('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
               '<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/drawing" '
               'Target="../drawings/drawing1.xml"/></Relationships>')


def test_a_text_box_on_the_answer_sheet_is_reported(tmp_path):
    ws, _, files = returned(tmp_path)
    path = files[VICTIM]
    rewrite_zip(path, lambda n, d: d, add={"xl/drawings/drawing1.xml": DRAWING.encode(),
                                           "xl/worksheets/_rels/sheet1.xml.rels": DRAWING_REL.encode()})
    edit_part(path, "[Content_Types].xml", lambda t: t.replace(
        "</Types>", '<Override PartName="/xl/drawings/drawing1.xml" '
                    'ContentType="application/vnd.openxmlformats-officedocument.drawing+xml"/></Types>'))
    result = run(ws)
    assert codes(result, FILE) == [("sheet.drawing_text", FILE, None)]
    found = only_code(result, "sheet.drawing_text")
    assert found.sheet == "回答" and "T5は人員が揃い次第、再開します。" in found.message
    victim_rows_landed(ws)
    assert_landed(ws)


def test_a_copied_row_is_read_once(tmp_path):
    ws, _, files = returned(tmp_path)

    def copy_row(book):
        sheet = book["回答"]
        for col in range(1, 10):
            sheet.cell(8, col).value = sheet.cell(5, col).value  # T2 again, answered differently
        sheet["C8"] = "×"

    with_openpyxl(files[VICTIM], copy_row)
    result = run(ws)
    assert codes(result, FILE) == [("row.duplicate", FILE, "I8")]
    assert "5行目" in only_code(result, "row.duplicate").message
    victim_rows_landed(ws)  # T2 from row 5: ◎, not the copy's ×
    assert_landed(ws)


def test_a_plan_changed_after_distribution_limits_each_file_to_what_the_plan_now_assigns(tmp_path):
    """T5 moves from 情報システム課 to 職員課 after the files went out."""
    ws, _, _ = returned(tmp_path)
    plan = ws.root / ws.settings.plan_file
    plan.write_text(plan.read_text(encoding="utf-8").replace("情報システム課 各所管課", "職員課 各所管課"), encoding="utf-8")
    from nakano_xl.workspace import open_workspace

    ws = open_workspace(ws.root)
    result = run(ws)
    assert codes(result, FILE) == [("row.unknown", FILE, "I7")]  # its T5 row may no longer answer
    staff = [(f.code, f.item_id) for f in result.findings if f.file == file_of("職員課")]
    assert staff == [("row.not_distributed", "T5")]
    assert report_answers(ws)["T5"]["status"] == ""
    victim_rows_landed(ws, ("T2", "T3"))
    assert_landed(ws, others_than(VICTIM))


def test_an_extra_sheet_past_the_column_limit_says_so(tmp_path):
    ws, _, files = returned(tmp_path)
    with_openpyxl(files[VICTIM], lambda b: b.create_sheet("作業用").cell(3, 200, "集計用の列"))  # column GR
    result = run(ws)
    assert sorted(codes(result, FILE)) == [("file.too_many_rows", FILE, None), ("sheet.extra", FILE, None)]
    assert only_code(result, "file.too_many_rows").sheet == "作業用"
    assert only_code(result, "sheet.extra").severity.name == "WARNING"  # not "empty"
    victim_rows_landed(ws)
    assert_landed(ws)
