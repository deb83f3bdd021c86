"""Transcribe the checked FY R3 seed (seed_truth.json) into the sample's CSV files.

Run once by a developer, from the repository root:

    python samples/nakano_r3/transcribe_seed.py ../shared/seed/seed_truth.json

It writes plan.csv, answers_r3.csv and kpis.csv next to this script. Texts are copied
exactly as printed (typos included); only the shape changes. The product and its tests
read the CSV files, never the seed.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# The ※ footnote under the KPI table of 目標2 (seed.txt, line 55). seed_truth.json keeps
# the ※ on the KPI's name but not the footnote itself, so it is copied here by hand.
FM_NOTE = "※fm (ファイルメーター) : 書類を積み上げた高さをメートル単位で測ったもので、一般的に1fmは約1万枚と換算する。"
KPI_YEARS = {"R2": "実績", "R3": "実績", "R5": "目標", "R7": "目標"}


def item_id(seq: int) -> str:
    return f"P{seq:03d}"


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main(seed_path: str) -> None:
    seed = json.loads(Path(seed_path).read_text(encoding="utf-8"))
    # checks.reprints maps each 再掲 row to its original row; reprint_of itself only names
    # the original's section.
    original_of = {r["seq"]: r["original_seq"] for r in seed["checks"]["reprints"]}

    plan_rows, answer_rows = [], []
    for row in seed["rows"]:
        seq = row["seq"]
        reprint = row["reprint_of"] is not None
        plan_rows.append([
            item_id(seq),
            row["section_code"],
            row["section_title"] or "",
            row["content"],
            row["departments"],
            item_id(original_of[seq]) if reprint else "",
        ])
        if not reprint:
            answer_rows.append([
                item_id(seq),
                row["status"] or "",
                row["reason"],
                row["results_to_date"],
                row["plan_next_year"],
                row["plan_later"],
            ])

    kpi_rows = []
    for kpi in seed["kpis"]:
        note = FM_NOTE if kpi["name"].endswith("※") else ""
        for year, kind in KPI_YEARS.items():
            kpi_rows.append([kpi["goal"], seed["kpi_goals"][kpi["goal"]], kpi["name"], "",
                             year, kind, kpi[year], note])

    write_csv(HERE / "plan.csv",
              ["item_id", "section_code", "section_title", "content", "departments", "reprint_of"],
              plan_rows)
    write_csv(HERE / "answers_r3.csv",
              ["item_id", "status", "reason", "results_to_date", "plan_next_year", "plan_later"],
              answer_rows)
    write_csv(HERE / "kpis.csv",
              ["goal", "goal_title", "name", "owner", "year", "kind", "value", "note"],
              kpi_rows)
    print(f"plan {len(plan_rows)} rows, answers {len(answer_rows)}, kpis {len(kpi_rows)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/seed/seed_truth.json")
