"""Drive LibreOffice Calc headless through UNO: one soffice start, a batch of jobs.

Run by Debian's own ``/usr/bin/python3`` (the only Python that imports ``uno``), never by the
project's interpreter; ``tests/lo/__init__.py`` starts it as a subprocess. Self-contained:
stdlib and uno only.

    /usr/bin/python3 -I uno_worker.py JOBS.json RESULTS.jsonl WORKDIR

JOBS.json: ``{"soffice": "/usr/bin/soffice", "jobs": [job, …]}`` where a job is

    {"op": "save", "src": PATH, "dst": PATH, "edits": [{"sheet": S, "cell": "C5", "text": T}, …],
     "view": false}
    {"op": "pdf", "src": PATH, "dst": PATH, "sheets": [S, …]}

``save`` opens ``src``, types every edit the way a person would and saves the workbook as
``dst`` (.xlsx, filter "Calc MS Excel 2007 XML"); with no edits it is a plain re-save. ``pdf``
exports ``src`` with the filter ``soffice --convert-to pdf`` uses for spreadsheets, only the
given sheets when ``sheets`` is not empty.

RESULTS.jsonl gets one JSON object per line, flushed as soon as it is known, so the caller
can tell progress from a hang: ``{"event": "soffice", "pid": …}`` right after the start,
``{"event": "ready", …}`` once UNO answers, one ``{"job": i, "ok": …}`` per job, then
``{"event": "done"}``. A refused edit gives ``{"ok": false, "error": "refused", "reason":
"locked" | "hidden_sheet" | "merged" | "not_in_list" | "no_sheet", …}`` and nothing is saved.

Why the checks are here: the UNO API writes into locked cells of a protected sheet, into
hidden sheets and under merges, and ignores validation; a person in Calc or Excel is stopped
by all of these. So this worker refuses them itself, as the program would.

LibreOffice facts this relies on (docs/design.md): a second soffice on the same profile
silently hands its work to the first, so every start gets its own profile; under a C locale
non-ASCII file names fail to load through UNO, so files are copied to ASCII names first.
soffice runs in its own process group and is ended by that group, never by name.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import traceback
import uuid
from pathlib import Path

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException

XLSX_FILTER = "Calc MS Excel 2007 XML"
PDF_FILTER = "calc_pdf_Export"
TEXT_FORMAT = 256  # com.sun.star.util.NumberFormat.TEXT: the "@" format
START_TIMEOUT = 60.0


class Refused(Exception):
    """What the program would not let a person do."""

    def __init__(self, reason: str, message: str, **where: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.where = where


def prop(name: str, value: object) -> PropertyValue:
    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


class Results:
    """RESULTS.jsonl, one flushed line per event."""

    def __init__(self, path: Path) -> None:
        self._f = path.open("a", encoding="utf-8")

    def put(self, **data: object) -> None:
        self._f.write(json.dumps(data, ensure_ascii=False) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


class Office:
    """One soffice process with its own profile, reached over a private UNO pipe."""

    def __init__(self, soffice: str, workdir: Path) -> None:
        self.soffice = soffice
        self.workdir = workdir
        self.pipe = "nakanoxl" + uuid.uuid4().hex
        self.proc: subprocess.Popen | None = None
        self.desktop = None
        self.ctx = None

    def start(self, results: Results) -> None:
        profile = self.workdir / "profile"  # a fresh profile: never another soffice's
        profile.mkdir(exist_ok=True)
        log = (self.workdir / "soffice.log").open("wb")
        # No SIGTERM between the start and the record of its process group: whoever ends this
        # worker must know which soffice to end.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        try:
            self.proc = subprocess.Popen(
                [self.soffice, "--headless", "--invisible", "--nologo", "--norestore", "--nolockcheck",
                 "--nodefault", "--nocrashreport", f"-env:UserInstallation={profile.as_uri()}",
                 f"--accept=pipe,name={self.pipe};urp;StarOffice.ComponentContext"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: ended by that group, never by name
            )
            results.put(event="soffice", pid=self.proc.pid, pgid=self.proc.pid)
        finally:
            log.close()  # soffice holds its own copy
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})

    def connect(self) -> None:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                ctx = resolver.resolve(f"uno:pipe,name={self.pipe};urp;StarOffice.ComponentContext")
                break
            except NoConnectException:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise RuntimeError(f"soffice exited with {self.proc.returncode} before accepting UNO")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"soffice did not accept UNO within {START_TIMEOUT:.0f} s")
                time.sleep(0.1)
        self.ctx = ctx
        self.desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)

    def version(self) -> str:
        try:
            provider = self.ctx.ServiceManager.createInstanceWithContext(
                "com.sun.star.configuration.ConfigurationProvider", self.ctx)
            access = provider.createInstanceWithArguments(
                "com.sun.star.configuration.ConfigurationAccess",
                (prop("nodepath", "/org.openoffice.Setup/Product"),))
            return f"{access.getByName('ooName')} {access.getByName('ooSetupVersionAboutBox')}"
        except Exception:
            return "LibreOffice"

    def load(self, path: Path, *, view: bool = False):
        url = uno.systemPathToFileUrl(str(path))
        doc = self.desktop.loadComponentFromURL(url, "_blank", 0, (
            # A hidden document has no real view, and Calc then saves no view settings (frozen
            # panes are lost); with a view (nothing shows under --headless) they are kept, as
            # by a person's Calc, at twice the cost.
            prop("Hidden", not view), prop("ReadOnly", False),
            prop("MacroExecutionMode", 0),  # com.sun.star.document.MacroExecMode.NEVER_EXECUTE
            prop("UpdateDocMode", 0),  # never update links
        ))
        if doc is None:
            raise RuntimeError(f"LibreOffice could not open {path.name}")
        return doc

    def close(self, *, polite: bool = True) -> None:
        """End soffice: ask it to quit (when it answers), then end its process group."""
        if self.proc is None:
            return
        if polite and self.desktop is not None:
            try:
                self.desktop.terminate()
            except Exception:
                pass  # the bridge goes away while terminate() returns: expected
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        kill_group(self.proc.pid)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def close_doc(doc) -> None:
    try:
        doc.close(True)
    except Exception:
        try:
            doc.dispose()
        except Exception:
            pass


# -- typing like a person --------------------------------------------------------------

_QUOTED = re.compile(r'"((?:[^"]|"")*)"')


def list_entries(formula: str) -> list[str] | None:
    """The entries of an inline list (Calc shows it as ``"◎";"○";"△";"×"``), or None."""
    formula = formula.strip()
    entries = [m.group(1).replace('""', '"') for m in _QUOTED.finditer(formula)]
    rest = _QUOTED.sub("", formula).replace(";", "").replace(",", "").strip()
    if not entries or rest:
        return None  # a range reference or a formula: not something this worker evaluates
    return entries


def type_into(doc, sheet_name: str, address: str, text: str) -> None:
    """Type ``text`` into one cell, refusing what Calc or Excel would refuse a person."""
    where = {"sheet": sheet_name, "cell": address}
    sheets = doc.Sheets
    if not sheets.hasByName(sheet_name):
        raise Refused("no_sheet", f"no sheet {sheet_name!r}", **where)
    sheet = sheets.getByName(sheet_name)
    if not sheet.IsVisible:  # hidden and very hidden alike: a person does not see it
        raise Refused("hidden_sheet", f"{sheet_name} is hidden", **where)
    cell = sheet.getCellRangeByName(address)
    cursor = sheet.createCursorByRange(cell)
    cursor.collapseToMergedArea()
    merged = cursor.getRangeAddress()
    here = cell.getCellAddress()
    if (merged.StartColumn, merged.StartRow) != (here.Column, here.Row):
        raise Refused("merged", f"{sheet_name}!{address} lies under a merged range", **where)
    if sheet.isProtected() and cell.CellProtection.IsLocked:
        raise Refused("locked", f"{sheet_name}!{address} is locked on a protected sheet", **where)
    check_validation(cell, text, where)
    number_format = doc.NumberFormats.getByKey(cell.NumberFormat)
    if number_format.Type & TEXT_FORMAT:
        # Calc keeps what is typed into a text-formatted ("@") cell as text: "46" stays "46",
        # "=1+1" stays "=1+1". setFormula would make a number or a formula of it.
        cell.setString(text)
    else:
        # Elsewhere typed input is interpreted: numbers become numbers, "=…" a formula.
        cell.setFormula(text)


def check_validation(cell, text: str, where: dict[str, str]) -> None:
    rule = cell.Validation
    kind = rule.Type.value
    if kind == "ANY" or not rule.ShowErrorMessage or rule.ErrorAlertStyle.value != "STOP":
        return  # no rule, or only a warning/information a person can click through
    if text == "" and rule.IgnoreBlankCells:
        return
    if kind != "LIST":
        raise Refused("validation_unsupported", f"validation {kind} is not checked by this worker", **where)
    entries = list_entries(rule.getFormula1())
    if entries is None:
        raise Refused("validation_unsupported", f"list source {rule.getFormula1()!r} is not inline", **where)
    if text not in entries:
        raise Refused("not_in_list", f"{text!r} is not one of {entries}", **where)


# -- jobs ------------------------------------------------------------------------------

def run_job(office: Office, index: int, job: dict) -> dict:
    src, dst = Path(job["src"]), Path(job["dst"])
    if not src.is_file():
        return {"ok": False, "error": "failed", "message": f"{src} does not exist"}
    # ASCII names for LibreOffice: under a C locale a non-ASCII name fails to load through UNO.
    local_in = office.workdir / f"job{index}_in{src.suffix.lower()}"
    out_suffix = ".pdf" if job["op"] == "pdf" else ".xlsx"
    local_out = office.workdir / f"job{index}_out{out_suffix}"
    shutil.copyfile(src, local_in)
    doc = office.load(local_in, view=bool(job.get("view")))
    try:
        if job["op"] == "save":
            for edit in job.get("edits", []):
                type_into(doc, edit["sheet"], edit["cell"], edit["text"])
            filter_name = XLSX_FILTER
        elif job["op"] == "pdf":
            only = job.get("sheets") or []
            missing = [name for name in only if not doc.Sheets.hasByName(name)]
            if missing:
                return {"ok": False, "error": "failed", "message": f"no sheet {missing}"}
            if only:
                # Hidden sheets are not printed; the document is exported, never saved.
                for sheet in (doc.Sheets.getByIndex(i) for i in range(doc.Sheets.Count)):
                    if sheet.Name not in only:
                        sheet.IsVisible = False
            filter_name = PDF_FILTER
        else:
            return {"ok": False, "error": "failed", "message": f"unknown op {job['op']!r}"}
        target = uno.systemPathToFileUrl(str(local_out))
        args = (prop("FilterName", filter_name), prop("Overwrite", True))
        if job["op"] == "save":
            doc.storeAsURL(target, args)  # File > Save As: stamps the modification date, as a person's save does
        else:
            doc.storeToURL(target, args)  # File > Export
    except Refused as e:
        return {"ok": False, "error": "refused", "reason": e.reason, "message": str(e), **e.where}
    finally:
        close_doc(doc)
    # storeToURL raises when it fails, but check anyway: soffice is known to report success
    # for files it never wrote (--convert-to exits 0).
    if not local_out.is_file() or local_out.stat().st_size == 0:
        return {"ok": False, "error": "failed", "message": f"LibreOffice wrote nothing for {src.name}"}
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(local_out), str(dst))
    local_in.unlink(missing_ok=True)
    return {"ok": True}


def main(argv: list[str]) -> int:
    jobs_path, results_path, workdir = Path(argv[1]), Path(argv[2]), Path(argv[3])
    spec = json.loads(jobs_path.read_text(encoding="utf-8"))
    results = Results(results_path)
    office = None
    ended = []

    def on_term(signum, frame):  # the caller's timeout: leave no soffice behind
        ended.append(signum)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    try:
        started = time.monotonic()
        office = Office(spec.get("soffice", "soffice"), workdir)
        office.start(results)
        office.connect()
        results.put(event="ready", seconds=round(time.monotonic() - started, 2), version=office.version())
        for index, job in enumerate(spec["jobs"]):
            t0 = time.monotonic()
            try:
                outcome = run_job(office, index, job)
            except Exception as e:
                outcome = {"ok": False, "error": "failed", "message": f"{type(e).__name__}: {e}",
                           "traceback": traceback.format_exc()}
            results.put(job=index, seconds=round(time.monotonic() - t0, 2), **outcome)
        results.put(event="done")
        return 0
    except Exception as e:
        results.put(event="crashed", message=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
        return 1
    finally:
        if office is not None:
            office.close(polite=not ended)
        results.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
