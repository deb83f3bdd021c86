"""Identity: whose workbook is this — from its signed metadata, never from its name.

The metadata sheet may be very hidden (as distributed) or hidden (LibreOffice turns very
hidden into hidden on save); it is looked up by the template's name for it and, failing
that, by its first row (``format``, ``nakano-xl/1``) on any sheet, so a renamed metadata
sheet still identifies the file (the signature still has to hold).

With a workspace, a file is used only when its year, signature, distribution, template
version and department all check out. Without one (``nakano-xl check`` on a department's
desk), the signature cannot be checked; the file is read for everything else and an info
finding says what was not checked.

When a file was saved (`judge_saved_at`) is what it records, if that can be real: judged
against the distribution's time signed into the metadata, never against today's clock.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..findings import Finding, finding
from ..layout import FORMAT, Metadata, safe_file_name
from ..model import FiscalYear
from ..workspace import Workspace
from ..xlsx.package import SheetRef
from ..xlsx.reader import XlsxFile
from ..xlsx.zipguard import RefusedFile

JST = dt.timezone(dt.timedelta(hours=9))


@dataclass(frozen=True)
class Facts:
    """What every file of one run is checked against, read from the workspace once."""

    key: bytes
    distribution_id: str | None
    departments: tuple[str, ...]

    @classmethod
    def of(cls, ws: Workspace) -> Facts:
        record = ws.distribution() or {}
        return cls(ws.key(), record.get("distribution_id"), tuple(ws.plan.departments()))


def find_metadata(book: XlsxFile, sheet_name: str) -> tuple[Metadata | None, SheetRef | None]:
    """The metadata and the sheet holding it: the named sheet first, then any hidden, then any."""
    named = book.sheet(sheet_name)
    if named is not None:
        meta = Metadata.from_sheet(book.read_sheet(named, max_col=2))
        if meta is not None:
            return meta, named
    others = sorted((s for s in book.sheets if s is not named), key=lambda s: s.state == "visible")
    for ref in others:
        head = book.read_sheet(ref, max_rows=1, max_col=2)
        if head.text(1, 1) != "format" or head.text(1, 2) != FORMAT:
            continue
        meta = Metadata.from_sheet(book.read_sheet(ref, max_col=2))
        if meta is not None:
            return meta, ref
    return None, None


def check_identity(ws: Workspace, meta: Metadata, rel: str, facts: Facts | None = None) -> Finding | None:
    """The file is ours, for this year, this distribution and this layout — or a finding.

    The year is looked at before the signature: a file from last year's workspace fails both,
    and "this is last year's file" is the message a coordinator can act on.
    """
    facts = facts or Facts.of(ws)
    dept = meta.department
    if meta.fiscal_year != ws.year.code:
        return finding("identity.other_year", file=rel, department=dept, found=year_label(meta.fiscal_year),
                       expected=ws.year.label)
    if not meta.verify(facts.key):
        return finding("identity.bad_signature", file=rel, department=dept)
    current = facts.distribution_id
    if current and meta.distribution_id != current:
        return finding("identity.other_distribution", file=rel, department=dept, found=meta.distribution_id,
                       expected=current)
    if meta.template != ws.template.name or meta.template_version != ws.template.version:
        return finding("identity.other_template", file=rel, department=dept,
                       found=f"{meta.template} 版{meta.template_version}",
                       expected=f"{ws.template.name} 版{ws.template.version}")
    if dept not in facts.departments:
        return finding("identity.unknown_department", file=rel, department=dept)
    return None


def year_label(code: str) -> str:
    try:
        return FiscalYear.parse(code).label
    except Exception:  # a hostile metadata value: show it as it is
        return code


def unverified(meta: Metadata, rel: str) -> Finding:
    """What `check` without a workspace says about identity: who the file claims to be."""
    return finding("identity.unverified", file=rel, department=meta.department, year=year_label(meta.fiscal_year),
                   found=meta.distribution_id)


def renamed(ws: Workspace, meta: Metadata, rel: str, facts: Facts | None = None) -> Finding | None:
    """A warning when the file's name names another department than its metadata.

    A name that names no department ("回答.xlsx") says nothing and gets no finding; the
    longest department name found counts, so 税務課 inside 資産税務課 does not.
    """
    stem = Path(rel).stem
    own = safe_file_name(meta.department)
    if own in stem:
        return None
    departments = facts.departments if facts else tuple(ws.plan.departments())
    named = [d for d in departments if safe_file_name(d) in stem and d != meta.department]
    if not named:
        return None
    longest = max(named, key=len)
    return finding("identity.renamed", file=rel, department=meta.department, name_hint=Path(rel).name,
                   named=longest)


_CORE_TIME = re.compile(rb"<dcterms:(modified|created)[^>]*>([^<]+)</dcterms:(?:modified|created)>")
# Saved times a real .xlsx can carry: the format is younger than 2000, and both ends stay far
# enough from the limits of the date type that any time zone can be applied.
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
# A department's clock, and a time saved without its zone (read as UTC), are off by less than this.
SLACK = dt.timedelta(days=1)
YEAR = dt.timedelta(days=365)


def core_times(book: XlsxFile) -> dict[str, str]:
    """``modified`` (the save time) and ``created`` as docProps/core.xml writes them (Excel
    and LibreOffice both do); the first of each, as text."""
    try:
        data = book.read_part("docProps/core.xml")
    except (KeyError, RefusedFile):
        return {}
    out: dict[str, str] = {}
    for m in _CORE_TIME.finditer(data[:100_000]):
        out.setdefault(m.group(1).decode("ascii"), m.group(2).decode("utf-8", "replace").strip())
    return out


def parse_time(text: str) -> dt.datetime | None:
    """An ISO 8601 time within EARLIEST..LATEST (without a zone: UTC), else None."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    try:
        utc = moment.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00:00+09:00 is before the first UTC moment
        return None
    return moment if EARLIEST <= utc < LATEST else None


def judge_saved_at(book: XlsxFile, meta: Metadata, where: dict[str, Any]) -> tuple[dt.datetime | None, Finding | None]:
    """The save time, if it can be a real one; else None (unknown) and a warning saying why.

    A real save time lies between the distribution (signed into the metadata, less `SLACK`)
    and a year after it (plus `SLACK`): a file saved in 2099 must not win over every later
    fix. It is judged against the distribution, never today's clock, so the same inbox gives
    the same result any day. A file distributed before the time was signed is judged by the
    range alone. The workbook's own date is a real one too, however early: distribute dates
    every workbook with the workspace's document date, and a file saved by a program that
    keeps it (LibreOffice does when nothing was changed) or not saved at all still says it.
    """
    times = core_times(book)
    text = times.get("modified")
    if text is None:
        return None, None
    moment = parse_time(text)
    distributed = parse_time(meta.distributed) if meta.distributed else None
    if moment is None:
        try:
            dt.datetime.fromisoformat(text)
            reason = f"扱える範囲（{EARLIEST.year}年～{LATEST.year - 1}年）の外です"
        except ValueError:
            reason = "日時として読めません"
    elif distributed is None:
        return moment, None
    elif moment < distributed - SLACK and moment != parse_time(times.get("created", "")):
        reason = f"回答票を配付した日時（{format_saved_at(distributed)}）より前です"
    elif moment > distributed + YEAR + SLACK:
        reason = f"回答票を配付した日時（{format_saved_at(distributed)}）から1年以上後です"
    else:
        return moment, None
    shown = text if len(text) <= 60 else text[:60] + "…"
    return None, finding("submission.bad_saved_time", value=shown, reason=reason, **where)


def format_saved_at(moment: dt.datetime | None) -> str:
    """``2022/5/20 14:03`` in Japan time, as a coordinator reads it; ``不明`` when unknown."""
    if moment is None:
        return "不明"
    try:
        t = moment.astimezone(JST)
    except (OverflowError, ValueError):  # a time no file can really carry (intake never keeps one)
        return "不明"
    return f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}"
