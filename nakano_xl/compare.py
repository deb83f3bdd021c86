"""compare: this year against the year before, as the 前年度比較 sheet shows it
(after rollover; `report.comparison` draws it).

Status changes per item (◎→○ …, a mark given or taken away), the items added to and retired
from the plan master, and the count table of both years side by side. 再掲 rows are never
compared: they carry no answer of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

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
