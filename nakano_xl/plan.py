"""The coordinator's tables: plan master and KPI table, from CSV or .xlsx (`read_table` reads
any such table; the answers table has its own module, `answers`).

These files are edited by hand, in Excel or a text editor, so the reader is forgiving about
form (UTF-8 with or without BOM, Shift_JIS as Japanese Excel saves "CSV", English or Japanese
headers, columns in any order) and strict about content: a table it cannot use stops the run
with a message naming the file, row and column.
"""

from __future__ import annotations

import csv
import io
import operator
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .csvtext import GUARD_COLUMN, restore, write_guarded
from .errors import NakanoError, PlanError
from .findings import Finding, finding
from .layout import safe_file_name
from .model import (
    KPI_KINDS,
    Assignment,
    DepartmentRules,
    FiscalYear,
    Item,
    Kpi,
    KpiValue,
    Plan,
    parse_departments,
)
from .reprint import link_reprints
from .xlsx.reader import XlsxFile
from .xlsx.zipguard import RefusedFile

PLAN_COLUMNS = {
    "item_id": ("項目ID",),
    "section_code": ("実施内容番号",),
    "section_title": ("実施内容",),
    "content": ("事業内容",),
    "departments": ("所管課",),
    "reprint_of": ("再掲元",),
}
KPI_COLUMNS = {
    "goal": ("目標",),
    "goal_title": ("目標名",),
    "name": ("指標項目", "指標"),
    "owner": ("所管課", "担当課"),
    "year": ("年度",),
    "kind": ("区分", "種別"),
    "value": ("値",),
    "note": ("注記", "注"),
}


@dataclass(frozen=True, slots=True)
class Table:
    path: Path
    rows: list[tuple[int, dict[str, str]]]  # (line or row number as the user sees it, values)


def read_guarded_table(path: Path, columns: Mapping[str, tuple[str, ...]], required: Iterable[str],
                       endings: Sequence[tuple[str, str]] = ()) -> Table:
    """`read_table` for a table we write (`csvtext.write_guarded`: the answers, the KPI table).

    With the `csvtext.GUARD_COLUMN` header, one leading ``'`` is removed from each cell
    (`csvtext.restore`); without it (written before, or by hand) the table is read as it is.
    """
    table = read_table(path, {**columns, GUARD_COLUMN: ()}, required, endings)
    if not table.rows or GUARD_COLUMN not in table.rows[0][1]:
        return table
    return Table(path, [(number, {k: restore(v) for k, v in row.items()}) for number, row in table.rows])


def read_table(path: Path, columns: Mapping[str, tuple[str, ...]], required: Iterable[str],
               endings: Sequence[tuple[str, str]] = ()) -> Table:
    """Read a CSV or .xlsx table whose first row names the columns (English or Japanese).

    ``columns``: key → the Japanese names of its column; ``endings``: (key, how its Japanese
    name ends), tried in order, for names that carry a year (令和3年度までの取組状況).
    """
    if not path.is_file():
        raise PlanError(f"{path} が見つかりません。")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raw_rows = _xlsx_rows(path)
    else:
        raw_rows = _csv_rows(path)
    if not raw_rows:
        raise PlanError(f"{path} が空です。1行目に列名、2行目から内容を書いてください。")
    header_no, header = raw_rows[0]
    index: dict[str, int] = {}
    for pos, name in enumerate(header):
        key = _column_key(name.strip(), columns, endings)
        if key and key not in index:
            index[key] = pos
    missing = [k for k in required if k not in index]
    if missing:
        wanted = "、".join(f"{k}（{columns[k][0]}）" for k in missing)
        raise PlanError(f"{path} の{header_no}行目（列名）に {wanted} の列がありません。")
    rows = []
    keys, width = list(index), max(index.values()) + 1
    pick = operator.itemgetter(*index.values())
    for number, values in raw_rows[1:]:
        if not "".join(values).strip():
            continue
        if len(values) < width:
            values = values + [""] * (width - len(values))
        picked = pick(values)
        rows.append((number, dict(zip(keys, picked if len(keys) > 1 else (picked,)))))
    return Table(path, rows)


def _column_key(name: str, columns: Mapping[str, tuple[str, ...]],
                endings: Sequence[tuple[str, str]]) -> str | None:
    lowered = name.lower()
    for key, japanese in columns.items():
        if lowered == key or name in japanese:
            return key
    for key, ending in endings:
        if key in columns and name.endswith(ending):
            return key
    return None


def _csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise PlanError(f"{path} の文字コードを読み取れません。UTF-8 の CSV で保存してください。")
    text = text.lstrip("\ufeff")  # a second BOM, as a program that adds its own to ours writes
    # A line break inside a quoted value is one "\n" whatever the file used; the rows' own
    # line ends are read the same either way. A table we wrote (`csvtext.write_guarded`, its
    # header names GUARD_COLUMN) is read exactly: a text holding CR LF comes back as it was.
    if GUARD_COLUMN not in text[:text.find("\n")]:
        text = text.replace("\r\n", "\n")
    reader = csv.reader(io.StringIO(text, newline=""))
    out = []
    try:
        for values in reader:
            out.append((reader.line_num, values))
    except csv.Error as e:
        raise PlanError(f"{path} の{reader.line_num}行目を CSV として読み取れません（{e}）。") from None
    return out


def _xlsx_rows(path: Path) -> list[tuple[int, list[str]]]:
    try:
        with XlsxFile(path) as book:
            ref = next((s for s in book.sheets if s.state == "visible"), None)
            if ref is None:
                raise PlanError(f"{path} に表示されているシートがありません。")
            sheet = book.read_sheet(ref)
    except RefusedFile as e:
        raise PlanError(f"{path} を読み取れません（{e.reason}）。") from None
    if sheet.truncated:
        raise PlanError(f"{path} の行数または列数が上限を超えています。")
    width = max((c for _, c in sheet.cells), default=0)
    rows = sorted({r for r, _ in sheet.cells})
    return [(r, [sheet.text(r, c) for c in range(1, width + 1)]) for r in rows]


def load_plan(path: Path, rules: DepartmentRules) -> Plan:
    """Read the plan master: one row per 事業内容, in published order.

    >>> plan = load_plan(Path("samples/nakano_r3/plan.csv"), load_template().department_rules)  # doctest: +SKIP
    """
    table = read_table(path, PLAN_COLUMNS, ("item_id", "section_code", "content", "departments"))
    problems: list[str] = []
    items: list[Item] = []
    seen: dict[str, int] = {}
    assignments: dict[str, Assignment] = {}  # the same 所管課 text on many rows: read once
    names = DepartmentNames()
    for number, row in table.rows:
        item_id = row["item_id"].strip()
        where = f"{number}行目"
        if not item_id:
            problems.append(f"{where}: 項目IDが空です")
            continue
        if item_id in seen:
            problems.append(f"{where}: 項目ID「{item_id}」が{seen[item_id]}行目と重複しています")
            continue
        seen[item_id] = number
        code = row["section_code"].strip()
        if not code:
            problems.append(f"{where}: 実施内容番号が空です")
        content = row["content"].strip()
        if not content:
            problems.append(f"{where}: 事業内容が空です")
        departments = row["departments"].strip()
        reprint_of = row.get("reprint_of", "").strip() or None
        if departments not in assignments:
            assignments[departments] = parse_departments(departments, rules)
            problems.extend(names.check(assignments[departments], departments, number))
        items.append(Item(
            item_id=item_id,
            section_code=code,
            section_title=row.get("section_title", "").strip(),
            content=content,
            departments=departments,
            reprint_of=reprint_of,
            assignment=assignments[departments],
        ))
    if not items and not problems:
        problems.append("事業内容の行が1行もありません")
    if problems:
        raise PlanError(problem_list(path, problems))
    return Plan(items)


class DepartmentNames:
    """The department names of a plan master, checked as they are met.

    A name is a file name (``outbox/<課>.xlsx``, the feedback letters) and a key matched
    against what returned files claim, so a name must be visible text without control
    characters, and no two names may be the same to a person or to a file system: equal
    after NFKC (全角/半角), without white space and invisible format characters, in the
    file-name form (`layout.safe_file_name`) and regardless of case (Windows and macOS file
    names). Names merely awkward as Windows file names (``CON``, ``a/b``) are accepted: the
    file-name form takes care of them.
    """

    def __init__(self) -> None:
        self.seen: dict[str, tuple[str, int]] = {}  # key → (name, row first met)

    def check(self, assignment: Assignment, text: str, number: int) -> list[str]:
        out = []
        stray = sorted({ch for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r"})
        if stray:  # between names too: Python counts some (U+001C–U+001F) as white space
            out.append(f"{number}行目: 所管課「{_visible(text)}」に制御文字"
                       f"（{'、'.join(_visible(ch) for ch in stray)}）が含まれています")
            return out
        for name in assignment.answering + assignment.related:
            shown = _visible(name)
            if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
                out.append(f"{number}行目: 所管課「{_visible(text)}」の課名「{shown}」に制御文字が含まれています")
                continue
            if not _strip_invisible(unicodedata.normalize("NFKC", name)):
                out.append(f"{number}行目: 所管課「{_visible(text)}」に空の課名「{shown}」があります")
                continue
            other, row = self.seen.setdefault(_name_key(name), (name, number))
            if other == name:
                continue
            same_file = safe_file_name(other).casefold() == safe_file_name(name).casefold()
            why = (f"回答票のファイル名がどちらも {safe_file_name(other)}.xlsx になります" if same_file
                   else "全角・半角、空白、大文字・小文字、ファイル名に使えない文字の違いしかありません")
            out.append(f"{number}行目: 所管課の課名「{shown}」は{row}行目の「{_visible(other)}」と区別できません"
                       f"（{why}）。同じ課なら同じ書き方に、別の課なら区別できる名前にしてください")
        return out


def _strip_invisible(text: str) -> str:
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Cf")


def _name_key(name: str) -> str:
    return _strip_invisible(safe_file_name(unicodedata.normalize("NFKC", name))).casefold()


def _visible(text: str) -> str:
    """``text`` with what cannot be seen (control and format characters) written as ``\\uXXXX``."""
    return "".join(f"\\u{ord(ch):04x}" if unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp")
                   else ch for ch in text)


def load_kpis(path: Path) -> list[Kpi]:
    """Read the KPI table in long form: one row per indicator, year and kind (実績/目標)."""
    table = read_guarded_table(path, KPI_COLUMNS, ("goal", "name", "year", "kind", "value"))
    problems: list[str] = []
    texts: dict[tuple[str, str], dict[str, str]] = {}  # (goal, name) → owner, goal_title, note
    values: dict[tuple[str, str], list[KpiValue]] = {}
    for number, row in table.rows:
        key = (row["goal"].strip(), row["name"].strip())
        kind = row["kind"].strip()
        try:
            year = FiscalYear.parse(row["year"])
        except NakanoError:
            problems.append(f"{number}行目: 年度「{row['year']}」を読み取れません")
            continue
        if kind not in KPI_KINDS:
            problems.append(f"{number}行目: 区分は「実績」か「目標」にしてください（「{kind}」）")
            continue
        entry = texts.setdefault(key, {"owner": "", "goal_title": "", "note": ""})
        for field_name in entry:  # the first non-empty value of each indicator's rows counts
            entry[field_name] = entry[field_name] or row.get(field_name, "").strip()
        values.setdefault(key, []).append(KpiValue(year, kind, row["value"].strip()))
    if problems:
        raise PlanError(problem_list(path, problems))
    return [
        Kpi(goal=goal, name=name, owner=texts[(goal, name)]["owner"], goal_title=texts[(goal, name)]["goal_title"],
            note=texts[(goal, name)]["note"], values=tuple(sorted(values[(goal, name)], key=lambda v: (v.year, v.kind))))
        for goal, name in texts
    ]


def problem_list(path: Path, problems: list[str]) -> str:
    shown = "\n".join(f"  - {p}" for p in problems[:20])
    more = f"\n  ほか{len(problems) - 20}件" if len(problems) > 20 else ""
    return f"{path} を使えません（{len(problems)}件）:\n{shown}{more}"


def check_plan(plan: Plan) -> list[Finding]:
    """What the coordinator should know about a plan master that loaded: groups met in 所管課,
    rows nobody answers, and the 再掲 links (`reprint.link_reprints`)."""
    out: list[Finding] = []
    groups: dict[str, list[str]] = {}
    for item in plan.answered_items():
        for group in item.assignment.groups:
            groups.setdefault(group, []).append(item.item_id)
        if not item.assignment.answering:
            out.append(finding("plan.no_department", item_id=item.item_id, content=item.content))
    for group, ids in groups.items():
        out.append(finding("plan.group_department", value=group, group=group, items="、".join(ids)))
    out.extend(link_reprints(plan).findings)
    return out


def kpis_csv(kpis: list[Kpi]) -> str:
    """The KPI table in long form, as `load_kpis` reads it: a CSV the coordinator opens in
    Excel, so with a BOM and formula-like text neutralised (`csvtext`)."""
    out = io.StringIO()
    rows = ([kpi.goal, kpi.goal_title, kpi.name, kpi.owner, v.year.code, v.kind, v.value, kpi.note]
            for kpi in kpis for v in kpi.values)
    write_guarded(out, ["goal", "goal_title", "name", "owner", "year", "kind", "value", "note"], rows)
    return out.getvalue()
