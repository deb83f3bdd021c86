"""The outputs of a run are one set, and one writing command runs at a time on a workspace.

The old set is consolidate's three outputs for an inbox without 職員課's return; the new set is
the same inbox with it (and another answer changed). A run stopped at every file-system step —
killed in-process, killed for real in a subprocess, a full disk, a file held open — must leave
the old set or the new one (or a journal the next command rolls back), never a mix, and the
next run must remove what the killed one left and write the right set.
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from nakano_xl.cli import cli
from nakano_xl.consolidate import consolidate
from nakano_xl.errors import NakanoError, OutputLocked
from nakano_xl.lock import WorkspaceLocked, lock_path, recover_if_idle, workspace_lock
from nakano_xl.outputs import JOURNAL
from nakano_xl.workspace import Workspace, open_workspace

from .intake_kit import GOOD, file_of, returned

ROOT = Path(__file__).resolve().parent.parent
DEFERRED = "職員課"


class Killed(BaseException):
    """The process ends here: no except clause of the library catches it (a BaseException
    that is not KeyboardInterrupt), as nothing runs after a kill -9."""


Set = dict[str, bytes]


def outputs(ws: Workspace) -> list[Path]:
    return [ws.report_path(), ws.findings_path(), ws.answers_path()]


def on_disk(ws: Workspace) -> Set:
    return {p.name: p.read_bytes() for p in outputs(ws) if p.exists()}


def leftovers(ws: Workspace) -> list[str]:
    """Whatever is in output/ beside the three outputs: temporary files, the journal."""
    names = {p.name for p in outputs(ws)}
    return sorted(p.name for p in ws.output.iterdir() if p.name not in names)


def put(ws: Workspace, files: Set) -> None:
    for p in ws.output.iterdir():
        p.unlink()
    for name, data in files.items():
        (ws.output / name).write_bytes(data)


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Set, Set]:
    """A workspace whose inbox is the new one, the old set and the new set."""
    root = tmp_path_factory.mktemp("sets")
    ws, _, _ = returned(root)
    aside = root / "aside.xlsx"
    shutil.move(ws.inbox / file_of(DEFERRED), aside)
    consolidate(ws)
    old = on_disk(ws)
    shutil.move(aside, ws.inbox / file_of(DEFERRED))
    consolidate(ws)
    new = on_disk(ws)
    assert len(old) == len(new) == 3 and all(old[n] != new[n] for n in old)  # each file tells the runs apart
    return ws.root, old, new


@pytest.fixture
def old_ws(sets: tuple[Path, Set, Set], tmp_path: Path) -> tuple[Workspace, Set, Set]:
    """A copy of the workspace holding the old set, about to consolidate the new inbox."""
    src, old, new = sets
    ws = open_workspace(Path(shutil.copytree(src, tmp_path / "ws")))
    put(ws, old)
    return ws, old, new


def which(ws: Workspace, old: Set, new: Set) -> str:
    found = on_disk(ws)
    return "old" if found == old else "new" if found == new else "mixed"


def fs_steps(monkeypatch: pytest.MonkeyPatch, at: int,
             fault: Callable[[str, str], BaseException | None]) -> list[str]:
    """Count every rename and removal; the ``at``-th raises ``fault(op, name)`` (if not None)."""
    log: list[str] = []
    real = {"replace": os.replace, "unlink": os.unlink}

    def step(op: str) -> Callable[..., Any]:
        def run(src: Any, *args: Any, **kwargs: Any) -> Any:
            log.append(f"{op} {Path(src).name}" + (f" → {Path(args[0]).name}" if args else ""))
            error = fault(op, Path(src).name) if len(log) == at else None
            if error is not None:
                raise error
            return real[op](src, *args, **kwargs)
        return run

    monkeypatch.setattr(os, "replace", step("replace"))
    monkeypatch.setattr(os, "unlink", step("unlink"))
    return log


def test_a_run_killed_at_every_step_leaves_one_set_and_the_next_run_cleans_up(old_ws, monkeypatch):
    ws, old, new = old_ws
    outcomes = []
    for at in range(1, 200):
        put(ws, old)
        with monkeypatch.context() as m:
            log = fs_steps(m, at, lambda op, name: Killed(f"{op} {name}"))
            try:
                consolidate(ws)
            except Killed:
                pass
            else:
                break  # every step passed: the loop has covered them all
        lock_path(ws.root).unlink(missing_ok=True)  # a real kill leaves it to a dead process: see below
        state = which(ws, old, new)
        assert state != "mixed" or (ws.output / JOURNAL).exists(), (log[at - 1], leftovers(ws))
        committed = any(s.startswith(f"unlink {JOURNAL}") for s in log)
        recover_if_idle(ws.root)  # what the next command (status, --dry-run, any writer) does first
        assert which(ws, old, new) == ("new" if committed else "old"), log[at - 1]
        assert leftovers(ws) == [], (log[at - 1], leftovers(ws))
        outcomes.append(which(ws, old, new))
        consolidate(ws)
        assert which(ws, old, new) == "new" and leftovers(ws) == []
    else:
        pytest.fail("consolidate never completed")
    # Killed while staging, while swapping, and after the commit: all three cases were met.
    assert 20 <= len(outcomes) and "old" in outcomes and "new" in outcomes
    assert sum(1 for s in log if s.startswith("replace") and "→ findings.json" in s) == 1


def test_a_full_disk_at_any_step_keeps_the_old_set_and_says_so(old_ws, monkeypatch):
    ws, old, new = old_ws
    failures = 0
    for at in range(1, 200):
        put(ws, old)
        with monkeypatch.context() as m:
            log = fs_steps(m, at, lambda op, name: OSError(errno.ENOSPC, "No space left on device", name)
                           if op == "replace" else None)
            try:
                consolidate(ws)
            except NakanoError as e:
                failures += 1
                assert log[at - 1].startswith("replace"), log[at - 1]
                assert "前回" in str(e) and str(ws.output) in str(e), str(e)
                assert which(ws, old, new) == "old" and leftovers(ws) == [], (log[-1], leftovers(ws))
                assert not lock_path(ws.root).exists()
                continue
            if len(log) < at:
                break
        assert which(ws, old, new) == "new", log[at - 1]  # the step was a removal
        assert leftovers(ws) == []
    assert failures >= 9  # every rename: three staged files, the journal, six swaps


def test_a_file_being_written_when_the_disk_fills_keeps_the_old_set(old_ws, monkeypatch):
    ws, old, new = old_ws
    module = sys.modules["nakano_xl.consolidate"]  # (the package exports a function of that name)

    def half_then_full(path: Path, plan: Any, answers: Any) -> None:
        path.write_bytes(b"item_id,status\nT1,")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(module, "save_answers", half_then_full)
    result = CliRunner().invoke(cli, ["consolidate", "-w", str(ws.root), "-q"])
    assert result.exit_code == 2 and "No space left on device" in result.stderr and "前回の出力はそのまま" in result.stderr
    assert which(ws, old, new) == "old" and leftovers(ws) == []


@pytest.mark.parametrize("held", ["findings.json", "answers_R3.csv", "別紙1_R3.xlsx"])
def test_a_file_held_open_restores_the_ones_already_replaced(old_ws, monkeypatch, held):
    """On Windows a file Excel has open can be neither renamed nor replaced."""
    ws, old, new = old_ws
    real = os.replace

    def windows_replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        if held in (Path(src).name, Path(dst).name):
            raise PermissionError(errno.EACCES, "The process cannot access the file", str(dst))
        real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", windows_replace)
    result = CliRunner().invoke(cli, ["consolidate", "-w", str(ws.root), "-q"])
    assert result.exit_code == 2, result.output
    assert str(ws.output / held) in result.stderr and "Excel" in result.stderr
    assert "前回のまま" in result.stderr and "Traceback" not in result.output
    assert which(ws, old, new) == "old" and leftovers(ws) == []
    monkeypatch.setattr(os, "replace", real)  # Excel closed
    assert CliRunner().invoke(cli, ["consolidate", "-w", str(ws.root), "-q"]).exit_code == 0
    assert which(ws, old, new) == "new" and leftovers(ws) == []


KILL_AT = """
import os, sys
from pathlib import Path
at, count, output = int(sys.argv[2]), [0], Path(sys.argv[1], "output")
def dying(real):
    def run(src, *args, **kwargs):
        if Path(src).parent == output:  # the steps of the output set, numbered as in-process
            count[0] += 1
            print(real.__name__, Path(src).name, flush=True)
            if count[0] == at:
                os._exit(137)  # no finally, no except: the process is gone as under kill -9
        return real(src, *args, **kwargs)
    return run
os.replace, os.unlink = dying(os.replace), dying(os.unlink)
from nakano_xl.consolidate import consolidate
from nakano_xl.workspace import open_workspace
consolidate(open_workspace(Path(sys.argv[1])))
"""


def python(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=120, check=False,
                          **kwargs)


def test_a_process_killed_while_swapping_leaves_a_set_the_next_command_restores(old_ws):
    """A real process end: its lock stays behind with a dead process id, and is taken over."""
    ws, old, new = old_ws
    seen = set()
    # Steps (see the in-process test): 1–11 stage and write the journal, 12–17 swap, 18 commits.
    for at in (2, 11, 12, 13, 15, 16, 17, 18, 20):
        put(ws, old)
        done = python("-c", KILL_AT, str(ws.root), str(at))
        assert done.returncode == 137, done.stderr
        steps = done.stdout.splitlines()
        assert len(steps) == at
        expected = "new" if f"unlink {JOURNAL}" in steps else "old"
        assert lock_path(ws.root).exists()
        assert which(ws, old, new) != "mixed" or (ws.output / JOURNAL).exists()
        status = CliRunner().invoke(cli, ["status", "-w", str(ws.root)])
        assert status.exit_code == 0, status.output
        assert which(ws, old, new) == expected, at
        seen.add(expected)
        assert leftovers(ws) == [] and not lock_path(ws.root).exists()
    assert seen == {"old", "new"}
    result = CliRunner().invoke(cli, ["consolidate", "-w", str(ws.root), "-q"])
    assert result.exit_code == 0 and which(ws, old, new) == "new" and leftovers(ws) == []


SLOW_DISK = """
import os, sys, time
from pathlib import Path
real = os.replace
def slow(*args, **kwargs):
    time.sleep(0.08)  # a slow share: the renames take most of the run
    return real(*args, **kwargs)
os.replace = slow
from nakano_xl.consolidate import consolidate
from nakano_xl.workspace import open_workspace
ws = open_workspace(Path(sys.argv[1]))
print("writing", flush=True)
consolidate(ws)
print("done", flush=True)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_kill_9_at_random_moments(old_ws):
    import signal

    ws, old, new = old_ws
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = random.Random(18)
    for _ in range(4):
        put(ws, old)
        proc = subprocess.Popen([sys.executable, "-c", SLOW_DISK, str(ws.root)], env=env,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
        time.sleep(rng.uniform(0.0, 1.4))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        assert which(ws, old, new) != "mixed" or (ws.output / JOURNAL).exists()
        dry = CliRunner().invoke(cli, ["consolidate", "-w", str(ws.root), "--dry-run", "-q"])
        assert dry.exit_code == 0, dry.output
        assert which(ws, old, new) in ("old", "new") and leftovers(ws) == []
        assert "前回の取りまとめから別紙1で変わるセル" in dry.output
    assert CliRunner().invoke(cli, ["consolidate", "-w", str(ws.root), "-q"]).exit_code == 0
    assert which(ws, old, new) == "new" and leftovers(ws) == []


# -- the lock ------------------------------------------------------------------------------------


def hold(root: Path, **fields: Any) -> Path:
    """A lock file as another process writes it."""
    record = {"host": socket.gethostname(), "pid": os.getpid(), "command": "distribute",
              "started": "2026-04-01T09:30:00+00:00", "token": "someone-else", **fields}
    path = lock_path(root)
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def tiny(tmp_path: Path) -> Iterator[Workspace]:
    ws, _, _ = returned(tmp_path)
    yield ws


WRITERS = [
    ("consolidate", lambda ws, tmp: ["consolidate", "-w", ws, "-q"]),
    ("distribute", lambda ws, tmp: ["distribute", "-w", ws, "-q"]),
    ("feedback", lambda ws, tmp: ["feedback", "-w", ws, "-q"]),
    ("export", lambda ws, tmp: ["export", "-w", ws, "--format", "json", "-q"]),
    ("rollover", lambda ws, tmp: ["rollover", "-w", ws, "--to", "R4", tmp]),
    ("init --force", lambda ws, tmp: ["init", ws, "--plan", str(Path(ws).parent / "plan.csv"), "--year", "R3",
                                      "--force"]),
]


@pytest.mark.parametrize(("name", "args"), WRITERS, ids=[w[0] for w in WRITERS])
def test_a_writing_command_stops_while_another_holds_the_workspace(tiny, tmp_path, name, args):
    consolidate(tiny)  # rollover needs a result
    lock = hold(tiny.root, command="feedback", pid=os.getpid())
    before = {p: p.read_bytes() for p in sorted(tiny.root.rglob("*")) if p.is_file()}
    result = run(*args(str(tiny.root), str(tmp_path / "next")))
    assert result.exit_code == 2, result.output
    message = result.stderr
    assert "使用中" in message and "feedback" in message and str(os.getpid()) in message, message
    assert str(tiny.root) in message and socket.gethostname() in message
    assert {p: p.read_bytes() for p in sorted(tiny.root.rglob("*")) if p.is_file()} == before
    assert not (tmp_path / "next").exists()
    lock.unlink()
    assert run(*args(str(tiny.root), str(tmp_path / "next"))).exit_code in (0, 1)
    assert not lock.exists()


RUNNING = """
import sys
from pathlib import Path
from nakano_xl.consolidate import consolidate
from nakano_xl.lock import workspace_lock
from nakano_xl.workspace import open_workspace
ws = open_workspace(Path(sys.argv[1]))
with workspace_lock(ws.root, "consolidate"):
    print("locked", flush=True)
    sys.stdin.readline()  # until the test has tried its own run
    consolidate(ws)
"""


def test_two_runs_at_once_the_second_stops_and_names_the_first(tiny):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen([sys.executable, "-c", RUNNING, str(tiny.root)], env=env, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert first.stdout is not None and first.stdout.readline() == "locked\n"
    second = run("consolidate", "-w", str(tiny.root), "-q")
    first.communicate("go\n", timeout=120)
    assert first.returncode == 0
    assert second.exit_code == 2 and f"プロセス {first.pid}" in second.stderr and "consolidate" in second.stderr
    assert not lock_path(tiny.root).exists() and tiny.answers_path().exists()
    assert run("consolidate", "-w", str(tiny.root), "-q").exit_code == 0


def test_reading_commands_are_not_blocked(tiny):
    consolidate(tiny)
    hold(tiny.root)
    assert run("consolidate", "-w", str(tiny.root), "--dry-run", "-q").exit_code == 0
    assert run("status", "-w", str(tiny.root)).exit_code == 0
    assert run("check", str(tiny.inbox / file_of("税務課")), "-w", str(tiny.root), "-q").exit_code == 0
    assert lock_path(tiny.root).exists()  # still the other process's


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(done.stdout)


def test_a_lock_left_by_a_process_that_is_gone_is_taken_over(tiny):
    hold(tiny.root, pid=dead_pid(), command="consolidate")
    result = run("consolidate", "-w", str(tiny.root), "-q")
    assert result.exit_code == 0, result.output
    assert not lock_path(tiny.root).exists() and tiny.answers_path().exists()


def test_a_lock_from_another_computer_is_named_with_how_to_remove_it(tiny):
    hold(tiny.root, host="kikaku-pc07", pid=dead_pid(), command="export", started="2026-01-05T00:00:00+00:00")
    result = run("distribute", "-w", str(tiny.root), "-q")
    assert result.exit_code == 2
    message = result.stderr
    assert "kikaku-pc07" in message and "export" in message and "時間" in message
    assert "削除" in message and str(lock_path(tiny.root)) in message


def test_a_lock_file_left_half_written(tiny):
    lock = lock_path(tiny.root)
    lock.write_bytes(b"")
    assert run("consolidate", "-w", str(tiny.root), "-q").exit_code == 2  # being written right now
    an_hour_ago = time.time() - 3600
    os.utime(lock, (an_hour_ago, an_hour_ago))
    assert run("consolidate", "-w", str(tiny.root), "-q").exit_code == 0
    assert not lock.exists()


def test_the_library_takes_the_lock_and_a_holder_may_call_in_again(tiny):
    hold(tiny.root, command="rollover")
    with pytest.raises(WorkspaceLocked, match="rollover"):
        consolidate(tiny)
    consolidate(tiny, write=False)  # reading needs no lock
    lock_path(tiny.root).unlink()
    with workspace_lock(tiny.root, "script"):
        consolidate(tiny)  # the same thread re-enters
        assert json.loads(lock_path(tiny.root).read_text(encoding="utf-8"))["command"] == "script"
    assert not lock_path(tiny.root).exists()


def test_the_lock_is_released_when_a_command_fails(old_ws, monkeypatch):
    ws, old, new = old_ws

    def held(*args: Any, **kwargs: Any) -> None:
        raise PermissionError(errno.EACCES, "in use")

    monkeypatch.setattr(os, "replace", held)
    with pytest.raises(OutputLocked):
        consolidate(ws)
    assert not lock_path(ws.root).exists()
    monkeypatch.undo()
    consolidate(ws)
    assert which(ws, old, new) == "new"


def test_the_good_answers_are_the_same_after_a_recovered_run(old_ws, monkeypatch):
    ws, old, new = old_ws
    with monkeypatch.context() as m:
        fs_steps(m, 14, lambda op, name: Killed(name))  # the findings.json swap
        with pytest.raises(Killed):
            consolidate(ws)
    lock_path(ws.root).unlink(missing_ok=True)
    assert which(ws, old, new) == "mixed"  # 別紙1 new, findings.json moved aside, the CSV old
    recover_if_idle(ws.root)
    assert which(ws, old, new) == "old"
    result = consolidate(ws)
    for department, rows in GOOD.items():
        for item_id, answer in rows.items():
            assert result.answers[item_id].results_to_date == answer["results_to_date"], department
    assert ws.answers_path().read_bytes() == new["answers_R3.csv"]


def test_only_our_temporary_files_are_removed(tiny):
    ours = [tiny.output / ".answers_R3.k2x_9qza.tmp", tiny.output / "..findings.ab12cd34.zz9_yy8x.tmp",
            tiny.outbox / ".税務課.0a1b2c3d.tmp", tiny.root / ".nakano-xl.q1w2e3r4.tmp",
            tiny.private / ".distribution.m5n6b7v8.tmp"]
    theirs = [tiny.output / "answers_R3.csv.tmp", tiny.output / ".メモ.tmp", tiny.output / ".answers_R3.ABCDEFGH.tmp",
              tiny.root / "資料" / ".税務課.0a1b2c3d.tmp", tiny.output / "別紙1_R3.q1w2e3r4.tmp"]
    (tiny.root / "資料").mkdir()
    for path in ours + theirs:
        path.write_bytes(b"half")
    assert run("status", "-w", str(tiny.root)).exit_code == 0
    assert [p for p in ours if p.exists()] == [] and all(p.exists() for p in theirs)
    for path in ours:
        path.write_bytes(b"half")
    hold(tiny.root)  # a run is on: its temporary files are its own
    assert run("status", "-w", str(tiny.root)).exit_code == 0
    assert all(p.exists() for p in ours)
