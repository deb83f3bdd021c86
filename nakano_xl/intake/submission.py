"""What intake hands on: one `Submission` per identified workbook, a `FileRecord` per file."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from ..findings import Finding
from ..layout import Metadata
from ..model import Answer
from ..xlsx.zipguard import Limits


@dataclass
class Submission:
    """One returned workbook that was identified as a department's."""

    file: str  # path relative to the inbox, with "/" separators
    department: str
    meta: Metadata
    saved_at: dt.datetime | None
    answers: dict[str, Answer] = field(default_factory=dict)  # item id → answer as read
    findings: list[Finding] = field(default_factory=list)
    used: bool = True  # False when superseded by a later file of the same department
    kpi_values: dict[str, str] = field(default_factory=dict)  # KPI id → the year's actual as typed
    # The file to open: `file` is the name it is shown by, which differs when the name is not UTF-8.
    path: Path | None = None


@dataclass(frozen=True, slots=True)
class FileRecord:
    """What reading one file cost and what it turned out to be — for `status` and for tests.

    ``kind``: ``xlsx`` (a workbook that was opened), ``litter``, ``empty``, ``encrypted``,
    ``xls``, ``ole``, ``html``, ``mht``, ``xml2003``, ``ods``, ``pdf``, ``unknown``, or
    ``refused`` (a zip refused by the reader's checks: see the file's finding).
    """

    file: str
    kind: str
    size: int
    inflated: int = 0  # bytes inflated from the zip while reading it
    rows_read: int = 0  # sheet rows iterated, all sheets together
    department: str | None = None  # from the metadata, once identified


@dataclass
class Inbox:
    submissions: list[Submission]
    findings: list[Finding]  # about files that are not submissions (litter, refused, unknown)
    files: list[FileRecord] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)  # the limits every file was read under

    def used(self) -> list[Submission]:
        return [s for s in self.submissions if s.used]

    def record(self, file: str) -> FileRecord | None:
        return next((r for r in self.files if r.file == file), None)
