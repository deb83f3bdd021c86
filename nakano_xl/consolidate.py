"""consolidate: inbox → intake → merge → report, and the findings of every step.

Writes ``output/別紙1_<year>.xlsx`` (別紙1, 集計, 確認事項, 提出状況), ``output/findings.json``
and ``output/answers_<year>.csv`` (the merged answers in the sample's answers format, which
next year's rollover starts from). The outputs are written even when errors remain: the
problems are listed in them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .findings import Finding, sorted_findings
from .intake import Inbox, missing_departments, read_inbox
from .kpi import merge_kpis
from .merge import Merged, count_statuses, merge_answers
from .model import ANSWER_FIELDS, NO_ANSWER, Answer, Kpi, Status
from .plan import check_plan
from .runtime import paused_gc
from .workers import beside
from .workspace import Workspace
from .xlsx.files import atomic_output, write_atomically, write_text_atomically

if TYPE_CHECKING:
    from .diff import Change
    from .report import DepartmentStatus

Progress = Callable[[int, int], None]


@dataclass
class Consolidation:
    answers: dict[str, Answer]  # merged answer per answered item
    counts: dict[Status, int]
    findings: list[Finding]
    inbox: Inbox
    merged: Merged
    kpis: list[Kpi] = field(default_factory=list)  # the KPI table with the actuals departments reported
    outputs: list[Path] = field(default_factory=list)


@paused_gc()  # millions of acyclic objects at scale: see runtime.py
def consolidate(ws: Workspace, *, progress: Progress | None = None, write: bool = True,
                workers: int | None = None) -> Consolidation:
    """Read every returned file and write the consolidated report.

    ``workers``: processes reading the inbox (`intake.read_inbox`) and writing the report's
    rows (`report.write_report`); the result is the same whatever the number.

    >>> result = consolidate(open_workspace(Path("令和3年度")))  # doctest: +SKIP
    >>> result.counts[Status.ON_SCHEDULE]  # doctest: +SKIP
    97
    """
    inbox = read_inbox(ws, progress=progress, workers=workers, meanwhile=_import_report if write else None)
    findings = check_plan(ws.plan) + inbox.findings
    for sub in inbox.submissions:
        findings.extend(sub.findings)
    merged = merge_answers(ws.plan, inbox.submissions, rule=ws.settings.rules.conflict)
    findings.extend(merged.findings)
    findings.extend(missing_departments(ws, inbox))
    findings = sorted_findings(findings)
    counts = count_statuses(ws.plan, merged.answers)
    kpis = merge_kpis(ws, inbox.submissions)
    result = Consolidation(merged.answers, counts, findings, inbox, merged, kpis)
    if write:
        from .report import department_statuses, write_report

        outputs = _Outputs(ws, result, department_statuses(ws, inbox.submissions, findings))
        # The report takes most of the time: for a long plan a forked process writes the
        # answers and the findings meanwhile (it has them already).
        side = len(ws.plan) >= PARALLEL_OUTPUT_ROWS and workers != 1
        with beside(_write_tables, outputs, enabled=side):
            write_atomically(outputs.report, write_report(ws, merged.answers, counts, findings, outputs.statuses,
                                                          kpis=kpis, workers=workers))
        result.outputs = [outputs.report, outputs.findings, outputs.answers]
    return result


def _import_report() -> None:
    """The report's modules, xlsxwriter with them (~30 ms of a ward's run), imported while the
    workers read the inbox rather than before it, when this process has nothing else to do
    (issue 9)."""
    from . import report  # noqa: F401  (imported is all that is wanted)


# From this many rows of plan on, the answers and findings are written beside the report: at
# nation scale (412,000 rows) that saves the ~2.5 s of the answers CSV and findings.json; for
# a small run the process would cost more to start than it saves.
PARALLEL_OUTPUT_ROWS = 50_000


@dataclass(frozen=True)
class _Outputs:
    ws: Workspace
    result: Consolidation
    statuses: list[DepartmentStatus]

    @property
    def report(self) -> Path:
        return self.ws.report_path()

    @property
    def findings(self) -> Path:
        return self.ws.output / "findings.json"

    @property
    def answers(self) -> Path:
        return self.ws.output / f"answers_{self.ws.year.code}.csv"


def _write_tables(out: _Outputs) -> None:
    write_text_atomically(out.findings, findings_json(out.result.findings))
    save_answers_csv(out.ws, out.result.answers, out.answers)


def findings_json(findings: list[Finding]) -> str:
    return json.dumps([f.to_json() for f in findings], ensure_ascii=False, indent=1) + "\n"


def save_answers_csv(ws: Workspace, answers: dict[str, Answer], path: Path) -> None:
    """The merged answers in the answers-table format (item_id, status, reason, …), written to
    ``path`` as they are made, never whole in memory (200 MB at nation scale)."""
    with atomic_output(path) as f:
        text = io.TextIOWrapper(f, encoding="utf-8", newline="")
        write_answers_csv(ws, answers, text)
        text.flush()
        text.detach()


def write_answers_csv(ws: Workspace, answers: dict[str, Answer], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("item_id",) + ANSWER_FIELDS)
    # One writerows over a generator: the csv module's C loop for 400,000 rows (issue 9).
    writer.writerows(_csv_row(item.item_id, answers.get(item.item_id, NO_ANSWER)) for item in ws.plan.answered_items())


def _csv_row(item_id: str, a: Answer) -> tuple[str, ...]:
    # ANSWER_FIELDS order, spelled out: this runs for every row of the plan.
    return (item_id, a.status.value if a.status else "", a.reason, a.results_to_date, a.plan_next_year, a.plan_later)


def preview(ws: Workspace, *, progress: Progress | None = None,
            workers: int | None = None) -> tuple[Consolidation, list[Change] | None]:
    """Everything consolidate does but writing, and what it would change in 別紙1.

    The changes are None when there is no earlier consolidation to compare with.
    """
    from .diff import diff_answers, last_answers

    result = consolidate(ws, progress=progress, write=False, workers=workers)
    old = last_answers(ws.output / f"answers_{ws.year.code}.csv", ws.plan)
    return result, (diff_answers(ws.plan, old, result.answers) if old is not None else None)
