"""What the reader had to change or could not resolve in a file, as findings.

The reader (`xlsx.reader.XlsxFile`) makes every text representable and keeps a `ReadIssue`
for each replacement, each shared string index that is not in the table and each style
index that names no style. Here they become findings naming the file, the sheet, the cell
and — on the answer sheet — the item: an answer is never changed, nor left blank, without a
word. The answer sheet's issues are taken right after its rows are read (`answer_cells`
tells which item a cell answers); the rest (other sheets, the metadata sheet, notes, text
boxes, sheet names, link targets) once the whole workbook is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..findings import Finding, Severity, finding, preview
from ..layout import InputColumns
from ..model import ANSWER_FIELDS
from ..xlsx.cells import a1
from ..xlsx.reader import XlsxFile
from ..xlsx.text import NO_STRING, NO_STYLE, REPLACED, ReadIssue
from .caps import unlisted

ItemOf = Callable[[int, int], tuple[str | None, bool]]  # (row, col) → (item id, an answer cell?)


def answer_cells(cols: InputColumns, used: dict[int, str]) -> ItemOf:
    """Which item a cell of the answer sheet belongs to — the item its row was read as (by its
    id and identifying texts, `match`), not merely the id typed in it — and whether it is one of
    the row's answer cells."""
    answers = {cols.col(key) for key in ANSWER_FIELDS}

    def item_of(row: int, col: int) -> tuple[str | None, bool]:
        item_id = used.get(row)
        return (item_id, col in answers) if item_id is not None else (None, False)

    return item_of


def issue_findings(book: XlsxFile, where: dict[str, Any], *, sheet: str | None = None,
                   item_of: ItemOf | None = None) -> Iterator[Finding]:
    """A finding for each issue the reader kept (of ``sheet`` only, when given); with no
    ``sheet``, also one for those past the reader's cap."""
    for issue in book.take_issues(sheet):
        yield issue_finding(issue, where, item_of)
    if sheet is None:  # those past the reader's cap: counted into the cap's "and N more" (`caps`)
        for kind, n in sorted(book.issues_over.items()):
            yield unlisted("cell.unrepresentable" if kind == REPLACED else "cell.unresolved", n, where)


def issue_finding(issue: ReadIssue, where: dict[str, Any], item_of: ItemOf | None) -> Finding:
    cell = a1(issue.row, issue.col) if issue.row else issue.ref or None
    item_id, answer = item_of(issue.row, issue.col) if item_of is not None and issue.row else (None, False)
    at = {"sheet": issue.sheet, "cell": cell, "item_id": item_id, **where}
    if issue.kind == REPLACED:
        value = preview(issue.value)
        return finding("cell.unrepresentable", value=value, place=issue.place, points=issue.detail,
                       shown=f"（「{value}」）" if value else "", **at)
    if issue.kind == NO_STRING:
        return finding("cell.unresolved", value=issue.detail, what="共有文字列", detail=f"番号「{issue.detail}」",
                       outcome="このセルは空欄として扱いました。",
                       severity=Severity.ERROR if answer else Severity.WARNING, **at)
    assert issue.kind == NO_STYLE, issue.kind
    return finding("cell.unresolved", value=issue.detail, what="書式", detail=f"番号「{issue.detail}」",
                   outcome="値は標準の書式で読みました（日付が数値で見えることがあります）。",
                   severity=Severity.WARNING, **at)

