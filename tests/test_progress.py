"""Progress bars: on a terminal for distribute, consolidate and a check of several
files; never with --quiet, never when stderr is not a terminal (a log file, a pipe, a script)."""

from __future__ import annotations

import io
import sys

import pytest
from click.testing import CliRunner

from nakano_xl.cli import cli, progress_bar

from .intake_kit import returned


class Terminal(io.StringIO):
    """stderr as a terminal: what a coordinator running nakano-xl in a console sees."""

    def isatty(self) -> bool:
        return True


def run_on_terminal(monkeypatch, *args: str) -> str:
    """Run a command with stderr on a (fake) terminal; what was drawn there."""
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    with pytest.raises(SystemExit) as done:
        cli.main(list(args), prog_name="nakano-xl", standalone_mode=False)
    assert done.value.code in (0, 1)
    return terminal.getvalue()


def test_the_bar_counts_and_then_says_what_comes_next(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bar("読み込み中", False, then="書き出し中…") as tick:
        assert tick is not None
        tick(1, 3)
        tick(3, 3)
    shown = terminal.getvalue()
    assert "読み込み中" in shown and "3/3" in shown
    assert shown.rstrip().endswith("書き出し中…")


@pytest.mark.parametrize("quiet, tty", [(True, True), (False, False), (True, False)])
def test_no_bar_when_quiet_or_not_on_a_terminal(monkeypatch, quiet, tty):
    stream = Terminal() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    with progress_bar("読み込み中", quiet) as tick:
        assert tick is None
    assert stream.getvalue() == ""


def test_distribute_and_consolidate_draw_a_bar_on_a_terminal_and_none_with_quiet(tmp_path, monkeypatch):
    ws, _, files = returned(tmp_path)
    shown = run_on_terminal(monkeypatch, "distribute", "-w", str(ws.root))
    assert "回答票を作成中" in shown
    shown = run_on_terminal(monkeypatch, "consolidate", "-w", str(ws.root))
    assert "回答票を読み込み中" in shown and "別紙1などを書き出し中…" in shown
    assert run_on_terminal(monkeypatch, "consolidate", "-w", str(ws.root), "--quiet") == ""
    assert run_on_terminal(monkeypatch, "distribute", "-w", str(ws.root), "-q") == ""
    several = [str(p) for p in files.values()]
    assert "回答票を確認中" in run_on_terminal(monkeypatch, "check", *several, "-w", str(ws.root))
    assert run_on_terminal(monkeypatch, "check", several[0], "-w", str(ws.root)) == ""  # one file: no bar


def test_no_bar_in_output_captured_by_a_script(tmp_path):
    ws, _, _ = returned(tmp_path)
    result = CliRunner().invoke(cli, ["consolidate", "-w", str(ws.root)])
    assert result.exit_code in (0, 1), result.output
    assert "回答票を読み込み中" not in result.output and "書き出し中" not in result.output


def test_jobs_gives_the_same_result(tmp_path):
    ws, _, _ = returned(tmp_path)
    runs = []
    for jobs in ("1", "2"):
        result = CliRunner().invoke(cli, ["consolidate", "-w", str(ws.root), "-j", jobs], catch_exceptions=False)
        runs.append((result.exit_code, result.output, ws.report_path().read_bytes()))
    assert runs[0] == runs[1]


def test_check_and_consolidate_start_without_openpyxl_numpy_or_pandas(tmp_path):
    """Start-up counts when a coordinator checks one file: the commands that read
    returns never import openpyxl (which brings numpy) nor pandas; `feedback` loads openpyxl
    only when it makes the marked copies."""
    import subprocess
    from pathlib import Path

    ws, _, files = returned(tmp_path)
    one = next(iter(files.values()))
    root = Path(__file__).resolve().parent.parent
    for args in (["check", str(one)], ["check", str(one), "-w", str(ws.root)], ["consolidate", "-w", str(ws.root)],
                 ["status", "-w", str(ws.root)]):
        code = (f"import sys\nfrom nakano_xl.cli import cli\ntry:\n    cli.main({args!r}, standalone_mode=False)\n"
                "except SystemExit:\n    pass\nprint(sorted(m for m in ('openpyxl', 'numpy', 'pandas') if m in sys.modules))")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=120,
                              check=False)
        assert done.stdout.strip().splitlines()[-1] == "[]", (args, done.stdout, done.stderr)
