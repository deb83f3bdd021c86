"""consolidate: inbox → intake → merge → report, and the findings of every step.

Writes ``output/別紙1_<year>.xlsx`` (別紙1, 集計, 確認事項, 提出状況), ``output/findings.json``
and ``output/answers_<year>.csv`` (the merged answers in the answers-table format, which
next year's rollover starts from). The outputs are written even when errors remain: the
problems are listed in them. The three are one set (`outputs.commit_outputs`), written under
the workspace lock (`lock`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .answers import load_answers, save_answers
from .errors import PlanError
from .findings import Finding, sorted_findings
from .intake import Inbox, StatusReport, read_inbox, return_status
from .kpi import merge_kpis
from .lock import locked, recover_if_idle
from .merge import Merged, count_statuses, merge_answers
from .model import Answer, Kpi, Status
from .outputs import commit_outputs
from .plan import check_plan
from .workspace import Workspace
from .xlsx.files import write_atomically, write_text_atomically

if TYPE_CHECKING:
    from .diff import Change

Progress = Callable[[int, int], None]


@dataclass
class Consolidation:
    answers: dict[str, Answer]  # merged answer per answered item
    counts: dict[Status, int]
    findings: list[Finding]
    inbox: Inbox
    merged: Merged
    status: StatusReport  # who returned what (提出状況)
    kpis: list[Kpi] = field(default_factory=list)  # the KPI table with the actuals departments reported
    outputs: list[Path] = field(default_factory=list)


@locked("consolidate", when=lambda *a, write=True, **k: write)
def consolidate(ws: Workspace, *, progress: Progress | None = None, write: bool = True,
                workers: int = 1) -> Consolidation:
    """Read every returned file and write the consolidated report.

    ``workers``: processes reading the inbox (`intake.read_inbox`); the result is the same
    whatever the number.

    >>> result = consolidate(open_workspace(Path("令和3年度")))  # doctest: +SKIP
    >>> result.counts[Status.ON_SCHEDULE]  # doctest: +SKIP
    97
    """
    inbox = read_inbox(ws, progress=progress, workers=workers)
    findings = check_plan(ws.plan) + inbox.findings
    for sub in inbox.submissions:
        findings.extend(sub.findings)
    merged = merge_answers(ws.plan, inbox.submissions, rule=ws.settings.rules.conflict)
    findings.extend(merged.findings)
    status = return_status(ws, inbox)
    findings.extend(status.missing_findings())
    findings = sorted_findings(findings)
    counts = count_statuses(ws.plan, merged.answers)
    kpis = merge_kpis(ws, inbox.submissions)
    result = Consolidation(merged.answers, counts, findings, inbox, merged, status, kpis)
    if write:
        # Imported here: xlsxwriter and the report's modules are needed only when writing.
        from .report import write_report

        # The three are one set (`outputs.commit_outputs`): never 別紙1 of one run beside the
        # answers of another, whatever stops the run.
        result.outputs = commit_outputs(ws.output, [
            (ws.report_path(), lambda path: write_atomically(path, write_report(
                ws, result.answers, counts, findings, result.status.departments, kpis=kpis))),
            (ws.findings_path(), lambda path: write_text_atomically(path, findings_json(findings))),
            (ws.answers_path(), lambda path: save_answers(path, ws.plan, result.answers)),
        ])
    return result


def findings_json(findings: list[Finding]) -> str:
    """findings.json, in UTF-8: `findings.finding` has made every text of a finding
    representable, so no lone surrogate can stop the write."""
    return json.dumps([f.to_json() for f in findings], ensure_ascii=False, indent=1) + "\n"


def last_answers(ws: Workspace) -> dict[str, Answer] | None:
    """The answers of the last consolidation, or None when there was none (or they no longer
    fit the plan master)."""
    path = ws.answers_path()
    if not path.is_file():
        return None
    try:
        return load_answers(path, ws.plan)
    except PlanError:
        return None


def preview(ws: Workspace, *, progress: Progress | None = None,
            workers: int = 1) -> tuple[Consolidation, list[Change] | None]:
    """Everything consolidate does but writing, and what it would change in 別紙1.

    The changes are None when there is no earlier consolidation to compare with.
    """
    from .diff import diff_answers

    recover_if_idle(ws.root)  # the last answers are compared against: never half of a killed run's set
    result = consolidate(ws, progress=progress, write=False, workers=workers)
    old = last_answers(ws)
    return result, (diff_answers(ws.plan, old, result.answers) if old is not None else None)
