"""rollover: this year's result → next year's workspace.

The new workspace keeps the plan master as it is (every item id, section, content,
departments and 再掲 link), and carries this year's plan master and merged answers in its
``previous/`` folder as last year's: department workbooks then show them as locked reference
cells, and the consolidated workbook compares the two years. The KPI table gains the new
year's 実績 (actual) column, to be collected from the department that owns each KPI.

Items can be added or retired by editing the new plan master by hand; `compare_plans` tells
what changed against last year, and distribute reports it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path

from .errors import NakanoError
from .findings import Finding, finding
from .lock import locked
from .model import FiscalYear, Kpi, KpiValue, Plan
from .plan import kpis_csv
from .workspace import SETTINGS_FILE, Workspace, init_workspace, open_workspace, render_settings
from .xlsx.files import write_text_atomically

PREVIOUS_DIR = "previous"


@locked("rollover")
def rollover(ws: Workspace, to: str, new_root: Path, *, force: bool = False,
             now: dt.datetime | None = None) -> tuple[Workspace, list[Finding]]:
    """Create next year's workspace at ``new_root`` from ``ws`` and its consolidated answers."""
    year = FiscalYear.parse(to)
    if year <= ws.year:
        raise NakanoError(f"新しい年度（{year.label}）は {ws.year.label} より後の年度を指定してください。")
    answers = ws.answers_path()
    if not answers.is_file():
        raise NakanoError(f"{ws.year.label}の取りまとめ結果 {answers} がありません。先に nakano-xl consolidate を実行してください。")
    findings: list[Finding] = []
    errors = _open_errors(ws)
    if errors:
        findings.append(finding("rollover.open_errors", count=errors, year=ws.year.label))
    with tempfile.TemporaryDirectory() as tmp:
        kpis_path = None
        if ws.kpis:
            kpis_path = Path(tmp) / "kpis.csv"
            # newline="": the table's rows already end in CR LF, which Windows must not double.
            kpis_path.write_text(kpis_csv(with_actual_column(ws.kpis, year)), encoding="utf-8", newline="")
        new = init_workspace(new_root, ws.root / ws.settings.plan_file, year.code, kpis_path=kpis_path,
                             template=ws.settings.template, force=force, now=now)
    previous = new.root / PREVIOUS_DIR
    previous.mkdir(exist_ok=True)
    plan_copy = previous / f"plan_{ws.year.code}{Path(ws.settings.plan_file).suffix}"
    answers_copy = previous / answers.name
    shutil.copyfile(ws.root / ws.settings.plan_file, plan_copy)
    shutil.copyfile(answers, answers_copy)
    # The coordinator's choices carry over; the deadline is next year's to set.
    settings = dataclasses.replace(
        new.settings, title=ws.settings.title, coordinator=ws.settings.coordinator, limits=ws.settings.limits,
        rules=ws.settings.rules, previous_year=ws.year,
        previous_plan_file=plan_copy.relative_to(new.root).as_posix(),
        previous_answers_file=answers_copy.relative_to(new.root).as_posix())
    write_text_atomically(new.root / SETTINGS_FILE, render_settings(settings))
    return open_workspace(new.root), findings


def with_actual_column(kpis: list[Kpi], year: FiscalYear) -> list[Kpi]:
    """Each KPI with an (empty) 実績 value for ``year`` where it has none yet."""
    out = []
    for kpi in kpis:
        if any(v.year == year and v.kind == "実績" for v in kpi.values):
            out.append(kpi)
            continue
        values = sorted(kpi.values + (KpiValue(year, "実績", ""),), key=lambda v: (v.kind != "実績", v.year))
        out.append(dataclasses.replace(kpi, values=tuple(values)))
    return out


def _open_errors(ws: Workspace) -> int:
    path = ws.findings_path()
    try:
        return sum(1 for f in json.loads(path.read_text(encoding="utf-8")) if f.get("severity") == "error")
    except (OSError, ValueError):
        return 0


def compare_plans(previous: Plan, plan: Plan) -> list[Finding]:
    """What changed in the plan master against last year's: added, retired and edited items."""
    out = []
    for item in plan:
        old = previous.get(item.item_id)
        if old is None:
            out.append(finding("plan.item_added", item_id=item.item_id, content=item.content))
            continue
        changed = [label for label, a, b in (("実施内容番号", old.section_code, item.section_code),
                                              ("事業内容", old.content, item.content),
                                              ("所管課", old.departments, item.departments),
                                              ("再掲元", old.reprint_of or "", item.reprint_of or "")) if a != b]
        if changed:
            out.append(finding("plan.item_changed", item_id=item.item_id, content=item.content,
                               fields="・".join(changed)))
    for old in previous:
        if old.item_id not in plan:
            out.append(finding("plan.item_retired", item_id=old.item_id, content=old.content))
    return out
