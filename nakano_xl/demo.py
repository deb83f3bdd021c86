"""demo: the whole round trip on the bundled FY R3 sample.

init → distribute → every department fills its workbook with the published FY R3 answers
(opened, typed into the answer cells only, saved under another name into inbox/) →
consolidate. The result must reproduce the published report: ◎ 97, ○ 4, △ 1, × 1.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .answers import load_answers
from .consolidate import Consolidation, consolidate
from .distribute import Distribution, distribute
from .errors import WorkspaceError
from .fill import fill_workbook
from .template import resource_dir
from .workspace import PRIVATE_DIR, Workspace, init_workspace

SAMPLE = "nakano_r3"
DEMO_MARKER = "demo"
# The sample's workbooks carry this document date, so two demo runs differ only by the
# workspace's signing key and distribution id.
SAMPLE_CREATED = dt.datetime(2022, 4, 1, 9, 0, 0)

Step = Callable[[str], None]


def sample_dir() -> Path:
    return resource_dir("samples") / SAMPLE


@dataclass
class DemoRun:
    workspace: Workspace
    distribution: Distribution
    filled: list[Path]
    result: Consolidation


def run_demo(root: Path, *, step: Step | None = None) -> DemoRun:
    """Run the round trip on the sample in a new workspace at ``root``.

    A folder left by an earlier demo (it carries a marker) is replaced; any other non-empty
    folder is refused, so a real workspace can never be overwritten by mistake.
    """
    say = step or (lambda _: None)
    sample = sample_dir()
    if root.exists() and any(root.iterdir()):
        if not (root / PRIVATE_DIR / DEMO_MARKER).is_file():
            raise WorkspaceError(f"{root} はすでにあり、デモ用の作業フォルダではありません。別のフォルダ名を指定してください。")
        say(f"前回のデモ {root} を削除しています")
        shutil.rmtree(root)
    say("作業フォルダを作成しています")
    ws = init_workspace(root, sample / "plan.csv", "R3", kpis_path=sample / "kpis.csv", now=SAMPLE_CREATED)
    (ws.private / DEMO_MARKER).write_text("nakano-xl demo\n", encoding="utf-8")
    say("回答票を配付しています")
    dist = distribute(ws)
    say("各課の回答を記入しています（令和3年度の公表値）")
    filled = fill_sample_answers(ws, dist, sample / "answers_r3.csv")
    say("回収した回答票を取りまとめています")
    result = consolidate(ws)
    return DemoRun(ws, dist, filled, result)


def fill_sample_answers(ws: Workspace, dist: Distribution, answers_path: Path) -> list[Path]:
    """Each department types its published answers into its own workbook, saved into inbox/."""
    answers = load_answers(answers_path, ws.plan)
    filled = []
    for department, path in dist.files.items():
        mine = {i.item_id: answers[i.item_id] for i in ws.plan.items_for(department) if i.item_id in answers}
        target = ws.inbox / f"{path.stem}_回答.xlsx"
        fill_workbook(path, target, mine, ws.template)
        filled.append(target)
    return filled
