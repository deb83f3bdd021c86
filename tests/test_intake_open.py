"""Safe open: whatever arrives in the inbox is one finding, never a crash, a hang or a lost answer.

Each test puts one bad file beside the other departments' valid returns and asserts the
finding (code, file) and that every other department's answers still land in 別紙1, read
back from the written workbook.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest

from nakano_xl.xlsx.reader import require_safe_xml
from nakano_xl.xlsx.zipguard import Limits

from .helpers import set_setting
from .intake_kit import (
    GOOD,
    assert_landed,
    codes,
    edit_part,
    file_of,
    make_cfb,
    others_than,
    part_of,
    returned,
    rewrite_zip,
    run,
)

ROOT = Path(__file__).resolve().parent.parent
VICTIM = "税務課"  # answers only T3, which 情報システム課 answers too


def ods_bytes(*, stored_first: bool = True) -> bytes:
    """An ODS as LibreOffice writes it (mimetype stored, first), or as a careless zip tool does."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        if not stored_first:
            z.writestr("content.xml", "<office:document-content/>")
        z.writestr(zipfile.ZipInfo("mimetype") if stored_first else "mimetype",
                   "application/vnd.oasis.opendocument.spreadsheet")
        if stored_first:
            z.writestr("content.xml", "<office:document-content/>")
    return buffer.getvalue()


NOT_WORKBOOKS = {
    "empty": (b"", "file.empty", "空のファイル"),
    "encrypted": (make_cfb(["EncryptionInfo", "EncryptedPackage"]), "file.encrypted", "パスワード"),
    "xls": (make_cfb(["Workbook", "SummaryInformation"]), "file.not_xlsx", "Excel 97-2003"),
    "other_ole": (make_cfb(["WordDocument"]), "file.not_xlsx", "古いOffice形式"),
    "html": ("<html><body><table><tr><td>○</td></tr></table></body></html>".encode(), "file.not_xlsx", "HTML"),
    "ods": (ods_bytes(), "file.not_xlsx", "OpenDocument"),
    "ods_rezipped": (ods_bytes(stored_first=False), "file.not_xlsx", "OpenDocument"),
    "pdf": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "file.not_xlsx", "PDF"),
    "csv": ("item_id,status\nT3,○\n".encode(), "file.not_xlsx", "Excelブックではありません"),
}


@pytest.mark.parametrize("kind", sorted(NOT_WORKBOOKS))
def test_a_file_that_is_not_a_workbook_is_one_error_named_by_its_bytes(tmp_path, kind):
    data, code, words = NOT_WORKBOOKS[kind]
    ws, _, files = returned(tmp_path)
    files[VICTIM].write_bytes(data)  # still named .xlsx: the name decides nothing
    result = run(ws)
    assert codes(result, file_of(VICTIM)) == [(code, file_of(VICTIM), None)]
    assert words in result.findings[[f.file for f in result.findings].index(file_of(VICTIM))].message
    assert ("submission.missing", None, None) in codes(result)
    assert_landed(ws, others_than(VICTIM))
    assert result.answers["T3"].reason == GOOD["情報システム課"]["T3"]["reason"]  # the shared row still answered


def test_lock_files_and_os_litter_are_info_and_change_nothing(tmp_path):
    ws, _, _ = returned(tmp_path)
    (ws.inbox / f"~${file_of(VICTIM)}").write_bytes(b"\x06" + "山田".encode("utf-16-le") + b"\x00" * 159)
    (ws.inbox / ".~lock.職員課_回答.xlsx#").write_text(",yamada,pc,2022-05-20T10:00:00,\n", encoding="utf-8")
    (ws.inbox / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + b"\x00" * 100)
    (ws.inbox / "sub").mkdir()
    (ws.inbox / "sub" / "Thumbs.db").write_bytes(make_cfb(["Catalog"]))
    result = run(ws)
    ignored = sorted((f.file, f.severity.name) for f in result.findings if f.code == "file.ignored")
    assert ignored == [(".DS_Store", "INFO"), (".~lock.職員課_回答.xlsx#", "INFO"), ("sub/Thumbs.db", "INFO"),
                       (f"~${file_of(VICTIM)}", "INFO")]
    assert [f for f in result.findings if f.file and f.code != "file.ignored"] == []
    assert_landed(ws)


def test_a_picture_is_not_scanned_as_xml(tmp_path):
    """An SVG icon pasted into a sheet may carry a DOCTYPE; pictures are never parsed."""
    ws, _, files = returned(tmp_path)
    svg = b'<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd"><svg/>'
    rewrite_zip(files[VICTIM], lambda n, d: d, add={"xl/media/image1.svg": svg})
    result = run(ws)
    assert codes(result, file_of(VICTIM)) == []
    assert_landed(ws)


def test_a_large_file_named_like_a_lock_file_is_still_read(tmp_path):
    ws, _, files = returned(tmp_path)
    files[VICTIM].rename(ws.inbox / f"~${file_of(VICTIM)}")  # a real return, oddly named
    result = run(ws)
    assert "file.ignored" not in [c for c, _, _ in codes(result)]
    assert_landed(ws)


def spoil(path: Path, how: str) -> None:
    """One change only a program (or a saboteur) makes to a package."""
    if how == "macro":
        rewrite_zip(path, lambda n, d: d, add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0" + b"\x00" * 60})
    elif how == "strict":
        edit_part(path, "xl/workbook.xml", lambda t: t.replace(
            "http://schemas.openxmlformats.org/spreadsheetml/2006/main", "http://purl.oclc.org/ooxml/spreadsheetml/main"))
    elif how == "doctype_in_a_part_we_never_read":
        edit_part(path, "docProps/app.xml", lambda t: '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + t)
    elif how == "not_utf8":
        edit_part(path, "xl/workbook.xml", lambda t: t)  # keep, then re-encode below
        rewrite_zip(path, lambda n, d: d.decode("utf-8").encode("utf-16") if n == "xl/workbook.xml" else d)
    elif how == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif how == "broken_sheet_xml":
        edit_part(path, part_of(path, "回答"), lambda t: t.replace("</sheetData>", "<row r='9'><c></sheetData>"))


SPOILED = {
    "macro": "file.macro",
    "strict": "file.strict",
    "doctype_in_a_part_we_never_read": "file.unsafe_xml",
    "not_utf8": "file.unsafe_xml",
    "truncated": "file.corrupt",
    "broken_sheet_xml": "file.corrupt",
}


@pytest.mark.parametrize("how", sorted(SPOILED))
def test_a_spoiled_package_is_refused_whole(tmp_path, how):
    ws, _, files = returned(tmp_path)
    spoil(files[VICTIM], how)
    result = run(ws)
    assert codes(result, file_of(VICTIM)) == [(SPOILED[how], file_of(VICTIM), None)]
    assert_landed(ws, others_than(VICTIM))


# -- the zip directory is judged before anything is inflated ----------------------------

def patch_declared_size(path: Path, name: str, size: int) -> None:
    """Make the zip directory (central and local headers) declare ``size`` for one entry."""
    data = bytearray(path.read_bytes())
    raw = name.encode("utf-8")
    for signature, name_at, size_at in ((b"PK\x01\x02", 46, 24), (b"PK\x03\x04", 30, 22)):
        at = 0
        while (at := data.find(signature, at)) >= 0:
            length = struct.unpack_from("<H", data, at + (28 if signature == b"PK\x01\x02" else 26))[0]
            if data[at + name_at: at + name_at + length] == raw:
                struct.pack_into("<I", data, at + size_at, size)
            at += 4
    path.write_bytes(bytes(data))


def directory_trick(path: Path, how: str) -> None:
    if how == "duplicate_names":
        with pytest.warns(UserWarning), zipfile.ZipFile(path, "a") as z:
            z.writestr("xl/workbook.xml", "<workbook/>")
    elif how == "dot_dot_name":
        rewrite_zip(path, lambda n, d: d, add={"../../outside.xml": b"<x/>"})
    elif how == "compressed_larger_than_declared":
        rewrite_zip(path, lambda n, d: d, add={"xl/media/noise.bin": os.urandom(8000)})
        patch_declared_size(path, "xl/media/noise.bin", 100)
    elif how == "huge_declared_size":
        patch_declared_size(path, "xl/styles.xml", 3_000_000_000)
    elif how == "too_many_entries":
        rewrite_zip(path, lambda n, d: d, add={f"xl/extra/{n}.xml": b"<x/>" for n in range(Limits().max_entries)})


@pytest.mark.parametrize("how", ["duplicate_names", "dot_dot_name", "compressed_larger_than_declared",
                                 "huge_declared_size", "too_many_entries"])
def test_zip_directory_tricks_are_refused_before_inflating_a_byte(tmp_path, how):
    ws, _, files = returned(tmp_path)
    directory_trick(files[VICTIM], how)
    result = run(ws)
    assert codes(result, file_of(VICTIM)) == [("file.bomb", file_of(VICTIM), None)]
    assert result.inbox.record(file_of(VICTIM)).inflated == 0
    assert_landed(ws, others_than(VICTIM))


# -- the three bombs of the issue, side by side with good files ------------------------

def zip_bomb(path: Path) -> int:
    """The answer sheet replaced by 8 MB of deflated zeros (about 8 KB on disk)."""
    part = part_of(path, "回答")
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = packer.compress(b"\x00" * 8_000_000) + packer.flush()
    rewrite_zip(path, lambda n, d: None if n == part else d)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr(part, b"\x00" * 8_000_000)
    assert len(zeros) < 20_000
    return 8_000_000


BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "ああああああああああ">'
                  + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
                  + "]>")


def xml_bomb(path: Path) -> None:
    """Billion laughs in the answer sheet itself: ten to the tenth あ if anything expanded it."""
    edit_part(path, part_of(path, "回答"), lambda t: BILLION_LAUGHS + t.replace(
        "<t>T4</t>", "<t>&j;</t>", 1) if t.startswith("<worksheet") else t)


def dimension_liar(path: Path) -> None:
    """A sheet that claims A1:XFD1048576 and has one cell at its last row, and a lying count."""
    def edit(t: str) -> str:
        t = t.replace('<dimension ref="A1:I5" />', '<dimension ref="A1:XFD1048576" />')
        far = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>最後の行</t></is></c></row>'
        return t.replace("</sheetData>", far + "</sheetData>")

    edit_part(path, part_of(path, "回答"), edit)


def test_zip_bomb_xml_bomb_and_dimension_liar_are_refused_within_the_limits(tmp_path):
    ws, _, files = returned(tmp_path)
    set_setting(ws.root, "max_rows", "200", quoted=False)  # the coordinator's own limit, from nakano-xl.toml
    from nakano_xl.workspace import open_workspace

    ws = open_workspace(ws.root)
    assert ws.settings.limits.max_rows == 200
    zip_bomb(files["戸籍住民課"])
    xml_bomb(files["職員課"])
    liar = ws.inbox / "税務課_大きすぎ.xlsx"
    files[VICTIM].rename(liar)
    dimension_liar(liar)
    assert all(p.stat().st_size < 60_000 for p in ws.inbox.iterdir())  # small on disk, every one

    result = run(ws)
    inbox = result.inbox
    assert inbox.limits == ws.settings.limits
    # The zip bomb: refused from the directory (declared 8 MB at a ratio far over the limit).
    bomb = [f for f in result.findings if f.file == file_of("戸籍住民課")]
    assert [(f.code, f.file) for f in bomb] == [("file.bomb", file_of("戸籍住民課"))]
    assert "圧縮率" in bomb[0].message and f"上限{Limits().max_ratio:,.0f}倍" in bomb[0].message
    assert inbox.record(file_of("戸籍住民課")).inflated == 0
    # The XML bomb: refused at its DOCTYPE, before the parser saw an entity, having inflated
    # no more than the parts before it and one chunk of the sheet.
    xml = [(f.code, f.file) for f in result.findings if f.file == file_of("職員課")]
    assert xml == [("file.unsafe_xml", file_of("職員課"))]
    assert inbox.record(file_of("職員課")).inflated < 200_000
    # The liar: read up to the row limit, no further; its rows above the limit are used.
    lied = [(f.code, f.cell) for f in result.findings if f.file == liar.name and f.severity.name == "ERROR"]
    assert lied == [("file.too_many_rows", None)]
    assert "200行目" in next(f.message for f in result.findings if f.file == liar.name)
    record = inbox.record(liar.name)
    assert record.rows_read <= ws.settings.limits.max_rows
    assert result.answers["T3"].status.mark == "○"
    # The good files are consolidated; the refused departments are listed as missing.
    assert_landed(ws, ["情報システム課"])
    assert {f.department for f in result.findings if f.code == "submission.missing"} == {"戸籍住民課", "職員課"}
    # The same findings in findings.json and in 確認事項, whose header has a filter.
    data = json.loads((ws.output / "findings.json").read_text(encoding="utf-8"))
    assert [(f["code"], f["file"], f["cell"]) for f in data] == [(f.code, f.file, f.cell) for f in result.findings]
    sheet = openpyxl.load_workbook(ws.report_path())["確認事項"]
    assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:")
    listed = [(r[1].value, r[3].value or None) for r in sheet.iter_rows(min_row=2) if r[1].value]
    assert listed == [(f.code, f.file) for f in result.findings]


# -- defusedxml in force ----------------------------------------------------------------

def test_defusedxml_is_in_force_for_openpyxl_here():
    require_safe_xml()  # raises if openpyxl would parse without defusedxml
    import openpyxl

    assert openpyxl.DEFUSEDXML is True


def test_a_run_without_defusedxml_in_force_stops_with_one_japanese_line(tmp_path):
    ws, _, files = returned(tmp_path)
    env = {**os.environ, "OPENPYXL_DEFUSEDXML": "False", "PYTHONPATH": str(ROOT)}
    for args in (["check", str(files[VICTIM])], ["consolidate", "-w", str(ws.root)]):
        done = subprocess.run([sys.executable, "-m", "nakano_xl", *args], env=env, capture_output=True,
                              text=True, encoding="utf-8", timeout=120, check=False)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "defusedxml" in done.stderr and "Traceback" not in done.stderr
    assert not ws.report_path().exists()


def test_a_file_over_the_size_limit_is_not_opened(tmp_path):
    ws, _, files = returned(tmp_path)
    largest = max(files, key=lambda d: (files[d].stat().st_size, d))
    size = files[largest].stat().st_size
    set_setting(ws.root, "max_file_bytes", str(size - 1), quoted=False)  # every other file is smaller
    from nakano_xl.workspace import open_workspace

    ws = open_workspace(ws.root)
    result = run(ws)
    assert [c for c in codes(result) if c[1]] == [("file.too_large", file_of(largest), None)]
    assert f"上限{size - 1:,}バイト" in next(f.message for f in result.findings if f.file == file_of(largest))
    assert result.inbox.record(file_of(largest)).inflated == 0
    assert_landed(ws, others_than(largest))


def test_a_sheet_pointing_outside_the_package_is_corrupt_not_a_crash(tmp_path):
    ws, _, files = returned(tmp_path)
    edit_part(files[VICTIM], "xl/_rels/workbook.xml.rels",
              lambda t: t.replace("worksheets/sheet1.xml", "../../../etc/passwd", 1))
    result = run(ws)
    assert codes(result, file_of(VICTIM)) == [("file.corrupt", file_of(VICTIM), None)]
    assert_landed(ws, others_than(VICTIM))
