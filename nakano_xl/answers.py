"""The answers table: one row per answered item, ``item_id, status, reason, results_to_date,
plan_next_year, plan_later``.

It is the machine form of 別紙1's answer columns. `consolidate` writes it
(``output/answers_<year>.csv``); `rollover` carries it into next year's workspace as last year's
answers; ``consolidate --dry-run`` compares against it; the bundled sample's answers are one.
It is read like any coordinator's table (`plan.read_guarded_table`: CSV or .xlsx, English or Japanese
headers), and written as CSV a person may open in Excel (`csvtext`): UTF-8 with a BOM, the
English headers and the `csvtext.GUARD_COLUMN` header, formula-like text neutralised with a
leading ``'``. Reading a table with that header removes the ``'`` again; a table without it
(written before, the bundled sample, one made by hand) is read as it is.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from .csvtext import write_guarded
from .errors import PlanError
from .model import ANSWER_FIELDS, NO_ANSWER, Answer, Plan, Status
from .plan import problem_list, read_guarded_table
from .xlsx.files import atomic_output

COLUMNS = {
    "item_id": ("項目ID",),
    "status": ("進捗状況",),
    "reason": ("スケジュールの変更理由",),
    "results_to_date": ("取組状況",),
    "plan_next_year": ("翌年度取組予定",),
    "plan_later": ("以降取組予定",),
}
# Year-worded headers (令和3年度までの取組状況) match by how they end; the later plan first,
# since 令和5年度以降取組予定 also ends like a next-year plan.
YEAR_WORDED = (("results_to_date", "までの取組状況"), ("plan_later", "以降取組予定"),
               ("plan_next_year", "取組予定"))


def load_answers(path: Path, plan: Plan) -> dict[str, Answer]:
    """Read an answers table; every item id must be in ``plan`` and every mark one of the four."""
    table = read_guarded_table(path, COLUMNS, ("item_id",) + ANSWER_FIELDS, YEAR_WORDED)
    answers: dict[str, Answer] = {}
    problems: list[str] = []
    for number, row in table.rows:
        item_id = row["item_id"].strip()
        if item_id not in plan:
            problems.append(f"{number}行目: 項目ID「{item_id}」は計画マスタにありません")
            continue
        mark = row["status"].strip()
        try:
            status = Status(mark) if mark else None
        except ValueError:
            problems.append(f"{number}行目: 進捗状況「{mark}」は ◎ ○ △ × のいずれでもありません")
            continue
        answers[item_id] = Answer(status, *(row.get(f, "") for f in ANSWER_FIELDS[1:]))
    if problems:
        raise PlanError(problem_list(path, problems))
    return answers


def save_answers(path: Path, plan: Plan, answers: dict[str, Answer]) -> None:
    """Write the answers of every answered item of ``plan`` (blank where there is none) to
    ``path``, row by row: the table of a nation-wide survey is hundreds of megabytes."""
    with atomic_output(path) as f:
        text = io.TextIOWrapper(f, encoding="utf-8", newline="")
        write_answers(text, plan, answers)
        text.flush()
        text.detach()


def write_answers(out: TextIO, plan: Plan, answers: dict[str, Answer]) -> None:
    """The answers table on ``out``, a text stream in plain UTF-8 (the BOM is written here)."""
    def rows() -> Iterator[tuple[str, ...]]:
        for item in plan.answered_items():
            a = answers.get(item.item_id, NO_ANSWER)
            yield (item.item_id, a.status.value if a.status else "", a.reason, a.results_to_date,
                   a.plan_next_year, a.plan_later)

    write_guarded(out, ("item_id",) + ANSWER_FIELDS, rows())
