"""A bounded number of findings per file about what a file holds beyond its answer rows.

Findings about answer rows are bounded by the plan (a department answers its own items) and
every one counts: `check`, the letters and 提出状況 count each row. Findings about what lies
outside them — cells outside the table or on the 記入要領 sheet, notes, text boxes, extra
sheets, merges, external links — are bounded only by what the sender typed: a sheet typed
full (640,000 cells) would make as many findings, gigabytes of them. So each such code is listed
`CAP` times per file (and severity: an error is never hidden behind warnings of its code),
then one finding of the same code says how many more there are.

The readers keep at most `KEEP_OUTSIDE` such cells per sheet and count the rest; they say so
with an `Unlisted` finding, which the cap folds into its "and N more" count.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..findings import CATALOGUE, Finding, Severity

# Listed findings of one capped code (and severity) per file. Twenty is more than a real
# return has of one kind, and what a person reads before the point is made; the rest are
# one count.
CAP = 20

# Findings about what lies outside the answer rows, and what each counts, for the summary.
CAPPED: dict[str, str] = {
    "cell.outside": "回答欄の外への記入",
    "cell.comment": "コメント（メモ）",
    "sheet.drawing_text": "図形・テキストボックスの文字があるシート",
    "sheet.extra": "配付した回答票にないシート",
    "cell.merged": "結合されたセル",
    "file.external_link": "外部リンク",
    "file.too_many_rows": "上限を超えたシート",
    "cell.unrepresentable": "表示・保存できない文字を置き換えた箇所",
    "cell.unresolved": "参照先がファイルの中にないセル",
}


@dataclass(frozen=True, slots=True)
class Unlisted(Finding):
    """``count`` more findings of ``code`` that a reader counted without making them (never
    leaves `cap`: it becomes part of the "and N more" finding)."""

    count: int = 0


def unlisted(code: str, count: int, where: dict[str, Any]) -> Unlisted:
    return Unlisted(code, CATALOGUE[code][0], "", where.get("file"), where.get("sheet"),
                    None, None, where.get("department"), None, count)


def cap(findings: Iterable[Finding]) -> Iterator[Finding]:
    """``findings`` of one file, each capped code listed at most `CAP` times, then one
    finding of that code with the count of the rest (lazy: what is not listed is never kept)."""
    listed: dict[tuple[str, Severity], int] = {}  # per severity: errors are listed after any warnings
    more: dict[str, int] = {}
    worst: dict[str, Severity] = {}
    first: dict[str, Finding] = {}
    sheets: dict[str, set[str | None]] = {}
    for f in findings:
        if f.code not in CAPPED or f.item_id is not None:  # an item's row: every one counts
            yield f
            continue
        if isinstance(f, Unlisted):
            n = f.count
        elif listed.get((f.code, f.severity), 0) < CAP:
            listed[f.code, f.severity] = listed.get((f.code, f.severity), 0) + 1
            yield f
            continue
        else:
            n = 1
        if n <= 0:
            continue
        more[f.code] = more.get(f.code, 0) + n
        worst[f.code] = max(worst.get(f.code, f.severity), f.severity)
        first.setdefault(f.code, f)
        sheets.setdefault(f.code, set()).add(f.sheet)
    for code, n in more.items():
        f = first[code]
        yield Finding(code, worst[code],
                      f"{CAPPED[code]}が、ほかに{n:,}個あります（同じ種類の指摘は1ファイルにつき{CAP}個まで"
                      "個別に示し、残りは数だけを示しています）。扱いは上の指摘と同じです。",
                      f.file, next(iter(sheets[code])) if len(sheets[code]) == 1 else None, None, None,
                      f.department, None)

