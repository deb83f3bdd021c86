"""再掲 rows: linked to their original, checked, shown as published, never counted twice."""

from __future__ import annotations

import shutil

import openpyxl
import pytest

from nakano_xl.consolidate import consolidate
from nakano_xl.findings import Severity
from nakano_xl.plan import check_plan, load_plan
from nakano_xl.reprint import link_reprints, strip_marker
from nakano_xl.template import load_template
from nakano_xl.workspace import open_workspace

from .helpers import PLAN_HEADER, cell_text, find_header_row, header_index, set_setting, write_csv

RULES = load_template().department_rules


def test_every_reprint_link_of_the_fy_r3_plan_resolves(sample):
    plan = load_plan(sample / "plan.csv", RULES)
    links = link_reprints(plan)
    reprints = [i.item_id for i in plan if i.is_reprint]
    assert len(reprints) == 14
    assert set(links.root) == set(reprints)
    for root in links.root.values():
        assert root is not None and not plan[root].is_reprint
    # Whole sections: 1-7-① re-lists 1-2-①, 2-1-① re-lists 1-1-③ (no marker at all).
    assert [links.root[f"P0{n}"] for n in (58, 59, 60, 61)] == ["P016", "P017", "P018", "P019"]
    assert [links.root[f"P0{n}"] for n in (67, 68, 69)] == ["P007", "P008", "P009"]


def test_every_text_mismatch_of_the_fy_r3_plan_is_found_and_no_false_one(sample):
    plan = load_plan(sample / "plan.csv", RULES)
    found = [(f.code, f.item_id) for f in link_reprints(plan).findings]
    assert found == [("reprint.text_mismatch", "P061"), ("reprint.text_mismatch", "P069"),
                     ("reprint.text_mismatch", "P087")]
    [p061] = [f for f in link_reprints(plan).findings if f.item_id == "P061"]
    assert p061.severity is Severity.WARNING
    assert "職員向け研修の実施" in p061.message and "職員向け研修の検討・実施" in p061.message


@pytest.mark.parametrize("text, marker, rest", [
    ("(1-1-②再掲)○整理", "1-1-②", "○整理"),
    ("（1-2-①再掲）オープンデータ", "1-2-①", "オープンデータ"),
    ("○整理", None, "○整理"),
    ("(国)標準仕様", None, "(国)標準仕様"),
])
def test_markers_are_read_in_both_bracket_widths(text, marker, rest):
    assert strip_marker(text) == (marker, rest)


@pytest.fixture
def tangled_plan(tmp_path):
    return write_csv(tmp_path / "tangled.csv", PLAN_HEADER, [
        ["O1", "1-1-①", "窓口の改善", "◎窓口予約の導入", "戸籍住民課", ""],
        ["O2", "1-1-①", "窓口の改善", "キャッシュレス決済", "戸籍住民課", ""],
        ["A1", "1-2-①", "", "(1-1-①再掲)◎窓口予約の導入", "", "O1"],
        ["A2", "1-3-①", "", "(1-2-①再掲)◎窓口予約の導入", "", "A1"],  # chain A2 → A1 → O1
        ["C1", "1-4-①", "", "循環1", "", "C2"],  # cycle C1 → C2 → C1
        ["C2", "1-4-①", "", "循環2", "", "C1"],
        ["M1", "1-5-①", "", "(1-1-①再掲)どこにもない", "", "NOPE"],  # missing original
        # A whole section re-listed: the marker sits in the section title, not in the rows.
        ["S1", "2-1-①", "(1-1-①再掲)窓口の改善", "◎窓口予約の導入", "", "O1"],
        ["S2", "2-1-①", "(1-1-①再掲)窓口の改善", "キャッシュレス決済の導入", "", "O2"],  # text differs
        ["W1", "2-2-①", "", "(1-9-⑨再掲)キャッシュレス決済", "", "O2"],  # marker names the wrong section
    ])


def test_chain_cycle_missing_original_and_whole_section(tangled_plan):
    plan = load_plan(tangled_plan, RULES)
    links = link_reprints(plan)
    assert links.root == {"A1": "O1", "A2": "O1", "C1": None, "C2": None, "M1": None, "S1": "O1", "S2": "O2",
                          "W1": "O2"}
    found = {(f.code, f.item_id): f for f in links.findings}
    assert set(found) == {
        ("reprint.chain", "A2"),
        ("reprint.cycle", "C1"), ("reprint.cycle", "C2"),
        ("reprint.missing_original", "M1"),
        ("reprint.text_mismatch", "S2"),
        ("reprint.marker_mismatch", "W1"),
    }
    assert found[("reprint.cycle", "C1")].severity is Severity.ERROR
    assert "C1 → C2 → C1" in found[("reprint.cycle", "C1")].message
    assert found[("reprint.missing_original", "M1")].severity is Severity.ERROR
    assert "NOPE" in found[("reprint.missing_original", "M1")].message
    assert "A2 → A1 → O1" in found[("reprint.chain", "A2")].message
    assert "キャッシュレス決済の導入" in found[("reprint.text_mismatch", "S2")].message


def test_init_and_distribute_report_broken_links(tangled_plan, tmp_path):
    from click.testing import CliRunner

    from nakano_xl.cli import cli

    ws = tmp_path / "ws"
    result = CliRunner().invoke(cli, ["init", str(ws), "--plan", str(tangled_plan), "--year", "R3"])
    assert result.exit_code == 1  # done, but the plan has errors to fix
    assert "再掲元をたどると元に戻ってしまいます" in result.output
    result = CliRunner().invoke(cli, ["distribute", "-w", str(ws)])
    assert result.exit_code == 1
    assert "エラー 3件" in result.output
    assert {f.code for f in check_plan(open_workspace(ws).plan)} >= {"reprint.cycle", "reprint.missing_original"}


def _progress_list(ws):
    sheet = openpyxl.load_workbook(ws.report_path())["別紙1"]
    head = find_header_row(sheet, "実施内容")
    cols = header_index(sheet, head)
    rows = {cell_text(sheet, r, cols["項目ID"]): r for r in range(head + 1, sheet.max_row + 1)}
    return sheet, cols, rows


def test_counts_are_the_same_whichever_way_reprint_rows_are_shown(demo, tmp_path):
    root = tmp_path / "copy_mode"
    shutil.copytree(demo.workspace.root, root)
    set_setting(root, "reprint_display", "copy")
    ws = open_workspace(root)
    result = consolidate(ws)
    assert {s.mark: n for s, n in result.counts.items()} == {"◎": 97, "○": 4, "△": 1, "×": 1}
    assert result.counts == demo.result.counts
    sheet, cols, rows = _progress_list(ws)
    # P012 re-lists P006 (◎): in copy mode it shows P006's answers, marked as copied.
    assert cell_text(sheet, rows["P012"], cols["進捗状況"]) == "◎"
    assert cell_text(sheet, rows["P012"], cols["令和3年度までの取組状況"]).endswith("（1-1-②の回答を転記）")
    # The published mode leaves it blank.
    sheet, cols, rows = _progress_list(demo.workspace)
    assert cell_text(sheet, rows["P012"], cols["進捗状況"]) == ""
    summary = openpyxl.load_workbook(ws.report_path())["集計"]
    counted = {str(r[0].value)[:1]: r[1].value for r in summary.iter_rows(min_row=4, max_row=7)}
    assert counted == {"◎": 97, "○": 4, "△": 1, "×": 1}
