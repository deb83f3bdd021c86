"""diff: what a consolidation would change in 別紙1 against the last one written.

``nakano-xl consolidate --dry-run`` shows it before anything is written, so the coordinator
sees the effect of a late or corrected return before publishing. The last output is read
from ``output/answers_<year>.csv`` (the machine form of 別紙1's answer columns, written by
every consolidation; `consolidate.last_answers`), not from the workbook, whose layout is for
people.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .model import ANSWER_FIELDS, Answer, Plan


@dataclass(frozen=True, slots=True)
class Change:
    item_id: str
    content: str
    kind: str  # "added" (no row last time), "removed" (no row now), "changed"
    field: str | None = None
    old: str = ""
    new: str = ""


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


def describe(change: Change, labels: Mapping[str, str]) -> str:
    """One Japanese line for the terminal; ``labels``: the column header of each answer field."""
    if change.kind == "added":
        return f"{change.item_id} 行を追加: {change.content}"
    if change.kind == "removed":
        return f"{change.item_id} 行がなくなります: {change.content}"
    label = labels.get(change.field or "", change.field)
    return f"{change.item_id} {label}: 「{_short(change.old)}」→「{_short(change.new)}」（{_short(change.content, 24)}）"


def _short(text: str, limit: int = 40) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"
