"""The return status (提出状況): which department sent what, when, with how many problems.

Computed once from the inbox, before anything is merged or written, and shown three ways:
``nakano-xl status`` while returns are still coming in, the 提出状況 sheet of the
consolidated workbook, and feedback's list of departments that sent nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..findings import Finding, Severity, count, finding
from ..workspace import Workspace
from .identify import format_saved_at
from .submission import Inbox, Submission


@dataclass(frozen=True, slots=True)
class DepartmentStatus:
    department: str
    file: str | None  # the file used; None while the department has sent no usable workbook
    saved_at: dt.datetime | None  # when the department saved it
    items: int  # rows the plan gives the department to answer
    unanswered: int  # of them, rows without a mark in the file used (or not in it at all)
    errors: int  # error findings about the file used
    warnings: int
    waiting: tuple[str, ...] = ()  # shared rows another department answered, still waiting for this one
    other_files: tuple[str, ...] = ()  # superseded or refused files that claim this department

    @property
    def returned(self) -> bool:
        return self.file is not None

    def to_json(self) -> dict[str, Any]:
        return {"department": self.department, "returned": self.returned, "file": self.file,
                "saved_at": self.saved_at.isoformat() if self.saved_at else None,
                "saved_at_jst": format_saved_at(self.saved_at) if self.saved_at else None,
                "items": self.items, "unanswered": self.unanswered, "errors": self.errors,
                "warnings": self.warnings, "waiting": list(self.waiting), "other_files": list(self.other_files)}


@dataclass(frozen=True, slots=True)
class OtherFile:
    """A file that is no department's usable return: refused, unidentified, superseded, litter."""

    file: str
    department: str | None  # who it claims to be, when its metadata could be read
    severity: Severity
    code: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "department": self.department, "severity": self.severity.key,
                "code": self.code, "message": self.message}


@dataclass
class StatusReport:
    departments: list[DepartmentStatus]
    other_files: list[OtherFile] = field(default_factory=list)

    def missing(self) -> list[str]:
        """The departments that have sent no usable workbook, in plan order."""
        return [d.department for d in self.departments if not d.returned]

    def missing_findings(self) -> list[Finding]:
        """A warning for every department that has not (yet) sent a usable workbook."""
        return [finding("submission.missing", department=d.department, count=d.items)
                for d in self.departments if not d.returned]

    def to_json(self) -> dict[str, Any]:
        return {"departments": [d.to_json() for d in self.departments],
                "not_returned": self.missing(),
                "other_files": [f.to_json() for f in self.other_files]}


def return_status(ws: Workspace, inbox: Inbox) -> StatusReport:
    """One row per department that answers, in plan order; then every file that is not used."""
    used = {s.department: s for s in inbox.used()}
    others: list[OtherFile] = []
    claims: dict[str, list[str]] = {}
    for superseded in inbox.submissions:
        if not superseded.used:
            claims.setdefault(superseded.department, []).append(superseded.file)
            others.append(_other(superseded.file, superseded.department, superseded.findings))
    by_file: dict[str, list[Finding]] = {}
    for f in inbox.findings:
        by_file.setdefault(f.file or "", []).append(f)
    for file, found in by_file.items():
        worst = max(found, key=lambda f: f.severity)
        if worst.department:
            claims.setdefault(worst.department, []).append(file)
        others.append(_other(file, worst.department, found))
    rows = []
    for dept in ws.plan.departments():
        items = ws.plan.items_for(dept)
        sub: Submission | None = used.get(dept)
        if sub is None:
            answered: set[str] = set()
            # Shared rows another department has answered: they wait for this one.
            waiting = tuple(i.item_id for i in items if any(d in used for d in i.assignment.answering if d != dept))
        else:
            answered = {i for i, a in sub.answers.items() if a.status is not None}
            waiting = ()
        rows.append(DepartmentStatus(
            department=dept, file=sub.file if sub else None, saved_at=sub.saved_at if sub else None,
            items=len(items), unanswered=sum(1 for i in items if i.item_id not in answered),
            errors=count(sub.findings, Severity.ERROR) if sub else 0,
            warnings=count(sub.findings, Severity.WARNING) if sub else 0,
            waiting=waiting, other_files=tuple(sorted(claims.get(dept, ()))),
        ))
    return StatusReport(rows, sorted(others, key=lambda o: o.file))


def _other(file: str, department: str | None, found: list[Finding]) -> OtherFile:
    worst = max(found, key=lambda f: f.severity) if found else None
    if worst is None:
        return OtherFile(file, department, Severity.INFO, "", "")
    return OtherFile(file, department, worst.severity, worst.code, worst.message)
