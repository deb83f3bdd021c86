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
    """The same workbooks as ``nakano-xl distribute``, written with xlsxwriter and nothing else.

    Same sheets, cells, texts, formats, column widths, row heights (one fixed height instead
    of a measured one), dropdown with its messages, conditional format, protection, print
    setup, very hidden metadata rows. Left out is only what is nakano-xl's own work: reading
    and checking the plan and the settings, measuring row heights, signing, the atomic
    writes and the distribution record.
    """
    import csv
    import hashlib
    import tomllib

    import xlsxwriter

    template = tomllib.loads((ROOT / "templates" / "nakano.toml").read_text(encoding="utf-8"))
    spec = template["input_workbook"]
    columns = template["columns"]
    words = {"plan_title": template["template"]["plan_title"], "year": "令和3年度", "next_year": "令和4年度",
             "later_year": "令和5年度", "coordinator": template["template"]["coordinator"], "deadline": ""}
    headers = [c["header"].format_map(words) for c in columns] + [spec["item_id_header"]]
    with (ws / "plan.csv").open(encoding="utf-8") as f:
        plan = [r for r in csv.DictReader(f) if not r["reprint_of"]]
    by_dept: dict[str, list[dict[str, str]]] = {}
    for row in plan:
        for dept in row["departments"].split():
            by_dept.setdefault(dept, []).append(row)
    out.mkdir(parents=True, exist_ok=True)
    font = {"font_name": template["report"]["font"], "font_size": 10}
    for dept, rows in by_dept.items():
        words["department"] = dept
        workbook = xlsxwriter.Workbook(out / f"{dept}.xlsx", {"in_memory": True, "strings_to_formulas": False,
                                                              "strings_to_urls": False})
        workbook.set_properties({"title": spec["title"].format_map(words), "author": "bare"})
        title = workbook.add_format({**font, "bold": True, "font_size": 14})
        plain = workbook.add_format(font)
        note = workbook.add_format({**font, "font_color": "#C00000"})
        header = workbook.add_format({**font, "bold": True, "bg_color": "#D9D9D9", "border": 1, "text_wrap": True,
                                      "align": "center", "valign": "vcenter"})
        fixed = workbook.add_format({**font, "border": 1, "text_wrap": True, "valign": "top"})
        ident = workbook.add_format({**font, "border": 1, "valign": "top", "font_color": "#808080"})
        answer = workbook.add_format({**font, "border": 1, "text_wrap": True, "valign": "top", "bg_color": "#FFF2CC",
                                      "locked": False, "num_format": "@"})
        status = workbook.add_format({**font, "border": 1, "valign": "top", "align": "center", "font_size": 14,
                                      "bg_color": "#FFF2CC", "locked": False, "num_format": "@"})
        missing = workbook.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})

        sheet = workbook.add_worksheet(spec["answer_sheet"])
        sheet.activate()
        sheet.write_string(0, 0, spec["title"].format_map(words), title)
        sheet.write_string(1, 0, spec["department_line"].format_map(words), plain)
        sheet.write_string(2, 0, spec["note"].format_map(words), note)
        for c, text in enumerate(headers):
            sheet.write_string(HEADER_ROW - 1, c, text, header)
            sheet.set_column(c, c, columns[c]["width"] if c < len(columns) else 8)
        for n, r in enumerate(rows, start=HEADER_ROW):
            sheet.write_string(n, 0, f"{r['section_code']} {r['section_title']}", fixed)
            sheet.write_string(n, 1, r["content"], fixed)
            sheet.write_blank(n, 2, None, status)
            for c in range(3, 7):
                sheet.write_blank(n, c, None, answer)
            sheet.write_string(n, 7, r["departments"], fixed)
            sheet.write_string(n, 8, r["item_id"], ident)
            sheet.set_row(n, 46.5)
        last = HEADER_ROW + len(rows) - 1
        sheet.data_validation(HEADER_ROW, 2, last, 2, {
            "validate": "list", "source": [m["mark"] for m in template["marks"]],
            "input_title": spec["status_prompt_title"], "input_message": spec["status_prompt"],
            "error_title": spec["status_error_title"], "error_message": spec["status_error"], "error_type": "stop"})
        sheet.conditional_format(HEADER_ROW, 3, last, 3, {
            "type": "formula", "criteria": f'=AND(OR($C{HEADER_ROW + 1}="○",$C{HEADER_ROW + 1}="×"),'
                                           f"LEN(TRIM(D{HEADER_ROW + 1}))=0)", "format": missing})
        sheet.freeze_panes(HEADER_ROW, 2)
        sheet.set_landscape()
        sheet.set_paper(9)
        sheet.fit_to_pages(1, 0)
        sheet.repeat_rows(HEADER_ROW - 1)
        sheet.print_area(0, 0, last, len(columns) - 1)
        sheet.set_footer("&C&P / &N")
        sheet.protect("", {"format_columns": True, "format_rows": True})

        guide = workbook.add_worksheet(spec["instructions_sheet"])
        guide.set_column(0, 0, 6)
        guide.set_column(1, 1, 100)
        guide.write_string(0, 0, spec["instructions_title"].format_map(words), title)
        line = 2
        for text in spec["instructions"]:
            guide.write_string(line, 0, text.format_map(words), plain)
            line += 1
        guide.write_string(line + 1, 0, spec["legend_heading"], title)
        for n, mark in enumerate(template["marks"], start=line + 2):
            guide.write_string(n, 0, mark["mark"], header)
            guide.write_string(n, 1, mark["label"], fixed)
        guide.protect()

        meta = workbook.add_worksheet(spec["metadata_sheet"])
        ids = [r["item_id"] for r in rows]
        head = [("format", "nakano-xl/1"), ("department", dept), ("fiscal_year", "R3"), ("template", "nakano"),
                ("template_version", "1"), ("distribution_id", "0" * 12), ("answer_sheet", spec["answer_sheet"]),
                ("header_row", str(HEADER_ROW)), ("signature", hashlib.sha256(",".join(ids).encode()).hexdigest())]
        keys = [c["key"] for c in columns] + ["item_id"]
        for n, (key, value) in enumerate(head + [("item_id", i) for i in ids] + [("column", k) for k in keys]):
            meta.write_string(n, 0, key)
            meta.write_string(n, 1, value)
        meta.protect()
        meta.very_hidden()
        workbook.close()


def main() -> None:
    command, ws, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    {"users-script": users_script, "floor": floor, "bare-distribute": bare_distribute}[command](ws, out)


if __name__ == "__main__":
    main()
