"""None lost: whatever departments type, each value is in 別紙1 or named in a finding.

Random answers — right marks, look-alikes, junk, free text with line breaks, formulas typed
as text, spaces — are typed into random departments' workbooks (pasted, so the dropdown
does not stop the junk), consolidated, and 別紙1 is read back. Every non-blank value typed
must either be in 別紙1 at its item and column, normalised as documented, or be named by a
finding (at its cell, or for its item and department).
"""

from __future__ import annotations

import re
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nakano_xl.consolidate import consolidate
from nakano_xl.distribute import distribute
from nakano_xl.fill import fill_workbook
from nakano_xl.layout import FIRST_ROW, InputColumns
from nakano_xl.validate import clean_text, read_mark
from nakano_xl.xlsx.cells import a1

from .intake_kit import FIELDS, new_workspace, report_answers

MARKS = ["◎", "○", "△", "×", "◯", "〇", "✕", "✖", "x", "X", "二重丸", " ○ ", "\u3000×", "▲", "済", "⭕", "◎○", "　"]
# What a person can type into a cell: no control characters but tab and line breaks, no
# unassigned or private-use code points. ``_xHHHH_`` is left out: Excel itself escapes a
# typed ``_x000D_`` as ``_x005F_x000D_``, openpyxl (which types here) does not.
CHARS = st.characters(blacklist_categories=("Cs", "Cc", "Cn", "Co"))
PIECES = st.one_of(CHARS, st.sampled_from(["\n", "\r\n", "\t", " ", "\u3000", "=HYPERLINK(\"x\")", "_x", "46", "◯"]))
TEXT = st.lists(PIECES, max_size=12).map("".join).filter(lambda t: not re.search(r"_x[0-9A-Fa-f]{4}_", t))
VALUE = {"status": st.one_of(st.sampled_from(MARKS), TEXT), **{f: TEXT for f in FIELDS[1:]}}


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    ws = new_workspace(tmp_path_factory.mktemp("property"))
    return ws, distribute(ws)


def answers_for(ws):
    """Some departments, each with some of its rows, each with some fields typed."""
    departments = ws.plan.departments()

    def rows(department):
        items = [i.item_id for i in ws.plan.items_for(department)]
        return st.dictionaries(st.sampled_from(items), st.fixed_dictionaries({}, optional=VALUE), max_size=len(items))

    return st.lists(st.sampled_from(departments), min_size=1, unique=True).flatmap(
        lambda chosen: st.fixed_dictionaries({d: rows(d) for d in chosen}))


def expected_cell(field, typed, template):
    if field == "status":
        reading = read_mark(typed, template)
        return reading.status.mark if reading.status else None  # None: cannot land
    return clean_text(typed)


@settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_every_typed_value_is_in_the_report_or_named_by_a_finding(survey, data):
    ws, dist = survey
    typed = data.draw(answers_for(ws))
    shutil.rmtree(ws.inbox)
    ws.inbox.mkdir()
    cols = InputColumns.of(ws.template)
    for department, rows in typed.items():
        fill_workbook(dist.files[department], ws.inbox / f"{department}.xlsx", rows, ws.template, paste=True)
    result = consolidate(ws)
    seen = report_answers(ws)
    for department, rows in typed.items():
        position = {i.item_id: FIRST_ROW + n for n, i in enumerate(ws.plan.items_for(department))}
        for item_id, values in rows.items():
            for field, text in values.items():
                if text == "":
                    continue  # nothing typed
                cell = a1(position[item_id], cols.col(field))
                want = expected_cell(field, text, ws.template)
                landed = want is not None and seen[item_id][field] == want
                named = [f for f in result.findings
                         if (f.file == f"{department}.xlsx" and f.cell == cell)
                         or (f.item_id == item_id and department in (f.department or ""))]
                assert landed or named, (department, item_id, field, text, seen[item_id][field])
