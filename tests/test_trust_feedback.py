"""feedback under hostile returns: openpyxl sees only files intake used and that fit the limits;
one department's bad file costs it its copy (a finding), never the others theirs; and every
sheet nakano-xl writes for a department is protected with the workspace's password."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.utils.protection import hash_password

from nakano_xl.cli import cli
from nakano_xl.consolidate import consolidate
from nakano_xl.distribute import distribute
from nakano_xl.errors import WorkspaceError
from nakano_xl.feedback import HOW_TO_FIX, write_feedback
from nakano_xl.rollover import rollover
from nakano_xl.workspace import PASSWORD_FILE, Workspace, init_workspace, open_workspace
from nakano_xl.xlsx.footprint import area, check_footprint
from nakano_xl.xlsx.reader import XlsxFile
from nakano_xl.xlsx.zipguard import Limits, RefusedFile

from . import intake_kit as kit
from .helpers import PLAN_HEADER, TINY_PLAN, write_csv

ROOT = Path(__file__).resolve().parent.parent
DEPARTMENTS = sorted(kit.GOOD)


def unanswered() -> dict[str, dict[str, dict[str, str]]]:
    """Every department's answers marked △ without a reason: a warning on each row, so each
    department gets a copy, and no error (the exit status is the copies' to decide)."""
    return {d: {i: {**{f: v for f, v in row.items() if f != "reason"}, "status": "△"} for i, row in rows.items()}
            for d, rows in kit.GOOD.items()}


def all_need_feedback(root: Path) -> tuple[Workspace, dict[str, Path]]:
    ws = kit.new_workspace(root)
    dist = distribute(ws)
    return ws, kit.fill_all(ws, dist, unanswered())


def add_to_sheet(path: Path, xml: str, *, before: str = "<pageMargins") -> None:
    """Put ``xml`` into the 回答 sheet's part just before the ``before`` element."""
    def edit(text: str) -> str:
        at = text.index(before)
        return text[:at] + xml + text[at:]

    kit.edit_part(path, kit.part_of(path, "回答"), edit)


def merge(ref: str):
    def spoil(path: Path) -> None:
        def edit(text: str) -> str:
            if "</mergeCells>" in text:
                return text.replace("</mergeCells>", f'<mergeCell ref="{ref}"/></mergeCells>')
            return text.replace("</sheetData>", f'</sheetData><mergeCells count="1"><mergeCell ref="{ref}"/></mergeCells>')

        kit.edit_part(path, kit.part_of(path, "回答"), edit)
    return spoil


def hyperlink(ref: str):
    return lambda path: add_to_sheet(path, f'<hyperlinks><hyperlink ref="{ref}" location="回答!A1" display="x"/></hyperlinks>')


def far_row(row: int):
    return lambda path: kit.edit_part(path, kit.part_of(path, "回答"), lambda t: t.replace(
        "</sheetData>", f'<row r="{row}"><c r="A{row}" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'))


def bad_created(path: Path) -> None:
    """A creation time openpyxl cannot read (intake does not use it): openpyxl's own failure."""
    kit.edit_part(path, "docProps/core.xml",
                  lambda t: re.sub(r"(<dcterms:created[^>]*>)[^<]*", r"\g<1>vorgestern", t))


def renamed_part(spoil):
    """``spoil``, then the 回答 sheet's part moved to a name that does not end in .xml."""
    def both(path: Path) -> None:
        spoil(path)
        part = kit.part_of(path, "回答")
        with zipfile.ZipFile(path) as z:
            data = z.read(part)
        new = part.rsplit("/", 1)[0] + "/answers.bin"

        def change(name: str, text: bytes) -> bytes | None:
            if name == part:
                return None
            if name == "xl/_rels/workbook.xml.rels":
                return text.replace(part.split("/", 1)[1].encode(), new.split("/", 1)[1].encode())
            return text

        kit.rewrite_zip(path, change, add={new: data})
        assert kit.part_of(path, "回答") == new
    return both


SPOILERS = {
    "merge to the sheet's end": ("職員課", merge("J20:XFD1048576")),
    "merge of a few columns, many rows": ("戸籍住民課", merge("C40:Z90000")),
    "hyperlink over a range": ("税務課", hyperlink("B12:AZ60000")),
    "row past the limit": ("職員課", far_row(12_345)),
    "openpyxl cannot read it": ("戸籍住民課", bad_created),
    "merge in a part not named .xml": ("情報システム課", renamed_part(merge("E9:KZ70000"))),
}


def feedback_cli(ws: Workspace):
    return CliRunner().invoke(cli, ["feedback", "-w", str(ws.root), "-q"])


@pytest.mark.parametrize("case", SPOILERS)
def test_one_department_without_a_copy_the_others_get_theirs(tmp_path, case, monkeypatch):
    victim, spoil = SPOILERS[case]
    ws, files = all_need_feedback(tmp_path)
    spoil(files[victim])
    opened: list[Path] = []
    real = openpyxl.load_workbook

    def spy(path, *args, **kwargs):
        opened.append(Path(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(openpyxl, "load_workbook", spy)
    result = feedback_cli(ws)
    assert result.exit_code == 1, result.output
    others = [d for d in DEPARTMENTS if d != victim]
    folder = ws.root / "feedback"
    for department in others:
        assert (folder / f"{department}.xlsx").is_file(), department
        assert (folder / f"{department}_依頼文.txt").is_file(), department
    assert not (folder / f"{victim}.xlsx").exists() and not (folder / f"{victim}_依頼文.txt").exists()
    assert "修正箇所に印を付けた回答票のコピーを作れませんでした" in result.output
    assert kit.file_of(victim) in result.output
    if case != "openpyxl cannot read it":  # refused by the count: openpyxl never saw it
        assert files[victim] not in opened
    written = write_feedback(ws, consolidate(ws, write=False))
    [found] = written.findings
    assert (found.code, found.file, found.department) == ("feedback.not_copied", kit.file_of(victim), victim)
    assert sorted(written.workbooks) == others


def test_a_file_refused_at_intake_is_never_opened_with_openpyxl(tmp_path, monkeypatch):
    ws, files = all_need_feedback(tmp_path)
    kit.edit_part(files["税務課"], "docProps/app.xml",  # a DOCTYPE in a part intake never reads
                  lambda t: t.replace("<Properties", '<!DOCTYPE p [<!ENTITY e "x">]><Properties', 1))
    bomb = ws.inbox / "職員課_差替.xlsx"  # one small entry that says it inflates to 150 MB
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", b"<" + b" " * 150_000_000 + b"/>")
    opened: list[Path] = []
    real = openpyxl.load_workbook
    monkeypatch.setattr(openpyxl, "load_workbook", lambda p, *a, **k: opened.append(Path(p)) or real(p, *a, **k))
    result = consolidate(ws, write=False)
    refused = {f.file for f in result.findings if f.code in ("file.unsafe_xml", "file.bomb")}
    assert refused == {kit.file_of("税務課"), bomb.name}
    written = write_feedback(ws, result)
    assert written.findings == []
    assert sorted(written.workbooks) == ["情報システム課", "戸籍住民課", "職員課"]
    assert sorted(p.name for p in opened) == sorted(kit.file_of(d) for d in ("情報システム課", "戸籍住民課", "職員課"))
    assert "税務課" in written.reminder.read_text(encoding="utf-8")  # to intake, it sent nothing usable


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is Linux's")
def test_a_huge_merge_stays_within_a_memory_limit(tmp_path):
    ws, files = all_need_feedback(tmp_path)
    merge("K21:XFC1048000")(files["情報システム課"])
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1_200_000_000, 1_200_000_000))\n"
        "from nakano_xl.cli import cli\n"
        "cli(['feedback', '-w', sys.argv[1], '-q'])\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(ws.root)], check=False, capture_output=True,
                          text=True, encoding="utf-8", cwd=ROOT, timeout=600,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "PYTHONUTF8": "1"})
    assert done.returncode == 1, done.stderr[-2000:]
    assert "情報システム課_回答.xlsx" in done.stdout and "Traceback" not in done.stderr
    # Refused from the count, before openpyxl: not a MemoryError caught under the limit.
    assert "セルの数が上限" in done.stdout and "MemoryError" not in done.stdout
    for department in ("戸籍住民課", "税務課", "職員課"):
        assert (ws.root / "feedback" / f"{department}.xlsx").is_file()
        assert (ws.root / "feedback" / f"{department}_依頼文.txt").is_file()


def test_the_count_follows_the_workspace_limits(tmp_path):
    ws, files = all_need_feedback(tmp_path)
    path = files["職員課"]
    small = Limits(max_rows=5_000, max_columns=9)  # 45,000 cells
    check_footprint(path, small)  # a plain return fits
    with pytest.raises(RefusedFile, match="12行目より下"):  # (記入要領 is longer)
        check_footprint(path, Limits(max_rows=12))
    merge("A100:J5000")(path)  # 49,010 cells, all empty
    check_footprint(path, ws.settings.limits)
    with pytest.raises(RefusedFile, match="範囲「A100:J5000」（49,010セル）を含めると、セルの数が上限"):
        check_footprint(path, small)
    with pytest.raises(RefusedFile, match="2列目より右に記入"):
        check_footprint(path, Limits(max_columns=2))
    assert area("B2:D5") == 12 and area("$B$2:$D$5 F1") == 13 and area("A:B") == 2 * 1_048_576
    for bad in ("", "B2:", "A0B", "B2:7", "ÄB1"):
        with pytest.raises(ValueError):
            area(bad)


# -- the password ------------------------------------------------------------------------

def protections(path: Path) -> dict[str, str | None]:
    """Protected sheet → the password hash in its ``<sheetProtection>`` (None: no password)."""
    out = {}
    with XlsxFile(path) as book:
        for ref in book.sheets:
            m = re.search(rb"<sheetProtection\b[^>]*>", book.read_part(ref.part))
            if m and re.search(rb'\bsheet="(1|true)"', m.group(0)):
                pw = re.search(rb'\bpassword="([0-9A-Fa-f]+)"', m.group(0))
                out[ref.name] = pw.group(1).decode().upper() if pw else None
    return out


def plain_text_of(path: Path) -> bytes:
    with zipfile.ZipFile(path) as z:
        return b"".join(z.read(n) for n in z.namelist())


def test_distributed_sheets_carry_the_workspace_password_as_a_hash_only(tmp_path):
    ws = kit.new_workspace(tmp_path)
    password = ws.sheet_password()
    assert re.fullmatch(r"[A-Za-z0-9]{12}", password)
    assert (ws.private / PASSWORD_FILE).read_text(encoding="ascii").strip() == password
    first = {d: p.read_bytes() for d, p in distribute(ws).files.items()}
    expected = hash_password(password)
    for department in first:
        path = ws.outbox / f"{department}.xlsx"
        found = protections(path)
        assert set(found) >= {"回答", "記入要領", "nakano-xl"}, found
        assert set(found.values()) == {expected}, (department, found)
        assert password.encode() not in plain_text_of(path)
        sheet = openpyxl.load_workbook(path)["回答"]
        assert sheet.protection.sheet and not sheet.protection.formatRows  # rows stay resizable
    again = distribute(open_workspace(ws.root))
    assert {d: p.read_bytes() for d, p in again.files.items()} == first  # the same bytes


def test_a_workspace_made_before_gets_its_password_on_the_first_distribute(tmp_path):
    ws = kit.new_workspace(tmp_path)
    (ws.private / PASSWORD_FILE).unlink()
    first = {d: p.read_bytes() for d, p in distribute(ws).files.items()}
    password = (ws.private / PASSWORD_FILE).read_text(encoding="ascii").strip()
    assert set(protections(ws.outbox / "税務課.xlsx").values()) == {hash_password(password)}
    assert {d: p.read_bytes() for d, p in distribute(open_workspace(ws.root)).files.items()} == first


def test_init_force_keeps_the_password_and_rollover_makes_its_own(tmp_path):
    ws = kit.new_workspace(tmp_path)
    password = ws.sheet_password()
    plan = write_csv(tmp_path / "again.csv", PLAN_HEADER, TINY_PLAN)
    assert init_workspace(ws.root, plan, "R3", force=True).sheet_password() == password
    distribute(ws)
    kit.fill_all(ws, distribute(ws))
    consolidate(ws)
    new, _ = rollover(ws, "R4", tmp_path / "ws_R4")
    assert (new.private / PASSWORD_FILE).is_file()
    assert set(protections(distribute(new).files["職員課"]).values()) == {hash_password(new.sheet_password())}


@pytest.mark.parametrize("content", [b"", b"\n", "パスワード\n".encode(), b"x" * 40 + b"\n"])
def test_a_broken_password_file_is_named(tmp_path, content):
    ws = kit.new_workspace(tmp_path)
    (ws.private / PASSWORD_FILE).write_bytes(content)
    with pytest.raises(WorkspaceError, match="sheet.password"):
        distribute(ws)
    result = CliRunner().invoke(cli, ["distribute", "-w", str(ws.root)])
    assert result.exit_code == 2 and "sheet.password" in result.output


def test_feedback_copies_are_protected_with_the_same_password(tmp_path):
    ws, files = all_need_feedback(tmp_path)
    # One department unprotected its answer sheet, another set a password of its own.
    kit.with_openpyxl(files["職員課"], lambda b: setattr(b["回答"].protection, "sheet", False))
    kit.with_openpyxl(files["税務課"], lambda b: b["記入要領"].protection.set_password("mine"))

    def excel_password(book: openpyxl.Workbook) -> None:  # as Excel writes a password set by a person
        protection = book["回答"].protection
        protection.algorithmName, protection.spinCount = "SHA-512", 100_000
        protection.hashValue = protection.saltValue = "QUJDRA=="

    kit.with_openpyxl(files["戸籍住民課"], excel_password)
    assert b"hashValue" in plain_text_of(files["戸籍住民課"])
    written = write_feedback(ws, consolidate(ws, write=False))
    assert sorted(written.workbooks) == DEPARTMENTS
    expected = hash_password(ws.sheet_password())
    for department, path in written.workbooks.items():
        found = protections(path)
        assert set(found) >= {"修正のお願い", "回答", "記入要領", "nakano-xl"}, (department, found)
        assert set(found.values()) == {expected}, (department, found)
        assert ws.sheet_password().encode() not in plain_text_of(path)
        assert b"hashValue" not in plain_text_of(path)
    answer = openpyxl.load_workbook(written.workbooks["職員課"])["回答"].protection
    assert answer.sheet and not answer.formatRows and not answer.formatColumns  # as distributed


def test_without_a_bad_file_every_department_gets_its_copy_and_the_exit_status_is_0(tmp_path):
    ws, _ = all_need_feedback(tmp_path)
    result = consolidate(ws, write=False)
    assert {f.code for f in result.findings if f.file} == {"reason.recommended"}
    assert feedback_cli(ws).exit_code == 0
    assert sorted(p.stem for p in (ws.root / "feedback").glob("*.xlsx")) == DEPARTMENTS


def test_a_finding_inside_a_merge_is_marked_on_the_merge(tmp_path):
    """A department merged two answer cells: both problems show on the merge's first cell."""
    ws, files = all_need_feedback(tmp_path)
    merge("D6:D7")(files["情報システム課"])
    result = consolidate(ws, write=False)
    found = {(code, cell) for code, _, cell in kit.codes(result, kit.file_of("情報システム課"))}
    assert {("reason.recommended", "D6"), ("reason.recommended", "D7")} <= found
    written = write_feedback(ws, result)
    assert written.findings == [] and sorted(written.workbooks) == DEPARTMENTS
    book = openpyxl.load_workbook(written.workbooks["情報システム課"])
    assert book["回答"]["D6"].comment.text.count(HOW_TO_FIX["reason.recommended"]) == 2
    listed = [r[1].value for r in book["修正のお願い"].iter_rows(min_row=5)]
    assert "回答!D6" in listed and "回答!D7" in listed
