"""diff: what a consolidation would change in 別紙1 against the last one written.

``nakano-xl consolidate --dry-run`` shows it before anything is written, so the coordinator
sees the effect of a late or corrected return before publishing. The last output is read
from ``output/answers_<year>.csv`` (the machine form of 別紙1's answer columns, written by
every consolidation), not from the workbook, whose layout is for people.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import PlanError
from .model import ANSWER_FIELDS, Answer, Plan
from .plan import load_answers

FIELD_LABELS = {"status": "進捗状況", "reason": "スケジュールの変更理由", "results_to_date": "取組状況",
                "plan_next_year": "翌年度取組予定", "plan_later": "以降取組予定"}


@dataclass(frozen=True, slots=True)
class Change:
    item_id: str
    content: str
    kind: str  # "added" (no row last time), "removed" (no row now), "changed"
    field: str | None = None
    old: str = ""
    new: str = ""


def last_answers(path: Path, plan: Plan) -> dict[str, Answer] | None:
    """The answers of the last consolidation, or None when there was none (or it no longer fits)."""
    if not path.is_file():
        return None
    try:
        return load_answers(path, plan)
    except PlanError:
        return None


def diff_answers(plan: Plan, old: dict[str, Answer], new: dict[str, Answer]) -> list[Change]:
    """Cell by cell, in plan order; blank answers are rows like any other."""
    changes: list[Change] = []
    for item in plan.answered_items():
        before, after = old.get(item.item_id), new.get(item.item_id)
        if before is None and after is not None:
            changes.append(Change(item.item_id, item.content, "added"))
            continue
        if before is not None and after is None:
            changes.append(Change(item.item_id, item.content, "removed"))
            continue
        if before is None or after is None:
            continue
        b, a = before.cells(), after.cells()
        for field in ANSWER_FIELDS:
            if b[field] != a[field]:
                changes.append(Change(item.item_id, item.content, "changed", field, b[field], a[field]))
    return changes


def describe(change: Change) -> str:
    """One Japanese line for the terminal."""
    if change.kind == "added":
        return f"{change.item_id} 行を追加: {change.content}"
    if change.kind == "removed":
        return f"{change.item_id} 行がなくなります: {change.content}"
    label = FIELD_LABELS.get(change.field or "", change.field)
    return f"{change.item_id} {label}: 「{_short(change.old)}」→「{_short(change.new)}」（{_short(change.content, 24)}）"


def _short(text: str, limit: int = 40) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"
