"""Structure and values: the answer rows by item id, and every other typed cell accounted for.

Rows are matched by the item id in their last column and the fixed texts that identify an
item (`match.py`), never by position, so a sorted sheet still reads right and a row whose id
was moved apart from its texts never answers the wrong item silently. A row can only answer
an item this file was distributed for (the signed list in the metadata, narrowed to what the
plan still assigns to the department): a department can never write a row that is not its own.

Nothing typed is dropped without a finding: cells outside the answer columns, rows without
an item id, extra sheets, notes (comments), text boxes, merged cells, formulas. Fixed cells
(実施内容, 事業内容, 所管課, headers) are compared with the plan; the plan's text wins.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..findings import Finding, Severity, finding, preview
from ..layout import (
    DEPARTMENT_ROW,
    FIRST_ROW,
    HEADER_ROW,
    KPI_FIRST_ROW,
    KPI_ID_COL,
    KPI_VALUE_COL,
    NOTE_ROW,
    REFERENCE_PREFIX,
    TITLE_ROW,
    InputColumns,
    Metadata,
)
from ..model import ANSWER_FIELDS, NO_ANSWER, Answer, FiscalYear, Plan
from ..template import Template
from ..validate import RowInput, check_row, clean_text
from ..xlsx.cells import a1, split_range, too_long_for_a_cell
from ..xlsx.package import SheetRef
from ..xlsx.reader import XlsxFile, is_external_formula
from ..xlsx.worksheet import Cell, Sheet
from .caps import unlisted
from .match import identifying_keys, match_rows, plan_text, same_text
from .readissues import answer_cells, issue_findings
from .submission import Submission

# Rows read below the last distributed row, to catch inserted rows and notes under the
# table (at least this many, or as many again as the table has).
EXTRA_ROWS = 50
# The cells distribute writes above the header: title, department line, deadline, note.
TITLE_CELLS = {(TITLE_ROW, 1), (DEPARTMENT_ROW, 1), (DEPARTMENT_ROW, 5), (NOTE_ROW, 1)}
# Columns of the 記入要領 sheet kept whole (distribute writes A and B).
INSTRUCTION_COLUMNS = 8


@dataclass(frozen=True)
class Reading:
    """What one returned workbook is read against."""

    file: str  # as named in findings
    department: str
    meta: Metadata
    template: Template
    assigned: tuple[str, ...]  # item ids this file may answer, in distributed order
    plan: Plan | None = None  # None without a workspace: fixed texts are not compared
    year: FiscalYear | None = None  # None when the metadata's year cannot be read
    words: dict[str, str] = field(default_factory=dict)  # coordinator, deadline: the workspace's settings
    previous: dict[str, Answer] | None = None  # last year's answers, shown for reference (after rollover)

    @property
    def where(self) -> dict[str, Any]:
        return {"file": self.file, "department": self.department}

    @property
    def columns(self) -> InputColumns:
        """The answer sheet's layout, as signed into this file's metadata."""
        return InputColumns.from_meta(self.meta, self.template)

    def headers(self) -> list[str] | None:
        if self.year is None:
            return None
        return [self.template.header_for(k, self.year) for k in self.columns.keys]

    def labels(self) -> dict[str, str]:
        """Field → the column header a person reads (with this year's wording)."""
        keys = self.columns.keys
        headers = self.headers() or [c.header if (c := self.template.column(k)) else k for k in keys]
        return dict(zip(keys, headers))


def typed(cell: Cell | None) -> bool:
    return cell is not None and (cell.text != "" or cell.formula is not None)


def shown(cell: Cell) -> str:
    return cell.text if cell.text != "" else f"={cell.formula}"


def read_workbook(book: XlsxFile, r: Reading, sub: Submission, meta_ref: SheetRef | None) -> Iterator[Finding]:
    """Every finding about the structure and values of one identified workbook; fills ``sub``."""
    for target in book.external_links:
        yield finding("file.external_link", value=preview(target, 300), **r.where)
    ref, was_renamed = find_answer_sheet(book, r, meta_ref)
    if ref is None:
        yield finding("sheet.missing", sheet=r.meta.answer_sheet, **r.where)
    else:
        if was_renamed:
            yield finding("sheet.renamed", sheet=ref.name, expected=r.meta.answer_sheet, **r.where)
        yield from read_answer_sheet(book, ref, r, sub)
    yield from read_other_sheets(book, r, ref, meta_ref, sub)
    ours = getattr(r.template, "feedback", {}) or {}
    for other in book.sheets:
        if other is meta_ref:
            continue
        notes = book.comments(other)
        where = {**r.where, "sheet": other.name}
        for at, author, text in notes.kept:
            if author and author == ours.get("comment_author"):
                continue  # the coordinator's own notes on a feedback copy (差し戻し)
            yield finding("cell.comment", cell=at or None, value=preview(text), **where)
        if notes.count > len(notes.kept):
            yield unlisted("cell.comment", notes.count - len(notes.kept), where)
        texts = book.drawing_texts(other)
        if texts.kept:
            yield finding("sheet.drawing_text", value=preview(" / ".join(texts.kept)), **where)
    yield from issue_findings(book, r.where)  # what the reader replaced or could not resolve, elsewhere


def find_answer_sheet(book: XlsxFile, r: Reading, meta_ref: SheetRef | None) -> tuple[SheetRef | None, bool]:
    """The answer sheet by its name, or — renamed — the sheet whose id column holds our item ids."""
    ref = book.sheet(r.meta.answer_sheet)
    if ref is not None:
        return ref, False
    cols = r.columns
    wanted = set(r.assigned)
    for candidate in book.sheets:
        if candidate is meta_ref or candidate.name == r.template.input["instructions_sheet"]:
            continue
        sheet = book.read_sheet(candidate, max_rows=FIRST_ROW + len(r.meta.item_ids) + EXTRA_ROWS,
                                max_col=cols.width)
        if any(sheet.text(row, cols.item_id).strip() in wanted for row, col in sheet.cells if col == cols.item_id):
            return candidate, True
    return None, False


def read_answer_sheet(book: XlsxFile, ref: SheetRef, r: Reading, sub: Submission) -> Iterator[Finding]:
    cols = r.columns
    n = len(r.meta.item_ids)
    area_rows = FIRST_ROW + n - 1 + max(EXTRA_ROWS, n)
    sheet = book.read_sheet(ref, area=(area_rows, cols.width))
    where = {**r.where, "sheet": ref.name}
    yield from beyond_limits(book, sheet, where)
    if not sheet.protected:
        yield finding("sheet.unprotected", **where)
    headers = r.headers()
    if headers is not None:
        for col, expected in enumerate(headers, start=1):
            found = sheet.text(HEADER_ROW, col)
            if found != expected:
                yield finding("cell.fixed_edited", cell=a1(HEADER_ROW, col), label="見出し", found=preview(found),
                              expected=expected, source="様式", **where)
    for (row, col), cell in sorted(sheet.cells.items()):
        if row < HEADER_ROW and (row, col) not in TITLE_CELLS and typed(cell):
            yield finding("cell.outside", cell=a1(row, col), value=preview(shown(cell)), **where)
    yield from merged_cells(sheet, cols, where)
    used: dict[int, str] = {}  # row → the item it answers, as the rows were matched
    yield from read_rows(sheet, cols, r, sub, where, used)
    yield from issue_findings(book, r.where, sheet=ref.name, item_of=answer_cells(cols, used))
    yield from outside_cells(sheet, where)


def outside_cells(sheet: Sheet, where: dict[str, Any]) -> Iterator[Finding]:
    """The typed cells outside the area read: those kept, then the count of the rest (`caps`)."""
    for cell in sheet.outside:
        yield finding("cell.outside", cell=a1(cell.row, cell.col), value=preview(shown(cell)), **where)
    if sheet.outside_count > len(sheet.outside):
        yield unlisted("cell.outside", sheet.outside_count - len(sheet.outside), where)


def beyond_limits(book: XlsxFile, sheet: Sheet, where: dict[str, Any]) -> Iterator[Finding]:
    """One error when a sheet goes on past the row or column limit (the rest was not read)."""
    if sheet.truncated:
        lim = book.limits
        yield finding("file.too_many_rows", reason=f"読み取るのは{lim.max_rows:,}行目・{lim.max_columns}列目まで",
                      **where)


def merged_cells(sheet: Sheet, cols: InputColumns, where: dict[str, Any]) -> Iterator[Finding]:
    """A distributed answer sheet has no merged cells: every merge is someone's edit."""
    answer_cols = [cols.col(k) for k in ANSWER_FIELDS]
    for rng in sheet.merged:
        try:
            r1, c1, r2, c2 = split_range(rng)
        except ValueError:
            continue
        over_answers = r2 >= FIRST_ROW and any(c1 <= c <= c2 for c in answer_cols)
        yield finding("cell.merged", cell=a1(r1, c1), value=rng,
                      severity=Severity.ERROR if over_answers else Severity.WARNING, **where)


def read_rows(sheet: Sheet, cols: InputColumns, r: Reading, sub: Submission,
              where: dict[str, Any], used: dict[int, str] | None = None) -> Iterator[Finding]:
    """Read the answer rows by item id and identifying texts; every typed value lands in an answer
    or a finding. ``used`` receives the item each answer row was read as."""
    allowed = set(r.assigned)
    labels = r.labels()
    ours: list[int] = []
    foreign: list[int] = []
    id_col = cols.item_id
    answer_cols = [(key, cols.col(key), labels.get(key, key)) for key in ANSWER_FIELDS]
    fixed = fixed_columns(cols, r)
    for row in sorted({row for row, _ in sheet.cells if row >= FIRST_ROW}):
        item_id = sheet.text(row, id_col).strip()
        if item_id in allowed:
            ours.append(row)
        elif item_id:
            foreign.append(row)
        else:
            yield from stray_row(sheet, row, cols, where)
    matching = match_rows(sheet, ours, cols, r, where)
    if used is not None:
        used.update(matching.used)
    yield from matching.findings
    for row, item_id in matching.used.items():
        yield from compare_fixed(sheet, row, item_id, fixed, r, labels, where)
        texts: dict[str, str] = {}
        cells: dict[str, str] = {}
        for key, col, label in answer_cols:
            at = cells[key] = a1(row, col)
            cell = sheet.get(row, col)
            if cell is None or (cell.formula is None and cell.kind != "error"):  # typed text: nothing to say
                text = cell.text if cell is not None else ""
            else:
                text, found = cell_text(cell, label, at, {**where, "item_id": item_id})
                yield from found
            texts[key] = text
            if too_long_for_a_cell(text):
                yield finding("cell.too_long", cell=at, item_id=item_id, label=label,
                              length=f"{len(text):,}", **where)
        answer, found = check_row(RowInput(item_id, texts, cells), r.template, file=r.file, sheet=sheet.name,
                                  department=r.department)
        sub.answers[item_id] = answer
        yield from found
    row_of = {item_id: row for row, item_id in matching.used.items()}
    missing = [i for i in r.assigned if i not in row_of and i not in matching.explained]
    for row in foreign:
        stranger = foreign_row(sheet, row, cols, r, missing, where)
        if stranger.code == "row.id_edited" and stranger.item_id:
            missing.remove(stranger.item_id)  # said once, at the row, rather than again as missing
        yield stranger
    for item_id in missing:
        item = r.plan.get(item_id) if r.plan else None
        yield finding("row.missing", item_id=item_id, content=item.content if item else item_id, **where)
    order = sorted(row_of, key=row_of.__getitem__)
    expected = [i for i in r.assigned if i in row_of]
    if order != expected and not any(f.code == "row.moved" for f in matching.findings):
        moved = next(i for i, e in zip(order, expected) if i != e)
        yield finding("row.reordered", cell=a1(row_of[moved], cols.item_id), item_id=moved, **where)
    if r.plan is not None:
        sent = set(r.meta.item_ids)
        for item in r.plan.items_for(r.department):
            if item.item_id not in sent:
                yield finding("row.not_distributed", item_id=item.item_id, content=item.content, **where)


def fixed_columns(cols: InputColumns, r: Reading) -> list[tuple[str, int, str]]:
    """The locked columns compared with the plan (or last year's answers): (key, column, source)."""
    keys = [("section", "計画マスタ"), ("content", "計画マスタ"), ("departments", "計画マスタ")]
    if r.previous is not None:
        keys += [(key, "前年度の回答") for key in cols.reference]
    return [(key, cols.col(key), source) for key, source in keys if key in cols.keys]


def compare_fixed(sheet: Sheet, row: int, item_id: str, fixed: list[tuple[str, int, str]], r: Reading,
                  labels: dict[str, str], where: dict[str, Any]) -> Iterator[Finding]:
    """The plan's text wins over an edited locked cell; the edit is reported with both texts."""
    item = r.plan.get(item_id) if r.plan else None
    if item is None:
        return
    last_year = r.previous.get(item_id, NO_ANSWER).cells() if r.previous is not None else {}
    for key, col, source in fixed:
        if key.startswith(REFERENCE_PREFIX):
            text = last_year[key.removeprefix(REFERENCE_PREFIX)]
        else:
            text = plan_text(item, key)
        found = sheet.text(row, col)
        if not same_text(found, text):
            yield finding("cell.fixed_edited", cell=a1(row, col), item_id=item_id, label=labels[key],
                          found=preview(found), expected=preview(text), source=source, **where)


def cell_text(cell: Cell | None, label: str, at: str, where: dict[str, Any]) -> tuple[str, list[Finding]]:
    """The text of an answer cell, and what was done to get it (formulas, error values)."""
    if cell is None:
        return "", []
    if cell.formula is not None and not cell.cached:
        return "", [finding("formula.no_value", cell=at, label=label, formula=preview(cell.formula), **where)]
    if cell.kind == "error":
        return "", [finding("cell.error_value", cell=at, label=label, value=cell.text, **where)]
    if cell.formula is not None:
        code = "formula.external" if is_external_formula(cell.formula) else "formula.cached"
        return cell.text, [finding(code, cell=at, label=label, formula=preview(cell.formula), value=preview(cell.text),
                                   **where)]
    return cell.text, []


def stray_row(sheet: Sheet, row: int, cols: InputColumns, where: dict[str, Any]) -> Iterator[Finding]:
    """A row without an item id: an inserted row (answers typed) or notes beside the table."""
    answer_cols = {cols.col(k) for k in ANSWER_FIELDS}
    in_answers = [sheet.get(row, c) for c in sorted(answer_cols) if typed(sheet.get(row, c))]
    if in_answers:
        first = in_answers[0]
        assert first is not None
        yield finding("row.inserted", cell=a1(row, first.col), row=row,
                      value=preview(" / ".join(shown(c) for c in in_answers if c is not None)), **where)
    for col in range(1, cols.width + 1):
        cell = sheet.get(row, col)
        if col not in answer_cols and typed(cell):
            assert cell is not None
            yield finding("cell.outside", cell=a1(row, col), value=preview(shown(cell)), **where)


def foreign_row(sheet: Sheet, row: int, cols: InputColumns, r: Reading, missing: list[str],
                where: dict[str, Any]) -> Finding:
    """A row whose item id this file may not answer: an edited id, or another department's row."""
    value = sheet.text(row, cols.item_id).strip()
    at = a1(row, cols.item_id)
    keys = identifying_keys(cols, r)
    if r.plan is not None and keys:
        found = [sheet.text(row, cols.col(k)) for k in keys]
        matches = [i for i in missing if (item := r.plan.get(i)) is not None
                   and all(same_text(f, plan_text(item, k)) for f, k in zip(found, keys))]
        if len(matches) == 1:
            return finding("row.id_edited", cell=at, value=value, expected=matches[0], item_id=matches[0], **where)
    return finding("row.unknown", cell=at, value=value, **where)


def read_other_sheets(book: XlsxFile, r: Reading, answer_ref: SheetRef | None,
                      meta_ref: SheetRef | None, sub: Submission) -> Iterator[Finding]:
    """The 記入要領 sheet against what distribute wrote there, the 成果指標 sheet's actuals;
    any other sheet is extra."""
    instructions = r.template.input["instructions_sheet"]
    kpi_sheet = r.template.input.get("kpi_sheet")
    feedback_sheet = (getattr(r.template, "feedback", {}) or {}).get("sheet")
    for ref in book.sheets:
        if ref is answer_ref or ref is meta_ref:
            continue
        where = {**r.where, "sheet": ref.name}
        if ref.name == instructions:
            yield from compare_instructions(book, ref, r, where)
            continue
        if ref.name == kpi_sheet and r.meta.kpi_ids:
            yield from read_kpi_sheet(book, ref, r, sub, where)
            continue
        if ref.name == feedback_sheet:
            continue  # the 修正のお願い sheet of a feedback copy: ours, protected, not an answer

        sheet = book.read_sheet(ref, area=(0, 0))
        yield from beyond_limits(book, sheet, where)
        if sheet.outside:
            first = sheet.outside[0]
            detail = (f"記入のあるセル{sheet.outside_count}個、最初は{a1(first.row, first.col)}"
                      f"「{preview(shown(first))}」")
            yield finding("sheet.extra", cell=a1(first.row, first.col), detail=detail, **where)
        elif sheet.truncated:
            yield finding("sheet.extra", detail="読み取れる範囲の外にだけ記入があります", **where)
        else:
            yield finding("sheet.extra", detail="空のシート", severity=Severity.INFO, **where)


def read_kpi_sheet(book: XlsxFile, ref: SheetRef, r: Reading, sub: Submission,
                   where: dict[str, Any]) -> Iterator[Finding]:
    """The year's KPI actuals, by the KPI id in each row; anything else typed is reported."""
    wanted = set(r.meta.kpi_ids)
    sheet = book.read_sheet(ref, area=(KPI_FIRST_ROW + len(wanted) + EXTRA_ROWS, KPI_ID_COL))
    yield from beyond_limits(book, sheet, where)
    seen: set[str] = set()
    for row in sorted({row for row, _ in sheet.cells if row >= KPI_FIRST_ROW}):
        kpi = sheet.text(row, KPI_ID_COL).strip()
        at = a1(row, KPI_VALUE_COL)
        if kpi in wanted and kpi not in seen:
            seen.add(kpi)
            text, found = cell_text(sheet.get(row, KPI_VALUE_COL), kpi, at, {**where, "item_id": None})
            yield from found
            sub.kpi_values[kpi] = clean_text(text).strip()
            if not sub.kpi_values[kpi]:
                yield finding("kpi.missing", cell=at, name=kpi.split("/", 1)[-1], **where)
        elif typed(sheet.get(row, KPI_VALUE_COL)):
            cell = sheet.get(row, KPI_VALUE_COL)
            assert cell is not None
            yield finding("cell.outside", cell=at, value=preview(shown(cell)), **where)
    for kpi in r.meta.kpi_ids:
        if kpi not in seen:
            yield finding("kpi.missing", name=kpi.split("/", 1)[-1], **where)
    yield from outside_cells(sheet, where)


def compare_instructions(book: XlsxFile, ref: SheetRef, r: Reading, where: dict[str, Any]) -> Iterator[Finding]:
    """Anything on the 記入要領 sheet that distribute did not write there is a typed note.

    What distribute writes is the template's text for the sheet (title, deadline, the
    numbered instructions, the legend) with this year's and this department's words; a cell
    whose text is none of them was typed by someone.

    Only the corner distribute writes (with room for inserted rows) is kept whole; typed
    cells beyond it are counted, the first few kept, as on the answer sheet: a sheet typed
    full costs no more memory than a blank one.
    """
    literal, patterns = instruction_patterns(r)
    spec = r.template.input
    lines = [*spec["instructions"], *spec.get("reference_instructions", ()), *spec.get("kpi_instructions", ())]
    sheet = book.read_sheet(ref, area=(len(lines) + len(r.template.marks) + EXTRA_ROWS, INSTRUCTION_COLUMNS))
    yield from beyond_limits(book, sheet, where)
    for (row, col), cell in sorted(sheet.cells.items()):
        if typed(cell) and cell.text not in literal and not any(p.fullmatch(cell.text) for p in patterns):
            yield finding("cell.outside", cell=a1(row, col), value=preview(shown(cell)), **where)
    yield from outside_cells(sheet, where)


def instruction_patterns(r: Reading) -> tuple[set[str], list[re.Pattern[str]]]:
    """The texts of the 記入要領 sheet: those known whole here as texts, the others as patterns
    (a placeholder not known here matches anything). Compiling every text for every file cost
    a tenth of reading a ward's returns: each department's words make new patterns."""
    spec = r.template.input
    texts = [spec["instructions_title"], spec["deadline_line"], *spec["instructions"], spec["legend_heading"],
             *spec.get("reference_instructions", ()), *spec.get("kpi_instructions", ())]
    texts += [m.status.mark for m in r.template.marks] + [m.label for m in r.template.marks]
    known = {"plan_title": r.template.plan_title, "department": r.department, **r.words}
    if r.year is not None:
        known.update(r.year.words())
    whole: set[str] = set()
    out = []
    for text in texts:
        parts = list(string.Formatter().parse(text))
        if all(name is None or name in known for _, name, _, _ in parts):
            whole.add("".join(literal + (known[name] if name is not None else "") for literal, name, _, _ in parts))
            continue
        pattern = ""
        for literal, name, _, _ in parts:
            pattern += re.escape(literal)
            if name is not None:
                pattern += re.escape(known[name]) if name in known else ".*"
        out.append(re.compile(pattern, re.DOTALL))
    return whole, out
