"""The plan and the answers as values: fiscal year, status marks, items, departments, KPIs.

No I/O here. `plan.py` reads these from files, the other steps pass them around.
"""

from __future__ import annotations

import enum
import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .errors import NakanoError

# 令和N年度 is the fiscal year that starts in April of 2018+N.
REIWA_OFFSET = 2018


@dataclass(frozen=True, slots=True, order=True)
class FiscalYear:
    """A 令和 fiscal year. ``FiscalYear(3)`` is 令和3年度 (April 2021 to March 2022)."""

    reiwa: int

    def __post_init__(self) -> None:
        if self.reiwa < 1:
            raise ValueError(f"令和{self.reiwa}年度 does not exist")

    @classmethod
    def parse(cls, text: str | int) -> FiscalYear:
        """Read a year as a person writes it: ``R3``, ``r3``, ``令和3``, ``令和3年度``, ``2021``.

        Full-width digits and letters are accepted (``Ｒ３``); 令和元年度 is year 1.

        >>> FiscalYear.parse("令和3年度").code
        'R3'
        """
        raw = str(text)
        s = unicodedata.normalize("NFKC", raw).strip().replace("元", "1")
        m = re.fullmatch(r"(?:[Rr]|令和)(\d{1,2})(?:年度)?", s)
        if m and int(m.group(1)) >= 1:
            return cls(int(m.group(1)))
        m = re.fullmatch(r"(\d{4})(?:年度)?", s)
        if m and int(m.group(1)) > REIWA_OFFSET:
            return cls(int(m.group(1)) - REIWA_OFFSET)
        raise NakanoError(
            f"年度「{raw}」を読み取れません。R3、r3、令和3、令和3年度、2021 のいずれかの形で指定してください。"
        )

    @property
    def code(self) -> str:
        """``R3``: used in file names and the workspace settings."""
        return f"R{self.reiwa}"

    @property
    def label(self) -> str:
        """``令和3年度``: used in every heading a person reads."""
        return f"令和{self.reiwa}年度"

    @property
    def western(self) -> int:
        """The calendar year in which the fiscal year starts (April)."""
        return self.reiwa + REIWA_OFFSET

    def shifted(self, years: int) -> FiscalYear:
        return FiscalYear(self.reiwa + years)

    def words(self) -> dict[str, str]:
        """The placeholders every template text may use."""
        return {
            "year": self.label,
            "next_year": self.shifted(1).label,
            "later_year": self.shifted(2).label,
            "year_code": self.code,
        }

    def __str__(self) -> str:
        return self.label


class Status(enum.Enum):
    """進捗状況: the four marks, by their exact code points."""

    ON_SCHEDULE = "◎"  # U+25CE スケジュールどおり取り組んだ
    RESCHEDULED = "○"  # U+25CB スケジュールどおりでなく、変更して取り組んだ
    BEHIND = "△"  # U+25B3 着手したものの十分に進行しているとはいえない
    NOT_STARTED = "×"  # U+00D7 未着手

    @property
    def mark(self) -> str:
        return self.value


ANSWER_FIELDS = ("status", "reason", "results_to_date", "plan_next_year", "plan_later")
TEXT_FIELDS = ANSWER_FIELDS[1:]


@dataclass(frozen=True, slots=True)
class Answer:
    """What one department (or the merged report) says about one item."""

    status: Status | None = None
    reason: str = ""
    results_to_date: str = ""
    plan_next_year: str = ""
    plan_later: str = ""

    def cells(self) -> dict[str, str]:
        """The answer as the texts shown in the five answer columns."""
        return {"reason": self.reason, "results_to_date": self.results_to_date,
                "plan_next_year": self.plan_next_year, "plan_later": self.plan_later,
                "status": self.status.value if self.status else ""}


# The answer of an item nobody has answered: one shared value (an Answer is frozen).
NO_ANSWER = Answer()


@dataclass(frozen=True, slots=True)
class DepartmentRules:
    """How 所管課 text names departments: which words are groups, what ends a name."""

    groups: frozenset[str]
    name_endings: tuple[str, ...]

    def is_department_name(self, text: str) -> bool:
        return text.endswith(self.name_endings)


@dataclass(frozen=True, slots=True)
class Assignment:
    """Who answers an item, read from its 所管課 text.

    ``answering`` are the departments named outside parentheses, lead first; for a row whose
    only departments are in parentheses (a 国 or 都 item the ward follows), those.
    """

    answering: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()  # (department, note) as in 保険医療課(国保)

    @property
    def lead(self) -> str | None:
        return self.answering[0] if self.answering else None


_DEPT_TOKEN = re.compile(r"\([^()]*\)|[^\s()]+")


@functools.lru_cache(maxsize=1 << 16)  # a plan repeats the same 所管課 texts on many rows
def parse_departments(text: str, rules: DepartmentRules) -> Assignment:
    """Read 所管課 text as the FY R3 report writes it (README, "所管課").

    >>> rules = DepartmentRules(frozenset({"各所管課"}), ("課",))
    >>> parse_departments("情報システム課 (子育て支援課、防災危機管理課) 各所管課", rules)
    Assignment(answering=('情報システム課',), related=('子育て支援課', '防災危機管理課'), groups=('各所管課',), annotations=())
    """
    # Full-width brackets and spaces are the same thing to the person who typed them.
    norm = text.replace("（", "(").replace("）", ")").replace("\u3000", " ")
    named: list[str] = []
    related: list[str] = []
    paren_only: list[str] = []
    groups: list[str] = []
    notes: list[tuple[str, str]] = []
    previous: str | None = None
    for token in _DEPT_TOKEN.findall(norm):
        if token.startswith("("):
            names = [p.strip() for p in re.split(r"[、,，]", token[1:-1]) if p.strip()]
            if any(rules.is_department_name(n) for n in names):
                target = related if previous is not None else paren_only
                for name in names:
                    if name in rules.groups:
                        groups.append(name)
                    else:
                        target.append(name)
            elif previous is not None:
                notes.append((previous, token[1:-1]))
            continue
        if token in rules.groups:
            groups.append(token)
        else:
            named.append(token)
        previous = token
    answering = named or paren_only
    return Assignment(
        answering=tuple(_unique(answering)),
        related=tuple(_unique(r for r in related if r not in answering)),
        groups=tuple(_unique(groups)),
        annotations=tuple(notes),
    )


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


@dataclass(frozen=True, slots=True)
class Item:
    """One 事業内容: one row of 別紙1."""

    item_id: str
    section_code: str  # 実施内容番号, e.g. 1-1-①
    section_title: str  # 実施内容; "" where the report prints the code alone
    content: str  # 事業内容, leading marks ◎ ○ (国) (都) kept as text
    departments: str  # 所管課 as written
    reprint_of: str | None  # 再掲: the item id of the row this one re-lists
    assignment: Assignment = field(default_factory=Assignment, compare=False)

    @property
    def goal(self) -> str:
        """目標 number: the first number of the section code (``1-1-①`` → ``1``)."""
        return self.section_code.split("-", 1)[0]

    @property
    def section_label(self) -> str:
        """実施内容 as published: code, a space, title; the code alone without a title."""
        return f"{self.section_code} {self.section_title}" if self.section_title else self.section_code

    @property
    def is_reprint(self) -> bool:
        return self.reprint_of is not None


class Plan:
    """The plan master: every 別紙1 row in published order."""

    __slots__ = ("_by_department", "_by_id", "items")

    def __init__(self, items: Iterable[Item]) -> None:
        self.items: tuple[Item, ...] = tuple(items)
        self._by_id = {item.item_id: item for item in self.items}
        # Who answers what, once: a nation-wide survey asks it for thousands of departments.
        self._by_department: dict[str, list[Item]] = {}
        for item in self.items:
            if not item.is_reprint:
                for department in item.assignment.answering:
                    self._by_department.setdefault(department, []).append(item)

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._by_id

    def get(self, item_id: str) -> Item | None:
        return self._by_id.get(item_id)

    def __getitem__(self, item_id: str) -> Item:
        return self._by_id[item_id]

    def answered_items(self) -> list[Item]:
        """The items departments answer: every row but the 再掲 rows."""
        return [item for item in self.items if not item.is_reprint]

    def departments(self) -> list[str]:
        """Every department that answers at least one item, in order of first appearance."""
        return list(self._by_department)

    def items_for(self, department: str) -> list[Item]:
        """The items a department answers, in plan order."""
        return list(self._by_department.get(department, ()))

    def sections(self) -> list[tuple[str, list[Item]]]:
        """Runs of consecutive items with the same section code, in plan order."""
        runs: list[tuple[str, list[Item]]] = []
        for item in self.items:
            if runs and runs[-1][0] == item.section_code:
                runs[-1][1].append(item)
            else:
                runs.append((item.section_code, [item]))
        return runs


@dataclass(frozen=True, slots=True)
class KpiValue:
    year: FiscalYear
    kind: str  # 実績 (actual) or 目標 (target)
    value: str  # as printed: "46.0%", "約8,800fm", "—"


@dataclass(frozen=True, slots=True)
class Kpi:
    """成果指標: one indicator with its actuals and targets by year."""

    goal: str  # 目標1
    name: str
    owner: str  # the department that reports the actual; "" = the coordinator
    values: tuple[KpiValue, ...]
    goal_title: str = ""
    note: str = ""


KPI_KINDS = ("実績", "目標")
