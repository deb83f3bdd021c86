"""export: the consolidated result as open data (CSV, JSON) and as a PDF of 別紙1 and 集計.

Reads the workspace and its inbox; writes one file, ``output/別紙1_<year>.csv|.json|.pdf``
(the name comes from the template), atomically.

The rows are those of 別紙1, all of them and in plan order, 再掲 rows included and shown as
別紙1 shows them (blank as published, or copied under ``reprint_display = "copy"``): item id,
実施内容番号, 実施内容, 事業内容, the five answers with the year's wording, 所管課 and 再掲元.

**CSV** is UTF-8 with a BOM (so that Excel reads it as UTF-8) and CRLF line ends. A cell whose
text a spreadsheet would take for a formula — text starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return — is written with an apostrophe ``'`` in front of it, so that opening
the file can never run a formula a department typed (CSV injection; `csvtext.neutralise`, the
rule of every CSV we write). The one exception is a lone ``-``, which the report itself prints
as "nothing planned" and which no spreadsheet takes for a formula. Text that already starts
with ``'`` gets one more, so the rule can be undone without guessing: to get the original text
back, remove one leading ``'`` from every cell that starts with one. Being open data, this CSV
has exactly 別紙1's columns (no `csvtext.GUARD_COLUMN`). The JSON export is not for spreadsheets
and carries the text unchanged.

**PDF** goes through LibreOffice headless (``soffice --convert-to pdf``), with a profile of its
own in a temporary folder (a second soffice on a shared profile silently hands its job to the
first), a timeout, and the process ended by its own process group so nothing lingers. The PDF
is not byte-identical from run to run (LibreOffice stamps its date into it); the CSV and JSON
are.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import signal
import subprocess
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from defusedxml import ElementTree

from .consolidate import Consolidation, consolidate
from .csvtext import neutralise
from .errors import NakanoError
from .lock import locked
from .report import EXCEL, ColumnMetrics, progress_rows, write_report
from .workspace import Workspace
from .xlsx.files import write_atomically, write_text_atomically
from .xlsx.writer import finish, new_workbook

FORMATS = ("csv", "json", "pdf")
# Keys of an exported row, in column order; the headers come from the template.
KEYS = ("item_id", "section_code", "section_title", "content", "status", "reason", "results_to_date",
        "plan_next_year", "plan_later", "departments", "reprint_of")
SOFFICE_ENV = "NAKANO_XL_SOFFICE"
PDF_TIMEOUT = 180  # seconds per soffice run: far more than a conversion takes, so only a hang hits it

Progress = Callable[[int, int], None]


@dataclass
class Export:
    path: Path
    rows: int  # 別紙1 rows exported (the PDF holds the same rows)
    result: Consolidation


def export_path(ws: Workspace, fmt: str) -> Path:
    name = ws.template.report["export"]["file"].format_map(ws.template.texts(ws.year))
    return ws.output / f"{name}.{fmt}"


@locked("export")
def export_report(ws: Workspace, fmt: str, *, output: Path | None = None, progress: Progress | None = None,
                  timeout: float = PDF_TIMEOUT, workers: int = 1) -> Export:
    """Consolidate the inbox in memory and write it as ``fmt`` (csv, json or pdf); ``workers``:
    processes reading the inbox.

    >>> export_report(open_workspace(Path("令和3年度")), "csv").path  # doctest: +SKIP
    PosixPath('令和3年度/output/別紙1_R3.csv')
    """
    if fmt not in FORMATS:
        raise NakanoError(f"書き出し形式「{fmt}」には対応していません（{' / '.join(FORMATS)}）。")
    soffice = find_soffice() if fmt == "pdf" else None  # before the work: say what is missing first
    # The export re-runs the consolidation in memory instead of reading output/answers_<year>.csv:
    # that file holds only the answered items (no 再掲 rows, sections or 所管課), may be older
    # than the inbox or edited by hand, and would need `consolidate` first. From the inbox, the
    # export always equals what `consolidate` writes for the same inbox, and writes nothing else.
    result = consolidate(ws, progress=progress, write=False, workers=workers)
    target = output or export_path(ws, fmt)
    rows = export_rows(ws, result)
    if fmt == "csv":
        write_text_atomically(target, rows_csv(ws, rows), bom=True)
    elif fmt == "json":
        write_text_atomically(target, rows_json(ws, result, rows))
    else:
        assert soffice is not None
        def published(metrics: ColumnMetrics) -> bytes:
            return write_report(ws, result.answers, result.counts, result.findings, result.status.departments,
                                review=False, metrics=metrics, kpis=result.kpis)

        write_atomically(target, convert_to_pdf(soffice, published, timeout=timeout))
    return Export(target, len(rows), result)


def export_rows(ws: Workspace, result: Consolidation) -> list[dict[str, str]]:
    """The rows of 別紙1 by key (``KEYS``), as printed, with item ids."""
    out = []
    for row in progress_rows(ws, result.answers):
        item = row.item
        out.append({
            "item_id": item.item_id,
            "section_code": item.section_code,
            "section_title": item.section_title,
            **{k: row.cells[k] for k in ("content", "status", "reason", "results_to_date", "plan_next_year",
                                         "plan_later", "departments")},
            "reprint_of": item.reprint_of or "",
        })
    return out


def headers(ws: Workspace) -> dict[str, str]:
    """Column headers by key: 別紙1's (with the year's wording) and the export's own."""
    tmpl = ws.template
    spec = tmpl.report["export"]
    printed = {c.key: h for c, h in zip(tmpl.columns, tmpl.headers(ws.year))}
    return {
        "item_id": tmpl.report["item_id_header"],
        "section_code": spec["section_code_header"],
        "section_title": spec["section_title_header"],
        **{k: printed[k] for k in KEYS if k in printed and k != "section"},
        "reprint_of": spec["reprint_of_header"],
    }


def rows_csv(ws: Workspace, rows: list[dict[str, str]]) -> str:
    names = headers(ws)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([names[k] for k in KEYS])
    for row in rows:
        writer.writerow([neutralise(row[k]) for k in KEYS])
    return out.getvalue()


def rows_json(ws: Workspace, result: Consolidation, rows: list[dict[str, str]]) -> str:
    doc = {
        "title": ws.settings.title,
        "plan": ws.template.plan_title,
        "year": ws.year.code,
        "year_label": ws.year.label,
        "created": ws.settings.created.isoformat(),
        "columns": [{"key": k, "header": h} for k, h in headers(ws).items()],
        "counts": {status.mark: n for status, n in result.counts.items()},
        "rows": rows,
    }
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


# --- PDF through LibreOffice ---------------------------------------------------------------


def find_soffice() -> Path:
    """The LibreOffice program: ``$NAKANO_XL_SOFFICE``, else on PATH, else where installers put it."""
    configured = os.environ.get(SOFFICE_ENV)
    if configured:
        path = Path(configured)
        if path.is_file():
            return path
        raise NakanoError(f"環境変数 {SOFFICE_ENV} に指定された {path} が見つかりません。"
                          "LibreOffice の soffice のパスを指定し直してください。")
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return Path(found)
    candidates = [Path("/Applications/LibreOffice.app/Contents/MacOS/soffice")]
    for var in ("ProgramFiles", "ProgramFiles(x86)"):
        if os.environ.get(var):
            candidates.append(Path(os.environ[var]) / "LibreOffice" / "program" / "soffice.exe")
    for path in candidates:
        if path.is_file():
            return path
    raise NakanoError(
        "PDF の書き出しには LibreOffice が必要ですが、見つかりません。"
        "LibreOffice（https://ja.libreoffice.org/ 、Debian/Ubuntu では "
        "sudo apt-get install libreoffice-calc fonts-noto-cjk）をインストールしてください。"
        f"標準以外の場所にある場合は、環境変数 {SOFFICE_ENV} に soffice のパスを指定してください。"
        "CSV と JSON の書き出しには LibreOffice は要りません。"
    )


def convert_to_pdf(soffice: Path, workbook: bytes | Callable[[ColumnMetrics], bytes], *,
                   timeout: float = PDF_TIMEOUT) -> bytes:
    """The PDF LibreOffice makes of ``workbook`` (every sheet, each with its own page setup).

    ``workbook`` may be a function of the column metrics: it is then called with LibreOffice's
    own, measured first (`measure_columns`), so that the pages are laid out for the program
    that prints them.
    """
    with tempfile.TemporaryDirectory(prefix="nakano-xl-pdf-") as tmp_name:
        tmp = Path(tmp_name)
        profile = tmp / "profile"  # one for both runs: the second starts faster
        if callable(workbook):
            workbook = workbook(measure_columns(soffice, tmp, profile, timeout))
        return convert(soffice, workbook, "pdf", tmp, profile, timeout)


def convert(soffice: Path, data: bytes, fmt: str, tmp: Path, profile: Path, timeout: float) -> bytes:
    """``soffice --convert-to fmt`` of an .xlsx, in the folder ``tmp`` with the profile ``profile``."""
    # An ASCII name: soffice under a C locale cannot open a file named 別紙1_R3.xlsx.
    source = tmp / "report.xlsx"
    source.write_bytes(data)
    outdir = tmp / fmt
    command = [str(soffice), f"-env:UserInstallation={profile.resolve().as_uri()}",
               "--headless", "--norestore", "--nolockcheck", "--nodefault",
               "--convert-to", fmt, "--outdir", str(outdir), str(source)]
    returncode, detail = run_soffice(command, timeout, tmp / f"soffice-{fmt}.log")
    result = outdir / f"report.{fmt}"
    # soffice exits 0 even when it wrote nothing: the file is the only proof.
    if not result.is_file() or result.stat().st_size == 0:
        raise NakanoError(f"LibreOffice が {fmt.upper()} を書き出せませんでした（終了コード {returncode}: {detail}）。")
    return result.read_bytes()


CALIBRATION_WIDTHS = (10.0, 100.0)
_UNITS = {"in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4, "pt": 96 / 72, "pc": 16.0}
_ODF = {"style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
        "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0"}


def measure_columns(soffice: Path, tmp: Path, profile: Path, timeout: float) -> ColumnMetrics:
    """How this LibreOffice sizes columns, which depends on the fonts it has (`ColumnMetrics`).

    A workbook with two columns of known widths goes to ODS, which stores widths in inches;
    the two give the line. When anything goes wrong the Excel layout is used: pages then
    print less full, but nothing is cut.
    """
    workbook, buffer = new_workbook(dt.datetime(2000, 1, 1))
    sheet = workbook.add_worksheet()
    for col, width in enumerate(CALIBRATION_WIDTHS):
        sheet.set_column(col, col, width)
    sheet.write_string(0, 0, "0")
    try:
        ods = convert(soffice, finish(workbook, buffer), "ods", tmp, profile, timeout)
        with zipfile.ZipFile(io.BytesIO(ods)) as z:
            root = ElementTree.fromstring(z.read("content.xml"))
        widths = {}
        for style in root.iter(f"{{{_ODF['style']}}}style"):
            props = style.find(f"{{{_ODF['style']}}}table-column-properties")
            if props is not None:
                widths[style.get(f"{{{_ODF['style']}}}name")] = props.get(f"{{{_ODF['style']}}}column-width")
        columns = [c.get(f"{{{_ODF['table']}}}style-name") for c in root.iter(f"{{{_ODF['table']}}}table-column")]
        narrow, wide = (length_pixels(widths[name]) for name in columns[:2])
    except (NakanoError, KeyError, ValueError, zipfile.BadZipFile, ElementTree.ParseError):
        return EXCEL
    per_char = (wide - narrow) / (CALIBRATION_WIDTHS[1] - CALIBRATION_WIDTHS[0])
    if not 3 < per_char < 20:  # not a measurement we can trust
        return EXCEL
    return ColumnMetrics(per_char=per_char, extra=narrow - per_char * CALIBRATION_WIDTHS[0])


def length_pixels(length: str) -> float:
    """"1.0417in" → 100.0 (pixels of 1/96 inch)."""
    for unit, px in _UNITS.items():
        if length.endswith(unit):
            return float(length[: -len(unit)]) * px
    raise ValueError(length)


def run_soffice(command: list[str], timeout: float, log: Path) -> tuple[int, str]:
    """Run soffice in a process group of its own; end the whole group, whatever happens.

    Its output goes to ``log``, not to pipes: a helper process that inherited a pipe would keep
    a reader waiting after soffice itself has ended.
    """
    if os.name == "nt":
        group = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}  # type: ignore[attr-defined]
    else:
        group = {"start_new_session": True}
    with log.open("wb") as out:
        try:
            proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    **group)  # type: ignore[call-overload]
        except OSError as e:
            raise NakanoError(f"LibreOffice（{command[0]}）を起動できません（{e}）。") from None
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise NakanoError(f"LibreOffice が {timeout:g} 秒以内に PDF を書き出しませんでした。"
                              "ほかの LibreOffice を閉じてから、もう一度実行してください。") from None
        finally:
            # soffice.bin may outlive the launcher that started it: end what is left of the group.
            end_process_group(proc)
    lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return proc.returncode, lines[-1] if lines else ""


def end_process_group(proc: subprocess.Popen[bytes]) -> None:
    if os.name == "nt":
        if proc.poll() is None:
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True, check=False)
    else:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the group id is the pid: start_new_session above
        except (ProcessLookupError, PermissionError):
            pass  # the group has already ended
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass  # not ours to wait for any longer; the temporary folder is removed regardless
