"""確認事項 and 提出状況: the coordinator's sheets, left out of what is published.

確認事項 lists one finding per row with its severity coloured; 提出状況 one department per
row, with missing files, errors and rows still waiting for an answer standing out. Both have
filters on the header and keep it in view when scrolling.
"""

from __future__ import annotations

import xlsxwriter.workbook

from ..findings import Finding, Severity
from ..intake import DepartmentStatus
from ..intake.identify import format_saved_at
from ..workspace import Workspace
from ..xlsx.text import representable
from .pages import fit_row, page_setup
from .styles import Styles


def write_findings(ws: Workspace, workbook: xlsxwriter.workbook.Workbook, st: Styles,
                   findings: list[Finding]) -> None:
    """確認事項: one finding per row, the severity cell coloured, filters on the header."""
    spec = ws.template.findings
    sheet = workbook.add_worksheet(spec["sheet"])
    widths = [8, 22, 18, 28, 10, 7, 8, 80]
    for c, (text, width) in enumerate(zip(spec["headers"], widths)):
        sheet.write_string(0, c, text, st.header)
        sheet.set_column(c, c, width)
    for r, f in enumerate(findings, start=1):
        values = [f.severity.label, f.code, f.department or "", f.file or "", f.sheet or "",
                  f.cell or "", f.item_id or "", f.message]
        for c, value in enumerate(values):
            sheet.write_string(r, c, value, st.severity[f.severity] if c == 0 else st.cell)
        fit_row(sheet, r, values, widths)
    sheet.autofilter(0, 0, max(len(findings), 1), len(widths) - 1)
    sheet.freeze_panes(1, 0)
    page_setup(sheet, ws.template.report["footer"], 0)


def write_submission_status(ws: Workspace, workbook: xlsxwriter.workbook.Workbook, st: Styles,
                            statuses: list[DepartmentStatus]) -> None:
    """提出状況: one department per row; missing files, errors and unmarked rows stand out."""
    spec = ws.template.submission_status
    sheet = workbook.add_worksheet(spec["sheet"])
    widths = [22, 8, 36, 18, 7, 7, 9, 12, 24]
    for c, (text, width) in enumerate(zip(spec["headers"], widths)):
        sheet.write_string(0, c, text, st.header)
        sheet.set_column(c, c, width)
    for r, s in enumerate(statuses, start=1):
        file = representable(s.file or "")  # a file name as the inbox gave it: the last guard
        sheet.write_string(r, 0, s.department, st.cell)
        sheet.write_string(r, 1, spec["returned"] if s.returned else spec["missing"],
                           st.cell if s.returned else st.severity[Severity.WARNING])
        sheet.write_string(r, 2, file, st.cell)
        sheet.write_string(r, 3, format_saved_at(s.saved_at) if s.saved_at else "", st.cell)
        sheet.write_number(r, 4, s.errors, st.flag[Severity.ERROR] if s.errors else st.number)
        sheet.write_number(r, 5, s.warnings, st.flag[Severity.WARNING] if s.warnings else st.number)
        sheet.write_number(r, 6, s.items, st.number)
        if s.returned:
            sheet.write_number(r, 7, s.unanswered, st.flag[Severity.WARNING] if s.unanswered else st.number)
        else:
            sheet.write_string(r, 7, "—", st.center)
        waiting = "、".join(s.waiting)
        sheet.write_string(r, 8, waiting, st.severity[Severity.WARNING] if waiting else st.cell)
        fit_row(sheet, r, [s.department, "", file, "", "", "", "", "", waiting], widths)
    sheet.autofilter(0, 0, max(len(statuses), 1), len(widths) - 1)
    sheet.freeze_panes(1, 1)
    page_setup(sheet, ws.template.report["footer"], 0)
