"""LibreOffice Calc as a real client in the tests: the project-side half of ``uno_worker.py``.

``uno`` imports only in Debian's own ``/usr/bin/python3``, so the tests (in the project's
Python) hand a batch of jobs to ``uno_worker.py`` run by that interpreter: one soffice start,
its own temporary profile, any number of files. ::

    batch = run_batch([save_job(src, dst, [Edit("回答", "C5", "◎")]), pdf_job(report, pdf)])
    batch.outcomes[0].check()   # the saved path, or raises Refused / LibreOfficeFailed

Each step has a timeout; when one passes, the worker and its soffice are ended by their own
process groups (never by name: other people on the machine run soffice too).

Where LibreOffice is missing the tests skip with the reason; with
``NAKANO_XL_REQUIRE_LIBREOFFICE=1`` (set by ``.ci/run`` in CI) they fail instead, so CI can
never go green by skipping them.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pytest

from nakano_xl.layout import FIRST_ROW, InputColumns
from nakano_xl.model import ANSWER_FIELDS
from nakano_xl.template import Template
from nakano_xl.xlsx.cells import a1

WORKER = Path(__file__).with_name("uno_worker.py")
REQUIRE_ENV = "NAKANO_XL_REQUIRE_LIBREOFFICE"
START_TIMEOUT = 90.0  # soffice start with a fresh profile: ~1.5–2 s when the machine is idle
STEP_TIMEOUT = 120.0  # one job: a fill-and-save or an export takes ~0.5–3 s


def soffice_path() -> str | None:
    return shutil.which(os.environ.get("NAKANO_XL_SOFFICE") or "soffice")


def uno_python() -> str:
    return os.environ.get("NAKANO_XL_UNO_PYTHON", "/usr/bin/python3")


@functools.cache
def unavailable() -> str | None:
    """Why LibreOffice cannot be driven here, or None when it can."""
    if soffice_path() is None:
        name = os.environ.get("NAKANO_XL_SOFFICE") or "soffice"
        return f"{name} (LibreOffice) not found: apt-get install libreoffice-calc python3-uno"
    python = uno_python()
    if not Path(python).is_file():
        return f"{python} (Debian's python3, the one python3-uno serves) is missing"
    probe = subprocess.run([python, "-I", "-c", "import uno"], capture_output=True, timeout=60, check=False)
    if probe.returncode != 0:
        return f"{python} cannot import uno: apt-get install python3-uno"
    return None


def require(*tools: str) -> None:
    """Skip the calling test or fixture, with the reason, when LibreOffice (or a tool) is missing.

    With ``NAKANO_XL_REQUIRE_LIBREOFFICE=1`` a missing piece fails instead of skipping.
    """
    reason = unavailable()
    if reason is None:
        missing = [t for t in tools if shutil.which(t) is None]
        if missing:
            reason = f"{', '.join(missing)} not on PATH: apt-get install poppler-utils"
    if reason is None:
        return
    if os.environ.get(REQUIRE_ENV, "") not in ("", "0"):
        pytest.fail(f"{REQUIRE_ENV} is set but the LibreOffice tests cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


# -- jobs ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Edit:
    """Type ``text`` into ``cell`` (A1) of ``sheet``, as a person would."""

    sheet: str
    cell: str
    text: str


@dataclass(frozen=True, slots=True)
class Job:
    op: str  # save | pdf
    src: Path
    dst: Path
    edits: tuple[Edit, ...] = ()
    sheets: tuple[str, ...] = ()  # pdf: only these sheets (default: every visible sheet)
    view: bool = False  # open with a view: view settings (frozen panes) are saved too; 2× slower

    def to_json(self) -> dict[str, object]:
        return {"op": self.op, "src": str(self.src), "dst": str(self.dst),
                "edits": [{"sheet": e.sheet, "cell": e.cell, "text": e.text} for e in self.edits],
                "sheets": list(self.sheets), "view": self.view}


def save_job(src: Path, dst: Path, edits: Sequence[Edit] = (), *, view: bool = False) -> Job:
    """Open ``src`` in Calc, type ``edits``, save as ``dst`` (.xlsx). No edits: a plain re-save.

    ``view``: open the document with a view, as a person's Calc does. Without one (the
    default, twice as fast) Calc saves no view settings: frozen panes are lost.
    """
    return Job("save", src, dst, tuple(edits), view=view)


def pdf_job(src: Path, dst: Path, sheets: Sequence[str] = ()) -> Job:
    """Export ``src`` to PDF with Calc's PDF filter (the one ``soffice --convert-to pdf`` uses).

    ``sheets``: print only these, as a person printing one sheet of the workbook does.
    """
    return Job("pdf", src, dst, sheets=tuple(sheets))


class Refused(Exception):
    """Calc would have stopped a person: locked cell, hidden sheet, merged cell, not in the list."""

    def __init__(self, reason: str, message: str, sheet: str = "", cell: str = "") -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.sheet = sheet
        self.cell = cell


class LibreOfficeFailed(Exception):
    """LibreOffice or the worker failed (not a refusal): crash, timeout, nothing written."""

    def __init__(self, message: str, ended: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.ended = tuple(ended)  # process groups ended after a timeout


@dataclass
class Outcome:
    job: Job
    ok: bool
    seconds: float = 0.0
    error: str = ""  # refused | failed
    reason: str = ""
    message: str = ""
    sheet: str = ""
    cell: str = ""

    def check(self) -> Path:
        """The written file; raises `Refused` or `LibreOfficeFailed` when there is none."""
        if self.ok:
            if not self.job.dst.is_file():
                raise LibreOfficeFailed(f"{self.job.dst} was reported written but does not exist")
            return self.job.dst
        if self.error == "refused":
            raise Refused(self.reason, self.message, self.sheet, self.cell)
        raise LibreOfficeFailed(f"{self.job.op} {self.job.src.name}: {self.message}")


@dataclass
class Batch:
    outcomes: list[Outcome]
    version: str
    start_seconds: float  # soffice start until UNO answered
    seconds: float  # the whole batch, worker start to soffice ended
    soffice_group: int  # the process group soffice ran in (ended when the batch returns)
    log: str = field(default="", repr=False)


def run_batch(jobs: Sequence[Job], *, start_timeout: float = START_TIMEOUT,
              step_timeout: float = STEP_TIMEOUT) -> Batch:
    """Run ``jobs`` in one LibreOffice: one soffice start, its own profile, then ended.

    The worker reports each job as it finishes; if soffice takes more than ``start_timeout``
    to answer or any one job more than ``step_timeout``, the worker and soffice are ended by
    their process groups and `LibreOfficeFailed` says which job hung.
    """
    require()
    soffice = soffice_path()
    assert soffice is not None
    with tempfile.TemporaryDirectory(prefix="nakano-xl-lo-") as tmp:
        workdir = Path(tmp)
        jobs_path = workdir / "jobs.json"
        results_path = workdir / "results.jsonl"
        results_path.touch()
        jobs_path.write_text(json.dumps({"soffice": soffice, "jobs": [j.to_json() for j in jobs]},
                                        ensure_ascii=False), encoding="utf-8")
        started = time.monotonic()
        with (workdir / "worker.log").open("wb") as log:
            # -I: Debian's python3 must not see this project's PYTHONPATH, venv or user site.
            worker = subprocess.Popen(
                [uno_python(), "-I", str(WORKER), str(jobs_path), str(results_path), str(workdir)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            events = _watch(worker, results_path, len(jobs), start_timeout, step_timeout, workdir)
        seconds = time.monotonic() - started
        log_text = _tail(workdir / "worker.log") + _tail(workdir / "soffice.log")
    by_job = {e["job"]: e for e in events if "job" in e}
    ready = next((e for e in events if e.get("event") == "ready"), None)
    crashed = next((e for e in events if e.get("event") == "crashed"), None)
    if ready is None or crashed is not None or worker.returncode != 0:
        why = crashed["message"] if crashed else f"worker exited with {worker.returncode}"
        raise LibreOfficeFailed(f"LibreOffice batch failed: {why}\n{log_text}")
    outcomes = []
    for index, job in enumerate(jobs):
        e = by_job.get(index)
        if e is None:
            raise LibreOfficeFailed(f"no result for job {index} ({job.op} {job.src.name})\n{log_text}")
        outcomes.append(Outcome(job, bool(e["ok"]), float(e.get("seconds", 0.0)), e.get("error", ""),
                                e.get("reason", ""), e.get("message", ""), e.get("sheet", ""), e.get("cell", "")))
    group = next(e["pgid"] for e in events if e.get("event") == "soffice")
    return Batch(outcomes, str(ready.get("version", "")), float(ready.get("seconds", 0.0)), seconds, group,
                 log_text)


def _read_events(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    # A line being written has no newline yet; read it next time.
    return [json.loads(line) for line in text.split("\n")[:-1] if line.strip()]


def _watch(worker: subprocess.Popen, results: Path, count: int, start_timeout: float,
           step_timeout: float, workdir: Path) -> list[dict]:
    """Wait for the worker, ending it (and its soffice) when a step outlives its timeout."""
    seen = 0
    last_progress = time.monotonic()
    events: list[dict] = []
    while True:
        done = worker.poll() is not None
        events = _read_events(results)
        if len(events) > seen:
            seen = len(events)
            last_progress = time.monotonic()
        if done:
            return events
        ready = any(e.get("event") == "ready" for e in events)
        limit = step_timeout if ready else start_timeout
        if time.monotonic() - last_progress > limit:
            jobs_done = sum(1 for e in events if "job" in e)
            ended = _end(worker, results)
            what = f"job {jobs_done} of {count}" if ready else "the soffice start"
            raise LibreOfficeFailed(f"{what} took more than {limit:g} s; LibreOffice was ended\n"
                                    + _tail(workdir / "worker.log") + _tail(workdir / "soffice.log"), ended)
        time.sleep(0.1)


def _end(worker: subprocess.Popen, results: Path) -> list[int]:
    """End the worker's process group, then soffice's: both were started here, in groups of their own."""
    try:
        os.killpg(worker.pid, signal.SIGTERM)  # the worker ends its soffice on SIGTERM
        worker.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    # Read the events again: soffice may have started since the caller last looked.
    soffice = next((e["pgid"] for e in _read_events(results) if e.get("event") == "soffice"), None)
    groups = [g for g in (worker.pid, soffice) if g]
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    worker.wait()
    return groups


def _tail(path: Path, size: int = 2000) -> str:
    if not path.is_file():
        return ""
    data = path.read_bytes()[-size:].decode("utf-8", "replace").strip()
    return f"--- {path.name} ---\n{data}\n" if data else ""


# -- a department's answers as edits ----------------------------------------------------

def answer_edits(workbook: Path, answers: Mapping[str, Mapping[str, str]], template: Template) -> list[Edit]:
    """The cells a department types its ``answers`` ({item_id: {field: text}}) into.

    Rows are found by their item id, as a person finds them by their text; blank answers are
    not typed. Field names are those of `nakano_xl.model.ANSWER_FIELDS`.
    """
    sheet_name = template.input["answer_sheet"]
    sheet = openpyxl.load_workbook(workbook, read_only=True)[sheet_name]
    cols = InputColumns.of(template)
    rows: dict[str, int] = {}
    for row_no, row in enumerate(sheet.iter_rows(min_row=FIRST_ROW, max_col=cols.item_id, values_only=True),
                                 start=FIRST_ROW):
        if row[-1]:
            rows[str(row[-1])] = row_no
    edits = []
    for item_id, values in answers.items():
        for key, text in values.items():
            if key not in ANSWER_FIELDS:
                raise KeyError(f"{key} is not an answer field")
            if text:
                edits.append(Edit(sheet_name, a1(rows[item_id], cols.col(key)), text))
    return edits
