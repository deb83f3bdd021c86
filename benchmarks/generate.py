"""Synthetic surveys of any size: a plan master, a workspace, and filled returns in its inbox.

    python benchmarks/generate.py OUT --departments 400 --rows 50

Each department answers ``rows`` items (about 5% of them shared with another department),
about 3% of the plan's rows are 再掲 rows, and texts have the lengths of the FY R3 report
(content 10–60 characters, answers 20–120). The returns are the distributed workbooks with
every answer cell filled — byte for byte what distribute writes with answers typed in — so
generating 2,000 of them takes seconds rather than the hours a spreadsheet program would.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nakano_xl.distribute import distribute
from nakano_xl.model import Answer, Status
from nakano_xl.workers import auto_workers
from nakano_xl.workspace import Workspace, init_workspace

CREATED = dt.datetime(2022, 4, 1, 9, 0, 0)
WORDS = ["電子申請", "オンライン", "システム", "導入", "推進", "検討", "実施", "整備", "区民", "窓口", "手続",
         "デジタル", "活用", "情報", "共有", "標準化", "職員", "研修", "拡充", "運用", "開始", "構築", "連携",
         "令和4年度", "計画", "見直し", "ペーパーレス", "キャッシュレス", "マイナンバーカード", "地図情報"]


def sentence(rng: random.Random, low: int, high: int) -> str:
    target = rng.randint(low, high)
    text = ""
    while len(text) < target:
        text += rng.choice(WORDS) + rng.choice(["の", "を", "に", "、", "と", "について"])
    return text[:target - 1] + "。"


def make_plan(path: Path, departments: int, rows: int, seed: int = 1) -> list[str]:
    """Write a plan master where each of ``departments`` answers ``rows`` items."""
    rng = random.Random(seed)
    names = [f"第{n:04d}課" for n in range(1, departments + 1)]
    out = []
    n = 0
    sections = 0
    answered = 0  # rows answered so far, across departments: the shares hold at every scale
    for d, name in enumerate(names):
        for r in range(rows):
            if r % 4 == 0:  # a section (実施内容) of four rows, its title shared by them
                sections += 1
                title = sentence(rng, 8, 30)
            n += 1
            answered += 1
            owners = name
            # About 5% of rows are shared with the next department (which answers it too).
            if answered % 20 == 7 and departments > 1:
                owners = f"{name} {names[(d + 1) % departments]}"
            code = f"{1 + sections // 400}-{1 + (sections // 8) % 50}-{1 + sections % 8}"
            out.append([f"I{n:07d}", code, title, sentence(rng, 10, 60), owners, ""])
            # About 3% of rows are 再掲 rows of the row just written.
            if answered % 33 == 16:
                original = out[-1]
                n += 1
                out.append([f"I{n:07d}", code, original[2], f"({original[1]}再掲){original[3]}", "", original[0]])
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["item_id", "section_code", "section_title", "content", "departments", "reprint_of"])
        writer.writerows(out)
    return names


def make_answers(ws: Workspace, seed: int = 2) -> dict[str, Answer]:
    rng = random.Random(seed)
    marks = [Status.ON_SCHEDULE] * 90 + [Status.RESCHEDULED] * 4 + [Status.BEHIND] * 3 + [Status.NOT_STARTED] * 3
    answers = {}
    for item in ws.plan.answered_items():
        status = rng.choice(marks)
        reason = sentence(rng, 20, 60) if status in (Status.RESCHEDULED, Status.NOT_STARTED) else ""
        answers[item.item_id] = Answer(status, reason, sentence(rng, 20, 120), sentence(rng, 20, 100),
                                       sentence(rng, 10, 60))
    return answers


def generate(out: Path, departments: int, rows: int) -> Workspace:
    """A workspace at ``out`` with a distributed outbox and a filled inbox."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    plan = out / "plan.csv"
    make_plan(plan, departments, rows)
    ws = init_workspace(out / "ws", plan, "R3", now=CREATED)
    answers = make_answers(ws)
    workers = auto_workers(departments)
    filled = distribute(ws, prefill=answers, workers=workers)
    for path in filled.files.values():
        path.replace(ws.inbox / f"{path.stem}_回答.xlsx")
    distribute(ws, workers=workers)  # the blank outbox, as sent out; the distribution id stays the same
    return ws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--departments", type=int, default=40)
    parser.add_argument("--rows", type=int, default=10)
    args = parser.parse_args()
    ws = generate(args.out, args.departments, args.rows)
    print(f"{ws.root}: {len(ws.plan)} plan rows, {len(list(ws.inbox.iterdir()))} returns")


if __name__ == "__main__":
    main()
