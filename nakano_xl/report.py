"""report: the consolidated workbook — 別紙1, 集計, 確認事項, 提出状況.

別紙1 is laid out like the published one: title, legend and header repeated on every printed
page, the section cell merged over its rows, A4 landscape fitted to the page width. Every
answer is written as a string (no formula, URL or number conversion), so ``=HYPERLINK(…)``
typed by a department stays text. Totals are computed here, never left to formulas whose
cached value a reader might not see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta, timezone

import xlsxwriter.workbook
import xlsxwriter.worksheet

from .findings import Finding, Severity, count
from .intake import Submission
from .model import Answer, Item, Kpi, Status
from .workspace import Workspace
from .xlsx.measure import row_height
from .xlsx.writer import finish, new_workbook

# 別紙1: title on row 1, legend heading on row 2, one legend line per mark, then the header.
LEGEND_FIRST_ROW = 3
JST = timezone(timedelta(hours=9))


@dataclass(frozen=True, slots=True)
class DepartmentStatus:
    department: str
    submission: Submission | None
    items: int  # rows the department answers
    errors: int
    warnings: int
    blank_status: int  # rows of its file without a mark


def header_row(ws: Workspace) -> int:
    """The 1-based row of 別紙1's column headers (after the title and the legend)."""
    return LEGEND_FIRST_ROW + len(ws.template.marks)


def write_report(ws: Workspace, answers: dict[str, Answer], counts: dict[Status, int],
                 findings: list[Finding], statuses: list[DepartmentStatus]) -> bytes:
    """The consolidated workbook as bytes."""
    tmpl = ws.template
    workbook, buffer = new_workbook(ws.settings.created, title=ws.settings.title)
    styles = Styles(workbook, tmpl.report.get("font", "BIZ UDPゴシック"))
    write_progress_list(ws, workbook, styles, answers)
    write_summary(ws, workbook, styles, counts)
    write_findings(ws, workbook, styles, findings)
    write_submission_status(ws, workbook, styles, statuses)
    return finish(workbook, buffer)


class Styles:
    """The formats of the report, made once per workbook."""

    def __init__(self, workbook: xlsxwriter.workbook.Workbook, font: str) -> None:
        base = {"font_name": font, "font_size": 10}
        cell = {**base, "border": 1, "text_wrap": True, "valign": "top"}
        add = workbook.add_format
        self.title = add({**base, "bold": True, "font_size": 14})
        self.heading = add({**base, "bold": True, "font_size": 11})
        self.plain = add(base)
        self.header = add({**base, "bold": True, "border": 1, "text_wrap": True, "align": "center",
                           "valign": "vcenter", "bg_color": "#D9D9D9"})
        self.cell = add(cell)
        self.center = add({**cell, "align": "center"})
        self.mark = add({**cell, "align": "center", "font_size": 12})
        self.number = add({**base, "border": 1, "num_format": "0"})
        self.copied = add({**cell, "font_color": "#595959", "italic": True})
        self.severity = {
            Severity.ERROR: add({**cell, "bg_color": "#FFC7CE", "font_color": "#9C0006"}),
            Severity.WARNING: add({**cell, "bg_color": "#FFEB9C", "font_color": "#9C5700"}),
            Severity.INFO: add({**cell, "bg_color": "#DDEBF7"}),
        }


def _page_setup(sheet: xlsxwriter.worksheet.Worksheet, repeat_to: int | None) -> None:
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)  # one page wide, as many pages tall as needed
    sheet.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    sheet.set_footer("&C&P / &N")
    if repeat_to is not None:
        sheet.repeat_rows(0, repeat_to)


def display_answer(ws: Workspace, item: Item, answers: dict[str, Answer]) -> tuple[dict[str, str], bool]:
    """The five answer cells shown for an item, and whether they are copied from the original.

    A 再掲 row is never answered itself: blank as published, or with the workspace rule
    ``reprint_display = "copy"`` its original's answers, marked as copied.
    """
    if not item.is_reprint:
        return answers.get(item.item_id, Answer()).cells(), False
    if ws.settings.rules.reprint_display != "copy":
        return Answer().cells(), False
    origin = item.reprint_of
    seen = set()
    while origin is not None and origin not in seen and origin in ws.plan:
        seen.add(origin)
        original = ws.plan[origin]
        if not original.is_reprint:
            cells = answers.get(origin, Answer()).cells()
            note = ws.template.report["reprint_copy_note"].format(code=original.section_code)
            if any(cells.values()):
                cells["results_to_date"] = (cells["results_to_date"] + "\n" + note).strip()
            return cells, True
        origin = original.reprint_of
    return Answer().cells(), False


def write_progress_list(ws: Workspace, workbook: xlsxwriter.workbook.Workbook, st: Styles,
                        answers: dict[str, Answer]) -> None:
    tmpl = ws.template
    sheet = workbook.add_worksheet(tmpl.report["sheet"])
    sheet.write_string(0, 0, ws.settings.title, st.title)
    sheet.write_string(1, 0, tmpl.report["legend_heading"], st.plain)
    for n, line in enumerate(tmpl.legend_lines()):
        sheet.write_string(LEGEND_FIRST_ROW - 1 + n, 0, line, st.plain)
    head = header_row(ws) - 1  # 0-based
    keys = [c.key for c in tmpl.columns]
    for c, (text, column) in enumerate(zip(tmpl.headers(ws.year), tmpl.columns)):
        sheet.write_string(head, c, text, st.header)
        sheet.set_column(c, c, column.width)
    id_col = len(keys)
    sheet.write_string(head, id_col, "項目ID", st.header)
    sheet.set_column(id_col, id_col, 8, None, {"hidden": True})
    widths = {c.key: c.width for c in tmpl.columns}
    section_col = keys.index("section")
    row = head + 1
    for _, items in ws.plan.sections():
        first = row
        heights = []
        for item in items:
            cells, copied = display_answer(ws, item, answers)
            values = {"section": item.section_label, "content": item.content, "departments": item.departments,
                      **cells}
            for c, key in enumerate(keys):
                if key == "section":
                    continue
                style = st.mark if key == "status" else st.copied if copied and key in cells else st.cell
                sheet.write_string(row, c, values[key], style)
            sheet.write_string(row, id_col, item.item_id, st.cell)
            heights.append(row_height([(values[k], widths[k]) for k in keys if k != "section"]))
            row += 1
        label = items[0].section_label
        # The merged section cell shares its rows' height; the last row grows if it needs more.
        needed = row_height([(label, widths["section"])])
        if sum(heights) < needed:
            heights[-1] += needed - sum(heights)
        for n, height in enumerate(heights):
            sheet.set_row(first + n, height)
        if row - first > 1:
            sheet.merge_range(first, section_col, row - 1, section_col, label, st.cell)
        else:
            sheet.write_string(first, section_col, label, st.cell)
    sheet.freeze_panes(head + 1, 0)
    _page_setup(sheet, head)
    sheet.print_area(0, 0, max(row - 1, head), len(keys) - 1)


def write_summary(ws: Workspace, workbook: xlsxwriter.workbook.Workbook, st: Styles,
                  counts: dict[Status, int]) -> None:
    tmpl = ws.template
    summary = tmpl.summary
    sheet = workbook.add_worksheet(summary["sheet"])
    sheet.set_column(0, 0, 56)
    sheet.set_column(1, 8, 13)
    sheet.write_string(0, 0, f"{summary['count_title']}（{ws.year.label}）", st.title)
    sheet.write_string(2, 0, summary["count_headers"][0], st.header)
    sheet.write_string(2, 1, summary["count_headers"][1], st.header)
    row = 3
    for mark in tmpl.marks:
        sheet.write_string(row, 0, summary["count_line"].format(mark=mark.status.mark, label=mark.label), st.cell)
        sheet.write_number(row, 1, counts[mark.status], st.number)
        row += 1
    sheet.write_string(row, 0, summary["count_total"], st.cell)
    sheet.write_number(row, 1, sum(counts.values()), st.number)
    row += 3
    if ws.kpis:
        sheet.write_string(row, 0, summary["kpi_title"], st.title)
        row += 2
        write_kpi_tables(sheet, st, ws.kpis, row, summary["kpi_headers"])
    _page_setup(sheet, None)


def write_kpi_tables(sheet: xlsxwriter.worksheet.Worksheet, st: Styles, kpis: list[Kpi], row: int,
                     headers: list[str]) -> int:
    """One table per goal: 指標項目 | 実績 by year | 目標 by year, and the ※ notes below."""
    goals: dict[str, list[Kpi]] = {}
    for kpi in kpis:
        goals.setdefault(kpi.goal, []).append(kpi)
    for goal, rows in goals.items():
        title = rows[0].goal_title
        sheet.write_string(row, 0, f"{goal} {title}".strip(), st.heading)
        row += 1
        columns = sorted({(v.kind != "実績", v.year, v.kind) for k in rows for v in k.values})
        sheet.merge_range(row, 0, row + 1, 0, headers[0], st.header)
        col = 1
        for kind, label in (("実績", headers[1]), ("目標", headers[2])):
            span = [c for c in columns if c[2] == kind]
            if not span:
                continue
            if len(span) > 1:
                sheet.merge_range(row, col, row, col + len(span) - 1, label, st.header)
            else:
                sheet.write_string(row, col, label, st.header)
            for n, (_, year, _) in enumerate(span):
                sheet.write_string(row + 1, col + n, year.label, st.header)
            col += len(span)
        row += 2
        for kpi in rows:
            sheet.write_string(row, 0, kpi.name, st.cell)
            values = {(v.year, v.kind): v.value for v in kpi.values}
            for n, (_, year, kind) in enumerate(columns):
                sheet.write_string(row, 1 + n, values.get((year, kind), ""), st.center)
            row += 1
        for note in dict.fromkeys(k.note for k in rows if k.note):
            sheet.write_string(row, 0, note, st.plain)
            row += 1
        row += 1
    return row


def write_findings(ws: Workspace, workbook: xlsxwriter.workbook.Workbook, st: Styles,
                   findings: list[Finding]) -> None:
    spec = ws.template.findings
    sheet = workbook.add_worksheet(spec["sheet"])
    widths = [8, 22, 18, 28, 10, 7, 8, 80]
    for c, (text, width) in enumerate(zip(spec["headers"], widths)):
        sheet.write_string(0, c, text, st.header)
        sheet.set_column(c, c, width)
    for r, f in enumerate(findings, start=1):
        values = [spec["severity"][f.severity.key], f.code, f.department or "", f.file or "", f.sheet or "",
                  f.cell or "", f.item_id or "", f.message]
        for c, value in enumerate(values):
            sheet.write_string(r, c, value, st.severity[f.severity] if c == 0 else st.cell)
    sheet.autofilter(0, 0, max(len(findings), 1), len(widths) - 1)
    sheet.freeze_panes(1, 0)
    _page_setup(sheet, 0)


def write_submission_status(ws: Workspace, workbook: xlsxwriter.workbook.Workbook, st: Styles,
                            statuses: list[DepartmentStatus]) -> None:
    spec = ws.template.submission_status
    sheet = workbook.add_worksheet(spec["sheet"])
    widths = [22, 8, 36, 18, 7, 7, 9, 12]
    for c, (text, width) in enumerate(zip(spec["headers"], widths)):
        sheet.write_string(0, c, text, st.header)
        sheet.set_column(c, c, width)
    for r, s in enumerate(statuses, start=1):
        sub = s.submission
        returned = sub is not None
        sheet.write_string(r, 0, s.department, st.cell)
        sheet.write_string(r, 1, spec["returned"] if returned else spec["missing"],
                           st.cell if returned else st.severity[Severity.WARNING])
        sheet.write_string(r, 2, sub.file if sub else "", st.cell)
        sheet.write_string(r, 3, format_saved_at(sub), st.cell)
        sheet.write_number(r, 4, s.errors, st.severity[Severity.ERROR] if s.errors else st.number)
        sheet.write_number(r, 5, s.warnings, st.number)
        sheet.write_number(r, 6, s.items, st.number)
        if returned:
            sheet.write_number(r, 7, s.blank_status, st.number)
        else:
            sheet.write_string(r, 7, "—", st.center)
    sheet.autofilter(0, 0, max(len(statuses), 1), len(widths) - 1)
    sheet.freeze_panes(1, 1)
    _page_setup(sheet, 0)


def format_saved_at(sub: Submission | None) -> str:
    if sub is None or sub.saved_at is None:
        return ""
    t = sub.saved_at
    if t.tzinfo is not None:  # core.xml stores UTC; the coordinator reads Japan time
        t = t.astimezone(JST)
    return f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}"


def department_statuses(ws: Workspace, submissions: list[Submission],
                        findings: list[Finding]) -> list[DepartmentStatus]:
    used = {s.department: s for s in submissions if s.used}
    out = []
    for dept in ws.plan.departments():
        sub = used.get(dept)
        mine = [f for f in findings if f.department == dept]
        blank = sum(1 for a in sub.answers.values() if a.status is None) if sub else 0
        out.append(DepartmentStatus(dept, sub, len(ws.plan.items_for(dept)), count(mine, Severity.ERROR),
                                    count(mine, Severity.WARNING), blank))
    return out
