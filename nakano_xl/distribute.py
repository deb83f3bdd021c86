"""distribute: the plan master → one input workbook per department (``outbox/<課>.xlsx``).

Each workbook holds only the rows its department answers (再掲 rows are answered by their
original and not sent), a 回答 sheet whose fixed cells are locked and whose answer cells
are unlocked and yellow, a ◎/○/△/× dropdown with a stop alert, a red warning on a missing
reason for ○/×, a 記入要領 sheet, and the signed metadata in a very hidden sheet. Every
sheet is protected with the workspace's password (`Workspace.sheet_password`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .findings import Finding
from .kpi import check_owners, collected_by, kpi_id
from .layout import (
    DEPARTMENT_ROW,
    FIRST_ROW,
    HEADER_ROW,
    KPI_FIRST_ROW,
    KPI_HEADER_ROW,
    KPI_ID_COL,
    KPI_NOTE_ROW,
    KPI_TITLE_ROW,
    KPI_VALUE_COL,
    NOTE_ROW,
    REFERENCE_PREFIX,
    TITLE_ROW,
    InputColumns,
    Metadata,
    safe_file_name,
)
from .lock import locked
from .model import NO_ANSWER, Answer, Item, Kpi, Status
from .plan import check_plan
from .rollover import compare_plans
from .workers import pmap
from .workspace import Workspace
from .xlsx.cells import a1, column_letter
from .xlsx.files import write_atomically
from .xlsx.measure import row_height

if TYPE_CHECKING:  # (xlsxwriter itself is imported where a workbook is built)
    import xlsxwriter

Progress = Callable[[int, int], None]


@dataclass
class Distribution:
    distribution_id: str
    files: dict[str, Path] = field(default_factory=dict)  # department → workbook
    findings: list[Finding] = field(default_factory=list)


@locked("distribute")
def distribute(ws: Workspace, *, renew: bool = False, prefill: Mapping[str, Answer] | None = None,
               progress: Progress | None = None, workers: int = 1) -> Distribution:
    """Write ``outbox/<課>.xlsx`` for every department that answers at least one item.

    The distribution id is made once and kept in the workspace, so distributing again (say
    after fixing a typo in the plan) does not invalidate files already sent; ``renew`` makes
    a new one, after which files of the old distribution are refused. ``prefill`` puts
    answers into the answer cells (still editable), e.g. a plan text carried over from last year.
    ``workers``: processes writing workbooks; the same bytes whatever the number.
    """
    record = ws.distribution()
    if record is None or renew:
        record = {"distribution_id": secrets.token_hex(6)}
    # Made once with the distribution id and kept with it, like the id: distributing again
    # writes the same bytes. Returns' saved times are judged against it (`intake.identify`).
    distributed = record.get("distributed_at")
    if not isinstance(distributed, str) or not distributed:
        distributed = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = Distribution(record["distribution_id"], findings=check_plan(ws.plan) + check_owners(ws))
    if ws.previous is not None:
        result.findings.extend(compare_plans(ws.previous.plan, ws.plan))
        if prefill is None and ws.settings.rules.prefill_plans:
            prefill = carried_plans(ws)
    key = ws.key()
    password = ws.sheet_password()  # made now if the workspace predates it; read once for every workbook
    departments = ws.plan.departments()
    kpis = collected_by(ws)
    cols = InputColumns.of(ws.template, reference=ws.previous is not None)
    sent: dict[str, dict[str, object]] = {}
    jobs: list[Job] = []
    for department in departments:
        items = ws.plan.items_for(department)
        meta = Metadata(
            department=department,
            fiscal_year=ws.year.code,
            template=ws.template.name,
            template_version=ws.template.version,
            distribution_id=result.distribution_id,
            answer_sheet=ws.template.input["answer_sheet"],
            item_ids=tuple(i.item_id for i in items),
            columns=cols.keys,
            kpi_ids=tuple(kpi_id(k) for k in kpis.get(department, ())),
            distributed=distributed,
        ).signed(key)
        jobs.append((department, items, meta, kpis.get(department, [])))
    # The workbooks are independent: they may be written on worker processes (`nakano_xl.workers`).
    written = pmap(_write_job, jobs, state=(ws, prefill, password), workers=workers)
    for done, ((department, _, meta, _), (path, digest)) in enumerate(zip(jobs, written), start=1):
        result.files[department] = path
        sent[department] = {"file": path.name, "items": list(meta.item_ids), "sha256": digest}
        if progress:
            progress(done, len(departments))
    record = {"distribution_id": result.distribution_id, "distributed_at": distributed,
              "fiscal_year": ws.year.code, "template_version": ws.template.version, "departments": sent}
    ws.save_distribution(record)
    return result


Job = tuple[str, list[Item], Metadata, list[Kpi]]  # department, its items, its signed metadata, its KPIs


def _write_job(state: tuple[Workspace, Mapping[str, Answer] | None, str], job: Job) -> tuple[Path, str]:
    """One department's workbook written to the outbox: its path and SHA-256."""
    ws, prefill, password = state
    department, items, meta, kpis = job
    data = build_input_workbook(ws, department, items, meta, prefill=prefill, kpis=kpis, password=password)
    path = ws.outbox / f"{safe_file_name(department)}.xlsx"
    write_atomically(path, data)
    return path, hashlib.sha256(data).hexdigest()


def carried_plans(ws: Workspace) -> dict[str, Answer]:
    """Plan cells that start from last year's 以降取組予定: the natural first draft of both plans."""
    assert ws.previous is not None
    out = {}
    for item_id, answer in ws.previous.answers.items():
        if answer.plan_later and item_id in ws.plan:
            out[item_id] = Answer(plan_next_year=answer.plan_later, plan_later=answer.plan_later)
    return out


def build_input_workbook(ws: Workspace, department: str, items: list[Item], meta: Metadata, *,
                         prefill: Mapping[str, Answer] | None = None, kpis: list[Kpi] | None = None,
                         password: str) -> bytes:
    """One department's workbook as bytes (the same inputs give the same bytes); its sheets
    protected with ``password`` (the workspace's, `Workspace.sheet_password`)."""
    tmpl = ws.template
    words = tmpl.texts(ws.year, department=department, coordinator=ws.settings.coordinator,
                       deadline=ws.settings.deadline)
    # Imported here, not with the module: the package imports this module for every command,
    # and the commands that only read returns never need xlsxwriter.
    from .xlsx.writer import finish, new_workbook

    workbook, buffer = new_workbook(ws.settings.created, title=tmpl.input["title"].format_map(words))
    font = {"font_name": tmpl.report.get("font", "BIZ UDPゴシック"), "font_size": 10}
    fmt = {
        "title": workbook.add_format({**font, "bold": True, "font_size": 14}),
        "plain": workbook.add_format({**font}),
        "note": workbook.add_format({**font, "font_color": "#C00000"}),
        "header": workbook.add_format({**font, "bold": True, "bg_color": "#D9D9D9", "border": 1,
                                       "text_wrap": True, "align": "center", "valign": "vcenter"}),
        "fixed": workbook.add_format({**font, "border": 1, "text_wrap": True, "valign": "top"}),
        "id": workbook.add_format({**font, "border": 1, "valign": "top", "font_color": "#808080"}),
        # Answer cells: unlocked, yellow, and formatted as text so that "46" or "4/1" typed by a
        # department stays what was typed instead of becoming a number or a date.
        "answer": workbook.add_format({**font, "border": 1, "text_wrap": True, "valign": "top",
                                       "bg_color": "#FFF2CC", "locked": False, "num_format": "@"}),
        "status": workbook.add_format({**font, "border": 1, "valign": "top", "align": "center",
                                       "font_size": 14, "bg_color": "#FFF2CC", "locked": False,
                                       "num_format": "@"}),
        "missing": workbook.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"}),
        # Last year's answers: locked and grey, for reference only.
        "reference": workbook.add_format({**font, "border": 1, "text_wrap": True, "valign": "top",
                                          "bg_color": "#EDEDED", "font_color": "#404040"}),
        "reference_mark": workbook.add_format({**font, "border": 1, "valign": "top", "align": "center",
                                               "font_size": 12, "bg_color": "#EDEDED", "font_color": "#404040"}),
    }
    if ws.previous is not None:
        words["previous_year"] = ws.previous.year.label
    # Every sheet is protected with the workspace's password (only its hash is written), so
    # that unprotecting a sheet to move rows takes more than a click.
    write_answer_sheet(ws, workbook, fmt, words, items, prefill or {}, InputColumns.from_meta(meta, tmpl),
                       password=password)
    write_instructions(ws, workbook, fmt, words, kpis=bool(kpis), password=password)
    if kpis:
        write_kpi_sheet(ws, workbook, fmt, words, kpis, password=password)
    meta_sheet = workbook.add_worksheet(tmpl.input["metadata_sheet"])
    for row, (key, value) in enumerate(meta.rows()):
        meta_sheet.write_string(row, 0, key)
        meta_sheet.write_string(row, 1, value)
    meta_sheet.protect(password)
    meta_sheet.very_hidden()
    return finish(workbook, buffer)


def write_answer_sheet(ws: Workspace, workbook: xlsxwriter.Workbook, fmt: dict, words: dict[str, str],
                       items: list[Item], prefill: Mapping[str, Answer], cols: InputColumns, *,
                       password: str) -> None:
    tmpl = ws.template
    sheet = workbook.add_worksheet(tmpl.input["answer_sheet"])
    sheet.activate()
    r0 = HEADER_ROW - 1  # xlsxwriter counts from 0
    sheet.write_string(TITLE_ROW - 1, 0, tmpl.input["title"].format_map(words), fmt["title"])
    sheet.write_string(DEPARTMENT_ROW - 1, 0, tmpl.input["department_line"].format_map(words), fmt["plain"])
    if ws.settings.deadline:
        sheet.write_string(DEPARTMENT_ROW - 1, 4, tmpl.input["deadline_line"].format_map(words), fmt["plain"])
    sheet.write_string(NOTE_ROW - 1, 0, tmpl.input["note"].format_map(words), fmt["note"])
    widths = {}
    for c, key in enumerate(cols.keys):
        column = tmpl.column(key)
        widths[key] = column.width if column else 8
        sheet.write_string(r0, c, tmpl.header_for(key, ws.year), fmt["header"])
        sheet.set_column(c, c, widths[key])
    last_year = ws.previous.answers if ws.previous is not None else {}
    answer_keys = {c.key for c in tmpl.columns if c.answer}
    for n, item in enumerate(items):
        r = r0 + 1 + n
        values = {"section": item.section_label, "content": item.content, "departments": item.departments,
                  "item_id": item.item_id,
                  **(prefill[item.item_id].cells() if item.item_id in prefill else {})}
        for key, text in last_year.get(item.item_id, NO_ANSWER).cells().items():
            values[REFERENCE_PREFIX + key] = text
        for c, key in enumerate(cols.keys):
            text = values.get(key, "")
            if key in answer_keys:
                style = fmt["status" if key == "status" else "answer"]
            elif key.startswith(REFERENCE_PREFIX):
                style = fmt["reference_mark" if key.endswith("status") else "reference"]
            else:
                style = fmt["id" if key == "item_id" else "fixed"]
            if text:
                sheet.write_string(r, c, text, style)
            else:
                sheet.write_blank(r, c, None, style)
        # Room for three lines of answer at least; rows stay resizable for longer ones.
        shown = [(values.get(k, ""), widths[k]) for k in cols.keys if k != "item_id"]
        sheet.set_row(r, row_height(shown, min_lines=3))
    last = r0 + len(items)
    if items:
        status_col = cols.col("status") - 1
        reason_col = cols.col("reason") - 1
        sheet.data_validation(r0 + 1, status_col, last, status_col, {
            "validate": "list",
            "source": [s.mark for s in Status],
            "input_title": tmpl.input["status_prompt_title"],
            "input_message": tmpl.input["status_prompt"],
            "error_title": tmpl.input["status_error_title"],
            "error_message": tmpl.input["status_error"],
            "error_type": "stop",
        })
        required = [m.status.mark for m in tmpl.marks if m.reason == "required"]
        status_ref = f"${column_letter(status_col + 1)}{FIRST_ROW}"
        reason_ref = a1(FIRST_ROW, reason_col + 1)
        condition = ",".join(f'{status_ref}="{mark}"' for mark in required)
        sheet.conditional_format(r0 + 1, reason_col, last, reason_col, {
            "type": "formula",
            "criteria": f"=AND(OR({condition}),LEN(TRIM({reason_ref}))=0)",
            "format": fmt["missing"],
        })
    sheet.freeze_panes(HEADER_ROW, 2)
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(r0)
    sheet.print_area(0, 0, max(last, r0), cols.item_id - 2)  # the item id column is not printed
    sheet.set_footer("&C&P / &N")
    # Row heights and column widths stay adjustable so long answers can be read; nothing else.
    sheet.protect(password, {"format_columns": True, "format_rows": True})


def write_kpi_sheet(ws: Workspace, workbook: xlsxwriter.Workbook, fmt: dict, words: dict[str, str],
                    kpis: list[Kpi], *, password: str) -> None:
    """The 成果指標 sheet: one row per KPI the department reports, the year's actual to type."""
    spec = ws.template.input
    sheet = workbook.add_worksheet(spec["kpi_sheet"])
    sheet.write_string(KPI_TITLE_ROW - 1, 0, spec["kpi_title"].format_map(words), fmt["title"])
    sheet.write_string(KPI_NOTE_ROW - 1, 0, spec["kpi_note"].format_map(words), fmt["note"])
    widths = (10, 44, 30, 30, 16, 12)
    for c, (header, width) in enumerate(zip(spec["kpi_headers"], widths)):
        sheet.write_string(KPI_HEADER_ROW - 1, c, header.format_map(words), fmt["header"])
        sheet.set_column(c, c, width)
    for n, kpi in enumerate(kpis):
        r = KPI_FIRST_ROW - 1 + n
        past = " / ".join(f"{v.year.label} {v.value}" for v in kpi.values
                          if v.kind == "実績" and v.year < ws.year and v.value)
        targets = " / ".join(f"{v.year.label} {v.value}" for v in kpi.values if v.kind == "目標" and v.value)
        current = next((v.value for v in kpi.values if v.kind == "実績" and v.year == ws.year), "")
        for c, text in enumerate((kpi.goal, kpi.name, past, targets)):
            sheet.write_string(r, c, text, fmt["fixed"])
        if current:
            sheet.write_string(r, KPI_VALUE_COL - 1, current, fmt["answer"])
        else:
            sheet.write_blank(r, KPI_VALUE_COL - 1, None, fmt["answer"])
        sheet.write_string(r, KPI_ID_COL - 1, kpi_id(kpi), fmt["id"])
        sheet.set_row(r, row_height([(kpi.name, widths[1]), (past, widths[2]), (targets, widths[3])], min_lines=2))
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    sheet.protect(password, {"format_columns": True, "format_rows": True})


def write_instructions(ws: Workspace, workbook: xlsxwriter.Workbook, fmt: dict, words: dict[str, str], *,
                       kpis: bool = False, password: str) -> None:
    tmpl = ws.template
    sheet = workbook.add_worksheet(tmpl.input["instructions_sheet"])
    sheet.set_column(0, 0, 6)
    sheet.set_column(1, 1, 100)
    sheet.write_string(0, 0, tmpl.input["instructions_title"].format_map(words), fmt["title"])
    row = 2
    if ws.settings.deadline:
        sheet.write_string(row, 0, tmpl.input["deadline_line"].format_map(words), fmt["note"])
        row += 2
    lines = list(tmpl.input["instructions"])
    if ws.previous is not None:
        lines += tmpl.input.get("reference_instructions", [])
    if kpis:
        lines += tmpl.input.get("kpi_instructions", [])
    for line in lines:
        sheet.write_string(row, 0, line.format_map(words), fmt["plain"])
        row += 1
    row += 1
    sheet.write_string(row, 0, tmpl.input["legend_heading"], fmt["title"])
    row += 1
    for mark in tmpl.marks:
        sheet.write_string(row, 0, mark.status.mark, fmt["header"])
        sheet.write_string(row, 1, mark.label, fmt["fixed"])
        row += 1
    sheet.protect(password)
