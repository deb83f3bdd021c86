"""intake: every file under ``inbox/`` → a `Submission` (or only findings), never a crash.

Along the flow, one module per step:

- `walk`: which entries of the inbox are files to read, the name each is shown by (any bytes),
  and a finding for everything else (links, FIFOs, unreadable folders); nothing opened.
- `open`: what a file is from its first bytes; the .xlsx opened under the limits
  (`xlsx.reader` checks the zip directory, scans every part for a DOCTYPE, caps rows).
- `identify`: whose file it is, from its signed metadata; duplicates; when it was saved, if
  that can be a real time.
- `rows`: the answer rows, fixed cells against the plan, every other typed cell; `match`
  decides which item a row answers (its hidden id and its identifying texts must agree);
  `readissues` reports what the reader replaced or could not resolve.
- `caps`: findings about what lies outside the answer rows, a bounded number per file.
- `inbox`: one file (`read_file`) and the loop over the inbox (`read_inbox`; `check_files` for
  ``nakano-xl check``).
- `status`: who returned what (``nakano-xl status``, the 提出状況 sheet, feedback's reminder).
"""

from __future__ import annotations

from .inbox import CheckedFile, check_files, list_inbox, read_file, read_inbox
from .rows import EXTRA_ROWS
from .status import DepartmentStatus, OtherFile, StatusReport, return_status
from .submission import FileRecord, Inbox, Submission

__all__ = [
    "EXTRA_ROWS", "CheckedFile", "DepartmentStatus", "FileRecord", "Inbox", "OtherFile", "StatusReport",
    "Submission", "check_files", "list_inbox", "read_file", "read_inbox", "return_status",
]
