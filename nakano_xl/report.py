"""report: the consolidated workbook — 別紙1, 集計, 確認事項, 提出状況.

Reads the workspace (plan, template, KPIs) and the merged answers; writes one .xlsx as bytes
(`write_report`), which `consolidate` saves atomically.

別紙1 is laid out like the published one: title, legend and header repeated on every printed
page, A4 landscape fitted to the page width, and the section cell merged over its rows. The
page breaks are ours (`paginate`): a section starts on a new page rather than being cut, and a
section longer than a page is split at the break with its label repeated on the next page, as
the FY R3 report prints 2-3-①. Every answer is written as a string (no formula, URL or number
conversion), so ``=HYPERLINK(…)`` typed by a department stays text. Totals are computed here,
never left to formulas whose cached value a reader might not see.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import xlsxwriter.workbook
import xlsxwriter.worksheet

from .compare import compare_years, write_comparison
from .findings import Finding, Severity
from .intake import DepartmentStatus
from .intake.identify import format_saved_at
from .model import NO_ANSWER, Answer, Item, Kpi, Plan, Status
from .reprint import root_of
from .template import Template
from .workspace import Workspace
from .xlsx.bulk import BulkWorksheet
from .xlsx.measure import height_of, max_lines
from .xlsx.writer import finish, new_workbook

# From this many plan rows on, xlsxwriter writes each part of the report to a temporary file
# before zipping it, instead of holding all parts in memory together: at 400,000 rows that is
# 0.7 GB less at the peak, for a few percent more time (issue 9). Below, in memory is faster.
PARTS_ON_DISK_ROWS = 50_000

# 別紙1: title on row 1, legend heading on row 2, one legend line per mark, then the header.
LEGEND_FIRST_ROW = 3
FONT_SIZE = 10
HEADING_FONT_SIZE = 11
TITLE_FONT_SIZE = 14

# The printed page, in points. Margins in inches, as Excel's page setup takes them.
A4_LANDSCAPE = (841.89, 595.28)
MARGINS = {"left": 0.4, "right": 0.4, "top": 0.5, "bottom": 0.6}
# Plan pages a little short of full: Excel rounds its fit-to-width scale to a whole percent
# and row heights to its own units.
PAGE_FILL = 0.97


@dataclass(frozen=True, slots=True)
class ColumnMetrics:
    """How a spreadsheet program sizes a column of width ``w`` (in characters, as given to
    xlsxwriter): ``per_char * w + extra`` pixels (of 1/96 inch).

    Excel takes the digit width of the workbook's default font, Calibri 11 in an xlsxwriter
    workbook: 7 pixels, plus 5 of padding. LibreOffice does the same with the font it has for
    Calibri; without Calibri or Carlito that is a wider one (DejaVu Sans: 9.3 pixels), so its
    columns come out a third wider, the fit-to-width scale a quarter smaller, and the text
    prints at 5.5 points. The workbook is laid out for Excel; the PDF export measures the
    LibreOffice that prints it (`nakano_xl.export.measure_columns`) and gives its copy the
    widths that draw every column exactly as wide as Excel does, so it prints like Excel.
    """

    per_char: float = 7.0
    extra: float = 5.0

    def pixels(self, width: float) -> float:
        return int(width * self.per_char + 0.5) + self.extra

    def width_like_excel(self, width: float) -> float:
        """The width to store for this program to draw a column as wide as Excel draws ``width``."""
        if self == EXCEL:
            return width
        return round((EXCEL.pixels(width) - self.extra) / self.per_char, 2)


EXCEL = ColumnMetrics()


def page_room(widths: list[float], page: tuple[float, float] = A4_LANDSCAPE) -> float:
    """Sheet points of rows that fit on one page when the columns are fitted to its width."""
    printable_w = page[0] - 72 * (MARGINS["left"] + MARGINS["right"])
    printable_h = page[1] - 72 * (MARGINS["top"] + MARGINS["bottom"])
    scale = min(1.0, printable_w / sum(EXCEL.pixels(w) * 0.75 for w in widths))
    return printable_h / scale * PAGE_FILL


def fitted_height(cells: list[tuple[str, float]], font_size: float = FONT_SIZE) -> float:
    """The row height wrapped ``cells`` need (`xlsx.measure`), rounded up to whole pixels: a
    spreadsheet stores heights in pixels of 3/4 point and would round a fraction down."""
    return _pixel_height(max_lines(cells), font_size)


@functools.lru_cache(maxsize=1024)
def _pixel_height(lines: int, font_size: float) -> float:
    return math.ceil(round(height_of(lines, font_size) / 0.75, 6)) * 0.75


@dataclass(frozen=True, slots=True)
class ProgressRow:
    """One row of 別紙1 as printed: every column's text, by column key."""

    item: Item
    cells: dict[str, str]  # section, content, status, reason, …, departments
    copied: bool  # the answers are the original's, copied into a 再掲 row


def header_row(ws: Workspace) -> int:
    """The 1-based row of 別紙1's column headers (after the title and the legend)."""
    return LEGEND_FIRST_ROW + len(ws.template.marks)


def write_report(ws: Workspace, answers: dict[str, Answer], counts: dict[Status, int],
                 findings: list[Finding], statuses: list[DepartmentStatus], *,
                 review: bool = True, metrics: ColumnMetrics = EXCEL, kpis: list[Kpi] | None = None,
                 workers: int | None = 1) -> bytes:
    """The consolidated workbook as bytes.

    ``review=False`` leaves out 確認事項 and 提出状況: what is published (the PDF export)
    holds 別紙1 and 集計 only. ``metrics``: the program that will print it (`ColumnMetrics`).
    ``kpis``: the KPI table with the actuals the departments reported (default: the table as is).
    ``workers``: processes that serialise and deflate 別紙1's rows (`BulkWorksheet.add_rows`;
    None: one per CPU for a long plan); the bytes are the same whatever the number.
    """
    tmpl = ws.template
    workbook, buffer = new_workbook(ws.settings.created, title=ws.settings.title,
                                    in_memory=len(ws.plan) < PARTS_ON_DISK_ROWS)
    styles = Styles(workbook, tmpl.report["font"])
    write_progress_list(ws, workbook, styles, progress_rows(ws, answers), metrics, workers=workers)
    write_summary(ws, workbook, styles, answers, counts, metrics, ws.kpis if kpis is None else kpis)
    comparison = compare_years(ws, answers)
    if review and comparison is not None:  # for the coordinator: not part of what is published
        write_comparison(ws, workbook.add_worksheet(tmpl.comparison["sheet"]), styles, comparison)
    if review:
        write_findings(ws, workbook, styles, findings)
        write_submission_status(ws, workbook, styles, statuses)
    return finish(workbook, buffer)


class Styles:
    """The formats of the report, made once per workbook."""

    def __init__(self, workbook: xlsxwriter.workbook.Workbook, font: str) -> None:
        base = {"font_name": font, "font_size": FONT_SIZE}
        cell = {**base, "border": 1, "text_wrap": True, "valign": "top"}
        add = workbook.add_format
        self.title = add({**base, "bold": True, "font_size": TITLE_FONT_SIZE})
        self.heading = add({**base, "bold": True, "font_size": HEADING_FONT_SIZE})
        self.plain = add(base)
        self.header = add({**base, "bold": True, "border": 1, "text_wrap": True, "align": "center",
                           "valign": "vcenter", "bg_color": "#D9D9D9"})
        self.cell = add(cell)
        self.center = add({**cell, "align": "center"})
        self.middle = add({**cell, "valign": "vcenter"})
        self.value = add({**cell, "align": "center", "valign": "vcenter"})
        self.mark = add({**cell, "align": "center", "font_size": 12})
        self.number = add({**base, "border": 1, "num_format": "0", "valign": "top"})
        self.total_label = add({**cell, "bold": True, "bg_color": "#F2F2F2"})
        self.total = add({**base, "border": 1, "num_format": "0", "bold": True, "bg_color": "#F2F2F2"})
        self.copied = add({**cell, "font_color": "#595959", "italic": True})
        self.severity = {
            Severity.ERROR: add({**cell, "bold": True, "bg_color": "#FFC7CE", "font_color": "#9C0006"}),
            Severity.WARNING: add({**cell, "bg_color": "#FFEB9C", "font_color": "#9C5700"}),
            Severity.INFO: add({**cell, "bg_color": "#DDEBF7", "font_color": "#1F4E78"}),
        }
        self.flag = {  # a count that needs the coordinator's attention
            Severity.ERROR: add({**base, "border": 1, "num_format": "0", "valign": "top", "bold": True,
                                 "bg_color": "#FFC7CE", "font_color": "#9C0006"}),
            Severity.WARNING: add({**base, "border": 1, "num_format": "0", "valign": "top",
                                   "bg_color": "#FFEB9C", "font_color": "#9C5700"}),
        }


def _page_setup(sheet: xlsxwriter.worksheet.Worksheet, footer: str, repeat_to: int | None, *,
                landscape: bool = True) -> None:
    if landscape:
        sheet.set_landscape()
    else:
        sheet.set_portrait()
    sheet.set_paper(9)  # A4
    # One page wide, as many pages tall as needed. With "tall" left automatic (0) the manual
    # row breaks still apply: Excel and LibreOffice ignore them only when the height is fixed.
    sheet.fit_to_pages(1, 0)
    sheet.set_margins(**MARGINS)
    sheet.set_footer(f"&C{footer}")
    if repeat_to is not None:
        sheet.repeat_rows(0, repeat_to)


# --- 別紙1 -------------------------------------------------------------------------------


def display_answer(ws: Workspace, item: Item, answers: dict[str, Answer]) -> tuple[dict[str, str], bool]:
    """The five answer cells shown for an item, and whether they are copied from the original.

    A 再掲 row is never answered itself: blank as published, or with the workspace rule
    ``reprint_display = "copy"`` its original's answers, marked as copied.
    """
    if not item.is_reprint:
        return answers.get(item.item_id, NO_ANSWER).cells(), False
    if ws.settings.rules.reprint_display != "copy":
        return NO_ANSWER.cells(), False
    root = root_of(ws.plan, item)
    if root is None:  # a broken link (reported by reprint.link_reprints): nothing to copy
        return NO_ANSWER.cells(), False
    cells = answers.get(root, NO_ANSWER).cells()
    if any(cells.values()):
        note = ws.template.report["reprint_copy_note"].format(code=ws.plan[root].section_code)
        cells["results_to_date"] = (cells["results_to_date"] + "\n" + note).strip()
    return cells, True


def progress_rows(ws: Workspace, answers: dict[str, Answer]) -> list[ProgressRow]:
    """Every row of 別紙1 in plan order, as printed (the export writes the same rows)."""
    rows = []
    for item in ws.plan:
        cells, copied = display_answer(ws, item, answers)
        rows.append(ProgressRow(item, {"section": item.section_label, "content": item.content,
                                       "departments": item.departments, **cells}, copied))
    return rows


@dataclass(frozen=True, slots=True)
class Layout:
    """Where 別紙1's data rows go on the printed pages.

    Indexes count data rows from 0. ``blocks`` are the section cells: one per section, or one
    per page a section spans, each merged over its rows when it has more than one.
    """

    heights: list[float]  # points per data row
    breaks: list[int]  # rows that start a new page
    blocks: list[tuple[int, int]]  # (first, last) rows of each section cell


def paginate(sections: list[tuple[list[float], float]], room: float) -> Layout:
    """Place sections on pages of ``room`` points: (row heights, label height) per section.

    A section that does not fit in what is left of a page starts on the next one. A section
    taller than a page starts on the current page when a quarter of it is left, and is cut
    where the page ends; each part gets its own section cell. A section cell shorter than its
    label grows its last row, so the label is never cut off.
    """
    heights: list[float] = []
    breaks: list[int] = []
    blocks: list[tuple[int, int]] = []
    used = 0.0
    for rows, label in sections:
        start = len(heights)
        total = max(sum(rows), label)
        left = room - used
        if used > 0 and total > left and (total <= room or left < max(room / 4, label, rows[0])):
            breaks.append(start)
            used = 0.0
        first, block = start, 0.0
        for n, h in enumerate(rows):
            index = start + n
            if index > first and used + h > room:  # the page is full: close this part here
                grow = max(0.0, label - block)
                heights[-1] += grow
                blocks.append((first, index - 1))
                breaks.append(index)
                used, first, block = 0.0, index, 0.0
            heights.append(h)
            used += h
            block += h
        grow = max(0.0, label - block)
        heights[-1] += grow
        used += grow
        blocks.append((first, start + len(rows) - 1))
    return Layout(heights, breaks, blocks)


def write_progress_list(ws: Workspace, workbook: xlsxwriter.workbook.Workbook, st: Styles,
                        rows: list[ProgressRow], metrics: ColumnMetrics = EXCEL, *,
                        workers: int | None = 1) -> Layout:
    tmpl = ws.template
    sheet = workbook.add_worksheet(tmpl.report["sheet"], worksheet_class=BulkWorksheet)
    widths = {c.key: c.width for c in tmpl.columns}
    keys = [c.key for c in tmpl.columns]
    # The title and legend overflow into the empty cells beside them, as printed; their rows
    # get explicit heights because LibreOffice does not grow a row for a larger font.
    sheet.write_string(0, 0, ws.settings.title, st.title)
    title_rows = [fitted_height([], TITLE_FONT_SIZE)]
    sheet.write_string(1, 0, tmpl.report["legend_heading"], st.plain)
    title_rows.append(fitted_height([]))
    for n, line in enumerate(tmpl.legend_lines()):
        sheet.write_string(LEGEND_FIRST_ROW - 1 + n, 0, line, st.plain)
        title_rows.append(fitted_height([]))
    head = header_row(ws) - 1  # 0-based
    headers = tmpl.headers(ws.year)
    for c, (text, column) in enumerate(zip(headers, tmpl.columns)):
        sheet.write_string(head, c, text, st.header)
        sheet.set_column(c, c, metrics.width_like_excel(column.width))
    title_rows.append(fitted_height([(h, c.width) for h, c in zip(headers, tmpl.columns)]))
    for r, height in enumerate(title_rows):
        sheet.set_row(r, height)
    id_col = len(keys)
    sheet.write_string(head, id_col, tmpl.report["item_id_header"], st.header)
    sheet.set_column(id_col, id_col, 8, None, {"hidden": True})

    sections: list[list[ProgressRow]] = []
    for row in rows:
        if sections and sections[-1][0].item.section_code == row.item.section_code:
            sections[-1].append(row)
        else:
            sections.append([row])
    row_cols = [(k, widths[k]) for k in keys if k != "section"]
    measured = [([fitted_height([(r.cells[k], w) for k, w in row_cols]) for r in section],
                 fitted_height([(section[0].cells["section"], widths["section"])]))  # once per section
                for section in sections]
    layout = paginate(measured, page_room(list(widths.values())) - sum(title_rows))

    first = head + 1
    section_col = keys.index("section")
    block_of = {top: bottom for top, bottom in layout.blocks}
    cell, mark, copied = sheet.style(st.cell), sheet.style(st.mark), sheet.style(st.copied)
    # Each row's cells in column order: (column, key, style as answered, style when copied).
    # The key None is the section cell, "" the hidden item id.
    columns = sorted([(c, None if key == "section" else key, mark if key == "status" else cell,
                       mark if key == "status" else copied if key in ANSWER_KEYS else cell)
                      for c, key in enumerate(keys)] + [(id_col, "", cell, cell)])

    def data_rows(start: int, stop: int) -> Iterator[tuple[float, list[tuple[int, str, int]]]]:
        for n in range(start, stop):
            row = rows[n]
            texts, faint, top = row.cells, row.copied, n in block_of
            yield layout.heights[n], [
                (c, (texts["section"] if top else "") if key is None else texts[key] if key else row.item.item_id,
                 style_copied if faint else style)
                for c, key, style, style_copied in columns]

    for row in rows:
        for text in row.cells.values():
            if "_x" in text:
                sheet.share(text)
    if rows:
        sheet.add_rows(first, first + len(rows) - 1, id_col, data_rows, workers=workers)
    for top, bottom in layout.blocks:
        if bottom > top:
            sheet.merge_cells(first + top, section_col, first + bottom, section_col)
    sheet.set_h_pagebreaks([first + b for b in layout.breaks])
    sheet.freeze_panes(head + 1, 0)
    _page_setup(sheet, tmpl.report["footer"], head)
    sheet.print_area(0, 0, head + len(rows), len(keys) - 1)
    sheet.activate()
    return layout


ANSWER_KEYS = frozenset(NO_ANSWER.cells())


# --- 集計 --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CountRow:
    label: str
    counts: dict[Status, int]  # answered items by mark; 再掲 rows never count
    blank: int  # answered items without a mark

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def count_by(plan: Plan, answers: dict[str, Answer], *keys: Callable[[Item], str]) -> list[dict[str, CountRow]]:
    """Status counts of the answered items grouped by each of ``keys``, groups in plan order:
    one table per key, from one pass over the plan (400,000 items at nation scale)."""
    marks = list(Status)
    slot_of = {status: n for n, status in enumerate(marks)}
    blank = len(marks)
    # Per group one list: a count per mark, then the blanks. Indexed, not keyed by Status: an
    # enum member hashes in Python, and this is millions of counts at nation scale.
    tables: list[dict[str, list[int]]] = [{} for _ in keys]
    for item in plan:
        slot: int | None = None  # a 再掲 row is listed in its group, counted where it comes from
        if not item.is_reprint:
            answer = answers.get(item.item_id)
            status = answer.status if answer is not None else None
            slot = blank if status is None else slot_of[status]
        for key, groups in zip(keys, tables):
            group = key(item)
            found = groups.get(group)
            if found is None:  # (not setdefault: its default would be built for every item)
                found = groups[group] = [0] * (blank + 1)
            if slot is not None:
                found[slot] += 1
    return [{k: CountRow(k, dict(zip(marks, counts)), counts[blank]) for k, counts in groups.items()}
            for groups in tables]


def goal_titles(ws: Workspace) -> dict[str, str]:
    """目標 label → its title, from the KPI table (the only place the plan names its goals)."""
    titles: dict[str, str] = {}
    for kpi in ws.kpis:
        if kpi.goal_title:
            titles.setdefault(kpi.goal, kpi.goal_title)
    return titles


def write_summary(ws: Workspace, workbook: xlsxwriter.workbook.Workbook, st: Styles,
                  answers: dict[str, Answer], counts: dict[Status, int], metrics: ColumnMetrics = EXCEL,
                  kpis: list[Kpi] | None = None) -> None:
    """集計: the count table of the report's section 3, by 目標 and by 実施内容 with charts,
    and the KPI tables of section 4."""
    tmpl = ws.template
    summary = tmpl.summary
    name = summary["sheet"]
    sheet = workbook.add_worksheet(name, worksheet_class=BulkWorksheet)
    label_width, number_width = 56, 11
    sheet.set_column(0, 0, metrics.width_like_excel(label_width))
    sheet.set_column(1, 8, metrics.width_like_excel(number_width))
    sheet.write_string(0, 0, f"{summary['count_title']}（{ws.year.label}）", st.title)
    sheet.set_row(0, fitted_height([], TITLE_FONT_SIZE))
    sheet.write_string(2, 0, summary["count_headers"][0], st.header)
    sheet.write_string(2, 1, summary["count_headers"][1], st.header)
    row = 3
    for mark in tmpl.marks:
        sheet.write_string(row, 0, summary["count_line"].format(mark=mark.status.mark, label=mark.label), st.cell)
        sheet.write_number(row, 1, counts[mark.status], st.number)
        row += 1
    sheet.write_string(row, 0, summary["count_total"], st.total_label)
    sheet.write_number(row, 1, sum(counts.values()), st.total)
    row += 1
    blank = summary["blank_header"]
    sheet.write_string(row, 0, summary["count_note"].format(blank=blank), st.plain)
    row += 2

    goal_label = summary["goal_label"]
    titles = goal_titles(ws)

    goals: dict[str, str] = {}  # section code → its 目標's label: asked for every item

    def goal_of(item: Item) -> str:
        found = goals.get(item.section_code)
        if found is None:
            label = goal_label.format(goal=item.goal)
            found = goals[item.section_code] = f"{label} {titles[label]}" if label in titles else label
        return found

    by_goal, by_section = (list(table.values()) for table in
                           count_by(ws.plan, answers, goal_of, lambda item: item.section_label))
    widths = [label_width] + [number_width] * (len(Status) + 2)
    breaks = []
    row, goal_table = write_count_table(sheet, st, tmpl, summary["goal_count_title"], summary["goal_header"],
                                        by_goal, row, widths)
    row = insert_count_chart(workbook, sheet, tmpl, summary["goal_chart_title"], name, goal_table, row,
                             height=140 + 50 * len(by_goal), note_style=st.plain)
    breaks.append(row)
    row, section_table = write_count_table(sheet, st, tmpl, summary["section_count_title"],
                                           summary["section_header"], by_section, row, widths)
    breaks.append(row)
    row = insert_count_chart(workbook, sheet, tmpl, summary["section_chart_title"], name, section_table, row,
                             height=120 + 24 * len(by_section), note_style=st.plain)
    kpis = ws.kpis if kpis is None else kpis
    if kpis:
        breaks.append(row)
        sheet.write_string(row, 0, summary["kpi_title"], st.title)
        sheet.set_row(row, fitted_height([], TITLE_FONT_SIZE))
        row += 2
        row = write_kpi_tables(sheet, st, kpis, row, summary["kpi_headers"], label_width)
    # Each table and chart starts a page: a chart cannot be split, and a table read across a
    # page break loses its header.
    sheet.set_h_pagebreaks(breaks)
    _page_setup(sheet, tmpl.report["footer"], None, landscape=False)


# Bars of one chart at most; more make a chart taller than any page (see insert_count_chart).
CHART_MAX_CATEGORIES = 100


@dataclass(frozen=True, slots=True)
class TableRef:
    header: int  # 0-based row of the header
    first: int  # first data row
    last: int  # last data row (the total row follows)


def write_count_table(sheet: BulkWorksheet, st: Styles, tmpl: Template, title: str, label_header: str,
                      rows: list[CountRow], row: int, widths: Sequence[float]) -> tuple[int, TableRef]:
    """A heading, then ``label | ◎ | ○ | △ | × | 合計 | 記入なし`` per group and a total row."""
    summary = tmpl.summary
    sheet.write_string(row, 0, title, st.heading)
    sheet.set_row(row, fitted_height([], HEADING_FONT_SIZE))
    row += 1
    header = row
    marks = [m.status for m in tmpl.marks]
    headers = [label_header] + [s.mark for s in marks] + [summary["count_total"], summary["blank_header"]]
    for c, text in enumerate(headers):
        sheet.write_string(row, c, text, st.header)
    row += 1
    first = row
    cell, number = sheet.style(st.cell), sheet.style(st.number)

    def group_rows(start: int, stop: int) -> Iterator[tuple[float, list[tuple[int, str | float, int]]]]:
        for group in rows[start:stop]:
            values = [group.counts[s] for s in marks] + [group.total, group.blank]
            yield (fitted_height([(group.label, widths[0])]),
                   [(0, group.label, cell)] + [(c, value, number) for c, value in enumerate(values, start=1)])

    if len(rows) > CHART_MAX_CATEGORIES:
        # No chart (see insert_count_chart), and possibly a group per 実施内容: 90,000 rows at
        # nation scale, written as `BulkWorksheet` rows. A chart needs its table written with
        # xlsxwriter, which caches the cells' values in it.
        sheet.add_rows(first, first + len(rows) - 1, len(headers) - 1, group_rows)
        row = first + len(rows)
    else:
        for height, cells in group_rows(0, len(rows)):
            for c, value, _ in cells:
                if isinstance(value, str):
                    sheet.write_string(row, c, value, st.cell)
                else:
                    sheet.write_number(row, c, value, st.number)
            sheet.set_row(row, height)
            row += 1
    last = row - 1
    sheet.write_string(row, 0, summary["count_total"], st.total_label)
    totals = [sum(g.counts[s] for g in rows) for s in marks] + [sum(g.total for g in rows),
                                                                 sum(g.blank for g in rows)]
    for c, value in enumerate(totals, start=1):
        sheet.write_number(row, c, value, st.total)
    return row + 2, TableRef(header, first, last)


def insert_count_chart(workbook: xlsxwriter.workbook.Workbook, sheet: xlsxwriter.worksheet.Worksheet,
                       tmpl: Template, title: str, sheet_name: str, table: TableRef, row: int, *, height: int,
                       note_style: Any = None) -> int:
    """A stacked bar chart of a count table (one series per mark); returns the row after it.

    The chart reads the table's cells, and xlsxwriter stores their values in the chart as
    well, so a reader that does not recalculate still draws the right bars.

    A table of more than `CHART_MAX_CATEGORIES` groups gets a note instead: a bar per
    実施内容 of a prefecture-wide survey (5,000 of them) is a chart 120,000 pixels tall that
    nobody can read, and its XML (11 MB, the largest part of the workbook) took a sixth of
    the whole consolidation's time (issue 9).
    """
    summary = tmpl.summary
    groups = table.last - table.first + 1
    if groups > CHART_MAX_CATEGORIES:
        note = summary.get("chart_omitted", "")
        sheet.write_string(row, 0, note.format(count=groups, limit=CHART_MAX_CATEGORIES), note_style)
        return row + 2
    font = {"name": tmpl.report["font"], "size": 9}
    chart = workbook.add_chart({"type": "bar", "subtype": "stacked"})
    for n, (mark, color) in enumerate(zip(tmpl.marks, summary["chart_colors"])):
        col = 1 + n
        chart.add_series({
            "name": [sheet_name, table.header, col],
            "categories": [sheet_name, table.first, 0, table.last, 0],
            "values": [sheet_name, table.first, col, table.last, col],
            "fill": {"color": color},
            "border": {"none": True},
            "gap": 60,
        })
    chart.set_title({"name": title, "name_font": {**font, "size": 11, "bold": True}})
    # In a bar chart xlsxwriter's x axis is the horizontal value axis. Counts start at 0 (a
    # spreadsheet would otherwise start near the smallest bar) and are whole numbers.
    chart.set_x_axis({"name": summary["chart_axis_title"], "name_font": font, "num_font": font, "min": 0,
                      "num_format": "0", "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    # Categories top to bottom in table order (a bar chart draws its first category at the
    # bottom), with the value axis kept below the bars.
    chart.set_y_axis({"reverse": True, "crossing": "max", "num_font": font})
    chart.set_legend({"position": "bottom", "font": font})
    chart.set_size({"width": 720, "height": height})
    sheet.insert_chart(row, 0, chart, {"x_offset": 4, "y_offset": 4, "object_position": 1})
    return row + int(height / 20) + 3  # default rows are 15 pt = 20 px


def write_kpi_tables(sheet: xlsxwriter.worksheet.Worksheet, st: Styles, kpis: list[Kpi], row: int,
                     headers: list[str], label_width: float) -> int:
    """One table per goal: 指標項目 | 実績 by year | 目標 by year, and the ※ notes below."""
    goals: dict[str, list[Kpi]] = {}
    for kpi in kpis:
        goals.setdefault(kpi.goal, []).append(kpi)
    for goal, rows in goals.items():
        title = rows[0].goal_title
        sheet.write_string(row, 0, f"{goal} {title}".strip(), st.heading)
        sheet.set_row(row, fitted_height([], HEADING_FONT_SIZE))
        row += 1
        columns = sorted({(v.kind != "実績", v.year, v.kind) for k in rows for v in k.values})
        sheet.merge_range(row, 0, row + 1, 0, headers[0], st.header)
        col = 1
        for kind, label in (("実績", headers[1]), ("目標", headers[2])):
            span = [c for c in columns if c[2] == kind]
            if not span:
                continue
            if len(span) > 1:
                sheet.merge_range(row, col, row, col + len(span) - 1, label, st.header)
            else:
                sheet.write_string(row, col, label, st.header)
            for n, (_, year, _) in enumerate(span):
                sheet.write_string(row + 1, col + n, year.label, st.header)
            col += len(span)
        row += 2
        for kpi in rows:
            sheet.write_string(row, 0, kpi.name, st.middle)
            values = {(v.year, v.kind): v.value for v in kpi.values}
            for n, (_, year, kind) in enumerate(columns):
                sheet.write_string(row, 1 + n, values.get((year, kind), ""), st.value)
            sheet.set_row(row, fitted_height([(kpi.name, label_width)]))
            row += 1
        for note in dict.fromkeys(k.note for k in rows if k.note):
            sheet.write_string(row, 0, note, st.plain)
            row += 1
        row += 1
    return row


# --- 確認事項, 提出状況 ---------------------------------------------------------------------


def _fit_row(sheet: xlsxwriter.worksheet.Worksheet, row: int, values: list[str], widths: Sequence[float]) -> None:
    """Give a row of wrapped cells the height its longest text needs (LibreOffice does not)."""
    sheet.set_row(row, fitted_height(list(zip(values, widths))))


def write_findings(ws: Workspace, workbook: xlsxwriter.workbook.Workbook, st: Styles,
                   findings: list[Finding]) -> None:
    """確認事項: one finding per row, the severity cell coloured, filters on the header."""
    spec = ws.template.findings
    sheet = workbook.add_worksheet(spec["sheet"])
    widths = [8, 22, 18, 28, 10, 7, 8, 80]
    for c, (text, width) in enumerate(zip(spec["headers"], widths)):
        sheet.write_string(0, c, text, st.header)
        sheet.set_column(c, c, width)
    for r, f in enumerate(findings, start=1):
        values = [f.severity.label, f.code, f.department or "", f.file or "", f.sheet or "",
                  f.cell or "", f.item_id or "", f.message]
        for c, value in enumerate(values):
            sheet.write_string(r, c, value, st.severity[f.severity] if c == 0 else st.cell)
        _fit_row(sheet, r, values, widths)
    sheet.autofilter(0, 0, max(len(findings), 1), len(widths) - 1)
    sheet.freeze_panes(1, 0)
    _page_setup(sheet, ws.template.report["footer"], 0)


def write_submission_status(ws: Workspace, workbook: xlsxwriter.workbook.Workbook, st: Styles,
                            statuses: list[DepartmentStatus]) -> None:
    """提出状況: one department per row; missing files, errors and unmarked rows stand out."""
    spec = ws.template.submission_status
    sheet = workbook.add_worksheet(spec["sheet"])
    widths = [22, 8, 36, 18, 7, 7, 9, 12, 24]
    for c, (text, width) in enumerate(zip(spec["headers"], widths)):
        sheet.write_string(0, c, text, st.header)
        sheet.set_column(c, c, width)
    for r, s in enumerate(statuses, start=1):
        file = s.file or ""
        sheet.write_string(r, 0, s.department, st.cell)
        sheet.write_string(r, 1, spec["returned"] if s.returned else spec["missing"],
                           st.cell if s.returned else st.severity[Severity.WARNING])
        sheet.write_string(r, 2, file, st.cell)
        sheet.write_string(r, 3, format_saved_at(s.saved_at) if s.saved_at else "", st.cell)
        sheet.write_number(r, 4, s.errors, st.flag[Severity.ERROR] if s.errors else st.number)
        sheet.write_number(r, 5, s.warnings, st.flag[Severity.WARNING] if s.warnings else st.number)
        sheet.write_number(r, 6, s.items, st.number)
        if s.returned:
            sheet.write_number(r, 7, s.unanswered, st.flag[Severity.WARNING] if s.unanswered else st.number)
        else:
            sheet.write_string(r, 7, "—", st.center)
        waiting = "、".join(s.waiting)
        sheet.write_string(r, 8, waiting, st.severity[Severity.WARNING] if waiting else st.cell)
        _fit_row(sheet, r, [s.department, "", file, "", "", "", "", "", waiting], widths)
    sheet.autofilter(0, 0, max(len(statuses), 1), len(widths) - 1)
    sheet.freeze_panes(1, 1)
    _page_setup(sheet, ws.template.report["footer"], 0)
