"""report: the consolidated workbook — 別紙1, 集計, 前年度比較, 確認事項, 提出状況.

Reads the workspace (plan, template, KPIs) and the merged answers; writes one .xlsx as bytes
(`write_report`), which `consolidate` saves atomically. What the report holds is in
`contents` (the rows of 別紙1 as printed, the counts); how each sheet is drawn is in
`progress_list` (別紙1), `summary` (集計), `comparison` (前年度比較) and `review` (確認事項,
提出状況), on the printed page of `pages`, in the formats of `styles`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..compare import compare_years
from ..findings import Finding
from ..intake import DepartmentStatus
from ..model import Answer, Kpi, Status
from ..workspace import Workspace
from ..xlsx.writer import finish, new_workbook
from .comparison import write_comparison
from .contents import CountRow, ProgressRow, count_by, display_answer, goal_titles, header_row, progress_rows
from .pages import EXCEL, ColumnMetrics, Layout, fitted_height, page_room, paginate
from .progress_list import write_progress_list
from .review import write_findings, write_submission_status
from .styles import Styles
from .summary import write_summary

__all__ = ["EXCEL", "ColumnMetrics", "CountRow", "Layout", "ProgressRow", "count_by", "display_answer",
           "fitted_height", "goal_titles", "header_row", "page_room", "paginate", "progress_rows", "write_report"]


def write_report(ws: Workspace, answers: dict[str, Answer], counts: dict[Status, int],
                 findings: list[Finding], statuses: list[DepartmentStatus], *,
                 review: bool = True, metrics: ColumnMetrics = EXCEL, kpis: list[Kpi] | None = None) -> bytes:
    """The consolidated workbook as bytes.

    ``review=False`` leaves out 前年度比較, 確認事項 and 提出状況: what is published (the PDF
    export) holds 別紙1 and 集計 only. ``metrics``: the program that will print it
    (`ColumnMetrics`). ``kpis``: the KPI table with the actuals the departments reported
    (default: the table as is).
    """
    tmpl = ws.template
    # Each part goes through a temporary file on its way into the zip: a large report's peak
    # memory is then its cells, not its cells and every part's XML at once.
    with tempfile.TemporaryDirectory(prefix="nakano-xl-") as parts:
        workbook, buffer = new_workbook(ws.settings.created, title=ws.settings.title, in_memory=False,
                                        tmpdir=Path(parts))
        styles = Styles(workbook, tmpl.report["font"])
        write_progress_list(ws, workbook, styles, progress_rows(ws, answers), metrics)
        write_summary(ws, workbook, styles, answers, counts, metrics, ws.kpis if kpis is None else kpis)
        if review:  # for the coordinator: not part of what is published
            comparison = compare_years(ws, answers)
            if comparison is not None:
                write_comparison(ws, workbook.add_worksheet(tmpl.comparison["sheet"]), styles, comparison)
            write_findings(ws, workbook, styles, findings)
            write_submission_status(ws, workbook, styles, statuses)
        return finish(workbook, buffer)
