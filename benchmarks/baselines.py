"""What nakano-xl is measured against: what people would do instead, and the least any tool must do.

    python benchmarks/baselines.py users-script WS OUT.xlsx
    python benchmarks/baselines.py floor WS OUT.xlsx
    python benchmarks/baselines.py bare-distribute WS OUTDIR

- **users-script**: what a coordinator's colleague would write: pandas reads every returned file
  (``read_excel``, default engine), concatenates, writes the table with ``to_excel``. No checks.
- **floor**: python-calamine reads the same cells and xlsxwriter writes the same rows — no
  formatting, no checks, one process. The least any tool must do.
- **bare-distribute**: xlsxwriter writes each department's workbook with the same cells and the
  same features (dropdown, protection, unlocked answer cells, hidden metadata), without
  nakano-xl's code around it.

Each runs as its own process, as the nakano-xl commands do, so start-up counts for all.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER_ROW = 4  # the 回答 sheet's header row (nakano_xl.layout.HEADER_ROW)


def inbox_files(ws: Path) -> list[Path]:
    return sorted(p for p in (ws / "inbox").rglob("*.xlsx"))


def users_script(ws: Path, out: Path) -> None:
    import pandas as pd

    frames = [pd.read_excel(path, sheet_name="回答", header=HEADER_ROW - 1) for path in inbox_files(ws)]
    table = pd.concat(frames, ignore_index=True)
    table.to_excel(out, index=False)


def floor(ws: Path, out: Path) -> None:
    import xlsxwriter
    from python_calamine import CalamineWorkbook

    workbook = xlsxwriter.Workbook(out, {"constant_memory": True})
    sheet = workbook.add_worksheet("別紙1")
    row = 0
    for path in inbox_files(ws):
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("回答").to_python()
        for values in rows[HEADER_ROW:]:
            sheet.write_row(row, 0, [str(v) for v in values])
            row += 1
    workbook.close()


def bare_distribute(ws: Path, out: Path) -> None:
    import csv

    import xlsxwriter

    with (ws / "plan.csv").open(encoding="utf-8") as f:
        plan = [r for r in csv.DictReader(f) if not r["reprint_of"]]
    by_dept: dict[str, list[dict[str, str]]] = {}
    for row in plan:
        for dept in row["departments"].split():
            by_dept.setdefault(dept, []).append(row)
    out.mkdir(parents=True, exist_ok=True)
    for dept, rows in by_dept.items():
        workbook = xlsxwriter.Workbook(out / f"{dept}.xlsx", {"in_memory": True})
        fixed = workbook.add_format({"text_wrap": True, "border": 1})
        answer = workbook.add_format({"text_wrap": True, "border": 1, "locked": False, "bg_color": "#FFF2CC"})
        sheet = workbook.add_worksheet("回答")
        sheet.write_row(HEADER_ROW - 1, 0, ["実施内容", "事業内容", "進捗状況", "理由", "取組状況", "翌年度", "以降",
                                            "所管課", "項目ID"])
        for n, r in enumerate(rows, start=HEADER_ROW):
            sheet.write_string(n, 0, f"{r['section_code']} {r['section_title']}", fixed)
            sheet.write_string(n, 1, r["content"], fixed)
            for c in range(2, 7):
                sheet.write_blank(n, c, None, answer)
            sheet.write_string(n, 7, r["departments"], fixed)
            sheet.write_string(n, 8, r["item_id"], fixed)
        sheet.data_validation(HEADER_ROW, 2, HEADER_ROW + len(rows) - 1, 2,
                              {"validate": "list", "source": ["◎", "○", "△", "×"], "input_message": "選択",
                               "error_type": "stop"})
        sheet.protect()
        meta = workbook.add_worksheet("meta")
        for n, r in enumerate(rows):
            meta.write_string(n, 0, r["item_id"])
        meta.very_hidden()
        workbook.close()


def main() -> None:
    command, ws, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    {"users-script": users_script, "floor": floor, "bare-distribute": bare_distribute}[command](ws, out)


if __name__ == "__main__":
    main()
