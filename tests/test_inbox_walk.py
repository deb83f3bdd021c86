"""The inbox walk: everything in the inbox that is not a regular file is named, never followed,
never opened; any file name is read, shown, ordered and consolidated.

Each case is built in the tiny workspace's inbox beside the departments' valid returns, and
run through the CLI (exit status, findings.json, 提出状況, 別紙1 read back). FIFOs, sockets,
symbolic links and non-UTF-8 names are POSIX things: those cases skip elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from nakano_xl.cli import cli
from nakano_xl.intake import check_files, list_inbox, read_file
from nakano_xl.intake.walk import shown_name, walk_inbox
from nakano_xl.xlsx.zipguard import Limits

from .intake_kit import GOOD, assert_landed, file_of, others_than, returned

ROOT = Path(__file__).resolve().parent.parent
POSIX = pytest.mark.skipif(os.name == "nt", reason="FIFOs, sockets, symbolic links and byte names are POSIX")
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def consolidate_cli(ws) -> tuple[int, list[dict], str]:
    """``nakano-xl consolidate`` in a subprocess with a timeout (a FIFO opened would block it):
    exit status, findings.json, the output."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "nakano_xl", "consolidate", "-w", str(ws.root), "-j", "1"],
                          check=False, capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stdout + done.stderr
    return done.returncode, json.loads(ws.findings_path().read_text(encoding="utf-8")), done.stdout


def consolidate_here(ws) -> tuple[int, list[dict]]:
    """The same in this process (for a test that patches the file system)."""
    result = CliRunner().invoke(cli, ["consolidate", "-w", str(ws.root), "-j", "1"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(ws.findings_path().read_text(encoding="utf-8"))


def status_json(ws) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["status", "-w", str(ws.root), "--json"])
    return result.exit_code, json.loads(result.output)


def of(found: list[dict], code: str) -> list[dict]:
    return [f for f in found if f["code"] == code]


def status_sheet(ws) -> dict[str, list[str]]:
    """提出状況 read back: department → the row's texts."""
    sheet = openpyxl.load_workbook(ws.report_path())["提出状況"]
    rows = {}
    for row in sheet.iter_rows(values_only=True):
        texts = [str(v) for v in row if v is not None]
        if texts and texts[0] in GOOD:
            rows[texts[0]] = texts
    return rows


def move_out(ws, department: str, to: Path) -> Path:
    """A department's return moved from the inbox to ``to`` (a folder made as needed)."""
    to.mkdir(parents=True, exist_ok=True)
    return Path(shutil.move(ws.inbox / file_of(department), to / file_of(department)))


def byte_name(folder: Path, name: bytes) -> str:
    """The path of ``name`` (raw bytes) in ``folder``, as Python gives such names (surrogateescape)."""
    return os.fsdecode(os.path.join(os.fsencode(folder), name))


# -- unreadable folders and files ----------------------------------------------------------

def assert_unreadable_folder(code: int, found: list[dict], ws, folder: str, department: str) -> None:
    [hit] = of(found, "inbox.unreadable")
    assert hit["file"] == f"{folder}/" and hit["severity"] == "error"
    assert "フォルダを読み取れません" in hit["message"] and "未提出" in hit["message"]
    assert code == 1
    assert [f["department"] for f in of(found, "submission.missing")] == [department]
    assert_landed(ws, others_than(department))


@POSIX
@pytest.mark.skipif(AS_ROOT, reason="root reads a folder whatever its mode; the patched test covers it")
def test_an_unreadable_subfolder_is_an_error_naming_it(tmp_path):
    ws, _, _ = returned(tmp_path)
    folder = ws.inbox / "職員課から"
    move_out(ws, "職員課", folder)
    folder.chmod(0)
    try:
        code, found = consolidate_here(ws)
        status_code, status = status_json(ws)
    finally:
        folder.chmod(0o755)
    assert_unreadable_folder(code, found, ws, "職員課から", "職員課")
    assert status_code == 1 and "職員課" in status["not_returned"]
    assert [o["code"] for o in status["other_files"]] == ["inbox.unreadable"]


@POSIX
@pytest.mark.skipif(AS_ROOT, reason="root reads a folder whatever its mode")
def test_a_folder_listed_but_not_entered_names_what_is_in_it(tmp_path):
    """Read but no execute permission: the names are listed, nothing in it can be looked at."""
    ws, _, _ = returned(tmp_path)
    folder = ws.inbox / "税務課分"
    move_out(ws, "税務課", folder)
    (folder / "下").mkdir()
    folder.chmod(0o444)
    try:
        code, found = consolidate_here(ws)
    finally:
        folder.chmod(0o755)
    hits = {(f["file"], f["severity"]) for f in of(found, "inbox.unreadable")}
    assert hits == {("税務課分/税務課_回答.xlsx", "error"), ("税務課分/下/", "error")}
    assert code == 1
    assert [f["department"] for f in of(found, "submission.missing")] == ["税務課"]
    assert_landed(ws, others_than("税務課"))


def test_a_subfolder_that_cannot_be_listed_is_an_error_naming_it(tmp_path, monkeypatch):
    """As above, with the listing refused by a patched os.scandir (root reads any folder)."""
    ws, _, _ = returned(tmp_path)
    folder = ws.inbox / "返送" / "戸籍住民課分"
    move_out(ws, "戸籍住民課", folder)
    real_scandir = os.scandir

    def scandir(path=".", *rest):
        if isinstance(path, str | os.PathLike) and Path(path) == folder:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path, *rest)

    monkeypatch.setattr(os, "scandir", scandir)
    code, found = consolidate_here(ws)
    assert_unreadable_folder(code, found, ws, "返送/戸籍住民課分", "戸籍住民課")
    assert str(tmp_path) not in of(found, "inbox.unreadable")[0]["message"]  # the same on every machine


def test_an_inbox_that_cannot_be_listed_stops_the_run(tmp_path, monkeypatch):
    ws, _, _ = returned(tmp_path)
    real_scandir = os.scandir

    def scandir(path=".", *rest):
        if isinstance(path, str | os.PathLike) and Path(path) == ws.inbox:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path, *rest)

    monkeypatch.setattr(os, "scandir", scandir)
    result = CliRunner().invoke(cli, ["consolidate", "-w", str(ws.root), "-j", "1"])
    assert result.exit_code == 2
    assert "受信フォルダ" in result.output and "読み取れません" in result.output
    assert not ws.findings_path().exists()


@POSIX
@pytest.mark.skipif(AS_ROOT, reason="root reads a file whatever its mode")
def test_an_unreadable_file_is_an_error_naming_it(tmp_path):
    ws, _, files = returned(tmp_path)
    files["税務課"].chmod(0)
    try:
        code, found = consolidate_here(ws)
    finally:
        files["税務課"].chmod(0o644)
    [hit] = of(found, "inbox.unreadable")
    assert (hit["file"], hit["severity"]) == (file_of("税務課"), "error")
    assert "ファイルを読み取れません" in hit["message"]
    assert code == 1
    assert_landed(ws, others_than("税務課"))


def test_read_file_on_a_file_gone_is_a_finding(tmp_path):
    """The last guard: a file that vanished between the walk and the read."""
    sub, found, record = read_file(tmp_path / "消えた.xlsx", "消えた.xlsx", ws=None, limits=Limits())
    assert sub is None and [f.code for f in found] == ["file.unreadable"] and record.size == 0


# -- things that are not files -------------------------------------------------------------

@POSIX
def test_a_fifo_is_named_and_never_opened(tmp_path):
    ws, _, _ = returned(tmp_path)
    os.mkfifo(ws.inbox / "税務課_再提出.xlsx")
    os.mkfifo(ws.inbox / "パイプ")
    code, found, _ = consolidate_cli(ws)  # would hang (and time out) if the FIFO were opened
    hits = of(found, "inbox.not_a_file")
    assert [(f["file"], f["severity"]) for f in hits] == [("パイプ", "warning"), ("税務課_再提出.xlsx", "warning")]
    assert all("FIFO" in f["message"] for f in hits)
    assert code == 0  # warnings only: every return was read
    assert_landed(ws)


@POSIX
def test_a_socket_is_named(tmp_path):
    ws, _, _ = returned(tmp_path)
    path = ws.inbox / "s.xlsx"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(str(path))
    code, found, _ = consolidate_cli(ws)
    [hit] = of(found, "inbox.not_a_file")
    assert hit["file"] == "s.xlsx" and "ソケット" in hit["message"]
    assert code == 0
    assert_landed(ws)


@POSIX
def test_a_device_is_named(tmp_path):
    ws, _, _ = returned(tmp_path)
    import stat

    try:
        os.mknod(ws.inbox / "zero.xlsx", 0o644 | stat.S_IFCHR, os.makedev(1, 5))
    except (PermissionError, OSError) as e:
        pytest.skip(f"cannot make a device here: {e}")
    code, found, _ = consolidate_cli(ws)
    [hit] = of(found, "inbox.not_a_file")
    assert hit["file"] == "zero.xlsx" and "装置ファイル" in hit["message"]
    assert code == 0
    assert_landed(ws)


def test_a_folder_with_a_workbook_name_is_named_and_what_is_in_it_read(tmp_path):
    ws, _, _ = returned(tmp_path)
    move_out(ws, "職員課", ws.inbox / "職員課.xlsx")
    (ws.inbox / "空.xlsm").mkdir()
    code, found = consolidate_here(ws)
    hits = of(found, "inbox.not_a_file")
    assert [(f["file"], f["severity"]) for f in hits] == [("空.xlsm", "warning"), ("職員課.xlsx", "warning")]
    assert all("フォルダ" in f["message"] for f in hits)
    assert code == 0
    assert status_sheet(ws)["職員課"][1:3] == ["提出済", "職員課.xlsx/職員課_回答.xlsx"]
    assert_landed(ws)


# -- symbolic links ------------------------------------------------------------------------

def _dangling(ws, _outside):
    os.symlink("どこにもない.xlsx", ws.inbox / "リンク.xlsx")
    return "inbox.symlink", "リンク.xlsx", "リンク先がありません", 0, list(GOOD)


def _circle(ws, _outside):
    os.symlink("b.xlsx", ws.inbox / "a.xlsx")
    os.symlink("a.xlsx", ws.inbox / "b.xlsx")
    return "inbox.symlink", "a.xlsx", "循環", 0, list(GOOD)


def _parent(ws, _outside):
    (ws.inbox / "下").mkdir()
    os.symlink("..", ws.inbox / "下" / "上へ")
    return "inbox.symlink", "下/上へ", "循環", 0, list(GOOD)


def _device(ws, _outside):
    os.symlink("/dev/zero", ws.inbox / "税務課_最新.xlsx")
    return "inbox.symlink", "税務課_最新.xlsx", "装置ファイル", 0, list(GOOD)


def _outside_file(ws, outside):
    target = move_out(ws, "税務課", outside)
    os.symlink(target, ws.inbox / "税務課へのリンク.xlsx")
    return "inbox.symlink_outside", "税務課へのリンク.xlsx", "受信フォルダの外のファイル", 1, others_than("税務課")


def _outside_folder(ws, outside):
    move_out(ws, "戸籍住民課", outside)
    os.symlink(outside, ws.inbox / "共有")
    return "inbox.symlink_outside", "共有", "受信フォルダの外のフォルダ", 1, others_than("戸籍住民課")


def _inside(ws, _outside):
    os.symlink(file_of("職員課"), ws.inbox / "職員課_コピー.xlsx")
    return "inbox.symlink", "職員課_コピー.xlsx", "受信フォルダの中", 0, list(GOOD)


LINKS = {"dangling": _dangling, "circle": _circle, "parent": _parent, "dev_zero": _device,
         "outside_file": _outside_file, "outside_folder": _outside_folder, "inside": _inside}


@POSIX
@pytest.mark.parametrize("case", sorted(LINKS))
def test_a_symbolic_link_is_named_and_never_followed(tmp_path, case):
    ws, _, _ = returned(tmp_path / "ws")
    code_expected, file, words, status, landed = LINKS[case](ws, tmp_path / "よそ")
    code, found, _ = consolidate_cli(ws)
    hits = [f for f in found if f["code"].startswith("inbox.")]
    assert [h["file"] for h in hits if h["file"] == file] == [file], hits
    [hit] = [h for h in hits if h["file"] == file]
    assert hit["code"] == code_expected and words in hit["message"], hit
    assert hit["value"] == os.readlink(ws.inbox / file)  # the link as written
    assert code == status
    assert_landed(ws, landed)
    # Nothing is read through a link: one file per department at most, no second copy.
    assert of(found, "submission.superseded") == []
    missing = sorted(set(GOOD) - set(landed))
    assert sorted(f["department"] for f in of(found, "submission.missing")) == missing


@POSIX
@pytest.mark.skipif(not AS_ROOT or shutil.which("unshare") is None, reason="a bind mount needs root and unshare")
def test_a_folder_met_twice_is_named_and_read_once(tmp_path):
    """A bind mount of a folder inside itself (in a mount namespace of its own, gone with it)."""
    ws, _, _ = returned(tmp_path)
    loop = ws.inbox / "戻り"
    (loop / "また").mkdir(parents=True)
    move_out(ws, "税務課", loop)
    script = 'mount --bind "$1" "$1/また" || exit 99; exec "$2" -m nakano_xl consolidate -w "$3" -j 1'
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", str(loop),
                           sys.executable, str(ws.root)], check=False, capture_output=True, text=True, timeout=300,
                          env=env, cwd=ROOT)
    if done.returncode == 99 or "unshare:" in done.stderr:
        pytest.skip(f"no bind mount here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stdout + done.stderr
    found = json.loads(ws.findings_path().read_text(encoding="utf-8"))
    [hit] = of(found, "inbox.loop")
    assert (hit["file"], hit["severity"]) == ("戻り/また/", "warning")
    assert of(found, "submission.superseded") == []  # 税務課's return read once, not once per turn
    assert_landed(ws)


@POSIX
def test_status_lists_what_the_walk_skipped(tmp_path):
    ws, _, _ = returned(tmp_path)
    os.mkfifo(ws.inbox / "fifo.xlsx")
    os.symlink("/etc/hostname", ws.inbox / "外.xlsx")
    result = CliRunner().invoke(cli, ["status", "-w", str(ws.root)])
    assert result.exit_code == 1  # the link out of the inbox is an error
    assert "fifo.xlsx: 通常のファイルではありません" in result.output
    assert "外.xlsx: 受信フォルダの外のファイルを指す" in result.output


# -- any file name -------------------------------------------------------------------------

CP932_FOLDER = "返送分".encode("cp932")


@POSIX
def test_a_cp932_name_is_read_shown_decoded_and_consolidated(tmp_path):
    ws, _, files = returned(tmp_path)
    os.mkdir(byte_name(ws.inbox, CP932_FOLDER))
    raw = CP932_FOLDER + b"/" + "情報システム課（最終）.xlsx".encode("cp932")
    shutil.move(files["情報システム課"], byte_name(ws.inbox, raw))
    code, found, out = consolidate_cli(ws)
    shown = "返送分/情報システム課（最終）.xlsx"
    [note] = of(found, "inbox.name_encoding")
    assert (note["file"], note["severity"]) == (shown, "info")
    assert raw.hex() in note["message"] and "cp932" in note["message"]
    assert code == 0 and shown in out
    assert of(found, "submission.missing") == []
    assert_landed(ws)  # 情報システム課's answers too
    assert status_sheet(ws)["情報システム課"][1:3] == ["提出済", shown]
    status_code, status = status_json(ws)
    assert status_code == 0 and status["not_returned"] == []
    assert {d["department"]: d["file"] for d in status["departments"]}["情報システム課"] == shown


@POSIX
def test_a_cp932_name_still_says_which_department_it_names(tmp_path):
    """identify.renamed compares the shown (decoded) name with the departments' names."""
    ws, _, files = returned(tmp_path)
    shutil.move(files["職員課"], byte_name(ws.inbox, "戸籍住民課_分.xlsx".encode("cp932")))
    code, found, _ = consolidate_cli(ws)
    [hint] = of(found, "identity.renamed")
    assert (hint["file"], hint["department"]) == ("戸籍住民課_分.xlsx", "職員課")
    assert "戸籍住民課" in hint["message"]
    assert code == 0
    assert_landed(ws)
    # feedback copies the file by its real name: the department still gets its marked copy.
    result = CliRunner().invoke(cli, ["feedback", "-w", str(ws.root)])
    assert result.exit_code == 0, result.output
    marked = openpyxl.load_workbook(ws.root / ws.template.feedback["folder"] / "職員課.xlsx")
    assert marked.sheetnames[0] == ws.template.feedback["sheet"]


@POSIX
def test_undecodable_names_are_kept_apart_and_consolidated(tmp_path):
    ws, _, files = returned(tmp_path)
    # Neither UTF-8 nor a name Windows writes (Python's cp932 maps these bytes to private use).
    names = {"税務課": b"\xff\xfd.xlsx", "職員課": b"\xff\xfe.xlsx"}
    for department, raw in names.items():
        shutil.move(files[department], byte_name(ws.inbox, raw))
    code, found, _ = consolidate_cli(ws)
    notes = of(found, "inbox.name_encoding")
    shown = sorted(n["file"] for n in notes)
    assert shown == ["\ufffd\ufffd [fffd2e786c7378].xlsx", "\ufffd\ufffd [fffe2e786c7378].xlsx"]
    assert all("\ufffd" in n["message"] for n in notes)
    assert code == 0
    assert_landed(ws)
    sheet = status_sheet(ws)
    assert (sheet["税務課"][2], sheet["職員課"][2]) == ("\ufffd\ufffd [fffd2e786c7378].xlsx",
                                                     "\ufffd\ufffd [fffe2e786c7378].xlsx")


@POSIX
@pytest.mark.parametrize(("raw", "shown"), [
    ("café.xlsx".encode("latin-1"), "caf\ufffd [636166e92e786c7378].xlsx"),  # é then "." is no cp932 pair
    ("Ñandú.xlsx".encode("latin-1"), "\ufffdand\ufffd [d1616e64fa2e786c7378].xlsx"),  # ú then "." neither
    ("Ä_2022.xlsx".encode("latin-1"), "\uff84_2022.xlsx"),  # latin-1 Ä is cp932's half-width ﾄ: shown so
])
def test_a_latin1_name_is_read(tmp_path, raw, shown):
    ws, _, files = returned(tmp_path)
    shutil.move(files["戸籍住民課"], byte_name(ws.inbox, raw))
    code, found, _ = consolidate_cli(ws)
    [note] = of(found, "inbox.name_encoding")
    assert note["file"] == shown and raw.hex() in note["message"]
    assert code == 0
    assert_landed(ws)


@POSIX
def test_a_cp932_name_that_shows_like_another_gets_its_bytes(tmp_path):
    """The same name in UTF-8 and in cp932: two files, two names, the later saved one used."""
    ws, _, files = returned(tmp_path)
    raw = file_of("職員課").encode("cp932")
    shutil.copy(files["職員課"], byte_name(ws.inbox, raw))
    walk = walk_inbox(ws.inbox)
    rels = [f.rel for f in walk.files]
    assert len(rels) == len(set(rels)) == 5
    assert f"職員課_回答 [{raw.hex()}].xlsx" in rels and file_of("職員課") in rels
    code, found, _ = consolidate_cli(ws)
    [superseded] = of(found, "submission.superseded")
    assert superseded["department"] == "職員課"
    assert code == 0
    assert_landed(ws)


@POSIX
def test_a_name_with_a_control_character_is_shown_without_it(tmp_path):
    ws, _, files = returned(tmp_path)
    raw = "税務課\n回答\x07.xlsx".encode()
    shutil.move(files["税務課"], byte_name(ws.inbox, raw))
    code, found, _ = consolidate_cli(ws)
    [note] = of(found, "inbox.name_encoding")
    assert note["file"] == f"税務課\ufffd回答\ufffd [{raw.hex()}].xlsx"
    assert code == 0
    assert_landed(ws)


@POSIX
def test_files_are_read_in_the_order_of_their_bytes(tmp_path):
    ws, _, files = returned(tmp_path)
    shutil.move(files["税務課"], byte_name(ws.inbox, "税務課.xlsx".encode("cp932")))
    shutil.move(files["職員課"], byte_name(ws.inbox, b"\xfe.xlsx"))
    (ws.inbox / "a").mkdir()
    (ws.inbox / "a" / "x.txt").write_text("x")
    (ws.inbox / "a.txt").write_text("x")
    paths = list_inbox(ws.inbox)
    assert [os.fsencode(p.relative_to(ws.inbox)) for p in paths] == \
        sorted(os.fsencode(p.relative_to(ws.inbox)) for p in paths)
    assert len(paths) == 6


def test_ordinary_names_are_shown_as_they_are():
    """On Windows every name is text: nothing is decoded; the same holds for UTF-8 names here."""
    for name in (file_of("情報システム課"), "R3 回答 (2).xlsx", "~$lock.xlsx", "ファイル名😀.xlsx"):
        assert (shown_name(name).shown, shown_name(name).how) == (name, "")


@POSIX
def test_check_shows_a_cp932_name_decoded(tmp_path):
    ws, _, files = returned(tmp_path)
    path = Path(byte_name(ws.inbox, "税務課（修正）.xlsx".encode("cp932")))
    shutil.move(files["税務課"], path)
    [checked] = check_files([path], ws)
    assert checked.record.file == str(ws.inbox / "税務課（修正）.xlsx")
    assert checked.submission is not None and checked.submission.department == "税務課"
    assert all(f.file == checked.record.file and f.severity.key != "error" for f in checked.findings)


@POSIX
def test_check_does_not_open_a_fifo_it_is_given(tmp_path):
    fifo = tmp_path / "職員課.xlsx"
    os.mkfifo(fifo)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "nakano_xl", "check", str(fifo)], check=False, capture_output=True,
                          text=True, timeout=120, env=env, cwd=ROOT)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "通常のファイルではありません（名前付きパイプ（FIFO））" in done.stdout
