"""The inbox (and `check`'s list of files): each file opened, identified and read, never a crash.

For each regular file the inbox walk (`walk`) hands on, whatever its name or extension: skip
OS litter, decide the type from the first bytes, open it with every limit in force, identify
it by its signed metadata, then read it. Anything unexpected while reading one file becomes a
finding for that file and the run goes on with the next.

Two files of one department: the most recently saved one (``dcterms:modified`` in the
file, the time the department's Excel saved it — not the time it arrived — when `identify`
judges it a real one) is used, the other is listed as superseded, with both times in the
finding. A file whose time is unknown comes before any known one, and equal times are decided
by the file name, so the outcome never depends on the order of a directory listing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NakanoError, WorkspaceError
from ..findings import Finding, finding
from ..layout import Metadata
from ..model import FiscalYear
from ..template import Template, load_template
from ..workers import pmap
from ..workspace import Workspace
from ..xlsx.reader import XlsxFile, require_safe_xml
from ..xlsx.zipguard import Limits, RefusedFile
from .caps import cap
from .identify import Facts, check_identity, find_metadata, format_saved_at, judge_saved_at, renamed, unverified
from .open import open_workbook
from .rows import Reading, read_workbook
from .submission import FileRecord, Inbox, Submission
from .walk import not_a_file, shown_path, walk_inbox

Progress = Callable[[int, int], None]


def list_inbox(inbox: Path) -> list[Path]:
    """Every regular file under the inbox, subfolders too, in the order of their names' bytes
    (`walk.walk_inbox`, which also names everything else it finds there)."""
    return [f.path for f in walk_inbox(inbox).files]


def read_inbox(ws: Workspace, *, progress: Progress | None = None, workers: int = 1) -> Inbox:
    """Every file under ``ws.inbox`` → submissions and findings, under ``ws.settings.limits``.

    ``workers``: processes that read files (`nakano_xl.workers`); any number gives the same
    result.
    """
    require_safe_xml()
    limits = ws.settings.limits
    facts = Facts.of(ws)  # the key, the distribution id, the departments: read once per run
    walk = walk_inbox(ws.inbox)
    inbox = Inbox([], list(walk.findings), [], limits)
    tasks = [(f.path, f.rel) for f in walk.files]
    results = pmap(_read_task, tasks, state=(ws, limits, facts), workers=workers)
    for done, (file, (sub, found, record)) in enumerate(zip(walk.files, results, strict=True), start=1):
        inbox.files.append(record)
        found = list(file.notes) + found
        if sub is None:
            inbox.findings.extend(found)
        else:
            sub.findings.extend(found)
            inbox.submissions.append(sub)
        if progress:
            progress(done, len(tasks))
    resolve_duplicates(inbox.submissions)
    return inbox


Read = tuple[Submission | None, list[Finding], FileRecord]


def _read_task(state: tuple[Workspace, Limits, Facts], task: tuple[Path, str]) -> Read:
    """One file of `read_inbox`, in whichever process runs it."""
    ws, limits, facts = state
    path, rel = task
    return read_file(path, rel, ws=ws, limits=limits, facts=facts)


def read_file(path: Path, rel: str, *, ws: Workspace | None, limits: Limits, facts: Facts | None = None) -> Read:
    """One returned file: the submission (None when it is not a usable workbook), the findings
    about this file, and what reading it cost. ``rel`` is the name findings give the file.

    With a workspace, everything `consolidate` checks for one file; without one, what the file
    alone can tell (`check_files`). Anything unexpected becomes a finding for this file: one bad
    file never stops the run.
    """
    try:
        return _read(path, rel, ws=ws, limits=limits, facts=facts)
    except WorkspaceError:
        raise  # the workspace itself is broken (signing key unreadable): the run stops
    except Exception as e:  # one bad file must never stop the run
        try:
            size = path.stat().st_size
        except OSError:  # gone, or no longer readable: the finding is what matters
            size = 0
        return None, [finding("file.unreadable", file=rel, reason=f"予期しないエラー: {type(e).__name__}: {e}")], \
            FileRecord(rel, "unknown", size)


def _read(path: Path, rel: str, *, ws: Workspace | None, limits: Limits, facts: Facts | None) -> Read:
    size = path.stat().st_size
    book, kind, found, inflated = open_workbook(path, rel, limits)
    if book is None:
        return None, found, FileRecord(rel, kind, size, inflated)
    with book:
        try:
            sub, more = _read_book(book, rel, ws, facts)
            if sub is not None:
                sub.path = path  # the file to open again (feedback): ``rel`` is only how it is shown
        except RefusedFile as e:  # a part refused while reading (a corrupt sheet): nothing of it is used
            sub, more = None, [finding(e.code, file=rel, reason=e.reason)]
        record = FileRecord(rel, "xlsx", size, book.inflated, book.rows_read, sub.department if sub else None)
    return sub, found + more, record


def _read_book(book: XlsxFile, rel: str, ws: Workspace | None,
               facts: Facts | None = None) -> tuple[Submission | None, list[Finding]]:
    hint = ws.template if ws else load_template()
    meta, meta_ref = find_metadata(book, hint.input["metadata_sheet"])
    if meta is None:
        return None, [finding("identity.missing", file=rel)]
    if ws is not None:
        facts = facts or Facts.of(ws)
        problem = check_identity(ws, meta, rel, facts)
        if problem:
            return None, [problem]
        reading, first = workspace_reading(ws, meta, rel, facts)
    else:
        standalone = standalone_reading(meta, rel)
        if isinstance(standalone, Finding):
            return None, [standalone]
        reading, first = standalone, [unverified(meta, rel)]
    saved_at, bad_time = judge_saved_at(book, meta, reading.where)
    if bad_time is not None:
        first.append(bad_time)
    sub = Submission(rel, meta.department, meta, saved_at)
    # Findings beyond the answer rows are capped as they are made: a flood is never held.
    return sub, first + list(cap(read_workbook(book, reading, sub, meta_ref)))


def workspace_reading(ws: Workspace, meta: Metadata, rel: str, facts: Facts) -> tuple[Reading, list[Finding]]:
    dept = meta.department
    mine = {i.item_id for i in ws.plan.items_for(dept)}
    words = {"coordinator": ws.settings.coordinator, "deadline": ws.settings.deadline}
    previous = ws.previous.answers if ws.previous is not None else None
    if ws.previous is not None:
        words["previous_year"] = ws.previous.year.label
    reading = Reading(rel, dept, meta, ws.template, tuple(i for i in meta.item_ids if i in mine), ws.plan, ws.year,
                      words, previous)
    hint = renamed(ws, meta, rel, facts)
    return reading, [hint] if hint else []


def standalone_reading(meta: Metadata, rel: str) -> Reading | Finding:
    """Without a workspace: the template named in the file, and the signed-but-unverified item ids."""
    try:
        template: Template = load_template(meta.template)
    except NakanoError:
        template = load_template()
    if template.name != meta.template or template.version != meta.template_version:
        return finding("identity.other_template", file=rel, department=meta.department,
                       found=f"{meta.template} 版{meta.template_version}",
                       expected=f"{template.name} 版{template.version}")
    try:
        year: FiscalYear | None = FiscalYear.parse(meta.fiscal_year)
    except Exception:
        year = None
    return Reading(rel, meta.department, meta, template, meta.item_ids, None, year)


def resolve_duplicates(submissions: list[Submission]) -> None:
    """Two files of one department: the most recently saved one is used, the other superseded.

    A file whose save time is unknown (none, or one intake judged impossible) comes before any
    known time; among equals the name decides. The order never raises, whatever a time holds.
    """
    by_dept: dict[str, list[Submission]] = {}
    for sub in submissions:
        by_dept.setdefault(sub.department, []).append(sub)
    for subs in by_dept.values():
        if len(subs) < 2:
            continue
        winner = max(subs, key=_saved_order)
        for sub in subs:
            if sub is not winner:
                # Its answers are not used, so its own problems no longer matter; the one
                # finding says so, and names the file that is used instead — beside the one
                # that says why its save time did not count, if that is why it lost.
                sub.used = False
                sub.findings = [finding("submission.superseded", file=sub.file, department=sub.department,
                                        winner=winner.file, winner_saved=format_saved_at(winner.saved_at),
                                        saved=format_saved_at(sub.saved_at)),
                                *(f for f in sub.findings if f.code == "submission.bad_saved_time")]


def _saved_order(sub: Submission) -> tuple[bool, float, str]:
    """(known, seconds since the epoch, file name): times compared in UTC, unknown first."""
    try:
        stamp = sub.saved_at.timestamp() if sub.saved_at is not None else None
    except (OverflowError, ValueError, OSError):
        stamp = None
    return (stamp is not None, stamp or 0.0, sub.file)


@dataclass
class CheckedFile:
    """One file given to `check_files`: what it is, whose it is, what is wrong with it."""

    path: Path
    record: FileRecord
    submission: Submission | None
    findings: list[Finding] = field(default_factory=list)


def check_files(paths: Iterable[Path], ws: Workspace | None = None, *,
                limits: Limits | None = None, progress: Progress | None = None) -> list[CheckedFile]:
    """Check returned files before consolidating, one by one (``nakano-xl check``).

    With a workspace, everything consolidate checks for one file: identity and signature,
    the plan's fixed texts, rows, values. Without one, everything that the file alone can
    tell: safe open, metadata, layout, rows against the item ids in the metadata, values —
    but not the signature nor the plan (an info finding says so). Findings name the file as
    given.

    >>> [f.code for f in check_files([Path("情報システム課.xlsx")])[0].findings]  # doctest: +SKIP
    ['identity.unverified']
    """
    require_safe_xml()
    lim = ws.settings.limits if ws is not None else (limits or Limits())
    facts = Facts.of(ws) if ws is not None else None
    out = []
    todo = list(paths)
    for done, path in enumerate(todo, start=1):
        name = shown_path(path)
        odd = not_a_file(path, name)  # a FIFO named on the command line is never opened either
        if odd is not None:
            sub, found, record = None, [odd], FileRecord(name, "unknown", 0)
        else:
            sub, found, record = read_file(path, name, ws=ws, limits=lim, facts=facts)
        out.append(CheckedFile(path, record, sub, found))
        if progress:
            progress(done, len(todo))
    return out
