"""The consolidated workbook as printed and published: read back with openpyxl.

別紙1: print titles, A4 landscape fitted to the width, fonts, widths, section cells and page
breaks; 集計: counts, counts by 目標 and 実施内容 with charts, KPI tables; 確認事項 and 提出状況:
filters, frozen headers, colours. Expected values come from samples/ and the page geometry,
never from the code that wrote the workbook.
"""

from __future__ import annotations

import itertools
import re
import zipfile
from collections import Counter

import openpyxl
import pytest

from nakano_xl.consolidate import consolidate
from nakano_xl.distribute import distribute
from nakano_xl.fill import fill_workbook
from nakano_xl.report import paginate
from nakano_xl.template import load_template
from nakano_xl.xlsx.measure import row_height

from .helpers import cell_text, find_header_row, header_index, read_csv

TEMPLATE = load_template()
MARKS = ["◎", "○", "△", "×"]
A4_MM = (297.0, 210.0)


@pytest.fixture(scope="module")
def book(demo):
    return openpyxl.load_workbook(demo.workspace.report_path())


def section_label(row: dict[str, str]) -> str:
    return f"{row['section_code']} {row['section_title']}".strip()


def column_width(sheet, col: int) -> float:
    """A column's width as stored (openpyxl keeps a run of equal columns under its first)."""
    for dim in sheet.column_dimensions.values():
        if dim.min is not None and dim.min <= col <= dim.max:
            return dim.width
    raise AssertionError(f"no width for column {col}")


# --- 別紙1 ---------------------------------------------------------------------------------


def test_title_legend_and_header_repeat_on_every_page(book, demo):
    sheet = book["別紙1"]
    head = find_header_row(sheet, "実施内容")
    assert sheet.print_title_rows == f"$1:${head}"  # title, legend and header: all print titles
    assert sheet["A1"].value == "中野区地域情報化推進計画 進捗状況一覧"
    assert sheet["A2"].value == "【進捗状況の凡例】"
    assert [sheet.cell(r, 1).value for r in range(3, head)] == [
        " ◎・・・スケジュールどおり取り組んだ",
        " ○・・・スケジュールどおりでなく、変更して取り組んだ",
        " △・・・着手したものの十分に進行しているとはいえない",
        " ×・・・未着手",
    ]
    assert [c.value for c in sheet[head]][:8] == [
        "実施内容", "事業内容", "進捗状況", "スケジュールの変更理由", "令和3年度までの取組状況",
        "令和4年度取組予定", "令和5年度以降取組予定", "所管課"]
    assert sheet.freeze_panes == f"A{head + 1}"  # scrolling keeps the header in view


def test_a4_landscape_one_page_wide_with_page_numbers(book):
    for name in ("別紙1", "集計", "確認事項", "提出状況"):
        sheet = book[name]
        assert sheet.page_setup.paperSize == 9, name  # A4
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, name
        assert sheet.page_setup.fitToWidth in (None, 1), name  # None is the schema default, 1
        assert sheet.page_setup.fitToHeight == 0, name  # as many pages tall as needed
        assert "&P" in sheet.oddFooter.center.text and "&N" in sheet.oddFooter.center.text, name
    assert book["別紙1"].page_setup.orientation == "landscape"
    assert book["確認事項"].page_setup.orientation == "landscape"


def test_print_area_leaves_out_the_hidden_item_ids(book, demo):
    sheet = book["別紙1"]
    head = find_header_row(sheet, "実施内容")
    cols = header_index(sheet, head)
    id_col = cols["項目ID"]
    assert sheet.column_dimensions[openpyxl.utils.get_column_letter(id_col)].hidden
    last = head + len(demo.workspace.plan)
    assert sheet.print_area == f"'別紙1'!$A$1:${openpyxl.utils.get_column_letter(id_col - 1)}${last}"


def test_cells_are_wrapped_bordered_in_the_japanese_font_with_the_template_widths(book, demo):
    sheet = book["別紙1"]
    head = find_header_row(sheet, "実施内容")
    for column in TEMPLATE.columns:
        col = header_index(sheet, head)[column.header.format(year="令和3年度", next_year="令和4年度",
                                                               later_year="令和5年度")]
        # xlsxwriter stores a width with Excel's padding added (20 → 20.71).
        assert column_width(sheet, col) == pytest.approx(column.width + 0.71, abs=0.01)
    for row in sheet.iter_rows(min_row=head + 1, max_row=head + len(demo.workspace.plan), max_col=8):
        for cell in row:
            if isinstance(cell, openpyxl.cell.cell.MergedCell):
                continue
            assert cell.font.name == "BIZ UDPゴシック", cell.coordinate
            assert cell.alignment.wrap_text, cell.coordinate
            assert cell.border.left.style == "thin" and cell.border.bottom.style == "thin", cell.coordinate
    assert sheet["A1"].font.name == "BIZ UDPゴシック"


def data_rows(sheet, plan_len: int) -> tuple[int, range]:
    head = find_header_row(sheet, "実施内容")
    return head, range(head + 1, head + 1 + plan_len)


def page_starts(sheet) -> list[int]:
    """The first row of every printed page after the first (1-based)."""
    return sorted(brk.id + 1 for brk in sheet.row_breaks.brk)


def test_section_cells_are_merged_per_section_and_split_only_at_page_breaks(book, sample):
    plan = read_csv(sample / "plan.csv")
    sheet = book["別紙1"]
    head, rows = data_rows(sheet, len(plan))
    starts = set(page_starts(sheet))
    assert starts and starts <= set(rows)  # 124 rows do not fit one page
    merged = {r.min_row: r.max_row for r in sheet.merged_cells.ranges if r.min_col == 1 and r.min_row > head}
    # Walk the rows: every section cell covers rows of one section only, starts at the section's
    # first row or at the top of a page, and carries the section's label.
    row = rows.start
    cells = []
    while row < rows.stop:
        last = merged.get(row, row)
        cells.append((row, last))
        row = last + 1
    assert row == rows.stop
    for top, bottom in cells:
        labels = {section_label(plan[r - rows.start]) for r in range(top, bottom + 1)}
        assert labels == {cell_text(sheet, top, 1)}, (top, bottom)
        assert not any(r in starts for r in range(top + 1, bottom + 1)), "a section cell runs over a page"
        opens_section = top == rows.start or plan[top - rows.start - 1]["section_code"] != plan[top - rows.start][
            "section_code"]
        assert opens_section or top in starts, f"section cell at row {top} neither opens a section nor a page"
    sections = Counter(r["section_code"] for r in plan)
    assert len(sections) == 37
    # Sections are cut only when they must be: the ones printed in parts are exactly those
    # that cross a page break, and each part repeats the label (checked above).
    parts = Counter(plan[top - rows.start]["section_code"] for top, _ in cells)
    for code, n in parts.items():
        if n > 1:
            first = next(i for i, r in enumerate(plan) if r["section_code"] == code) + rows.start
            assert any(first < s < first + sections[code] for s in starts), code


def printable(sheet, page_mm=A4_MM) -> tuple[float, float]:
    """Width and height of the printed area in points, from the sheet's own page setup."""
    m = sheet.page_margins
    width = page_mm[0] / 25.4 * 72 - 72 * (m.left + m.right)
    height = page_mm[1] / 25.4 * 72 - 72 * (m.top + m.bottom)
    return width, height


def test_every_page_holds_its_rows_at_the_fit_to_width_scale(book, sample):
    """No page is taller than A4 at the scale Excel fits the columns with, so no row is pushed
    onto an unplanned page (which would cut a section cell where we did not)."""
    plan = read_csv(sample / "plan.csv")
    sheet = book["別紙1"]
    head, rows = data_rows(sheet, len(plan))
    # Excel: a column of width w characters is int(w*7 + 0.5) pixels, of 3/4 pt (Calibri 11).
    widths = [column_width(sheet, c) for c in range(1, 9)]
    content = sum(int(w * 7 + 0.5) * 0.75 for w in widths)
    page_w, page_h = printable(sheet)
    scale = min(1.0, page_w / content)
    titles = sum(sheet.row_dimensions[r].height for r in range(1, head + 1))
    bounds = [rows.start] + page_starts(sheet) + [rows.stop]
    assert len(bounds) - 1 >= 8  # about 10 pages of rows on A4 (the published report has 15)
    for top, stop in itertools.pairwise(bounds):
        body = sum(sheet.row_dimensions[r].height for r in range(top, stop))
        assert (titles + body) * scale <= page_h, f"page starting at row {top} is too tall"


def test_rows_are_tall_enough_for_their_wrapped_text(book, demo):
    """LibreOffice does not grow rows to fit wrapped text: every row and section cell gets the
    height its longest cell needs (estimated by xlsx.measure)."""
    sheet = book["別紙1"]
    head, rows = data_rows(sheet, len(demo.workspace.plan))
    widths = {c.column: column_width(sheet, c.column) - 0.71 for c in sheet[head][:8]}
    merged = {r.min_row: r.max_row for r in sheet.merged_cells.ranges if r.min_col == 1 and r.min_row > head}
    for r in rows:
        texts = [(cell_text(sheet, r, c), w) for c, w in widths.items() if c != 1]
        assert sheet.row_dimensions[r].height >= row_height(texts), r
        if r in merged or not isinstance(sheet.cell(r, 1), openpyxl.cell.cell.MergedCell):
            bottom = merged.get(r, r)
            height = sum(sheet.row_dimensions[x].height for x in range(r, bottom + 1))
            assert height >= row_height([(cell_text(sheet, r, 1), widths[1])]), r
    assert sheet.row_dimensions[1].height >= 14  # the 14 pt title is not clipped


def test_paginate_keeps_sections_whole_and_cuts_only_what_cannot_fit():
    # Pages of 100 points: sections of 60, 60 (starts page 2 whole), 150 (taller than a page:
    # starts page 3, cut where it ends) and one row shorter than its label.
    layout = paginate([([30, 30], 10), ([30, 30], 10), ([50, 50, 50], 10), ([10], 30)], room=100)
    assert layout.breaks == [2, 4, 6]
    assert layout.blocks == [(0, 1), (2, 3), (4, 5), (6, 6), (7, 7)]
    assert layout.heights == [30, 30, 30, 30, 50, 50, 50, 30]  # the short row grew for its label
    # A long section starts on a page that still has a quarter left, and is cut where it ends.
    layout = paginate([([30, 30], 10), ([30, 30, 30, 30], 10)], room=100)
    assert layout.breaks == [3]
    assert layout.blocks == [(0, 1), (2, 2), (3, 5)]


# --- 集計 ----------------------------------------------------------------------------------


def expected_counts(sample, key) -> dict[str, Counter]:
    """Counts by group from the sample's plan and answers, 再掲 rows left out."""
    answers = {r["item_id"]: r["status"] for r in read_csv(sample / "answers_r3.csv")}
    out: dict[str, Counter] = {}
    for row in read_csv(sample / "plan.csv"):
        counts = out.setdefault(key(row), Counter())
        if row["reprint_of"]:
            continue
        counts[answers.get(row["item_id"]) or "記入なし"] += 1
    return out


def table_after(sheet, heading: str) -> list[list]:
    """The rows of the table under a heading in column A, header first, up to the blank row."""
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    start = next(i for i, r in enumerate(rows) if r[0] == heading) + 1
    while rows[start][0] is None:
        start += 1
    end = next((i for i in range(start, len(rows)) if rows[i][0] is None), len(rows))
    return rows[start:end]


def test_count_table_as_in_section_3_of_the_report(book):
    sheet = book["集計"]
    table = table_after(sheet, "各取組の進捗状況（令和3年度）")
    assert [r[:2] for r in table[:6]] == [
        ["進捗状況の区分", "取組の数"],
        ["◎（スケジュールどおり取り組んだ）", 97],
        ["○（スケジュールどおりでなく、変更して取り組んだ）", 4],
        ["△（着手したものの十分に進行しているとはいえない）", 1],
        ["×（未着手）", 1],
        ["合計", 103],
    ]


def check_count_table(rows: list[list], expected: dict[str, Counter], label: str) -> None:
    header, body, total = rows[0], rows[1:-1], rows[-1]
    assert header[:7] == [label, *MARKS, "合計", "記入なし"]
    assert [r[0] for r in body] == list(expected)
    for r in body:
        counts = expected[r[0]]
        assert r[1:7] == [counts[m] for m in MARKS] + [sum(counts[m] for m in MARKS), counts["記入なし"]], r[0]
    assert total[:7] == ["合計"] + [sum(r[c] for r in body) for c in range(1, 7)]
    assert all(isinstance(v, int) for r in body + [total] for v in r[1:7])  # numbers, not formulas


def test_counts_by_goal_and_by_section_match_the_sample(book, sample):
    sheet = book["集計"]
    titles = {r["goal"]: r["goal_title"] for r in read_csv(sample / "kpis.csv")}
    goals = expected_counts(sample, lambda r: f"目標{r['section_code'].split('-')[0]}")
    goals = {f"{g} {titles[g]}": c for g, c in goals.items()}
    check_count_table(table_after(sheet, "目標別の進捗状況"), goals, "目標")
    sections = expected_counts(sample, section_label)
    assert len(sections) == 37
    check_count_table(table_after(sheet, "実施内容別の進捗状況"), sections, "実施内容")
    # The published totals: ◎ 97, ○ 4, △ 1, × 1, with 7 rows left without a mark.
    assert table_after(sheet, "目標別の進捗状況")[-1][1:7] == [97, 4, 1, 1, 103, 7]


def test_a_native_chart_of_each_count_table(book, demo):
    sheet = book["集計"]
    charts = sheet._charts
    assert len(charts) == 2
    with zipfile.ZipFile(demo.workspace.report_path()) as z:
        names = z.namelist()
        assert {"xl/charts/chart1.xml", "xl/charts/chart2.xml"} <= set(names)
        workbook_xml = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        # 集計's worksheet part, and its relationship to a drawing that holds the charts.
        rid = re.search(r'<sheet name="集計" sheetId="\d+" r:id="(rId\d+)"', workbook_xml).group(1)
        part = re.search(rf'Id="{rid}"[^>]*Target="([^"]+)"|Target="([^"]+)"[^>]*Id="{rid}"', rels)
        target = (part.group(1) or part.group(2)).split("/")[-1]
        sheet_rels = z.read(f"xl/worksheets/_rels/{target}.rels").decode()
        assert "relationships/drawing" in sheet_rels
        drawing = re.search(r'Target="\.\./drawings/(drawing\d+\.xml)"', sheet_rels).group(1)
        drawing_rels = z.read(f"xl/drawings/_rels/{drawing}.rels").decode()
        assert drawing_rels.count("relationships/chart") == 2
        goal_chart = z.read("xl/charts/chart1.xml").decode()
    # Stacked bars, one series per mark, reading the 目標 table's cells, with the values cached
    # for readers that do not recalculate.
    assert '<c:grouping val="stacked"/>' in goal_chart
    assert goal_chart.count("<c:ser>") == 4
    assert re.findall(r"<c:v>(\d+)</c:v>", goal_chart.split("<c:val>")[1].split("</c:val>")[0]) == ["51", "46"]
    table = table_after(sheet, "目標別の進捗状況")
    assert [r[1] for r in table[1:-1]] == [51, 46]


def test_kpi_tables_of_section_4_with_the_footnote(book, sample):
    sheet = book["集計"]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    kpis = read_csv(sample / "kpis.csv")
    for goal in dict.fromkeys(k["goal"] for k in kpis):
        mine = [k for k in kpis if k["goal"] == goal]
        after = next(i for i, r in enumerate(rows) if r[0] == "成果指標の推移")
        start = next(i for i, r in enumerate(rows) if i > after and r[0] == f"{goal} {mine[0]['goal_title']}")
        kinds, years = rows[start + 1], rows[start + 2]
        assert kinds[:2] == ["指標項目", "実績"] and "目標" in kinds
        columns = {}
        kind = None
        for c in range(1, len(years)):
            kind = kinds[c] or kind  # 実績 and 目標 are merged over their years
            if years[c]:
                columns[(kind, years[c])] = c
        for k in mine:
            year = f"令和{k['year'][1:]}年度"
            row = next(r for r in rows[start + 3:] if r[0] == k["name"])
            assert row[columns[(k["kind"], year)]] == k["value"], (k["name"], year, k["kind"])
        for note in {k["note"] for k in mine if k["note"]}:
            assert [note] == [r[0] for r in rows[start:] if r[0] == note][:1]
    assert any(r[0] and str(r[0]).startswith("※fm (ファイルメーター)") for r in rows)


def test_no_cell_of_the_report_is_a_formula(book):
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate}"


# --- 確認事項, 提出状況 -----------------------------------------------------------------------


def test_review_sheets_filter_freeze_and_colour_by_severity(tiny_ws):
    ws = tiny_ws
    dist = distribute(ws)
    fill_workbook(dist.files["戸籍住民課"], ws.inbox / "戸籍.xlsx", {"T1": {"results_to_date": "予約を開始した。"}}, ws.template)
    (ws.inbox / "壊れた.xlsx").write_text("Excel ではありません", encoding="utf-8")
    result = consolidate(ws)
    severities = {f.severity.key for f in result.findings}
    assert {"error", "warning", "info"} <= severities  # file.not_xlsx, status.missing, group
    book = openpyxl.load_workbook(ws.report_path())
    findings = book["確認事項"]
    n = len(result.findings)
    assert findings.auto_filter.ref == f"A1:H{n + 1}"
    assert findings.freeze_panes == "A2"
    assert findings.print_title_rows == "$1:$1"
    fills = {}
    for r in range(2, n + 2):
        fills.setdefault(findings.cell(r, 1).value, set()).add(findings.cell(r, 1).fill.fgColor.rgb)
    assert set(fills) == {"エラー", "警告", "情報"}
    assert all(len(colours) == 1 for colours in fills.values())
    assert len({next(iter(c)) for c in fills.values()}) == 3  # one colour per severity
    assert "FFC7CE" in next(iter(fills["エラー"]))
    status = book["提出状況"]
    assert status.auto_filter.ref.startswith("A1:I")  # every column, 回答待ちの共同行 included
    assert status.freeze_panes == "B2"
    rows = {status.cell(r, 1).value: r for r in range(2, status.max_row + 1)}
    assert status.cell(rows["戸籍住民課"], 2).value == "提出済"
    assert status.cell(rows["職員課"], 2).value == "未提出"
    assert status.cell(rows["職員課"], 2).fill.fgColor.rgb.endswith("FFEB9C")  # missing stands out
    assert status.cell(rows["戸籍住民課"], 2).fill.fgColor.rgb in (None, "00000000")


def test_a_count_table_too_long_for_a_chart_has_the_same_cells_and_a_note(demo, tmp_path, monkeypatch):
    """Past CHART_MAX_CATEGORIES groups a table gets a note instead of a chart: the same cells."""
    import shutil

    from nakano_xl.report import summary
    from nakano_xl.workspace import open_workspace

    shutil.copytree(demo.workspace.root, tmp_path / "ws")
    ws = open_workspace(tmp_path / "ws")
    monkeypatch.setattr(summary, "CHART_MAX_CATEGORIES", 1)
    consolidate(ws, workers=1)
    long = openpyxl.load_workbook(ws.report_path())["集計"]
    normal = openpyxl.load_workbook(demo.workspace.report_path())["集計"]
    assert long._charts == [] and len(normal._charts) == 2
    for heading in ("目標別の進捗状況", "実施内容別の進捗状況"):
        assert table_after(long, heading) == table_after(normal, heading)
    notes = [r[0].value for r in long.iter_rows() if r[0].value and "グラフ" in str(r[0].value)]
    assert len(notes) == 2, notes
    # The first table sits in the same rows of both: its rows are as tall in both.
    first = next(r for r in range(1, 99) if long.cell(r, 1).value == "目標別の進捗状況")
    rows = range(first, first + len(table_after(long, "目標別の進捗状況")) + 1)
    assert [long.row_dimensions[r].height for r in rows] == [normal.row_dimensions[r].height for r in rows]
