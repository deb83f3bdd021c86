"""前年度比較: this year against the year before (`nakano_xl.compare`), for the coordinator.

The count table of both years side by side with the change, the items whose mark changed,
and the items added to and retired from the plan master.
"""

from __future__ import annotations

import xlsxwriter.worksheet

from ..compare import Comparison
from ..model import Status
from ..workspace import Workspace
from .styles import Styles


def write_comparison(ws: Workspace, sheet: xlsxwriter.worksheet.Worksheet, st: Styles, comparison: Comparison) -> None:
    """Draw 前年度比較 on ``sheet`` (a workspace with a previous year)."""
    assert ws.previous is not None
    spec = ws.template.comparison
    words = ws.template.texts(ws.year, previous_year=ws.previous.year.label)
    for col, width in enumerate((10, 28, 52, 12, 12)):
        sheet.set_column(col, col, width)
    sheet.write_string(0, 0, spec["title"].format_map(words), st.title)
    row = 2
    sheet.write_string(row, 0, spec["count_title"], st.heading)
    row += 1
    headers = [h.format_map(words) for h in spec["count_headers"]]
    sheet.write_row(row, 0, headers, st.header)
    row += 1
    for spec_mark in ws.template.marks:
        before, now = comparison.counts_before[spec_mark.status], comparison.counts_now[spec_mark.status]
        line = ws.template.summary["count_line"].format(mark=spec_mark.status.mark, label=spec_mark.label)
        sheet.write_string(row, 0, line, st.cell)
        sheet.write_number(row, 1, before, st.number)
        sheet.write_number(row, 2, now, st.number)
        sheet.write_string(row, 3, f"{now - before:+d}" if now != before else "±0", st.center)
        row += 1
    before, now = sum(comparison.counts_before.values()), sum(comparison.counts_now.values())
    sheet.write_string(row, 0, ws.template.summary["count_total"], st.total_label)
    sheet.write_number(row, 1, before, st.total)
    sheet.write_number(row, 2, now, st.total)
    sheet.write_string(row, 3, f"{now - before:+d}" if now != before else "±0", st.center)
    row += 3

    def shown(status: Status | None) -> str:
        return status.mark if status else spec["blank"]

    sheet.write_string(row, 0, spec["changes_title"].format(count=len(comparison.changes)), st.heading)
    row += 1
    sheet.write_row(row, 0, [h.format_map(words) for h in spec["changes_headers"]], st.header)
    row += 1
    for change in comparison.changes:
        item = change.item
        sheet.write_string(row, 0, item.item_id, st.cell)
        sheet.write_string(row, 1, item.section_label, st.cell)
        sheet.write_string(row, 2, item.content, st.cell)
        sheet.write_string(row, 3, shown(change.before), st.mark)
        sheet.write_string(row, 4, shown(change.after), st.mark)
        row += 1
    if not comparison.changes:
        sheet.write_string(row, 0, spec["none"], st.plain)
        row += 1
    for title, items in ((spec["added_title"], comparison.added), (spec["retired_title"], comparison.retired)):
        row += 2
        sheet.write_string(row, 0, title.format(count=len(items)), st.heading)
        row += 1
        sheet.write_row(row, 0, spec["item_headers"], st.header)
        row += 1
        for item in items:
            sheet.write_string(row, 0, item.item_id, st.cell)
            sheet.write_string(row, 1, item.section_label, st.cell)
            sheet.write_string(row, 2, item.content, st.cell)
            row += 1
        if not items:
            sheet.write_string(row, 0, spec["none"], st.plain)
            row += 1
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
