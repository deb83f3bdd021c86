"""Reading the inbox and writing the outbox on worker processes give exactly what one process gives.

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


def test_the_command_line_uses_workers_only_for_enough_files():
    assert workers.auto_workers(10, "fork") == workers.auto_workers(40, "spawn") == 1
    assert workers.auto_workers(100, "spawn") == workers.auto_workers(16, "fork") == min(workers.cpus(), 8)


def _square(state, task):
    return state * task * task


@pytest.mark.parametrize("method", METHODS)
def test_pmap_gives_the_results_in_task_order(method):
    assert list(workers.pmap(_square, list(range(40)), state=2, workers=2, method=method)) == \
        [2 * n * n for n in range(40)]


def _die_on_three(state, task):
    import os

    if task == 3 and os.getpid() != state:  # only on a worker: here it runs again, and succeeds
        os._exit(1)
    return task


@pytest.mark.skipif("fork" not in METHODS, reason="the state (this pid) reaches a forked worker as it is")
def test_a_dying_worker_costs_nothing_the_rest_runs_here():
    import os

    assert list(workers.pmap(_die_on_three, list(range(8)), state=os.getpid(), workers=2, method="fork")) == \
        list(range(8))


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
