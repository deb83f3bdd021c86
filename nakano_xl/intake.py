"""intake: every file under ``inbox/`` → a `Submission` (or only findings), never a crash.

For each file, whatever its name or extension: skip OS litter, decide the type from the
first bytes, open it with every limit in force (`xlsx.reader`), identify it by its signed
metadata (never by its name), then read the answer rows by item id, not by position.
Anything unexpected while reading one file becomes a finding for that file and the run
goes on with the next.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from .findings import Finding, finding
from .layout import FIRST_ROW, HEADER_ROW, InputColumns, Metadata, safe_file_name
from .model import ANSWER_FIELDS, Answer
from .validate import RowInput, check_row
from .workspace import Workspace
from .xlsx.cells import a1
from .xlsx.reader import RefusedFile, XlsxFile, sniff

Progress = Callable[[int, int], None]

# What operating systems and Excel leave in a folder; never a department's answer.
LITTER_NAMES = {".ds_store", "thumbs.db", "desktop.ini", ".localized"}
# Rows below the last distributed row that are still read, to catch inserted rows.
EXTRA_ROWS = 50


@dataclass
class Submission:
    """One returned workbook that was identified as a department's."""

    file: str  # path relative to the inbox, with "/" separators
    department: str
    meta: Metadata
    saved_at: dt.datetime | None
    answers: dict[str, Answer] = field(default_factory=dict)  # item id → answer as read
    cells: dict[str, dict[str, str]] = field(default_factory=dict)  # item id → field → A1
    findings: list[Finding] = field(default_factory=list)
    used: bool = True  # False when superseded by a later file of the same department


@dataclass
class Inbox:
    submissions: list[Submission]
    findings: list[Finding]  # about files that are not submissions (litter, refused, unknown)

    def used(self) -> list[Submission]:
        return [s for s in self.submissions if s.used]


def list_inbox(inbox: Path) -> list[Path]:
    """Every file under the inbox, subfolders too, in a stable order."""
    if not inbox.is_dir():
        return []
    return sorted((p for p in inbox.rglob("*") if p.is_file()), key=lambda p: p.relative_to(inbox).as_posix())


def read_inbox(ws: Workspace, *, progress: Progress | None = None) -> Inbox:
    paths = list_inbox(ws.inbox)
    submissions: list[Submission] = []
    loose: list[Finding] = []
    for done, path in enumerate(paths, start=1):
        rel = path.relative_to(ws.inbox).as_posix()
        try:
            sub, found = read_file(ws, path, rel)
        except Exception as e:  # one bad file must never stop the run
            sub, found = None, [finding("file.unreadable", file=rel, reason=f"予期しないエラー: {type(e).__name__}: {e}")]
        if sub is None:
            loose.extend(found)
        else:
            sub.findings.extend(found)
            submissions.append(sub)
        if progress:
            progress(done, len(paths))
    resolve_duplicates(submissions)
    return Inbox(submissions, loose)


def read_file(ws: Workspace, path: Path, rel: str) -> tuple[Submission | None, list[Finding]]:
    """Read one file of the inbox; the findings are about this file only."""
    name = path.name
    if name.lower() in LITTER_NAMES or name.startswith("~$") or name.startswith("._"):
        why = "Excelが編集中に作る一時ファイル" if name.startswith("~$") else "OSが作る管理用ファイル"
        return None, [finding("file.ignored", file=rel, reason=why)]
    with path.open("rb") as f:
        head = f.read(512)
    kind = sniff(head)
    if kind != "zip":
        reasons = {
            "empty": "空のファイルです",
            "ole": "パスワード付きのブック、または古い形式（.xls）のファイルです",
            "html": "HTMLファイルです（Webページとして保存されたもの）",
            "unknown": "Excelブックではありません",
        }
        return None, [finding("file.not_xlsx", file=rel, reason=reasons[kind])]
    try:
        with XlsxFile(path, ws.settings.limits) as book:
            return read_workbook(ws, book, rel)
    except RefusedFile as e:
        return None, [finding(e.code, file=rel, reason=e.reason)]


def read_workbook(ws: Workspace, book: XlsxFile, rel: str) -> tuple[Submission | None, list[Finding]]:
    tmpl = ws.template
    meta_ref = book.sheet(tmpl.input["metadata_sheet"])
    meta = Metadata.from_sheet(book.read_sheet(meta_ref, max_col=2)) if meta_ref else None
    if meta is None:
        return None, [finding("identity.missing", file=rel)]
    problem = check_identity(ws, meta, rel)
    if problem:
        return None, [problem]
    sub = Submission(rel, meta.department, meta, read_saved_at(book))
    found: list[Finding] = []
    stem = Path(rel).stem
    if safe_file_name(meta.department) not in stem:
        found.append(finding("identity.renamed", file=rel, department=meta.department, name_hint=Path(rel).name))
    ref = book.sheet(meta.answer_sheet)
    if ref is None:
        found.append(finding("sheet.missing", file=rel, department=meta.department, sheet=meta.answer_sheet))
        return sub, found
    cols = InputColumns.of(tmpl)
    sheet = book.read_sheet(ref, max_rows=FIRST_ROW + len(meta.item_ids) + EXTRA_ROWS, max_col=cols.width + 10)
    if sheet.truncated:
        found.append(finding("file.too_many_rows", file=rel, sheet=ref.name, department=meta.department,
                             reason=f"読み取るのは{FIRST_ROW + len(meta.item_ids) + EXTRA_ROWS}行目まで"))
    found.extend(read_rows(ws, sub, sheet, cols))
    return sub, found


def check_identity(ws: Workspace, meta: Metadata, rel: str) -> Finding | None:
    """The file is ours, for this year, this distribution and this layout — or a finding."""
    dept = meta.department
    if not meta.verify(ws.key()):
        return finding("identity.bad_signature", file=rel, department=dept)
    if meta.fiscal_year != ws.year.code:
        return finding("identity.other_year", file=rel, department=dept, found=meta.fiscal_year, expected=ws.year.code)
    record = ws.distribution() or {}
    current = record.get("distribution_id")
    if current and meta.distribution_id != current:
        return finding("identity.other_distribution", file=rel, department=dept, found=meta.distribution_id,
                       expected=current)
    if meta.template != ws.template.name or meta.template_version != ws.template.version:
        return finding("identity.other_template", file=rel, department=dept,
                       found=f"{meta.template} 版{meta.template_version}",
                       expected=f"{ws.template.name} 版{ws.template.version}")
    if dept not in ws.plan.departments():
        return finding("identity.unknown_department", file=rel, department=dept)
    return None


def read_rows(ws: Workspace, sub: Submission, sheet, cols: InputColumns) -> Iterator[Finding]:
    """Read the answer rows by item id; every typed value lands in an answer or a finding."""
    where = {"file": sub.file, "sheet": sheet.name, "department": sub.department}
    assigned = set(sub.meta.item_ids)
    first_row_of: dict[str, int] = {}
    answer_keys = [k for k in ANSWER_FIELDS]
    for row in sorted({r for r, _ in sheet.cells if r >= FIRST_ROW}):
        item_id = sheet.text(row, cols.item_id).strip()
        typed = {k: sheet.text(row, cols.col(k)) for k in answer_keys}
        cells = {k: a1(row, cols.col(k)) for k in answer_keys}
        if not item_id or item_id not in assigned:
            if any(v.strip() for v in typed.values()):
                yield finding("row.unknown", cell=a1(row, cols.item_id), value=item_id or "（空欄）", **where)
            continue
        if item_id in first_row_of:
            yield finding("row.duplicate", cell=a1(row, cols.item_id), value=item_id, item_id=item_id,
                          first=f"{first_row_of[item_id]}行目", **where)
            continue
        first_row_of[item_id] = row
        answer, found = check_row(RowInput(item_id, typed, cells), ws.template, file=sub.file,
                                  sheet=sheet.name, department=sub.department)
        sub.answers[item_id] = answer
        sub.cells[item_id] = cells
        yield from found
    for item_id in sub.meta.item_ids:
        if item_id not in first_row_of:
            item = ws.plan.get(item_id)
            yield finding("row.missing", item_id=item_id, content=item.content if item else item_id, **where)


_MODIFIED = re.compile(rb"<dcterms:modified[^>]*>([^<]+)</dcterms:modified>")


def read_saved_at(book: XlsxFile) -> dt.datetime | None:
    """When the file was last saved, from docProps/core.xml (Excel and LibreOffice both write it)."""
    try:
        data = book.read_part("docProps/core.xml")
    except (KeyError, RefusedFile):
        return None
    m = _MODIFIED.search(data)
    if not m:
        return None
    try:
        return dt.datetime.fromisoformat(m.group(1).decode("ascii").strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def resolve_duplicates(submissions: list[Submission]) -> None:
    """Two files of one department: the most recently saved one is used, the other superseded."""
    by_dept: dict[str, list[Submission]] = {}
    for sub in submissions:
        by_dept.setdefault(sub.department, []).append(sub)
    for subs in by_dept.values():
        if len(subs) < 2:
            continue
        epoch = dt.datetime.min.replace(tzinfo=dt.timezone.utc)

        def when(s: Submission) -> tuple[dt.datetime, str]:
            t = s.saved_at or epoch
            return (t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc), s.file)

        winner = max(subs, key=when)
        for sub in subs:
            if sub is not winner:
                # Its answers are not used, so its own problems no longer matter; the one
                # finding says so, and names the file that is used instead.
                sub.used = False
                sub.findings = [finding("submission.superseded", file=sub.file, department=sub.department,
                                        winner=winner.file)]
