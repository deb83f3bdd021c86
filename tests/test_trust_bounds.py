"""Bounded work per file: floods of typed cells, notes and sheets; a part named many times;
every XML part under the DOCTYPE guard whatever its encoding.

Each hostile file is a department's valid return (the tiny workspace's, from our own outbox)
changed by rewriting its zip, mixed into the other departments' good returns. Findings about
what lies outside the answer rows are capped per code and file, with one "and N more"; the
answers of every good file land unchanged; `consolidate -j 1` of such an inbox runs in a
subprocess under an address-space limit.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from nakano_xl.cli import cli
from nakano_xl.findings import exit_code
from nakano_xl.intake.caps import CAP

from .intake_kit import (
    GOOD,
    assert_landed,
    codes,
    edit_part,
    file_of,
    others_than,
    part_of,
    returned,
    rewrite_zip,
    run,
    set_saved_at,
    typed_rows,
)

VICTIM = "情報システム課"
FILE = file_of(VICTIM)
ANSWER_SHEET = "回答"
INSTRUCTIONS = "記入要領"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


# -- hostile files, made from a valid return ---------------------------------------------

def flood_sheet(path: Path, sheet: str, first_row: int, rows: int, first_col: int = 1, cols: int = 64,
                value: str = "7") -> None:
    """Append a flood of typed cells to ``sheet`` (after the rows it has)."""
    extra = typed_rows(first_row, rows, first_col, cols, value)
    edit_part(path, part_of(path, sheet), lambda t: t.replace("</sheetData>", extra + "</sheetData>")
              if "</sheetData>" in t else t.replace("<sheetData/>", f"<sheetData>{extra}</sheetData>"))


def add_sheet(path: Path, name: str, body: str, *, part: str | None = None) -> None:
    """A new sheet entry ``name`` over ``part`` (a new part holding ``body`` when None)."""
    new_part = part is None
    target = part or f"xl/worksheets/extra{abs(hash(name)) % 10_000}.xml"
    with zipfile.ZipFile(path) as z:
        rid = f"rIdX{len(re.findall('<sheet ', z.read('xl/workbook.xml').decode()))}"

    def change(entry: str, data: bytes) -> bytes:
        text = data.decode("utf-8")
        if entry == "xl/workbook.xml":
            sid = 1000 + text.count("<sheet ")
            return text.replace("</sheets>", f'<sheet name="{name}" sheetId="{sid}" r:id="{rid}"/></sheets>').encode()
        if entry == "xl/_rels/workbook.xml.rels":
            return text.replace("</Relationships>", f'<Relationship Id="{rid}" Type="{REL}/worksheet" '
                                f'Target="/{target}"/></Relationships>').encode()
        if entry == "[Content_Types].xml" and new_part:
            return text.replace("</Types>", f'<Override PartName="/{target}" ContentType="application/'
                                'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>').encode()
        return data

    add = {target: (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                    f'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                    f'<sheetData>{body}</sheetData></worksheet>').encode()} if new_part else None
    rewrite_zip(path, change, add=add)


def add_comments(path: Path, sheet: str, count: int, first_row: int = 100) -> None:
    """``count`` notes on ``sheet``, in column J from ``first_row``."""
    part = part_of(path, sheet)
    folder, base = part.rsplit("/", 1)
    rels = f"{folder}/_rels/{base}.rels"
    notes = "".join(f'<comment ref="J{first_row + n}" authorId="0"><text><r><t>メモ{n}</t></r></text></comment>'
                    for n in range(count))
    comments = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<comments xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                f'<authors><author>someone</author></authors><commentList>{notes}</commentList></comments>')
    relation = f'<Relationship Id="rIdC1" Type="{REL}/comments" Target="../comments77.xml"/>'
    with zipfile.ZipFile(path) as z:
        has_rels = rels in z.namelist()

    def change(entry: str, data: bytes) -> bytes:
        if entry == rels:
            return data.decode().replace("</Relationships>", relation + "</Relationships>").encode()
        return data

    add = {"xl/comments77.xml": comments.encode()}
    if not has_rels:
        add[rels] = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns='
                     f'"http://schemas.openxmlformats.org/package/2006/relationships">{relation}</Relationships>').encode()
    rewrite_zip(path, change, add=add)


def shared_strings_flood(path: Path, count: int) -> None:
    """A shared strings table of ``count`` distinct texts (~22 bytes each), one of them used."""
    texts = "".join(f"<si><t>{k * 7919 % 1_000_003}</t></si>" for k in range(count))
    table = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
             f'2006/main">{texts}</sst>').encode()
    relation = f'<Relationship Id="rIdS9" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'

    def change(name: str, data: bytes) -> bytes | None:
        if name == "xl/sharedStrings.xml":
            return None
        if name == "xl/_rels/workbook.xml.rels":
            text = re.sub(r'<Relationship [^>]*sharedStrings"[^>]*/>', "", data.decode())
            return text.replace("</Relationships>", relation + "</Relationships>").encode()
        return data

    rewrite_zip(path, change, add={"xl/sharedStrings.xml": table})
    flood_sheet(path, INSTRUCTIONS, 200, 1, 1, 1)
    edit_part(path, part_of(path, INSTRUCTIONS),
              lambda t: t.replace('<c r="A200"><v>7</v></c>', f'<c r="A200" t="s"><v>{count - 1}</v></c>'))


def instructions_flood(path: Path, rows: int = 9_800, cols: int = 64) -> int:
    """The 記入要領 sheet typed full (up to the reader's row limit); the number of cells typed."""
    flood_sheet(path, INSTRUCTIONS, 200, rows, 1, cols)
    return rows * cols


# -- caps ----------------------------------------------------------------------------------

def outside_findings(result, file: str = FILE):
    return [f for f in result.findings if f.code == "cell.outside" and f.file == file]


def summary_count(found) -> int:
    [more] = [f for f in found if f.cell is None and "ほかに" in f.message]
    m = re.search(r"ほかに([\d,]+)個", more.message)
    assert m, more.message
    return int(m.group(1).replace(",", ""))


@pytest.mark.parametrize("rows,cols", [(300, 40), (1_500, 9)])
def test_an_instructions_sheet_typed_full_gives_a_capped_list_and_the_count(tmp_path, rows, cols):
    ws, _, files = returned(tmp_path)
    typed = instructions_flood(files[VICTIM], rows, cols)
    result = run(ws)
    found = outside_findings(result)
    listed = [f for f in found if f.cell is not None]
    assert len(listed) == CAP and all(f.sheet == INSTRUCTIONS for f in listed)
    assert listed[0].cell == "A200" and listed[0].value == "7"
    assert summary_count(found) == typed - CAP
    assert "ほかに" in next(f for f in found if f.cell is None).message
    assert_landed(ws)  # the flooded file's own answers too
    assert exit_code(result.findings) == 0  # cells outside the answers are warnings


def test_cells_outside_the_table_and_notes_and_an_extra_sheet_are_each_capped(tmp_path):
    ws, _, files = returned(tmp_path)
    path = files[VICTIM]
    flood_sheet(path, ANSWER_SHEET, 120, 30, 12, 5, value="9")  # L120:P149, beyond the area read
    add_comments(path, ANSWER_SHEET, 73)
    add_sheet(path, "メモ", typed_rows(1, 10, 1, 3))
    result = run(ws)
    outside = outside_findings(result)
    assert len([f for f in outside if f.cell]) == CAP and summary_count(outside) == 150 - CAP
    notes = [f for f in result.findings if f.code == "cell.comment"]
    # The reader keeps 50 notes a sheet and counts the rest; the cap lists 20 and counts all the rest.
    assert len([f for f in notes if f.cell]) == CAP and summary_count(notes) == 73 - CAP
    first = next(f for f in notes if f.cell)
    assert first.cell == "J100" and first.sheet == ANSWER_SHEET
    [extra] = [f for f in result.findings if f.code == "sheet.extra"]
    assert extra.sheet == "メモ" and "30個" in extra.message
    assert_landed(ws)


def test_merges_are_capped_per_severity_with_the_worst_in_the_count(tmp_path):
    ws, _, files = returned(tmp_path)
    # 25 merges right of the table (warnings), then 23 over the answer column C (errors).
    merges = [f"K{r}:L{r}" for r in range(10, 35)] + [f"C{r}:C{r + 1}" for r in range(40, 86, 2)]
    xml = f'<mergeCells count="{len(merges)}">' + "".join(f'<mergeCell ref="{m}"/>' for m in merges) + "</mergeCells>"
    edit_part(files[VICTIM], part_of(files[VICTIM], ANSWER_SHEET),
              lambda t: re.sub(r"<mergeCells.*?</mergeCells>", "", t, flags=re.DOTALL).replace("</sheetData>", "</sheetData>" + xml, 1))
    result = run(ws)
    merged = [f for f in result.findings if f.code == "cell.merged"]
    listed = [f for f in merged if f.value]
    # An error is never hidden behind warnings of its code: each severity is listed CAP times.
    assert [f.severity.name for f in listed].count("WARNING") == CAP
    assert sorted(f.cell for f in listed if f.severity.name == "ERROR") == sorted(f"C{r}" for r in range(40, 80, 2))
    [more] = [f for f in merged if not f.value]
    assert summary_count(merged) == 5 + 3 and more.severity.name == "ERROR" and more.sheet == ANSWER_SHEET
    assert exit_code(result.findings) == 1
    assert_landed(ws)


def test_findings_about_answer_rows_are_never_capped(tmp_path):
    """Each answer row's own finding stays, however many (the cap is for what lies outside)."""
    ws, _, files = returned(tmp_path)
    path = files[VICTIM]
    # The answers of all three rows spoiled; and a flood beside, to be sure the rows still show.
    part = part_of(path, ANSWER_SHEET)
    edit_part(path, part, lambda t: re.sub(r'(<c r="C[567]"[^>]*><is><t>)[^<]*', r"\1？", t))
    instructions_flood(path, 500, 10)
    result = run(ws)
    status = [f for f in result.findings if f.file == FILE and f.code.startswith("status.")]
    assert sorted(f.cell for f in status) == ["C5", "C6", "C7"]
    assert exit_code(result.findings) == 1
    assert_landed(ws, others_than(VICTIM))


def test_the_same_code_in_another_file_has_its_own_cap(tmp_path):
    ws, _, files = returned(tmp_path)
    instructions_flood(files[VICTIM], 100, 3)
    other = "職員課"
    instructions_flood(files[other], 100, 4)
    result = run(ws)
    assert summary_count(outside_findings(result)) == 300 - CAP
    assert summary_count(outside_findings(result, file_of(other))) == 400 - CAP
    assert_landed(ws)


# -- every byte read counts; one part named by many sheets ---------------------------------

def test_a_part_named_by_many_sheets_is_refused_and_the_rest_read(tmp_path):
    ws, _, files = returned(tmp_path)
    path = files[VICTIM]
    instructions_flood(path, 2_000, 30)
    target = part_of(path, INSTRUCTIONS)
    for n in range(7):
        add_sheet(path, f"写し{n}", "", part=target)
    result = run(ws)
    assert codes(result, FILE) == [("file.bomb", FILE, None)]
    bomb = next(f for f in result.findings if f.code == "file.bomb")
    assert target in bomb.message and "写し0" in bomb.message
    assert exit_code(result.findings) == 1
    assert_landed(ws, others_than(VICTIM))


def test_reads_of_a_kept_part_count_against_the_inflate_limit(tmp_path):
    """A part kept from the scan and read again and again costs each time: the file is
    refused once the reads pass ``max_inflated_bytes``, whatever the cache holds."""
    from nakano_xl.xlsx.zipguard import GuardedZip, Limits, RefusedFile

    _, _, files = returned(tmp_path)
    path = files[VICTIM]
    instructions_flood(path, 500, 20)
    part = part_of(path, INSTRUCTIONS)
    with zipfile.ZipFile(path) as z:
        total = sum(i.file_size for i in z.infolist())
        size = z.getinfo(part).file_size
    limits = Limits(max_inflated_bytes=total + 3 * size + size // 2)
    parts = GuardedZip(path, limits)
    assert parts.inflated == total and parts.served == 0
    for _ in range(3):
        assert len(parts.read_part(part)) == size
    with pytest.raises(RefusedFile) as refused:
        parts.read_part(part)
    assert refused.value.code == "file.bomb" and parts.served > 3 * size
    parts.close()


# -- a DOCTYPE in any encoding, in any part ------------------------------------------------

CORE_DOCTYPE = ('<?xml version="1.0" encoding="{enc}"?><!DOCTYPE cp:coreProperties [<!ENTITY x SYSTEM '
                '"file:///etc/hostname">]><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/'
                '2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>&x;</dc:title>'
                '</cp:coreProperties>')


def utf7(text: str) -> bytes:
    """UTF-7 after the declaration, ``<`` and ``!`` spelled as base64 runs, as a hostile sender would."""
    head, rest = text.split("?>", 1)
    return (head + "?>" + rest.replace("<", "+ADw-").replace("!", "+ACE-")).encode("ascii")


@pytest.mark.parametrize("part,encoding", [
    ("docProps/core.xml", "utf-16"),  # with its byte order mark
    ("docProps/core.xml", "utf-16-le"),  # without one: the NUL pattern
    ("docProps/app.xml", "utf-16-be"),
    ("xl/theme/theme1.xml", "utf-32"),
    ("docProps/custom.xml", "utf-7"),
    ("xl/drawings/drawing9.xml", "shift_jis"),
])
def test_a_doctype_in_another_encoding_is_refused_in_any_part(tmp_path, part, encoding):
    ws, _, files = returned(tmp_path)
    text = CORE_DOCTYPE.format(enc=encoding.removesuffix("-le").removesuffix("-be"))
    data = utf7(text) if encoding == "utf-7" else text.encode(encoding)

    def change(name: str, old: bytes) -> bytes | None:
        return None if name == part else old

    rewrite_zip(files[VICTIM], change, add={part: data})
    result = run(ws)
    assert codes(result, FILE) == [("file.unsafe_xml", FILE, None)]
    assert part in next(f.message for f in result.findings if f.code == "file.unsafe_xml")
    assert exit_code(result.findings) == 1
    assert_landed(ws, others_than(VICTIM))


@pytest.mark.parametrize("encoding", ["x-nope", "zlib", "rot13"])
def test_an_unknown_encoding_or_ebcdic_is_refused_and_utf16_without_doctype_is_read(tmp_path, encoding):
    ws, _, files = returned(tmp_path)
    declared = f'<?xml version="1.0" encoding="{encoding}"?><a/>'.encode()
    rewrite_zip(files[VICTIM], lambda n, d: d, add={"customXml/item1.xml": declared})
    ebcdic = "職員課"
    rewrite_zip(files[ebcdic], lambda n, d: d, add={"customXml/item1.xml": '<?xml version="1.0"?><a/>'.encode("cp037")})
    fine = "税務課"  # a harmless UTF-16 custom part, as some document servers write: read
    rewrite_zip(files[fine], lambda n, d: d, add={"customXml/item1.xml": '<?xml version="1.0" encoding="UTF-16"?>'
                                                  '<b:Sources xmlns:b="urn:x"/>'.encode("utf-16")})
    result = run(ws)
    assert codes(result, FILE) == [("file.unsafe_xml", FILE, None)]
    assert codes(result, file_of(ebcdic)) == [("file.unsafe_xml", file_of(ebcdic), None)]
    assert codes(result, file_of(fine)) == []
    assert_landed(ws, ["戸籍住民課", fine])


# -- saved by other programs: still read ----------------------------------------------------

def test_returns_saved_by_ssconvert_are_still_read(tmp_path):
    if shutil.which("ssconvert") is None:
        pytest.skip("ssconvert (gnumeric) is not installed")
    ws, _, files = returned(tmp_path)
    path = files[VICTIM]
    out = tmp_path / "ss.xlsx"
    subprocess.run(["ssconvert", str(path), str(out)], check=True, capture_output=True, timeout=120)
    out.replace(path)
    result = run(ws)
    assert not [f for f in result.findings if f.file == FILE and f.code.startswith("file.")]
    assert_landed(ws)


def test_returns_saved_by_libreoffice_are_still_read(tmp_path):
    from . import lo

    lo.require()
    ws, _, files = returned(tmp_path)
    path = files[VICTIM]
    batch = lo.run_batch([lo.save_job(path, tmp_path / "lo" / path.name, view=True)])
    batch.outcomes[0].check().replace(path)
    result = run(ws)
    assert not [f for f in result.findings if f.file == FILE and f.code.startswith("file.")]
    assert_landed(ws)


# -- memory: consolidate -j 1 under an address-space limit ------------------------------

MEMORY_LIMIT = 1 << 30  # 1 GB of address space (virtual memory, not RSS)

RUNNER = """
import resource, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
sys.argv = ["nakano-xl", "consolidate", "-j", "1", "-q", "-w", sys.argv[2]]
from nakano_xl.cli import main
main()
"""


def consolidate_limited(ws_root: Path, limit: int = MEMORY_LIMIT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", RUNNER, str(limit), str(ws_root)], capture_output=True, text=True,
                          timeout=900, env=env, check=False)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS bounds the address space on Linux only")
def test_consolidate_of_floods_stays_within_a_memory_limit(tmp_path):
    ws, _, files = returned(tmp_path)
    # Every department but one sends a flood of another shape; one return is good.
    instructions_flood(files["情報システム課"])  # ~627,000 typed cells
    instructions_flood(files["職員課"], 9_800, 60)
    path = files["税務課"]
    flood_sheet(path, ANSWER_SHEET, 100, 9_800, 12, 50)  # outside the table on the answer sheet
    add_comments(path, ANSWER_SHEET, 120_000)
    add_sheet(path, "下書き", typed_rows(1, 9_000, 1, 60))
    # An older copy of a good return, whose shared strings fill the part limit (~100 MB).
    older = ws.inbox / "戸籍住民課_古い.xlsx"
    shutil.copy(files["戸籍住民課"], older)
    with zipfile.ZipFile(older) as z:
        saved = re.search(r"<dcterms:modified[^>]*>([^<]+)<", z.read("docProps/core.xml").decode()).group(1)
    set_saved_at(older, (dt.datetime.fromisoformat(saved) - dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z"))
    shared_strings_flood(older, 4_400_000)
    done = consolidate_limited(ws.root)
    assert done.returncode in (0, 1), done.stderr[-2000:]  # findings, never a crash
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr
    findings = json.loads(ws.findings_path().read_text("utf-8"))
    for file in (file_of("情報システム課"), file_of("職員課"), file_of("税務課")):
        mine = [f for f in findings if f["file"] == file and f["code"] == "cell.outside"]
        assert len(mine) == CAP + 1, (file, len(mine))
    assert len(findings) < 300
    [superseded] = [f for f in findings if f["file"] == older.name]
    assert superseded["code"] == "submission.superseded"
    assert_landed(ws)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS bounds the address space on Linux only")
def test_the_memory_limit_is_in_force():
    """The runner's limit holds: asking for as much memory as the limit fails in it, so the
    test above passing means something."""
    code = RUNNER.split("sys.argv = ")[0] + "bytearray(limit)\n"
    done = subprocess.run([sys.executable, "-c", code, str(MEMORY_LIMIT)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode != 0 and "MemoryError" in done.stderr


def test_cli_exit_status_with_a_flood_and_with_a_refused_part(tmp_path):
    ws, _, files = returned(tmp_path)
    instructions_flood(files[VICTIM], 200, 10)
    got = CliRunner().invoke(cli, ["consolidate", "-q", "-w", str(ws.root), "-j", "1"])
    assert got.exit_code == 0, got.output  # warnings only
    findings = json.loads(ws.findings_path().read_text("utf-8"))
    assert len([f for f in findings if f["code"] == "cell.outside"]) == CAP + 1
    assert_landed(ws)
    rewrite_zip(files["職員課"], lambda n, d: d, add={"docProps/custom.xml": CORE_DOCTYPE.format(enc="utf-16").encode("utf-16")})
    got = CliRunner().invoke(cli, ["consolidate", "-q", "-w", str(ws.root), "-j", "1"])
    assert got.exit_code == 1, got.output
    assert_landed(ws, [d for d in GOOD if d != "職員課"])
