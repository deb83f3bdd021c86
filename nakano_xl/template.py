"""The report format as data: ``templates/<name>.toml`` → `Template`.

A template holds every word a person reads in a workbook: the 別紙1 title, the legend of
the four marks, the column headers with the fiscal-year wording as placeholders, the rule
"reason required for ○ and ×", sheet names and the department instructions. Code asks the
template; nothing of it is written a second time in code.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import NakanoError
from .model import DepartmentRules, FiscalYear, Status

DEFAULT_TEMPLATE = "nakano"
REASON_RULES = ("required", "recommended", "optional")


def resource_dir(name: str) -> Path:
    """A data folder shipped with the package (``templates``, ``samples``).

    An installed wheel carries them inside the package (pyproject maps them there); a
    source checkout keeps them at the top of the repository.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / name, here.parent / name):
        if candidate.is_dir():
            return candidate
    raise NakanoError(f"同梱データ「{name}」が見つかりません。nakano-xl を入れ直してください。")


@dataclass(frozen=True, slots=True)
class MarkSpec:
    status: Status
    label: str  # the legend's meaning of the mark
    reason: str  # "required" | "recommended" | "optional"
    aliases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # section, content, status, reason, results_to_date, plan_next_year, plan_later, departments
    header: str  # may hold {year} placeholders
    width: float
    answer: bool


class Template:
    """One report format. ``texts(year)`` gives the placeholders for a fiscal year."""

    def __init__(self, data: Mapping[str, Any], source: Path) -> None:
        self.source = source
        try:
            meta = data["template"]
            self.name: str = meta["name"]
            self.version: str = str(meta["version"])
            self.plan_title: str = meta["plan_title"]
            self.coordinator: str = meta.get("coordinator", "")
            self.report: Mapping[str, Any] = data["report"]
            self.marks: tuple[MarkSpec, ...] = tuple(
                MarkSpec(
                    status=Status(m["mark"]),
                    label=m["label"],
                    reason=m["reason"],
                    aliases=tuple(m.get("aliases", ())),
                )
                for m in data["marks"]
            )
            self.columns: tuple[Column, ...] = tuple(
                Column(c["key"], c["header"], float(c.get("width", 12)), bool(c.get("answer", False)))
                for c in data["columns"]
            )
            dept = data["departments"]
            self.department_rules = DepartmentRules(
                groups=frozenset(dept["groups"]), name_endings=tuple(dept["name_endings"])
            )
            self.input: Mapping[str, Any] = data["input_workbook"]
            self.identifying: tuple[str, ...] = identifying_columns(self.input, self.columns, source)
            self.reference_columns: tuple[Column, ...] = tuple(
                Column(c["key"], c["header"], float(c.get("width", 12)), False)
                for c in self.input.get("reference", ())
            )
            self.summary: Mapping[str, Any] = data["summary"]
            self.findings: Mapping[str, Any] = data["findings"]
            self.submission_status: Mapping[str, Any] = data["submission_status"]
            self.feedback: Mapping[str, Any] = data["feedback"]
            self.comparison: Mapping[str, Any] = data["comparison"]
        except (KeyError, TypeError, ValueError) as e:
            raise NakanoError(f"様式ファイル {source} の内容が不正です（{e!r}）。") from e
        if {m.status for m in self.marks} != set(Status) or any(
            m.reason not in REASON_RULES for m in self.marks
        ):
            raise NakanoError(f"様式ファイル {source} の進捗状況（marks）の定義が不正です。")

    def mark(self, status: Status) -> MarkSpec:
        return next(m for m in self.marks if m.status is status)

    def texts(self, year: FiscalYear, **extra: str) -> dict[str, str]:
        """Placeholder values for ``str.format_map``: year words, plan title, extras."""
        return {"plan_title": self.plan_title, **year.words(), **extra}

    def headers(self, year: FiscalYear) -> list[str]:
        """The 別紙1 column headers with the year's wording."""
        words = self.texts(year)
        return [c.header.format_map(words) for c in self.columns]

    def header_for(self, key: str, year: FiscalYear) -> str:
        """The header of any column of the 回答 sheet (answer, fixed, reference, item id)."""
        words = self.texts(year)
        for column in self.columns + self.reference_columns:
            if column.key == key:
                return column.header.format_map(words)
        if key == "item_id":
            return str(self.input["item_id_header"])
        raise KeyError(key)

    def answer_labels(self, year: FiscalYear) -> dict[str, str]:
        """Each answer field's column header with the year's wording, by key: how a person names
        the field (進捗状況, 令和3年度までの取組状況 …)."""
        words = self.texts(year)
        return {c.key: c.header.format_map(words) for c in self.columns if c.answer}

    def column(self, key: str) -> Column | None:
        return next((c for c in self.columns + self.reference_columns if c.key == key), None)

    def legend_lines(self) -> list[str]:
        line = self.report["legend_line"]
        return [line.format(mark=m.status.mark, label=m.label) for m in self.marks]


def identifying_columns(spec: Mapping[str, Any], columns: tuple[Column, ...], source: Path) -> tuple[str, ...]:
    """``identifying_columns`` of ``[input_workbook]``: the fixed columns whose texts, with the item
    id, say which item a row of the 回答 sheet is. Without the setting, every fixed column."""
    fixed = [c.key for c in columns if not c.answer]
    keys = spec.get("identifying_columns", fixed)
    if not isinstance(keys, list | tuple) or not keys or not all(isinstance(k, str) for k in keys):
        raise NakanoError(f"様式ファイル {source} の identifying_columns は、固定の列のキーを1つ以上並べた一覧にしてください。")
    wrong = [k for k in keys if k not in fixed]
    if wrong:
        raise NakanoError(f"様式ファイル {source} の identifying_columns に、固定の列（{'、'.join(fixed)}）"
                          f"ではないキー「{'、'.join(wrong)}」があります。")
    return tuple(dict.fromkeys(keys))


def load_template(name_or_path: str | Path = DEFAULT_TEMPLATE) -> Template:
    """Load a template by name (``nakano`` → the shipped ``templates/nakano.toml``) or path."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = resource_dir("templates") / f"{name_or_path}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NakanoError(f"様式ファイル {path} が見つかりません。") from None
    except tomllib.TOMLDecodeError as e:
        raise NakanoError(f"様式ファイル {path} を読み取れません（{e}）。") from None
    return Template(data, path)
