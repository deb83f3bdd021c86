"""集計: the count table of the report's section 3, by 目標 and by 実施内容 with bar charts, and
the KPI tables of its section 4.

Each table and chart starts a printed page: a chart cannot be split, and a table read across
a page break loses its header. Counts are numbers written as such, never formulas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import xlsxwriter.workbook
import xlsxwriter.worksheet

from ..model import Answer, Kpi, Status
from ..template import Template
from ..workspace import Workspace
from .contents import CountRow, goal_and_section_counts
from .pages import EXCEL, ColumnMetrics, fitted_height, page_setup
from .styles import HEADING_FONT_SIZE, TITLE_FONT_SIZE, Styles

# Bars of one chart at most: a bar per 実施内容 of a prefecture-wide survey (thousands) is a
# chart taller than any page that nobody can read; such a table gets a note instead.
CHART_MAX_CATEGORIES = 100


def write_summary(ws: Workspace, workbook: xlsxwriter.workbook.Workbook, st: Styles,
                  answers: dict[str, Answer], counts: dict[Status, int], metrics: ColumnMetrics = EXCEL,
                  kpis: list[Kpi] | None = None) -> None:
    """Draw 集計 on a new sheet of ``workbook`` (``kpis``: default the workspace's table)."""
    tmpl = ws.template
    summary = tmpl.summary
    name = summary["sheet"]
    sheet = workbook.add_worksheet(name)
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

    by_goal, by_section = goal_and_section_counts(ws, answers)
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
    sheet.set_h_pagebreaks(breaks)
    page_setup(sheet, tmpl.report["footer"], None, landscape=False)


@dataclass(frozen=True, slots=True)
class TableRef:
    header: int  # 0-based row of the header
    first: int  # first data row
    last: int  # last data row (the total row follows)


def write_count_table(sheet: xlsxwriter.worksheet.Worksheet, st: Styles, tmpl: Template, title: str,
                      label_header: str, rows: list[CountRow], row: int,
                      widths: Sequence[float]) -> tuple[int, TableRef]:
    """A heading, then ``label | ◎ | ○ | △ | × | 合計 | 記入なし`` per group and a total row;
    returns the row after it (a blank row between) and where its rows are."""
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
    for group in rows:
        sheet.write_string(row, 0, group.label, st.cell)
        for c, value in enumerate([group.counts[s] for s in marks] + [group.total, group.blank], start=1):
            sheet.write_number(row, c, value, st.number)
        sheet.set_row(row, fitted_height([(group.label, widths[0])]))
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
    well, so a reader that does not recalculate still draws the right bars. A table of more
    than `CHART_MAX_CATEGORIES` groups gets a note instead.
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
