"""Reading the inbox on worker processes gives exactly what the serial path gives (issue 9).

The inbox mixes everything intake meets: valid returns, a return with findings, a duplicate in
a subfolder, litter, an empty file, a file that is not a workbook and a zip bomb. Consolidated
serially and on two workers — with ``fork`` where the platform has it and with ``spawn``, the
only method Windows has — the workbook, findings.json and the answers CSV are the same bytes.
"""

from __future__ import annotations

import multiprocessing
import shutil
import zipfile
from pathlib import Path

import pytest

from nakano_xl import workers
from nakano_xl.consolidate import consolidate
from nakano_xl.distribute import distribute
from nakano_xl.intake import read_inbox

from .intake_kit import file_of, replace_cell, returned, set_saved_at

METHODS = [m for m in ("fork", "spawn") if m in multiprocessing.get_all_start_methods()]


def outputs(ws) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(ws.output.iterdir()) if p.is_file()}


@pytest.fixture
def busy_inbox(tmp_path: Path):
    ws, _, files = returned(tmp_path)
    # A formula where a person types, and a mark that is not one of the four.
    replace_cell(files["職員課"], "回答", "C5", '<c r="C5" t="str"><f>"◎"</f><v>◎</v></c>')
    replace_cell(files["情報システム課"], "回答", "D6", '<c r="D6" t="inlineStr"><is><t>=HYPERLINK("x")</t></is></c>')
    # An older copy of the same department's file in a subfolder: superseded.
    (ws.inbox / "old").mkdir()
    older = ws.inbox / "old" / file_of("税務課")
    shutil.copy(files["税務課"], older)
    set_saved_at(older, "2020-01-01T00:00:00Z")
    (ws.inbox / "Thumbs.db").write_bytes(b"\x00" * 64)
    (ws.inbox / "空.xlsx").write_bytes(b"")
    (ws.inbox / "メモ.xlsx").write_text("回答はメールに書きました", encoding="utf-8")
    with zipfile.ZipFile(ws.inbox / "bomb.xlsx", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", b"<" + b" " * 5_000_000 + b"/>")
    return ws


@pytest.mark.parametrize("method", METHODS)
def test_workers_give_the_serial_outputs_byte_for_byte(busy_inbox, method, monkeypatch):
    ws = busy_inbox
    serial = consolidate(ws, workers=1)
    expected = outputs(ws)
    assert {f.code for f in serial.findings} >= {"file.ignored", "file.empty", "file.not_xlsx", "file.bomb",
                                                 "submission.superseded"}
    for path in ws.output.iterdir():
        path.unlink()
    monkeypatch.setattr(workers, "start_method", lambda: method)
    parallel = consolidate(ws, workers=2)
    assert outputs(ws) == expected
    assert parallel.findings == serial.findings
    assert [r.file for r in parallel.inbox.files] == [r.file for r in serial.inbox.files]


def test_progress_counts_every_file_in_order_on_workers_too(busy_inbox):
    ticks: dict[int, list[tuple[int, int]]] = {1: [], 2: []}
    for count, seen in ticks.items():
        read_inbox(busy_inbox, progress=lambda done, total, seen=seen: seen.append((done, total)), workers=count)
    total = len(ticks[1])
    assert ticks[1] == ticks[2] == [(n, total) for n in range(1, total + 1)]


def test_a_small_inbox_is_read_here_and_a_large_one_on_every_cpu():
    assert workers.default_workers(10, "fork") == workers.default_workers(40, "spawn") == 1
    assert workers.default_workers(100, "spawn") == workers.default_workers(16, "fork") == min(workers.cpus(), 8)
    # Tasks much longer than a file (the report's stretches of rows) are worth a worker sooner.
    assert workers.default_workers(1, "fork", least=2) == 1
    assert workers.default_workers(2, "fork", least=2) == min(workers.cpus(), 8)


@pytest.mark.skipif("fork" not in METHODS, reason="the report's rows go to a worker only where it forks")
def test_a_few_stretches_of_rows_go_to_a_worker_by_default_with_the_same_bytes(busy_inbox, monkeypatch):
    """Three stretches of rows: fewer than an inbox needs for workers, enough for the report's."""
    import concurrent.futures

    from nakano_xl.xlsx import bulk

    ws = busy_inbox
    monkeypatch.setattr(bulk, "CHUNK_ROWS", 2)
    consolidate(ws, workers=1)
    serial = outputs(ws)
    monkeypatch.setattr(workers, "start_method", lambda: "fork")
    monkeypatch.setattr(workers, "cpus", lambda: 2)
    pools = []
    real_pool = concurrent.futures.ProcessPoolExecutor

    def counted(*args, **kwargs):
        pools.append(kwargs.get("max_workers"))
        return real_pool(*args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", counted)
    for path in ws.output.iterdir():
        path.unlink()
    result = consolidate(ws)
    assert outputs(ws) == serial
    assert len(ws.plan) == 6 and len(result.inbox.files) < workers.min_tasks("fork")
    assert pools == [1]  # the inbox read here (too few files); the rows on one worker and here


@pytest.mark.parametrize("method", METHODS)
def test_distribute_on_workers_writes_the_same_workbooks_and_record(tmp_path, method, monkeypatch):
    ws, dist, _ = returned(tmp_path)
    serial = {p.name: p.read_bytes() for p in sorted(ws.outbox.iterdir())}
    record = (ws.private / "distribution.json").read_bytes()
    monkeypatch.setattr(workers, "start_method", lambda: method)
    again = distribute(ws, workers=2)
    assert again.files == dist.files
    assert {p.name: p.read_bytes() for p in sorted(ws.outbox.iterdir())} == serial
    assert (ws.private / "distribution.json").read_bytes() == record


def test_a_large_plans_report_written_through_temporary_files_is_the_same_bytes(busy_inbox, monkeypatch):
    """From 50,000 plan rows the report's parts go to temporary files before zipping (to keep
    nation-scale memory down); that path must give the workbook the in-memory path gives."""
    from nakano_xl import report

    ws = busy_inbox
    consolidate(ws, workers=1)
    in_memory = outputs(ws)
    monkeypatch.setattr(report, "PARTS_ON_DISK_ROWS", 0)
    consolidate(ws, workers=1)
    assert outputs(ws) == in_memory
    assert not list(ws.output.glob("*.tmp"))


@pytest.mark.skipif("fork" not in METHODS, reason="outputs and rows go to workers only where they fork")
def test_outputs_and_rows_written_on_workers_are_the_same_bytes(busy_inbox, monkeypatch):
    """For a long plan a forked process writes the answers CSV and findings.json while this
    one writes the report, and 別紙1's rows are serialised and deflated here and on a worker
    (issue 9): limits made tiny here, so the sample takes those paths, in many stretches."""
    import importlib

    from nakano_xl.xlsx import bulk

    consolidate_module = importlib.import_module("nakano_xl.consolidate")  # (the package exports the function)
    ws = busy_inbox
    monkeypatch.setattr(bulk, "CHUNK_ROWS", 3)
    consolidate(ws, workers=1)
    serial = outputs(ws)
    monkeypatch.setattr(consolidate_module, "PARALLEL_OUTPUT_ROWS", 0)
    monkeypatch.setattr(workers, "start_method", lambda: "fork")
    monkeypatch.setattr(workers, "cpus", lambda: 2)
    calls = []
    import concurrent.futures
    import multiprocessing.context

    real_pool, real_start = concurrent.futures.ProcessPoolExecutor, multiprocessing.context.ForkProcess.start

    def counted(*args, **kwargs):
        calls.append(kwargs.get("max_workers"))
        return real_pool(*args, **kwargs)

    def started(process):
        if getattr(process, "_target", None) is workers._run_beside:  # (not a pool's worker)
            calls.append("beside")
        return real_start(process)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", counted)
    monkeypatch.setattr(multiprocessing.context.ForkProcess, "start", started)
    for path in ws.output.iterdir():
        path.unlink()
    consolidate(ws, workers=2)
    assert outputs(ws) == serial
    # The inbox on two workers; the answers and findings beside; 別紙1's rows on one worker
    # and here.
    assert calls == [2, "beside", 1]


def _fail(state):
    raise ValueError(f"書けません: {state}")


@pytest.mark.skipif("fork" not in METHODS, reason="fork only")
def test_beside_raises_the_error_of_its_process_here(monkeypatch):
    monkeypatch.setattr(workers, "cpus", lambda: 2)
    ran = []
    with pytest.raises(ValueError, match="書けません: x"), workers.beside(_fail, "x"):
        ran.append("block")
    assert ran == ["block"]


def test_beside_runs_after_the_block_where_it_does_not_fork(monkeypatch):
    monkeypatch.setattr(workers, "start_method", lambda: "spawn")
    order = []
    with workers.beside(order.append, "beside"):
        order.append("block")
    assert order == ["block", "beside"]


def _pid_of(state, task):
    import os

    return task, os.getpid()


@pytest.mark.skipif("fork" not in METHODS, reason="fork only")
def test_pmap_here_runs_the_first_share_in_this_process_and_keeps_the_order():
    import os

    results = list(workers.pmap(_pid_of, list(range(20)), state=None, workers=2, method="fork", here=True))
    assert [task for task, _ in results] == list(range(20))
    pids = [pid for _, pid in results]
    assert pids[:10] == [os.getpid()] * 10
    assert os.getpid() not in pids[10:] and len(set(pids[10:])) == 1


def test_pmap_here_runs_everything_in_this_process_where_workers_would_be_spawned():
    import os

    results = list(workers.pmap(_pid_of, list(range(20)), state=None, workers=2, method="spawn", here=True))
    assert results == [(task, os.getpid()) for task in range(20)]


@pytest.mark.skipif("fork" not in METHODS, reason="fork only")
def test_pmap_meanwhile_runs_here_once_while_the_workers_have_the_tasks():
    import os

    seen = []

    def meanwhile():
        seen.append((os.getpid(), len(multiprocessing.active_children())))

    results = list(workers.pmap(_pid_of, list(range(20)), state=None, workers=2, method="fork",
                                meanwhile=meanwhile))
    assert [task for task, _ in results] == list(range(20))
    assert seen == [(os.getpid(), 2)]  # once, here, with both workers already started
    assert os.getpid() not in {pid for _, pid in results}


def test_pmap_meanwhile_runs_before_the_tasks_where_they_run_here():
    order = []
    results = list(workers.pmap(lambda state, task: order.append(task) or task, [1, 2, 3], state=None, workers=1,
                                meanwhile=lambda: order.append("meanwhile")))
    assert results == [1, 2, 3]
    assert order == ["meanwhile", 1, 2, 3]
