"""Exports: CSV and JSON open data, the PDF through LibreOffice, identical bytes.

The CSV is read back with pandas, as a user of the open data would; the PDF with pdftotext,
page by page. Tests that need LibreOffice or poppler skip with the reason when absent.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from nakano_xl.cli import cli
from nakano_xl.consolidate import consolidate
from nakano_xl.distribute import distribute
from nakano_xl.errors import NakanoError
from nakano_xl.export import convert, convert_to_pdf, export_report, length_pixels, measure_columns, neutralise
from nakano_xl.fill import fill_workbook
from nakano_xl.report import EXCEL
from nakano_xl.workspace import open_workspace
from nakano_xl.xlsx.writer import finish, new_workbook

from .helpers import cell_text, find_header_row, header_index, read_csv

ROOT = Path(__file__).resolve().parent.parent
CSV_HEADERS = ["項目ID", "実施内容番号", "実施内容", "事業内容", "進捗状況", "スケジュールの変更理由",
               "令和3年度までの取組状況", "令和4年度取組予定", "令和5年度以降取組予定", "所管課", "再掲元"]
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
has_lo = pytest.mark.skipif(not SOFFICE, reason="LibreOffice (soffice) is not installed")
needs_lo = pytest.mark.skipif(not (SOFFICE and shutil.which("pdftotext")),
                              reason="LibreOffice (soffice) and poppler-utils (pdftotext) are not installed")
posix_only = pytest.mark.skipif(os.name == "nt", reason="the stand-in soffice is a POSIX script")


def read_export_csv(path: Path) -> pd.DataFrame:
    # Every cell as the text written: no NaN for blanks, no numbers for "46".
    return pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def demo_copy(demo, tmp_path_factory):
    """A copy of the demo workspace, so exports here never touch the shared one."""
    root = tmp_path_factory.mktemp("export") / "令和3年度"
    shutil.copytree(demo.workspace.root, root)
    return open_workspace(root)


@pytest.fixture(scope="module")
def csv_export(demo_copy):
    return export_report(demo_copy, "csv")


def test_csv_is_utf8_with_bom_and_one_row_per_row_of_the_report(csv_export, demo_copy, sample):
    data = csv_export.path.read_bytes()
    assert csv_export.path.name == "別紙1_R3.csv"
    assert data.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in data
    frame = read_export_csv(csv_export.path)
    assert list(frame.columns) == CSV_HEADERS
    plan = read_csv(sample / "plan.csv")
    assert len(frame) == len(plan) == 124  # 再掲 rows included
    assert list(frame["項目ID"]) == [r["item_id"] for r in plan]
    assert list(frame["再掲元"]) == [r["reprint_of"] for r in plan]
    assert list(frame["事業内容"]) == [r["content"] for r in plan]
    answers = {r["item_id"]: r for r in read_csv(sample / "answers_r3.csv")}
    for row in frame.to_dict("records"):
        given = answers.get(row["項目ID"], {})
        assert row["進捗状況"] == given.get("status", ""), row["項目ID"]
        assert row["令和4年度取組予定"] == given.get("plan_next_year", ""), row["項目ID"]
    assert (frame["進捗状況"].value_counts()[["◎", "○", "△", "×"]].tolist()) == [97, 4, 1, 1]
    # A lone "-" is printed as the report prints it (P014), not neutralised.
    assert frame.set_index("項目ID").loc["P014", "令和5年度以降取組予定"] == "-"


def test_csv_rows_equal_what_the_report_shows(csv_export, demo_copy):
    """The export and 別紙1 are the same rows: compare cell by cell, by item id."""
    consolidate(demo_copy)
    sheet = openpyxl.load_workbook(demo_copy.report_path())["別紙1"]
    head = find_header_row(sheet, "実施内容")
    cols = header_index(sheet, head)
    shown = {cell_text(sheet, r, cols["項目ID"]): r for r in range(head + 1, sheet.max_row + 1)}
    for row in read_export_csv(csv_export.path).to_dict("records"):
        r = shown[row["項目ID"]]
        for header in CSV_HEADERS[3:10]:
            assert cell_text(sheet, r, cols[header]) == row[header], (row["項目ID"], header)
        label = f"{row['実施内容番号']} {row['実施内容']}".strip()
        assert cell_text(sheet, r, cols["実施内容"]) == label


def test_json_has_the_same_rows_with_item_ids(demo_copy, csv_export):
    done = export_report(demo_copy, "json")
    doc = json.loads(done.path.read_text(encoding="utf-8"))
    assert doc["year"] == "R3" and doc["year_label"] == "令和3年度"
    assert [c["header"] for c in doc["columns"]] == CSV_HEADERS
    keys = [c["key"] for c in doc["columns"]]
    assert keys[0] == "item_id"
    frame = read_export_csv(csv_export.path)
    assert [[row[k] for k in keys] for row in doc["rows"]] == frame.values.tolist()
    assert len({row["item_id"] for row in doc["rows"]}) == 124
    assert doc["counts"] == {"◎": 97, "○": 4, "△": 1, "×": 1}


@pytest.mark.parametrize("text, written", [
    ("=HYPERLINK(\"http://example.com\",\"詳細\")", "'=HYPERLINK(\"http://example.com\",\"詳細\")"),
    ("+81-3-3389-1111", "'+81-3-3389-1111"),
    ("-3%の削減", "'-3%の削減"),
    ("@中野区", "'@中野区"),
    ("\t字下げ", "'\t字下げ"),
    ("\r改行", "'\r改行"),
    ("'既に付いている", "''既に付いている"),
    ("-", "-"),  # as the report prints it
    ("—", "—"),
    ("計画どおり = 100%", "計画どおり = 100%"),
    ("", ""),
])
def test_formula_like_text_is_neutralised_with_an_apostrophe(text, written):
    assert neutralise(text) == written
    assert written.removeprefix("'") == text  # the documented way back


def test_formula_like_answers_round_trip_through_the_csv(tiny_ws):
    """Answers typed by departments come back from the CSV (read with pandas) differing only
    by the one documented apostrophe."""
    ws = tiny_ws
    dist = distribute(ws)
    typed = {
        "戸籍住民課": {"T1": {"status": "◎", "results_to_date": "=HYPERLINK(\"http://example.com\")",
                          "plan_next_year": "-", "plan_later": "+1件"}},
        "職員課": {"T4": {"status": "△", "reason": "@研修担当の異動", "results_to_date": "-20%（前年度比）",
                        "plan_next_year": "\t継続する。"}},
        "情報システム課": {"T2": {"status": "◎", "results_to_date": "'引用'のとおり"},
                     "T3": {"status": "○", "reason": "予算の都合", "results_to_date": "計画どおり"},
                     "T5": {"status": "◎"}},
        "税務課": {"T3": {"status": "○"}},
    }
    for department, rows in typed.items():
        fill_workbook(dist.files[department], ws.inbox / f"{department}.xlsx", rows, ws.template)
    done = export_report(ws, "csv")
    frame = read_export_csv(done.path).set_index("項目ID")
    assert list(frame.index) == ["T1", "T2", "T3", "T4", "T5", "T6"]
    column = {"status": "進捗状況", "reason": "スケジュールの変更理由", "results_to_date": "令和3年度までの取組状況",
              "plan_next_year": "令和4年度取組予定", "plan_later": "令和5年度以降取組予定"}
    neutralised = 0
    for rows in typed.values():
        for item_id, answers in rows.items():
            for key, text in answers.items():
                cell = frame.loc[item_id, column[key]]
                if cell != text:
                    assert cell == "'" + text, (item_id, key, cell)
                    neutralised += 1
    assert neutralised == 6  # =…, +…, @…, -20%, tab, and the apostrophe itself; "-" stays
    assert frame.loc["T1", "令和4年度取組予定"] == "-"
    # The JSON carries the text as typed.
    doc = json.loads(export_report(ws, "json").path.read_text(encoding="utf-8"))
    t4 = next(r for r in doc["rows"] if r["item_id"] == "T4")
    assert t4["reason"] == "@研修担当の異動" and t4["plan_next_year"] == "\t継続する。"


def run_cli(root: Path, *args: str, hashseed: str) -> None:
    """Run nakano-xl in a fresh interpreter with its own hash seed (set order differs)."""
    env = {**os.environ, "PYTHONHASHSEED": hashseed, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "nakano_xl", *args, "-w", str(root), "-q"],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_same_workspace_and_inbox_give_identical_bytes(demo, tmp_path):
    """Two consolidations and exports of the same inbox — in two places, in two interpreters
    with different hash seeds — write byte-identical workbooks, findings, answers, CSV and JSON."""
    outputs = ["別紙1_R3.xlsx", "findings.json", "answers_R3.csv", "別紙1_R3.csv", "別紙1_R3.json"]
    results = []
    for n, seed in enumerate(("1", "2")):
        root = tmp_path / f"copy{n}" / "令和3年度"
        shutil.copytree(demo.workspace.root, root)
        shutil.rmtree(root / "output")
        run_cli(root, "consolidate", hashseed=seed)
        run_cli(root, "export", "--format", "csv", hashseed=seed)
        run_cli(root, "export", "--format", "json", hashseed=seed)
        results.append({name: (root / "output" / name).read_bytes() for name in outputs})
    for name in outputs:
        assert results[0][name] == results[1][name], name
    # … and equal to what the demo itself wrote in-process.
    assert results[0]["別紙1_R3.xlsx"] == demo.workspace.report_path().read_bytes()


def test_help_has_an_example():
    result = CliRunner().invoke(cli, ["export", "--help"])
    assert result.exit_code == 0
    assert "例: nakano-xl export" in result.output
    assert "--format" in result.output


def test_pandas_is_not_loaded_by_the_cli_or_consolidate():
    code = "import sys, nakano_xl.cli, nakano_xl.consolidate, nakano_xl.export; print('pandas' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          check=False)
    assert done.stdout.strip() == "False", done.stderr


# --- PDF ---------------------------------------------------------------------------------


def test_pdf_without_libreoffice_says_what_to_install(demo_copy, monkeypatch, tmp_path):
    monkeypatch.delenv("NAKANO_XL_SOFFICE", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing to find there
    monkeypatch.delenv("ProgramFiles", raising=False)
    monkeypatch.delenv("ProgramFiles(x86)", raising=False)
    if Path("/Applications/LibreOffice.app/Contents/MacOS/soffice").is_file():
        pytest.skip("LibreOffice is installed where the search finds it without PATH")
    result = CliRunner().invoke(cli, ["export", "-w", str(demo_copy.root), "--format", "pdf"])
    assert result.exit_code == 2
    assert "LibreOffice" in result.output and "インストールしてください" in result.output
    assert "Traceback" not in result.output
    assert not (demo_copy.output / "別紙1_R3.pdf").exists()


def stand_in_soffice(tmp_path: Path, body: str) -> Path:
    """An executable that behaves like a failing soffice (the failure modes measured, in
    docs/design.md: exit 0 having written nothing; hanging with a helper process)."""
    path = tmp_path / "soffice"
    path.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body), encoding="utf-8")
    path.chmod(0o755)
    return path


@posix_only
def test_a_pdf_that_was_not_written_leaves_the_previous_one(demo_copy, monkeypatch, tmp_path):
    previous = demo_copy.output / "別紙1_R3.pdf"
    previous.write_bytes(b"%PDF-1.4 previous")
    monkeypatch.setenv("NAKANO_XL_SOFFICE", str(stand_in_soffice(tmp_path, "import sys; sys.exit(0)\n")))
    result = CliRunner().invoke(cli, ["export", "-w", str(demo_copy.root), "--format", "pdf"])
    assert result.exit_code == 2
    assert "PDF を書き出せませんでした" in result.output
    assert previous.read_bytes() == b"%PDF-1.4 previous"
    assert sorted(p.name for p in demo_copy.output.iterdir() if p.name.startswith(".")) == []  # no temp left
    previous.unlink()


@posix_only
def test_a_hanging_soffice_is_ended_with_its_whole_process_group(tmp_path):
    pidfile = tmp_path / "helper.pid"
    soffice = stand_in_soffice(tmp_path, f"""
        import subprocess, sys, time
        helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        open({str(pidfile)!r}, "w").write(str(helper.pid))
        time.sleep(120)
    """)
    with pytest.raises(NakanoError, match="秒以内に PDF を書き出しませんでした"):
        convert_to_pdf(soffice, b"not used", timeout=3)
    helper = int(pidfile.read_text())
    for _ in range(50):  # the kill is sent; give the kernel a moment to reap
        try:
            os.kill(helper, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"helper process {helper} of the stand-in soffice is still running")


def pdf_pages(path: Path) -> list[str]:
    count = int(next(line.split()[-1] for line in subprocess.run(
        ["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()
        if line.startswith("Pages:")))
    return [subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), "-layout", str(path), "-"],
                           capture_output=True, text=True, check=True).stdout for n in range(1, count + 1)]


@needs_lo
def test_pdf_repeats_title_legend_and_header_on_every_page_of_betsushi1(demo_copy, sample):
    done = export_report(demo_copy, "pdf")
    assert done.path.name == "別紙1_R3.pdf"
    assert done.path.read_bytes().startswith(b"%PDF")
    pages = pdf_pages(done.path)
    title = "中野区地域情報化推進計画 進捗状況一覧"
    betsushi = [p for p in pages if title in p]
    summary = [p for p in pages if title not in p]
    # 別紙1 first, then 集計 only: 確認事項 and 提出状況 are for the coordinator, not published.
    assert pages[:len(betsushi)] == betsushi
    assert summary and "各取組の進捗状況（令和3年度）" in summary[0]
    assert not any("重要度" in p or "未回答の行" in p for p in pages)
    for n, page in enumerate(betsushi, start=1):
        flat = "".join(page.split())
        for text in ("【進捗状況の凡例】", "・・・スケジュールどおり取り組んだ", "・・・未着手", "実施内容", "事業内容",
                     "進捗状況", "スケジュールの変更理由", "令和3年度までの取組状況", "令和4年度取組予定",
                     "令和5年度以降取組予定", "所管課"):
            assert text in flat, (n, text)
        assert f"{n}/{len(pages)}" in flat  # the footer's page number
    # LibreOffice kept our page breaks and added none: every page starts with the section of
    # its first row, its code printed again when the section runs over from the page before.
    book = openpyxl.load_workbook(export_report_workbook(demo_copy))
    sheet = book["別紙1"]
    head = find_header_row(sheet, "実施内容")
    starts = [head + 1] + sorted(b.id + 1 for b in sheet.row_breaks.brk)
    assert len(betsushi) == len(starts)
    for page, row in zip(betsushi, starts):
        code = cell_text(sheet, row, 1).split()[0]
        assert code in page, (row, code)


def export_report_workbook(ws) -> Path:
    """The consolidated workbook of the workspace (what the PDF was made from, plus the review sheets)."""
    consolidate(ws)
    return ws.report_path()


@has_lo
def test_the_pdf_copy_draws_columns_as_wide_as_excel_does(tmp_path):
    """LibreOffice sizes columns by the font it has for Calibri; measured, the widths given to
    the PDF copy make it draw each column as wide as Excel would (to the pixel), so the PDF
    prints at Excel's scale with Excel's line breaks and page breaks."""
    soffice = Path(SOFFICE)
    metrics = measure_columns(soffice, tmp_path, tmp_path / "profile", 120)
    widths = [8, 20, 36]
    workbook, buffer = new_workbook(dt.datetime(2022, 4, 1))
    sheet = workbook.add_worksheet()
    for col, width in enumerate(widths):
        sheet.set_column(col, col, metrics.width_like_excel(width))
    sheet.write_string(0, 0, "0")
    ods = convert(soffice, finish(workbook, buffer), "ods", tmp_path, tmp_path / "profile", 120)
    with zipfile.ZipFile(io.BytesIO(ods)) as z:
        content = z.read("content.xml").decode()
    drawn = [length_pixels(w) for w in re.findall(r'style:column-width="([^"]+)"', content)[:3]]
    assert drawn == pytest.approx([EXCEL.pixels(w) for w in widths], abs=1.5)
