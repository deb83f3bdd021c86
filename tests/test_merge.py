"""Rows shared by several departments: one answer when they agree, a documented rule when not."""

from __future__ import annotations

import openpyxl
import pytest

from nakano_xl.consolidate import consolidate
from nakano_xl.distribute import distribute
from nakano_xl.fill import fill_workbook
from nakano_xl.findings import Severity
from nakano_xl.model import Answer, Status
from nakano_xl.workspace import open_workspace

from .helpers import cell_text, find_header_row, header_index, set_setting

# T3 "共通基盤の整備" is answered by 情報システム課 (lead) and 税務課.
OTHERS = {
    "戸籍住民課": {"T1": {"status": "◎", "results_to_date": "予約を開始した。"}},
    "職員課": {"T4": {"status": "◎", "results_to_date": "研修を実施した。"}},
}


def send_back(ws, answers: dict[str, dict[str, dict[str, str]]]) -> None:
    dist = distribute(ws)
    for department, rows in answers.items():
        fill_workbook(dist.files[department], ws.inbox / f"{department}_回答.xlsx", rows, ws.template)


def shown(ws, item_id: str) -> dict[str, str]:
    sheet = openpyxl.load_workbook(ws.report_path())["別紙1"]
    head = find_header_row(sheet, "実施内容")
    cols = header_index(sheet, head)
    row = next(r for r in range(head + 1, sheet.max_row + 1) if cell_text(sheet, r, cols["項目ID"]) == item_id)
    return {h: cell_text(sheet, row, c) for h, c in cols.items()}


def test_agreeing_or_blank_departments_give_one_answer_without_a_finding(tiny_ws):
    send_back(tiny_ws, {
        **OTHERS,
        "情報システム課": {"T2": {"status": "◎"}, "T5": {"status": "◎"},
                     "T3": {"status": "◎", "results_to_date": "基盤を整備した。"}},
        "税務課": {"T3": {"status": "◎", "plan_next_year": "運用を開始する。"}},  # blanks beside one value
    })
    result = consolidate(tiny_ws)
    assert not [f for f in result.findings if f.code.startswith("merge.")]
    assert result.answers["T3"] == Answer(Status.ON_SCHEDULE, results_to_date="基盤を整備した。",
                                          plan_next_year="運用を開始する。")


def conflicting(ws):
    send_back(ws, {
        **OTHERS,
        "情報システム課": {"T2": {"status": "◎"}, "T5": {"status": "◎"},
                     "T3": {"status": "◎", "results_to_date": "基盤を整備した。"}},
        "税務課": {"T3": {"status": "△", "reason": "調達が遅れた。", "results_to_date": "調達中。"}},
    })


def test_conflict_names_both_departments_and_values_and_the_lead_wins(tiny_ws):
    conflicting(tiny_ws)
    result = consolidate(tiny_ws)
    [conflict] = [f for f in result.findings if f.code == "merge.conflict"]
    assert conflict.severity is Severity.WARNING and conflict.item_id == "T3"
    for text in ("情報システム課「◎」", "税務課「△」", "情報システム課「基盤を整備した。」", "税務課「調達中。」",
                 "情報システム課の回答を採用"):
        assert text in conflict.message
    # The lead's mark and text; the reason only 税務課 gave is kept (no one disagrees with it).
    assert result.answers["T3"] == Answer(Status.ON_SCHEDULE, reason="調達が遅れた。",
                                          results_to_date="基盤を整備した。")
    assert shown(tiny_ws, "T3")["進捗状況"] == "◎"
    assert result.counts[Status.ON_SCHEDULE] == 5 and result.counts[Status.BEHIND] == 0


def test_error_rule_leaves_the_row_unanswered_and_uncounted(tiny_ws):
    set_setting(tiny_ws.root, "conflict", "error")
    ws = open_workspace(tiny_ws.root)
    conflicting(ws)
    result = consolidate(ws)
    [conflict] = [f for f in result.findings if f.code == "merge.conflict"]
    assert conflict.severity is Severity.ERROR
    assert "税務課「△」" in conflict.message and "未回答として扱います" in conflict.message
    assert result.answers["T3"] == Answer()
    assert shown(ws, "T3")["進捗状況"] == ""
    assert result.counts == {Status.ON_SCHEDULE: 4, Status.RESCHEDULED: 0, Status.BEHIND: 0, Status.NOT_STARTED: 0}
    summary = openpyxl.load_workbook(ws.report_path())["集計"]
    assert [r[1].value for r in summary.iter_rows(min_row=4, max_row=7)] == [4, 0, 0, 0]


def test_shared_rows_waiting_for_a_department_are_listed(tiny_ws):
    send_back(tiny_ws, {**OTHERS, "情報システム課": {"T2": {"status": "◎"}, "T3": {"status": "◎"}}})
    result = consolidate(tiny_ws)
    [waiting] = [f for f in result.findings if f.code == "merge.waiting"]
    assert (waiting.item_id, waiting.department) == ("T3", "税務課")
    assert "情報システム課の回答は届いています" in waiting.message
    assert result.merged.waiting == {"T3": ["税務課"]}
    [missing] = [f for f in result.findings if f.code == "submission.missing"]
    assert missing.department == "税務課"


def test_submission_status_shows_the_shared_rows_waiting_for_a_department(tiny_ws):
    send_back(tiny_ws, {**OTHERS, "情報システム課": {"T2": {"status": "◎"}, "T3": {"status": "◎"}}})
    consolidate(tiny_ws)
    sheet = openpyxl.load_workbook(tiny_ws.report_path())["提出状況"]
    header = [c.value for c in sheet[1]]
    rows = {r[0]: dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["税務課"]["提出"] == "未提出"
    assert rows["税務課"]["回答待ちの共同行"] == "T3"
    assert rows["情報システム課"]["回答待ちの共同行"] in (None, "")


def test_an_older_workspaces_retired_rule_is_read_and_ignored(tiny_ws):
    """Settings written before ``duplicate_submission`` was retired still hold it: the workspace
    opens as before; an unknown rule is still refused with a message."""
    from nakano_xl.errors import WorkspaceError

    path = tiny_ws.root / "nakano-xl.toml"
    text = path.read_text(encoding="utf-8")
    assert "duplicate_submission" not in text
    path.write_text(text.replace("[rules]\n", '[rules]\nduplicate_submission = "latest"\n'), encoding="utf-8")
    assert open_workspace(tiny_ws.root).settings.rules == tiny_ws.settings.rules
    path.write_text(text.replace("[rules]\n", '[rules]\nnewest_wins = "yes"\n'), encoding="utf-8")
    with pytest.raises(WorkspaceError, match="newest_wins"):
        open_workspace(tiny_ws.root)
