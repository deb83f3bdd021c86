"""The command-line contract: exit statuses, Japanese messages, --help on every command."""

from __future__ import annotations

import json
import os
import stat

import pytest
from click.testing import CliRunner

from nakano_xl.cli import cli

COMMANDS = ["init", "distribute", "consolidate", "feedback", "rollover", "export", "demo"]


def run(*args: str, catch: bool = True):
    return CliRunner().invoke(cli, list(args), catch_exceptions=catch)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "例: nakano-xl" in result.output


def test_top_level_help_gives_the_yearly_flow_and_exit_statuses():
    result = run("--help")
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output
    assert "終了コード" in result.output


def test_demo_runs_the_round_trip_and_exits_0(tmp_path):
    result = run("demo", str(tmp_path / "デモ"), catch=False)
    assert result.exit_code == 0, result.output
    assert "◎ 97・○ 4・△ 1・× 1" in result.output
    assert "エラー 0件" in result.output
    assert (tmp_path / "デモ" / "output" / "別紙1_R3.xlsx").is_file()


def test_init_refuses_an_unknown_year_format(tmp_path, sample):
    result = run("init", str(tmp_path / "ws"), "--plan", str(sample / "plan.csv"), "--year", "H31")
    assert result.exit_code == 2
    assert "年度「H31」を読み取れません" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "ws").exists()


def test_init_refuses_an_existing_workspace_unless_forced(tmp_path, sample):
    args = ["init", str(tmp_path / "ws"), "--plan", str(sample / "plan.csv"), "--year", "r3"]
    assert run(*args).exit_code == 0
    key = (tmp_path / "ws" / ".nakano-xl" / "signing.key").read_text()
    again = run(*args)
    assert again.exit_code == 2 and "--force" in again.output
    assert run(*args, "--force").exit_code == 0
    assert (tmp_path / "ws" / ".nakano-xl" / "signing.key").read_text() == key  # kept


def test_commands_outside_a_workspace_say_so(tmp_path):
    result = run("consolidate", "-w", str(tmp_path))
    assert result.exit_code == 2
    assert "作業フォルダではありません" in result.output


def test_unreadable_plan_is_exit_2_with_the_row(tmp_path):
    plan = tmp_path / "plan.csv"
    plan.write_text("item_id,section_code,content,departments\nA,,内容,税務課\n", encoding="utf-8")
    result = run("init", str(tmp_path / "ws"), "--plan", str(plan), "--year", "R3")
    assert result.exit_code == 2
    assert "2行目: 実施内容番号が空です" in result.output


def test_consolidate_exits_1_when_errors_remain_and_still_writes(tmp_path, sample):
    ws = tmp_path / "ws"
    assert run("init", str(ws), "--plan", str(sample / "plan.csv"), "--year", "R3").exit_code == 0
    assert run("distribute", "-w", str(ws)).exit_code == 0
    (ws / "inbox" / "税務課.xlsx").write_text("これはExcelではありません", encoding="utf-8")
    result = run("consolidate", "-w", str(ws))
    assert result.exit_code == 1
    assert "エラー 1件" in result.output
    findings = json.loads((ws / "output" / "findings.json").read_text(encoding="utf-8"))
    assert [f["code"] for f in findings if f["severity"] == "error"] == ["file.not_xlsx"]
    assert (ws / "output" / "別紙1_R3.xlsx").is_file()


def test_demo_replaces_its_own_folder_but_never_a_real_workspace(tmp_path, sample):
    assert run("demo", str(tmp_path / "demo")).exit_code == 0
    assert run("demo", str(tmp_path / "demo")).exit_code == 0
    real = tmp_path / "real"
    assert run("init", str(real), "--plan", str(sample / "plan.csv"), "--year", "R3").exit_code == 0
    result = run("demo", str(real))
    assert result.exit_code == 2 and "デモ用の作業フォルダではありません" in result.output
    assert (real / "nakano-xl.toml").is_file()


@pytest.mark.skipif(os.name != "posix", reason="file modes are a POSIX matter")
def test_outputs_are_not_private_files(tmp_path):
    assert run("demo", str(tmp_path / "demo")).exit_code == 0
    report = tmp_path / "demo" / "output" / "別紙1_R3.xlsx"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(report.stat().st_mode) == 0o666 & ~mask


def test_only_commands_that_write_a_workbook_import_xlsxwriter(tmp_path, sample):
    """Importing the package and checking a file leave xlsxwriter and the report's modules out
    (they are a noticeable part of a short command's start-up); consolidate imports them and
    writes the report."""
    import subprocess
    import sys

    ws = tmp_path / "ws"
    assert run("init", str(ws), "--plan", str(sample / "plan.csv"), "--year", "R3").exit_code == 0
    assert run("distribute", "-w", str(ws)).exit_code == 0
    one = min((ws / "outbox").glob("*.xlsx"))
    code = ("import sys\nfrom click.testing import CliRunner\nfrom nakano_xl.cli import cli\n"
            "heavy = lambda: sorted(m for m in sys.modules if m.split('.')[0] == 'xlsxwriter' or m == 'nakano_xl.report')\n"
            "print('after import', heavy())\n"
            "r = CliRunner().invoke(cli, ['check', sys.argv[1]])\nprint('after check', r.exit_code, heavy())\n"
            "r = CliRunner().invoke(cli, ['consolidate', '-w', sys.argv[2], '-q'])\n"
            "print('after consolidate', r.exit_code, 'nakano_xl.report' in heavy())\n")
    done = subprocess.run([sys.executable, "-c", code, str(one), str(ws)], check=False, capture_output=True,
                          encoding="utf-8", env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines == ["after import []", "after check 0 []", "after consolidate 0 True"], done.stdout
    assert (ws / "output" / "別紙1_R3.xlsx").is_file()


def test_a_closed_pipe_keeps_the_commands_own_exit_status(tmp_path, sample):
    """``nakano-xl status | head -1``: the reader goes away before the table is printed; the
    command still ends with its own status (0 here: nothing has errors), not 1 (errors remain)."""
    import subprocess
    import sys

    ws = tmp_path / "ws"
    assert run("init", str(ws), "--plan", str(sample / "plan.csv"), "--year", "R3").exit_code == 0
    assert run("distribute", "-w", str(ws)).exit_code == 0
    proc = subprocess.Popen([sys.executable, "-m", "nakano_xl", "status", "-w", str(ws)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the first line is written
    err = proc.stderr.read().decode("utf-8")
    assert proc.wait(timeout=60) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err
