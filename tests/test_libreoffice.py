"""LibreOffice Calc as the departments' real client: it fills, re-saves and renders.

Files written and read back by the same Python library prove little: Excel and LibreOffice
rewrite a workbook when they save it. Here every department workbook of the FY R3 sample goes
through LibreOffice Calc (tests/lo: UNO, driven from Debian's python3) and the product must
read what comes back exactly as it reads the Python-filled files.

All LibreOffice work of this module runs in one batch, one soffice start (the ``calc``
fixture); the tests then look at the files it left. Without LibreOffice they skip with the
reason, and fail instead where ``NAKANO_XL_REQUIRE_LIBREOFFICE=1`` (CI).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest

from nakano_xl.answers import load_answers
from nakano_xl.consolidate import Consolidation, consolidate
from nakano_xl.fill import fill_workbook
from nakano_xl.findings import Severity
from nakano_xl.intake import read_file
from nakano_xl.layout import FIRST_ROW, HEADER_ROW, InputColumns
from nakano_xl.model import ANSWER_FIELDS
from nakano_xl.report import header_row
from nakano_xl.workspace import Workspace, open_workspace
from nakano_xl.xlsx.cells import a1
from nakano_xl.xlsx.reader import XlsxFile

from . import lo

# What a department may type into the text-formatted answer cells; Calc must keep each as typed
# (a number, a formula, a date or a boolean if the cells were not formatted as text).
TRICKY_TEXTS = ("46", "0012", "=1+1", "2022/4/1", "1,000", "50%", "TRUE", "1行目\n2行目", "-")


@dataclass
class CalcRun:
    """What the one LibreOffice batch of this module produced."""

    batch: lo.Batch
    filled: dict[str, lo.Outcome]  # department → its workbook filled in Calc with the FY R3 answers
    resaved: dict[str, lo.Outcome]  # department → its distributed workbook opened and saved by Calc
    tricky: lo.Outcome  # TRICKY_TEXTS typed into one department's answer cells
    tricky_answers: dict[str, dict[str, str]]
    refusals: dict[str, lo.Outcome]
    allowed: dict[str, lo.Outcome]  # edits next to the refused ones that Calc allows
    pdf: lo.Outcome


def tricky_answers(ws: Workspace, department: str) -> dict[str, dict[str, str]]:
    """TRICKY_TEXTS spread over a department's answer cells, with valid marks."""
    items = ws.plan.items_for(department)
    texts = list(TRICKY_TEXTS)
    answers = {}
    for item, mark in zip(items, ("○", "×", "△")):
        row = {"status": mark}
        for key in ANSWER_FIELDS[1:]:
            row[key] = texts.pop(0) if texts else "記入済み"
        answers[item.item_id] = row
    assert not texts, "the department has too few rows for every tricky text"
    return answers


@pytest.fixture(scope="module")
def calc(demo, sample, tmp_path_factory, request) -> CalcRun:
    lo.require()
    ws = demo.workspace
    root = tmp_path_factory.mktemp("libreoffice")
    answers = load_answers(sample / "answers_r3.csv", ws.plan)
    answer_sheet = ws.template.input["answer_sheet"]
    cols = InputColumns.of(ws.template)
    jobs: list[lo.Job] = []

    # Every department fills its own workbook with its published answers, saved under a new
    # Japanese name (as in the demo: <課>_回答.xlsx), the way a person does Save As.
    fill_jobs: dict[str, lo.Job] = {}
    for department, path in demo.distribution.files.items():
        mine = {i.item_id: answers[i.item_id].cells() for i in ws.plan.items_for(department)
                if i.item_id in answers}
        fill_jobs[department] = lo.save_job(path, root / "filled" / f"{path.stem}_回答.xlsx",
                                            lo.answer_edits(path, mine, ws.template))
    # Every distributed workbook opened and saved unchanged, with a view as on a person's screen.
    resave_jobs = {d: lo.save_job(p, root / "resaved" / p.name, view=True)
                   for d, p in demo.distribution.files.items()}
    jobs += [*fill_jobs.values(), *resave_jobs.values()]

    department = "情報システム課"
    source = demo.distribution.files[department]
    tricky = tricky_answers(ws, department)
    tricky_job = lo.save_job(source, root / "tricky" / f"{source.stem}_回答.xlsx",
                             lo.answer_edits(source, tricky, ws.template))
    jobs.append(tricky_job)

    status = a1(FIRST_ROW, cols.col("status"))
    report = ws.report_path()
    report_sheet = ws.template.report["sheet"]
    merged = _first_merged_range(report, report_sheet)
    covered = f"A{merged[0] + 1}"  # the second cell of a merged section cell
    attempts = {
        "fixed cell": (source, [lo.Edit(answer_sheet, f"B{FIRST_ROW}", "書き換え")]),
        "item id": (source, [lo.Edit(answer_sheet, a1(FIRST_ROW, cols.item_id), "P999")]),
        "header": (source, [lo.Edit(answer_sheet, a1(HEADER_ROW, cols.col("status")), "見出し")]),
        "instructions": (source, [lo.Edit(ws.template.input["instructions_sheet"], "B3", "x")]),
        "mark 〇 U+3007": (source, [lo.Edit(answer_sheet, status, "〇")]),
        "mark Z": (source, [lo.Edit(answer_sheet, status, "Z")]),
        "hidden metadata": (source, [lo.Edit(ws.template.input["metadata_sheet"], "B2", "総務課")]),
        "under a merge": (report, [lo.Edit(report_sheet, covered, "x")]),
        # Good edits first, then a refused one: the file must not be saved at all.
        "after good edits": (source, [lo.Edit(answer_sheet, status, "◎"),
                                      lo.Edit(answer_sheet, f"A{FIRST_ROW}", "x")]),
    }
    refusal_jobs = {name: lo.save_job(src, root / "refused" / f"{n}.xlsx", edits)
                    for n, (name, (src, edits)) in enumerate(attempts.items())}
    jobs += refusal_jobs.values()
    allowed_jobs = {
        "mark ◎": lo.save_job(source, root / "allowed" / "mark.xlsx", [lo.Edit(answer_sheet, status, "◎")]),
        "merge top-left": lo.save_job(report, root / "allowed" / "merge.xlsx",
                                      [lo.Edit(report_sheet, f"A{merged[0]}", "x")]),
    }
    jobs += allowed_jobs.values()
    pdf_job = lo.pdf_job(report, root / "pdf" / f"{report.stem}.pdf", sheets=[report_sheet])
    jobs.append(pdf_job)

    batch = lo.run_batch(jobs)
    by_job = {id(o.job): o for o in batch.outcomes}
    kinds: dict[str, list[float]] = {}
    for o in batch.outcomes:
        kind = "refused" if o.error == "refused" else o.job.op if o.job.op == "pdf" else \
            "fill" if o.job.edits else "re-save"
        kinds.setdefault(kind, []).append(o.seconds)
    each = ", ".join(f"{k} {len(t)}× {sum(t) / len(t):.2f} s" for k, t in kinds.items())
    say(request, f"{batch.version}: one soffice start ({batch.start_seconds:.1f} s) for "
                 f"{len(jobs)} jobs ({each}), {batch.seconds:.1f} s in all")
    return CalcRun(
        batch=batch,
        filled={d: by_job[id(job)] for d, job in fill_jobs.items()},
        resaved={d: by_job[id(job)] for d, job in resave_jobs.items()},
        tricky=by_job[id(tricky_job)], tricky_answers=tricky,
        refusals={name: by_job[id(job)] for name, job in zip(attempts, refusal_jobs.values())},
        allowed={name: by_job[id(job)] for name, job in allowed_jobs.items()},
        pdf=by_job[id(pdf_job)],
    )


def say(request: pytest.FixtureRequest, line: str) -> None:
    """One line in pytest's output, past output capture: CI's log shows that Calc really ran."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        if request.config.get_verbosity() < 0:
            reporter.write("\n")  # -q: the progress dots have no line of their own to end
        reporter.write_line(line)


def _first_merged_range(path: Path, sheet: str) -> tuple[int, int]:
    ranges = openpyxl.load_workbook(path)[sheet].merged_cells.ranges
    first = min((r for r in ranges if r.min_col == 1), key=lambda r: r.min_row)
    return first.min_row, first.max_row


def consolidate_copy(ws: Workspace, files: list[Path], root: Path) -> tuple[Workspace, Consolidation]:
    """A copy of the workspace (same key, same distribution) whose inbox holds ``files``."""
    shutil.copytree(ws.root, root, ignore=shutil.ignore_patterns("inbox", "output"))
    (root / "inbox").mkdir()
    for path in files:
        shutil.copyfile(path, root / "inbox" / path.name)
    copy = open_workspace(root)
    return copy, consolidate(copy)


def sheet_values(path: Path, sheet: str) -> list[tuple]:
    return [tuple(row) for row in openpyxl.load_workbook(path)[sheet].iter_rows(values_only=True)]


def written(outcome: lo.Outcome) -> Path:
    """The file LibreOffice wrote for a job that must have succeeded."""
    return outcome.check()


# -- fill in Calc, consolidate ---------------------------------------------------------------

@pytest.fixture(scope="module")
def lo_result(calc, demo, tmp_path_factory) -> tuple[Workspace, Consolidation]:
    return consolidate_copy(demo.workspace, [written(o) for o in calc.filled.values()],
                            tmp_path_factory.mktemp("lo-filled") / "令和3年度")


def test_workbooks_filled_in_calc_consolidate_to_the_published_counts(lo_result):
    ws, result = lo_result
    assert {s.mark: n for s, n in result.counts.items()} == {"◎": 97, "○": 4, "△": 1, "×": 1}
    assert sorted(s.department for s in result.inbox.used()) == sorted(ws.plan.departments())
    assert not [f for f in result.findings if f.severity is Severity.ERROR]


def test_workbooks_filled_in_calc_give_the_same_report_as_the_python_path(lo_result, demo):
    ws, result = lo_result
    python_report, calc_report = demo.workspace.report_path(), ws.report_path()
    sheet = ws.template.report["sheet"]
    calc_rows = sheet_values(calc_report, sheet)
    assert len(calc_rows) - header_row(ws) == 124
    assert calc_rows == sheet_values(python_report, sheet)
    summary = ws.template.summary["sheet"]
    assert sheet_values(calc_report, summary) == sheet_values(python_report, summary)
    # The same findings (the seven unmarked rows, the △ without a reason), at the same cells
    # of files with the same names.
    key = [(f.code, f.severity, f.file, f.cell, f.item_id) for f in result.findings]
    assert key == [(f.code, f.severity, f.file, f.cell, f.item_id) for f in demo.result.findings]
    assert (ws.output / "answers_R3.csv").read_bytes() == (demo.workspace.output / "answers_R3.csv").read_bytes()


def test_text_typed_in_calc_is_read_back_exactly_as_typed(calc, demo, tmp_path):
    """'46', '=1+1', '2022/4/1' … typed into the text-formatted answer cells stay text."""
    ws = demo.workspace
    path = written(calc.tricky)
    sub, findings, _ = read_file(path, path.name, ws=ws, limits=ws.settings.limits)
    assert sub is not None and not [f for f in findings if f.severity is Severity.ERROR]
    typed = {item_id: {k: v for k, v in sub.answers[item_id].cells().items()}
             for item_id in calc.tricky_answers}
    assert typed == calc.tricky_answers
    # The same values typed by the Python path read back the same.
    python_copy = tmp_path / path.name
    fill_workbook(demo.distribution.files["情報システム課"], python_copy, calc.tricky_answers, ws.template)
    python_sub, _, _ = read_file(python_copy, python_copy.name, ws=ws, limits=ws.settings.limits)
    assert python_sub is not None
    assert {i: python_sub.answers[i] for i in calc.tricky_answers} == {i: sub.answers[i] for i in calc.tricky_answers}
    # And Calc stored them as strings, not as numbers, dates, booleans or formulas.
    sheet = openpyxl.load_workbook(path)[ws.template.input["answer_sheet"]]
    cells = [c for row in sheet.iter_rows(min_row=FIRST_ROW) for c in row if c.value in TRICKY_TEXTS]
    assert sorted(c.value for c in cells) == sorted(TRICKY_TEXTS)
    assert {c.data_type for c in cells} == {"s"}
    # … in cells that are still unlocked, as the product's reader sees them.
    with XlsxFile(path) as book:
        read = book.read_sheet(book.sheet(ws.template.input["answer_sheet"]))
        assert {read.get(c.row, c.column).kind for c in cells} == {"text"}
        assert not any(read.is_locked(c.row, c.column) for c in cells)


# -- a plain re-save -------------------------------------------------------------------------

def protection_of(sheet) -> tuple:
    p = sheet.protection
    return (p.sheet, p.objects, p.scenarios, p.formatCells, p.formatColumns, p.formatRows,
            p.insertRows, p.deleteRows, p.selectLockedCells, p.selectUnlockedCells)


def test_calc_resave_keeps_dropdown_protection_answer_cells_and_metadata(calc, demo):
    tmpl = demo.workspace.template
    answer, instructions, meta = (tmpl.input[k] for k in ("answer_sheet", "instructions_sheet", "metadata_sheet"))
    cols = InputColumns.of(tmpl)
    answer_cols = {cols.col(k) for k in ANSWER_FIELDS}
    for department, original_path in demo.distribution.files.items():
        before = openpyxl.load_workbook(original_path)
        resaved = written(calc.resaved[department])
        after = openpyxl.load_workbook(resaved)
        # The coordinator's workbook also carries the 成果指標 sheet for the year's KPI actuals.
        kpi = [tmpl.input["kpi_sheet"]] if department == demo.workspace.settings.coordinator else []
        assert after.sheetnames == before.sheetnames == [answer, instructions, *kpi, meta], department
        for name in (answer, instructions, *kpi):
            assert after[name].sheet_state == "visible"
            assert sheet_values_of(after[name]) == sheet_values_of(before[name]), (department, name)
            assert protection_of(after[name]) == protection_of(before[name]), (department, name)
            assert after[name].protection.sheet
        # The metadata: very hidden becomes hidden (accepted), its rows and protection kept.
        assert before[meta].sheet_state == "veryHidden"
        assert after[meta].sheet_state == "hidden"
        assert sheet_values_of(after[meta]) == sheet_values_of(before[meta])
        assert after[meta].protection.sheet
        # The ◎/○/△/× dropdown with its stop alert, over the same cells.
        sheet = after[answer]
        [dv] = sheet.data_validations.dataValidation
        [dv_before] = before[answer].data_validations.dataValidation
        assert (dv.type, dv.formula1, dv.errorStyle or "stop", dv.showErrorMessage) == \
            ("list", '"◎,○,△,×"', "stop", True)
        status_cells = {a1(r, cols.col("status")) for r in range(FIRST_ROW, sheet.max_row + 1)}
        assert set(cells_of(dv.sqref)) == set(cells_of(dv_before.sqref)) == status_cells
        assert (dv.error, dv.prompt) == (dv_before.error, dv_before.prompt)
        # Answer cells unlocked, every other cell of the rows locked.
        for row in sheet.iter_rows(min_row=FIRST_ROW, max_col=cols.width):
            unlocked = {c.column for c in row if not c.protection.locked}
            assert unlocked == answer_cols, (department, row[0].row)
        # The red "reason missing" warning and the print setup survive too.
        [cf] = [rule for rng in sheet.conditional_formatting for rule in rng.rules]
        [cf_before] = [rule for rng in before[answer].conditional_formatting for rule in rng.rules]
        assert cf.formula == cf_before.formula
        assert sheet.print_title_rows == before[answer].print_title_rows
        assert sheet.freeze_panes == before[answer].freeze_panes == "C5"
        # The product's own reader sees the same in Calc's spelling (true/false, protection
        # on every style).
        with XlsxFile(resaved) as book:
            assert [(s.name, s.state) for s in book.sheets] == \
                [(answer, "visible"), (instructions, "visible"), *[(k, "visible") for k in kpi], (meta, "hidden")]
            read = book.read_sheet(book.sheet(answer))
            assert read.protected
            for row in range(FIRST_ROW, sheet.max_row + 1):
                assert read.is_locked(row, cols.col("content")) and read.is_locked(row, cols.item_id)


def cells_of(sqref) -> list[str]:
    return [a1(r, c) for rng in sqref.ranges for r, c in rng.cells]


def sheet_values_of(sheet) -> list[tuple]:
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def test_calc_resaved_workbooks_consolidate_without_errors(calc, demo, tmp_path):
    files = {written(outcome).name: department for department, outcome in calc.resaved.items()}
    ws, result = consolidate_copy(demo.workspace, [written(o) for o in calc.resaved.values()],
                                  tmp_path / "令和3年度")
    assert not [f for f in result.findings if f.severity is Severity.ERROR]
    # Every file is identified by its signed metadata, every distributed row is read …
    assert sorted(s.department for s in result.inbox.used()) == sorted(ws.plan.departments())
    for sub in result.inbox.submissions:
        assert list(sub.answers) == [i.item_id for i in ws.plan.items_for(sub.department)]
    # … and found blank: the only findings about the files are the unmarked rows (the plan's
    # own findings, which name no file, aside).
    about_files = [f for f in result.findings if f.file]
    assert {f.code for f in about_files} == {"status.missing"}
    assert all(n == 0 for n in result.counts.values())
    expected = {(name, item.item_id) for name, department in files.items() for item in ws.plan.items_for(department)}
    assert sorted((f.file, f.item_id) for f in about_files) == sorted(expected)


# -- the helper refuses what Calc would refuse -------------------------------------------------

REFUSALS = {
    "fixed cell": "locked",
    "item id": "locked",
    "header": "locked",
    "instructions": "locked",
    "mark 〇 U+3007": "not_in_list",
    "mark Z": "not_in_list",
    "hidden metadata": "hidden_sheet",
    "under a merge": "merged",
    "after good edits": "locked",
}


@pytest.mark.parametrize("attempt", REFUSALS)
def test_calc_helper_refuses_what_a_person_could_not_type(calc, attempt):
    outcome = calc.refusals[attempt]
    with pytest.raises(lo.Refused) as refused:
        outcome.check()
    assert refused.value.reason == REFUSALS[attempt]
    assert not outcome.job.dst.exists()  # nothing saved, not even the edits before the refusal


@pytest.mark.parametrize("attempt", ["mark ◎", "merge top-left"])
def test_calc_helper_types_what_a_person_can(calc, attempt):
    path = calc.allowed[attempt].check()
    job = calc.allowed[attempt].job
    [edit] = job.edits
    assert openpyxl.load_workbook(path)[edit.sheet][edit.cell].value == edit.text


# -- 別紙1 rendered to PDF ---------------------------------------------------------------------

def japanese_fonts() -> set[str]:
    """PostScript names of the installed fonts that cover Japanese, as fontconfig (and so Calc) sees them."""
    out = subprocess.run(["fc-list", ":lang=ja", "postscriptname"], capture_output=True, text=True, check=True).stdout
    return {line.split("=", 1)[1].strip() for line in out.splitlines() if "=" in line}


def pdf_fonts(pdf: Path, page: int) -> list[tuple[str, bool]]:
    """(name without the subset prefix, embedded) of every font a page uses."""
    out = subprocess.run(["pdffonts", "-f", str(page), "-l", str(page), str(pdf)],
                         capture_output=True, text=True, check=True).stdout
    fonts = []
    for line in out.splitlines()[2:]:
        m = re.search(r"\s(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", line)
        if m:
            fonts.append((line.split()[0].split("+", 1)[-1], m.group(1) == "yes"))
    return fonts


def page_text(pdf: Path, page: int) -> str:
    out = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-enc", "UTF-8", str(pdf), "-"],
                         capture_output=True, text=True, check=True).stdout
    return re.sub(r"\s", "", out)


def test_report_exported_to_pdf_by_calc_shows_the_japanese_title_on_every_page(calc, demo):
    lo.require("pdftotext", "pdfinfo", "pdffonts", "fc-list")
    pdf = written(calc.pdf)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))
    assert pages > 1  # 124 rows: the title must come back with the repeated header rows
    title = demo.workspace.template.report["title"]
    assert title == "中野区地域情報化推進計画 進捗状況一覧"
    # pdftotext finds the text even where Calc drew empty boxes for want of a Japanese font,
    # so every page must also be drawn with an embedded font that covers Japanese.
    japanese = japanese_fonts()
    assert japanese, "no font covering Japanese is installed (apt-get install fonts-noto-cjk)"
    for page in range(1, pages + 1):
        assert re.sub(r"\s", "", title) in page_text(pdf, page), f"page {page}"
        fonts = pdf_fonts(pdf, page)
        assert all(embedded for _, embedded in fonts), (page, fonts)
        assert any(name.startswith(tuple(japanese)) for name, _ in fonts), (page, fonts)
    # Only 別紙1 was printed, not the 集計 sheet after it.
    summary = demo.workspace.template.summary
    assert not any(summary["kpi_title"] in page_text(pdf, page) for page in range(1, pages + 1))


# -- LibreOffice is ended --------------------------------------------------------------------

def assert_group_gone(group: int) -> None:
    """No process is left in ``group`` (allowing init a moment to reap what was killed)."""
    for _ in range(50):
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError(f"process group {group} is still running")


def test_soffice_is_ended_when_the_batch_returns(calc):
    assert_group_gone(calc.batch.soffice_group)


def test_a_batch_past_its_timeout_is_ended_with_its_soffice(demo, tmp_path):
    lo.require()
    src = demo.distribution.files["情報システム課"]
    with pytest.raises(lo.LibreOfficeFailed, match="took more than") as failed:
        lo.run_batch([lo.save_job(src, tmp_path / "saved.xlsx")], start_timeout=0)
    assert failed.value.ended  # at least the worker's group; soffice's too once it had started
    for group in failed.value.ended:
        assert_group_gone(group)
    assert not (tmp_path / "saved.xlsx").exists()
