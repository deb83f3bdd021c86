"""compare: this year against the year before, for the 前年度比較 sheet (after rollover).

Status changes per item (◎→○ …, a mark given or taken away), the items added to and retired
from the plan master, and the count table of both years side by side. 再掲 rows are never
compared: they carry no answer of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import xlsxwriter.worksheet

from .merge import count_statuses
from .model import NO_ANSWER, Answer, Item, Status
from .workspace import Workspace


@dataclass(frozen=True)
class StatusChange:
    item: Item
    before: Status | None
    after: Status | None


@dataclass(frozen=True)
class Comparison:
    counts_before: dict[Status, int]
    counts_now: dict[Status, int]
    changes: list[StatusChange]
    added: list[Item]
    retired: list[Item]


def compare_years(ws: Workspace, answers: dict[str, Answer]) -> Comparison | None:
    """None for a workspace without a previous year."""
    if ws.previous is None:
        return None
    old_plan, old_answers = ws.previous.plan, ws.previous.answers
    changes = []
    for item in ws.plan.answered_items():
        if item.item_id not in old_plan or old_plan[item.item_id].is_reprint:
            continue
        before = old_answers.get(item.item_id, NO_ANSWER).status
        after = answers.get(item.item_id, NO_ANSWER).status
        if before != after:
            changes.append(StatusChange(item, before, after))
    return Comparison(
        counts_before=count_statuses(old_plan, old_answers),
        counts_now=count_statuses(ws.plan, answers),
        changes=changes,
        added=[i for i in ws.plan if i.item_id not in old_plan],
        retired=[i for i in old_plan if i.item_id not in ws.plan],
    )


def write_comparison(ws: Workspace, sheet: xlsxwriter.worksheet.Worksheet, st: Any, comparison: Comparison) -> None:
    """The 前年度比較 sheet. ``st``: the report's styles (title, header, cell, mark, number …)."""
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
