"""kpi: the 成果指標 actuals, collected from the departments that own them.

Each KPI of the table has an owner (the ``owner`` column; blank = the workspace's
coordinator). When the table has a 実績 entry for the workspace's year — rollover adds an
empty one — the owner's workbook gets a 成果指標 sheet with a cell for it, and what the
owner types there replaces the table's value in 集計. A KPI whose owner answers no item of
the plan gets no workbook: the coordinator fills it into the KPI table by hand.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from .findings import Finding, finding
from .intake import Submission
from .model import Kpi, KpiValue
from .workspace import Workspace

ACTUAL = "実績"


def kpi_id(kpi: Kpi) -> str:
    """A KPI's id in workbooks: stable across years as long as its goal and name are."""
    return f"{kpi.goal}/{kpi.name}"


def owner(ws: Workspace, kpi: Kpi) -> str:
    return kpi.owner or ws.settings.coordinator


def actual(kpi: Kpi, ws: Workspace) -> KpiValue | None:
    """The KPI's 実績 entry for the workspace's year, if the table asks for one."""
    return next((v for v in kpi.values if v.year == ws.year and v.kind == ACTUAL), None)


def collected_by(ws: Workspace) -> dict[str, list[Kpi]]:
    """Department → the KPIs whose actual for the year it reports, in table order."""
    departments = set(ws.plan.departments())
    out: dict[str, list[Kpi]] = {}
    for kpi in ws.kpis:
        if actual(kpi, ws) is not None and owner(ws, kpi) in departments:
            out.setdefault(owner(ws, kpi), []).append(kpi)
    return out


def check_owners(ws: Workspace) -> list[Finding]:
    """KPIs to collect whose owner gets no workbook (not a department of the plan)."""
    departments = set(ws.plan.departments())
    return [finding("kpi.owner_unknown", value=owner(ws, k), department=owner(ws, k) or None, name=k.name,
                    year=ws.year.label)
            for k in ws.kpis if actual(k, ws) is not None and owner(ws, k) not in departments]


def merge_kpis(ws: Workspace, submissions: Iterable[Submission]) -> list[Kpi]:
    """The KPI table with each collected actual replaced by what its owner typed (when not blank)."""
    typed: dict[str, str] = {}
    for sub in submissions:
        if sub.used:
            typed.update({k: v for k, v in sub.kpi_values.items() if v.strip()})
    out = []
    for kpi in ws.kpis:
        value = typed.get(kpi_id(kpi))
        if value is None:
            out.append(kpi)
            continue
        values = tuple(dataclasses.replace(v, value=value) if v.year == ws.year and v.kind == ACTUAL else v
                       for v in kpi.values)
        out.append(dataclasses.replace(kpi, values=values))
    return out
