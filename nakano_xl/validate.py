"""validate: what a department typed → a clean `Answer` plus findings.

Marks are normalised on purpose, from the template's explicit alias table (〇 U+3007 → ○
U+25CB …), and every normalisation is a warning naming what was typed. Anything else is an
error and the row counts as unanswered. Text is kept as typed, with only what no person
means removed: Excel's ``_xHHHH_`` escapes (decoded by the reader), control characters,
mixed line breaks, non-NFC forms.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .findings import Finding, finding, spell
from .model import TEXT_FIELDS, Answer, Status
from .template import Template
from .xlsx.text import representable

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# ASCII and full-width spaces, tabs, line breaks around a mark are never meant.
_TRIM = " \t\r\n\u3000\u00a0"
# ✖️ typed on a phone or pasted from a chat carries U+FE0F after the mark.
_SELECTORS = "\ufe0e\ufe0f"


def clean_text(text: str) -> str:
    """Text as the department meant it: one kind of line break, no control characters, NFC.

    The reader has already replaced, with a finding, what cannot be written (`xlsx.text`); a
    text that comes another way is made representable here, the last guard before the
    report, the CSV and JSON.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    return representable(unicodedata.normalize("NFC", text))


@dataclass(frozen=True, slots=True)
class MarkReading:
    status: Status | None
    lookalike: bool = False  # read through the alias table
    invalid: bool = False


def read_mark(typed: str, template: Template) -> MarkReading:
    """The status a typed mark stands for, by the template's explicit table.

    Surrounding spaces (ASCII and full-width) and an emoji presentation selector are trimmed;
    a mark that needed trimming is read, but as a look-alike, so the department hears of it.
    """
    text = typed.strip(_TRIM).rstrip(_SELECTORS).strip(_TRIM)
    if not text:
        return MarkReading(None)
    for spec in template.marks:
        if text == spec.status.mark:
            return MarkReading(spec.status, lookalike=text != typed)
    for spec in template.marks:
        if text in spec.aliases:
            return MarkReading(spec.status, lookalike=True)
    return MarkReading(None, invalid=True)


@dataclass(frozen=True, slots=True)
class RowInput:
    """One row as read from a returned workbook: typed texts and where each sits."""

    item_id: str
    typed: dict[str, str]  # field → text as read
    cells: dict[str, str]  # field → A1


def check_row(row: RowInput, template: Template, *, file: str, sheet: str,
              department: str) -> tuple[Answer, list[Finding]]:
    """Turn one row into an answer, with a finding for everything that was changed or refused."""
    findings: list[Finding] = []
    where: dict[str, Any] = {"file": file, "sheet": sheet, "item_id": row.item_id, "department": department}
    typed_mark = row.typed.get("status", "")
    reading = read_mark(typed_mark, template)
    if reading.lookalike:
        findings.append(finding("status.lookalike", cell=row.cells["status"], value=spell(typed_mark),
                                mark=reading.status.mark if reading.status else "", **where))
    elif reading.invalid:
        findings.append(finding("status.invalid", cell=row.cells["status"], value=spell(typed_mark), **where))
    texts = {f: clean_text(row.typed.get(f, "")) for f in TEXT_FIELDS}
    answer = Answer(reading.status, **texts)
    if not reading.invalid:  # an invalid mark already has its error; "missing" would repeat it
        findings.extend(check_answer(answer, template, cells=row.cells, where=where))
    return answer, findings


def check_answer(answer: Answer, template: Template, *, cells: dict[str, str],
                 where: dict[str, Any]) -> Iterator[Finding]:
    """The rules of the template: a mark is expected, and some marks need a reason."""
    if answer.status is None:
        yield finding("status.missing", cell=cells.get("status"), **where)
        return
    rule = template.mark(answer.status).reason
    if answer.reason.strip(_TRIM):
        return
    if rule == "required":
        yield finding("reason.missing", cell=cells.get("reason"), mark=answer.status.mark, **where)
    elif rule == "recommended":
        yield finding("reason.recommended", cell=cells.get("reason"), mark=answer.status.mark, **where)
