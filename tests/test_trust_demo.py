"""The hostile cases, each mixed into the demo's 26 good returns and run as a coordinator runs it.

Every case spoils the bundled sample's inbox once, the way an unlucky or hostile department
would, then runs ``nakano-xl`` in a subprocess (a FIFO must not block, a flood must not
exhaust memory) and asserts: the exit status is not 2 (the run did not stop), the finding names
the file (and the cell and item where there is one), and every other department's answers in
別紙1 are exactly those of the clean demo run — the published ◎ 97 ○ 4 △ 1 × 1 included.
Broken settings are the opposite: exit 2 with the file and the setting named.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from nakano_xl.answers import load_answers
from nakano_xl.workspace import Workspace, open_workspace

from .intake_kit import (
    distributed_at,
    edit_part,
    part_of,
    replace_cell,
    report_answers,
    rewrite_zip,
    set_saved_at,
    typed_rows,
)

VICTIM = "職員課"
FILE = f"{VICTIM}_回答.xlsx"
PUBLISHED = "◎ 97・○ 4・△ 1・× 1"


@pytest.fixture
def ws(demo, tmp_path: Path) -> Workspace:
    """A copy of the demo workspace (26 good returns, consolidated once)."""
    root = tmp_path / "令和3年度"
    shutil.copytree(demo.workspace.root, root, symlinks=True)
    return open_workspace(root)


@pytest.fixture(scope="module")
def clean(demo) -> dict[str, dict[str, str]]:
    """別紙1's answers of the clean demo run, read back."""
    return report_answers(demo.workspace)


def nakano_xl(*args: str, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nakano_xl", *args], check=False, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def consolidate(ws: Workspace) -> subprocess.CompletedProcess[str]:
    done = nakano_xl("consolidate", "-w", str(ws.root), "-q", "-j", "1")
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr
    return done


def findings(ws: Workspace) -> list[dict[str, str]]:
    return json.loads(ws.findings_path().read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def with_code(ws: Workspace, code: str) -> list[dict[str, str]]:
    return [f for f in findings(ws) if f["code"] == code]


def row_of(path: Path, item_id: str) -> int:
    sheet = openpyxl.load_workbook(path)["回答"]
    return next(r for r in range(1, sheet.max_row + 1) if sheet.cell(r, 9).value == item_id)


def assert_others_unchanged(ws: Workspace, clean: dict[str, dict[str, str]], *, but: set[str] | None = None) -> None:
    """Every item but ``but`` (default: the victim's items) reads as in the clean run."""
    seen = report_answers(ws)
    victims = {i.item_id for i in ws.plan.items_for(VICTIM)} if but is None else but
    for item_id, answer in clean.items():
        if item_id not in victims:
            assert seen[item_id] == answer, item_id


# -- text a writer cannot hold ------------------------------------------------------------

@pytest.mark.parametrize("escape", ["_xD800_", "_xDFFF_", "_x0001_", "_xFFFE_"])
def test_an_unwritable_character_in_an_answer_is_replaced_with_a_finding_and_every_output_is_written(
        ws, clean, escape):
    path = ws.inbox / FILE
    row = row_of(path, "P122")
    replace_cell(path, "回答", f"E{row}", f'<c r="E{row}" t="inlineStr"><is><t>資格取得{escape}支援</t></is></c>')
    done = consolidate(ws)
    assert PUBLISHED in done.stdout
    [found] = with_code(ws, "cell.unrepresentable")
    assert (found["file"], found["sheet"], found["cell"], found["item_id"]) == (FILE, "回答", f"E{row}", "P122")
    assert report_answers(ws)["P122"]["results_to_date"] == "資格取得\ufffd支援"
    assert_others_unchanged(ws, clean, but={"P122"})
    assert "\ufffd" in load_answers(ws.answers_path(), ws.plan)["P122"].results_to_date
    for command in (["export", "--format", "csv"], ["export", "--format", "json"], ["status"], ["check"]):
        args = [*command, "-w", str(ws.root)] if command[0] != "check" else ["check", str(path), "-w", str(ws.root)]
        assert nakano_xl(*args).returncode in (0, 1), command


@pytest.mark.parametrize("moment", ["9999-12-31T23:00:00Z", "0001-01-01T00:00:00+09:00", "2099-04-01T00:00:00Z",
                                    "1999-12-31T15:00:00Z"])
def test_an_impossible_saved_time_is_a_finding_and_never_wins_over_the_real_return(ws, clean, moment):
    path = ws.inbox / FILE
    late = ws.inbox / f"{VICTIM}_再送.xlsx"
    shutil.copyfile(path, late)
    row = row_of(late, "P122")
    replace_cell(late, "回答", f"E{row}", f'<c r="E{row}" t="inlineStr"><is><t>古い版の回答</t></is></c>')
    set_saved_at(late, moment)
    set_saved_at(path, distributed_at(ws) + dt.timedelta(days=3))
    done = consolidate(ws)
    assert PUBLISHED in done.stdout
    [found] = with_code(ws, "submission.bad_saved_time")
    assert found["file"] == late.name
    assert report_answers(ws) == clean  # the file with a real time is the one used
    assert nakano_xl("status", "-w", str(ws.root)).returncode in (0, 1)


@pytest.mark.skipif(os.name == "nt", reason="Windows file names are always Unicode")
def test_a_file_name_in_cp932_bytes_is_read_and_consolidated(ws, clean):
    raw = os.path.join(os.fsencode(ws.inbox), f"{VICTIM}（再送）.xlsx".encode("cp932"))
    os.rename(ws.inbox / FILE, raw)
    consolidate(ws)
    [found] = with_code(ws, "inbox.name_encoding")
    assert VICTIM in found["file"]
    assert report_answers(ws) == clean
    status = json.loads(nakano_xl("status", "-w", str(ws.root), "--json").stdout)
    [mine] = [d for d in status["departments"] if d["department"] == VICTIM]
    assert mine["returned"] and mine["file"] == found["file"]


# -- rows that do not agree with themselves -------------------------------------------------

def test_item_ids_swapped_between_two_rows_land_by_the_rows_texts(ws, clean):
    path = ws.inbox / FILE
    book = openpyxl.load_workbook(path)
    sheet = book["回答"]
    sheet.protection.sheet = False
    a, b = row_of(path, "P120"), row_of(path, "P123")
    sheet[f"I{a}"], sheet[f"I{b}"] = "P123", "P120"
    book.save(path)
    consolidate(ws)
    moved = with_code(ws, "row.moved")
    assert {f["item_id"] for f in moved} == {"P120", "P123"}
    assert report_answers(ws) == clean


def test_the_sheets_are_protected_with_the_workspaces_password(ws):
    password = (ws.private / "sheet.password").read_text(encoding="ascii").strip()
    book = openpyxl.load_workbook(ws.outbox / f"{VICTIM}.xlsx")
    assert book["回答"].protection.sheet and book["回答"].protection.password
    assert password.encode() not in (ws.outbox / f"{VICTIM}.xlsx").read_bytes()


# -- files that cost too much ---------------------------------------------------------------

def flood_instructions(path: Path, rows: int) -> None:
    """The 記入要領 sheet typed full: ``rows`` rows of 64 cells, as a script would make it."""
    edit_part(path, part_of(path, "記入要領"), lambda t: re.sub(
        r"<sheetData>.*</sheetData>|<sheetData/>", "<sheetData>" + typed_rows(1, rows, 1, 64) + "</sheetData>", t,
        flags=re.DOTALL))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is Linux's")
def test_three_flooded_instruction_sheets_stay_bounded_in_findings_and_memory(ws, clean):
    for department in (VICTIM, "税務課", "総務課"):
        flood_instructions(ws.inbox / f"{department}_回答.xlsx", 9_999)
    limit = 1024 ** 3
    runner = (f"import resource, sys; resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit})); "
              "from nakano_xl.cli import main; sys.argv = ['nakano-xl'] + sys.argv[1:]; main()")
    done = subprocess.run([sys.executable, "-c", runner, "consolidate", "-w", str(ws.root), "-q", "-j", "1"],
                          check=False, capture_output=True, text=True, timeout=600)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    assert ws.findings_path().stat().st_size < 2_000_000
    outside = [f for f in findings(ws) if f["code"] == "cell.outside" and f["file"] == FILE]
    assert 1 < len(outside) < 100
    assert report_answers(ws) == clean


def test_a_sheet_part_named_by_eleven_sheets_is_refused_and_the_rest_consolidated(ws, clean):
    path = ws.inbox / FILE
    answer = part_of(path, "回答")
    target = answer.removeprefix("xl/")

    def change(name: str, data: bytes) -> bytes:
        text = data.decode("utf-8")
        if name == "xl/workbook.xml":
            extra = "".join(f'<sheet name="複製{n}" sheetId="{100 + n}" r:id="rIdDup{n}"/>' for n in range(11))
            return text.replace("</sheets>", extra + "</sheets>").encode()
        if name == "xl/_rels/workbook.xml.rels":
            extra = "".join(f'<Relationship Id="rIdDup{n}" Type="http://schemas.openxmlformats.org/officeDocument/'
                            f'2006/relationships/worksheet" Target="{target}"/>' for n in range(11))
            return text.replace("</Relationships>", extra + "</Relationships>").encode()
        return data

    rewrite_zip(path, change)
    done = consolidate(ws)
    assert "Traceback" not in done.stderr
    mine = [f for f in findings(ws) if f["file"] == FILE]
    assert mine
    assert_others_unchanged(ws, clean)


def test_a_merge_over_the_whole_sheet_is_a_finding_and_costs_no_one_else_their_letter(ws, clean):
    path = ws.inbox / FILE
    edit_part(path, part_of(path, "回答"), lambda t: re.sub(
        r"(<dataValidations|<pageMargins)", r'<mergeCells count="1"><mergeCell ref="J20:XFD1048576"/></mergeCells>\1',
        t, count=1))
    other = ws.inbox / "税務課_回答.xlsx"
    replace_cell(other, "回答", f"C{row_of(other, 'P072')}", f'<c r="C{row_of(other, "P072")}" t="inlineStr">'
                 "<is><t>◯</t></is></c>")
    consolidate(ws)
    assert any(f["code"] == "cell.merged" and f["file"] == FILE for f in findings(ws))
    done = nakano_xl("feedback", "-w", str(ws.root), "-q")
    assert done.returncode == 1, done.stderr
    assert (ws.root / "feedback" / "税務課.xlsx").is_file()
    assert (ws.root / "feedback" / "税務課_依頼文.txt").is_file()
    assert not (ws.root / "feedback" / f"{VICTIM}.xlsx").exists()
    assert "職員課" in done.stdout + done.stderr


# -- parts a parser must never see ----------------------------------------------------------

@pytest.mark.parametrize("part", ["docProps/core.xml", "docProps/app.xml", "xl/theme/theme1.xml"])
def test_a_utf16_doctype_in_any_part_is_refused(ws, clean, part):
    path = ws.inbox / FILE
    xml = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
           "<x>&e;</x>")
    rewrite_zip(path, lambda name, data: xml.encode("utf-16") if name == part else data)
    consolidate(ws)
    [found] = [f for f in findings(ws) if f["file"] == FILE and f["severity"] == "error"]
    assert found["code"] == "file.unsafe_xml"
    assert_others_unchanged(ws, clean)


@pytest.mark.parametrize("index", ["99999", "-1", "x"])
def test_a_shared_string_index_that_resolves_to_nothing_is_an_error_at_its_cell(ws, clean, index):
    path = ws.inbox / FILE
    row = row_of(path, "P122")
    replace_cell(path, "回答", f"E{row}", f'<c r="E{row}" t="s"><v>{index}</v></c>')
    consolidate(ws)
    [found] = with_code(ws, "cell.unresolved")
    assert (found["file"], found["cell"], found["item_id"], found["severity"]) == (FILE, f"E{row}", "P122", "error")
    assert_others_unchanged(ws, clean, but={"P122"})


# -- the inbox itself -----------------------------------------------------------------------

@pytest.mark.skipif(os.name == "nt", reason="FIFOs and POSIX symlinks")
def test_a_fifo_links_and_a_folder_named_like_a_workbook_are_named_and_never_block(ws, clean, tmp_path):
    os.mkfifo(ws.inbox / "税務課_回答(2).xlsx")
    (ws.inbox / "dangling.xlsx").symlink_to(tmp_path / "nowhere.xlsx")
    (ws.inbox / "loop").symlink_to(ws.inbox)
    (ws.inbox / "zero.xlsx").symlink_to("/dev/zero")
    (ws.inbox / "folder.xlsx").mkdir()
    consolidate(ws)
    named = {(f["code"], f["file"]) for f in findings(ws) if f["code"].startswith("inbox.")}
    assert {"税務課_回答(2).xlsx", "dangling.xlsx", "loop", "zero.xlsx", "folder.xlsx"} <= {n for _, n in named}
    assert report_answers(ws) == clean


# -- answers that reach a CSV ---------------------------------------------------------------

def test_a_formula_typed_as_an_answer_is_neutralised_in_the_answers_csv_and_read_back_as_typed(ws, clean):
    path = ws.inbox / FILE
    row = row_of(path, "P122")
    typed = "=cmd|' /C calc'!A0"
    replace_cell(path, "回答", f"G{row}", f'<c r="G{row}" t="inlineStr"><is><t>{typed}</t></is></c>')
    consolidate(ws)
    raw = ws.answers_path().read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"'=cmd|" in raw and b",=cmd|" not in raw
    assert load_answers(ws.answers_path(), ws.plan)["P122"].plan_later == typed
    assert_others_unchanged(ws, clean, but={"P122"})


# -- broken settings: named, exit 2 -----------------------------------------------------------

SETTINGS: dict[str, tuple[Callable[[Workspace], None], str]] = {
    "empty key": (lambda ws: (ws.private / "signing.key").write_text("", encoding="ascii"), "signing.key"),
    "key not hex": (lambda ws: (ws.private / "signing.key").write_text("xyz\n", encoding="ascii"), "signing.key"),
    "record a list": (lambda ws: (ws.private / "distribution.json").write_text("[1, 2]", encoding="utf-8"),
                      "distribution.json"),
    "record id a number": (lambda ws: (ws.private / "distribution.json").write_text(
        '{"distribution_id": 5}', encoding="utf-8"), "distribution.json"),
    "max_ratio nan": (lambda ws: _set_limit(ws, "max_ratio", "nan"), "max_ratio"),
    "max_rows negative": (lambda ws: _set_limit(ws, "max_rows", "-5"), "max_rows"),
}


def _set_limit(ws: Workspace, name: str, value: str) -> None:
    path = ws.root / "nakano-xl.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(rf"(?m)^{name} = .*$", f"{name} = {value}", text), encoding="utf-8")


@pytest.mark.parametrize("case", list(SETTINGS))
def test_a_broken_setting_stops_every_command_naming_the_file_and_the_setting(ws, case):
    spoil, named = SETTINGS[case]
    spoil(ws)
    for command in ("consolidate", "status"):
        done = nakano_xl(command, "-w", str(ws.root), "-q") if command == "consolidate" else \
            nakano_xl(command, "-w", str(ws.root))
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert named in done.stderr and "Traceback" not in done.stderr
        assert "予期しない" not in done.stderr
