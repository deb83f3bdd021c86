from __future__ import annotations

import pickle

import pytest

from nakano_xl.errors import NakanoError
from nakano_xl.model import Answer, FiscalYear, Status, parse_departments
from nakano_xl.template import load_template

RULES = load_template().department_rules


@pytest.mark.parametrize("text", ["R3", "r3", "令和3", "令和3年度", "2021", "Ｒ３", "令和３年度", " R3 ", "2021年度"])
def test_fiscal_year_accepts_the_ways_people_write_it(text):
    assert FiscalYear.parse(text) == FiscalYear(3)


def test_reiwa_gannen_is_year_one():
    assert FiscalYear.parse("令和元年度") == FiscalYear(1)


@pytest.mark.parametrize("text", ["H31", "平成33年度", "3", "R0", "2018", "FY2021", "", "令和", "R3年"])
def test_fiscal_year_refuses_anything_else_with_a_clear_message(text):
    with pytest.raises(NakanoError, match="年度「.*」を読み取れません。R3、r3、令和3、令和3年度、2021"):
        FiscalYear.parse(text)


def test_fiscal_year_words():
    year = FiscalYear.parse("R3")
    assert (year.code, year.label, year.western) == ("R3", "令和3年度", 2021)
    assert year.words()["next_year"] == "令和4年度"
    assert year.words()["later_year"] == "令和5年度"


@pytest.mark.parametrize("text, answering, related, groups", [
    ("情報システム課", ["情報システム課"], [], []),
    ("情報システム課 税務課 学校教育課", ["情報システム課", "税務課", "学校教育課"], [], []),
    ("情報システム課 (子育て支援課、介護・高齢者支援課)", ["情報システム課"], ["子育て支援課", "介護・高齢者支援課"], []),
    ("情報システム課(職員課)", ["情報システム課"], ["職員課"], []),
    ("(情報システム課)", ["情報システム課"], [], []),
    ("保険医療課(国保・後期・年金) 保健企画課", ["保険医療課", "保健企画課"], [], []),
    ("情報システム課 新区役所整備課 各所管課", ["情報システム課", "新区役所整備課"], [], ["各所管課"]),
    ("情報システム課 相談・講座等実施課", ["情報システム課"], [], ["相談・講座等実施課"]),
    ("情報システム課（職員課）", ["情報システム課"], ["職員課"], []),  # full-width brackets
    ("情報システム課\u3000税務課", ["情報システム課", "税務課"], [], []),  # full-width space
    ("各所管課", [], [], ["各所管課"]),
    ("", [], [], []),
])
def test_departments_are_read_as_the_report_writes_them(text, answering, related, groups):
    a = parse_departments(text, RULES)
    assert list(a.answering) == answering
    assert list(a.related) == related
    assert list(a.groups) == groups


def test_parentheses_without_a_department_annotate_the_name_before_them():
    a = parse_departments("保険医療課(国保・後期・年金)", RULES)
    assert a.answering == ("保険医療課",)
    assert a.annotations == (("保険医療課", "国保・後期・年金"),)
    assert a.lead == "保険医療課"


@pytest.mark.parametrize("status", [None, *Status])
def test_an_answer_comes_back_from_a_worker_as_it_was_sent(status):
    answer = Answer(status, "理由", "取組\n状況", "翌年度", "以降")
    back = pickle.loads(pickle.dumps(answer, pickle.HIGHEST_PROTOCOL))
    assert back == answer and back.status is status
    assert pickle.loads(pickle.dumps(Answer())) == Answer()


def test_a_mark_counts_as_the_same_mark_after_pickling():
    counts = {s: 0 for s in Status}
    counts[pickle.loads(pickle.dumps(Status.BEHIND))] += 1
    assert counts == {Status.ON_SCHEDULE: 0, Status.RESCHEDULED: 0, Status.BEHIND: 1, Status.NOT_STARTED: 0}
