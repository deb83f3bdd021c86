"""intake: every file under ``inbox/`` → a `Submission` (or only findings), never a crash.

Along the flow, one module per step:

- `open`: what a file is from its first bytes; the .xlsx opened under the limits
  (`xlsx.reader` checks the zip directory, scans every part for a DOCTYPE, caps rows).
- `identify`: whose file it is, from its signed metadata; duplicates; when it was saved.
- `rows`: the answer rows by item id, fixed cells against the plan, every other typed cell.
- `inbox`: the loop over the inbox (and `check_files` for ``nakano-xl check``).
- `status`: the return status table (``nakano-xl status``).
"""

from __future__ import annotations

from .inbox import (
                    CheckedFile,
                    check_files,
                    list_inbox,
                    missing_departments,
                    read_file,
                    read_inbox,
                    read_one,
                    resolve_duplicates,
)
from .rows import EXTRA_ROWS
from .status import OtherFile, ReturnStatus, StatusReport, return_status
from .submission import FileRecord, Inbox, Submission

__all__ = [
    "EXTRA_ROWS", "CheckedFile", "FileRecord", "Inbox", "OtherFile", "ReturnStatus", "StatusReport", "Submission",
    "check_files", "list_inbox", "missing_departments", "read_file", "read_inbox", "read_one", "resolve_duplicates",
    "return_status",
]
