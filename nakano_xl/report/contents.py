"""What the report holds, apart from how it is drawn: 別紙1's rows as printed, and the counts.

The export writes the same rows as 別紙1 (`progress_rows`); 集計 counts the answered items by
目標 and by 実施内容 (`count_by`). Totals are computed here, never left to formulas whose
cached value a reader might not see.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from ..model import NO_ANSWER, Answer, Item, Plan, Status
from ..reprint import root_of
from ..workspace import Workspace

# 別紙1: title on row 1, legend heading on row 2, one legend line per mark, then the header.
LEGEND_FIRST_ROW = 3

# The answer columns of a row: shown faint when copied into a 再掲 row.
ANSWER_KEYS = frozenset(NO_ANSWER.cells())


def header_row(ws: Workspace) -> int:
    """The 1-based row of 別紙1's column headers (after the title and the legend)."""
    return LEGEND_FIRST_ROW + len(ws.template.marks)


@dataclass(frozen=True, slots=True)
class ProgressRow:
    """One row of 別紙1 as printed: every column's text, by column key."""

    item: Item
    cells: dict[str, str]  # section, content, status, reason, …, departments
    copied: bool  # the answers are the original's, copied into a 再掲 row


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


def sections_of(rows: list[ProgressRow]) -> list[list[ProgressRow]]:
    """``rows`` cut into runs of one section each, in order."""
    sections: list[list[ProgressRow]] = []
    for row in rows:
        if sections and sections[-1][0].item.section_code == row.item.section_code:
            sections[-1].append(row)
        else:
            sections.append([row])
    return sections


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
    one table per key, from one pass over the plan."""
    tables: list[dict[str, list[Status | None]]] = [{} for _ in keys]
    for item in plan:
        # A 再掲 row is listed in its group, and counted where it comes from: here, not at all.
        marks = [] if item.is_reprint else [answers.get(item.item_id, NO_ANSWER).status]
        for key, groups in zip(keys, tables):
            groups.setdefault(key(item), []).extend(marks)
    return [{label: _count_row(label, marks) for label, marks in groups.items()} for groups in tables]


def _count_row(label: str, marks: list[Status | None]) -> CountRow:
    counted = Counter(marks)
    return CountRow(label, {status: counted[status] for status in Status}, counted[None])


def goal_titles(ws: Workspace) -> dict[str, str]:
    """目標 label → its title, from the KPI table (the only place the plan names its goals)."""
    titles: dict[str, str] = {}
    for kpi in ws.kpis:
        if kpi.goal_title:
            titles.setdefault(kpi.goal, kpi.goal_title)
    return titles


def goal_and_section_counts(ws: Workspace, answers: dict[str, Answer]) -> tuple[list[CountRow], list[CountRow]]:
    """集計's two count tables: by 目標 (labelled with its title when the KPI table has one),
    and by 実施内容."""
    goal_label = ws.template.summary["goal_label"]
    titles = goal_titles(ws)

    def goal_of(item: Item) -> str:
        label = goal_label.format(goal=item.goal)
        return f"{label} {titles[label]}" if label in titles else label

    by_goal, by_section = count_by(ws.plan, answers, goal_of, lambda item: item.section_label)
    return list(by_goal.values()), list(by_section.values())
