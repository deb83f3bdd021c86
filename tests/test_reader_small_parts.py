"""The small parts of a package (content types, workbook, relationships, styles) are parsed by
ElementTree's C parser, not defusedxml: what keeps them safe is the reader's own scan, which
refuses a DOCTYPE anywhere before any parser sees the bytes. These tests hold it to
that for each small part: an external entity, an XML bomb, a DOCTYPE split across the scan's
chunks or in lower case, another encoding: refused, nothing expanded or fetched; a broken part:
refused as corrupt, not a crash.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nakano_xl.xlsx import zipguard
from nakano_xl.xlsx.reader import XlsxFile
from nakano_xl.xlsx.zipguard import RefusedFile

from .intake_kit import rewrite_zip
from .test_reader_sheets import STRINGS, plain_strings, sheet_xml, workbook

# The parts the reader parses as trees, and one it only scans (the package's own relationships).
PARSED = ["[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml"]
SMALL_PARTS = PARSED + ["_rels/.rels"]
ROWS = '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'


def base(tmp_path: Path) -> Path:
    return workbook(tmp_path / "ok.xlsx", sheet_xml(ROWS), plain_strings(STRINGS))


def with_part(src: Path, dst: Path, part: str, edit) -> Path:
    """A copy of ``src`` at ``dst`` with ``part``'s bytes edited."""
    shutil.copy(src, dst)
    rewrite_zip(dst, lambda name, data: edit(data) if name == part else data)
    return dst


def after_declaration(text: bytes, insert: bytes) -> bytes:
    """``insert`` where a DOCTYPE goes: after the XML declaration, if there is one."""
    if text.startswith(b"<?xml"):
        end = text.index(b"?>") + 2
        return text[:end] + insert + text[end:]
    return insert + text


def refusal(path: Path) -> str:
    with pytest.raises(RefusedFile) as refused, XlsxFile(path) as book:
        book.read_sheet(book.sheets[0])
    return refused.value.code


def test_the_unspoilt_package_reads(tmp_path):
    with XlsxFile(base(tmp_path)) as book:
        assert book.read_sheet(book.sheets[0]).text(1, 1) == STRINGS[0]


@pytest.mark.parametrize("part", SMALL_PARTS)
def test_an_external_entity_in_a_small_part_is_refused_and_never_read(tmp_path, part):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-OF-THE-WARD", encoding="utf-8")
    xxe = f'<!DOCTYPE x [<!ENTITY e SYSTEM "{secret.as_uri()}">]>'.encode()
    path = with_part(base(tmp_path), tmp_path / "xxe.xlsx", part, lambda t: after_declaration(t, xxe))
    assert refusal(path) == "file.unsafe_xml"


@pytest.mark.parametrize("part", SMALL_PARTS)
def test_an_xml_bomb_in_a_small_part_is_refused(tmp_path, part):
    bomb = ('<!DOCTYPE x [<!ENTITY a "ああああああああああ">'
            + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9)) + "]>")
    path = with_part(base(tmp_path), tmp_path / "bomb.xlsx", part, lambda t: after_declaration(t, bomb.encode()))
    assert refusal(path) == "file.unsafe_xml"


def test_a_doctype_across_two_chunks_or_in_lower_case_is_refused(tmp_path, monkeypatch):
    """The scan keeps the end of each chunk: a DOCTYPE cut in two by the chunking is still seen."""
    monkeypatch.setattr(zipguard, "CHUNK", 64)
    for n, doctype in enumerate([b"<!DOCTYPE x>", b"<!doctype x>"]):
        def edit(t: bytes, doctype: bytes = doctype) -> bytes:
            at = 64 - 5  # the declaration starts five bytes before the first chunk ends
            pad = b" " * (at - t.index(b"?>") - 2)
            return after_declaration(t, pad + doctype)

        path = with_part(base(tmp_path), tmp_path / f"split{n}.xlsx", "xl/workbook.xml", edit)
        assert refusal(path) == "file.unsafe_xml"


def test_a_small_part_in_another_encoding_is_refused(tmp_path):
    """UTF-16 would hide a DOCTYPE from a scan of the bytes: it is refused for that."""
    path = with_part(base(tmp_path), tmp_path / "utf16.xlsx", "xl/workbook.xml",
                     lambda t: t.decode("utf-8").encode("utf-16"))
    assert refusal(path) == "file.unsafe_xml"


@pytest.mark.parametrize("part", PARSED)
def test_a_broken_small_part_is_refused_as_corrupt(tmp_path, part):
    path = with_part(base(tmp_path), tmp_path / "broken.xlsx", part, lambda t: t[: len(t) - 3])
    assert refusal(path) == "file.corrupt"
