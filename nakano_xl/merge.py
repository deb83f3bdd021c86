"""merge: the answers of every used submission → one `Answer` per item.

A row shared by several departments (所管課 "情報システム課 税務課 …") is answered by each.
Field by field: values that agree, or blanks beside one value, make one answer without a
finding. Values that differ are a conflict; the workspace rule decides (``[rules]
conflict``): ``lead`` takes the value of the first department, in 所管課 order, that gave
one (the lead department, named first), and says so in a warning; ``error`` leaves the row
unanswered and reports an error until the departments agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .findings import Finding, Severity, finding
from .intake import Submission
from .model import ANSWER_FIELDS, Answer, Plan, Status


@dataclass
class Merged:
    answers: dict[str, Answer] = field(default_factory=dict)  # every answered item → merged answer
    sources: dict[str, dict[str, Answer]] = field(default_factory=dict)  # item → department → answer
    waiting: dict[str, list[str]] = field(default_factory=dict)  # item → departments yet to return
    findings: list[Finding] = field(default_factory=list)


def merge_answers(plan: Plan, submissions: Iterable[Submission], *, rule: str = "lead") -> Merged:
    used = [s for s in submissions if s.used]
    by_dept = {s.department: s for s in used}
    merged = Merged()
    for item in plan.answered_items():
        departments = item.assignment.answering
        given = {d: by_dept[d].answers[item.item_id] for d in departments
                 if d in by_dept and item.item_id in by_dept[d].answers}
        merged.sources[item.item_id] = given
        missing = [d for d in departments if d not in by_dept]
        if missing:
            merged.waiting[item.item_id] = missing
            if len(missing) < len(departments):  # a shared row, answered in part
                merged.findings.append(finding("merge.waiting", item_id=item.item_id, department="、".join(missing),
                                               answered="、".join(d for d in departments if d in by_dept)))
        answer, conflicts = combine(given, departments)
        if conflicts:
            where: dict[str, Any] = {"item_id": item.item_id, "department": "、".join(given)}
            described = "／".join(
                f"{ANSWER_LABELS[f]}: " + "、".join(f"{d}「{v}」" for d, v in values) for f, values in conflicts
            )
            if rule == "error":
                answer = Answer()
                merged.findings.append(finding("merge.conflict", severity=Severity.ERROR, answers=described,
                                               outcome="未回答として扱います。どちらかに揃えて再提出するよう依頼してください。",
                                               **where))
            else:
                merged.findings.append(finding("merge.conflict", answers=described,
                                               outcome=f"異なる項目は{_first_givers(conflicts)}の回答を採用しました。",
                                               **where))
        merged.answers[item.item_id] = answer
    return merged


ANSWER_LABELS = {"status": "進捗状況", "reason": "変更理由", "results_to_date": "取組状況",
                 "plan_next_year": "翌年度予定", "plan_later": "以降予定"}


def combine(given: dict[str, Answer], order: Iterable[str]) -> tuple[Answer, list[tuple[str, list[tuple[str, str]]]]]:
    """One answer from several departments' answers, field by field, first department first.

    Returns the answer and, for each field where non-blank values differ, the (department,
    value) pairs in department order.
    """
    ordered = [d for d in order if d in given]
    if len(ordered) == 1:  # one department's answer is the answer (most rows): nothing to combine
        return given[ordered[0]], []
    values: dict[str, str] = {}
    conflicts = []
    for f in ANSWER_FIELDS:
        pairs = [(d, given[d].cells()[f]) for d in ordered]
        filled = [(d, v) for d, v in pairs if v != ""]
        if len({v for _, v in filled}) > 1:
            conflicts.append((f, filled))
        values[f] = filled[0][1] if filled else ""
    mark = values.pop("status")
    return Answer(Status(mark) if mark else None, **values), conflicts


def _first_givers(conflicts: list[tuple[str, list[tuple[str, str]]]]) -> str:
    return "・".join(dict.fromkeys(pairs[0][0] for _, pairs in conflicts))


def count_statuses(plan: Plan, answers: dict[str, Answer]) -> dict[Status, int]:
    """The count table: one per answered item with a mark; 再掲 rows are never counted."""
    counts = {s: 0 for s in Status}
    for item in plan.answered_items():
        answer = answers.get(item.item_id)
        if answer is not None and answer.status is not None:
            counts[answer.status] += 1
    return counts
