"""CSV a person may open in a spreadsheet: UTF-8 with a BOM, formula-like text neutralised.

Japanese Excel reads a CSV without a BOM as Shift_JIS, so every CSV we write starts with one.
A cell whose text a spreadsheet would take for a formula — text starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return — is written with an apostrophe ``'`` in front of it,
so that opening the file can never run a formula a department typed (CSV injection). The one
exception is a lone ``-``, which the report prints as "nothing planned" and which no
spreadsheet takes for a formula. Text that already starts with ``'`` gets one more, so the
rule is undone without guessing: remove one leading ``'`` from every cell that starts with one
(`restore`).

The tables we read back (the answers table, the KPI table written by rollover) carry one more
header cell, `GUARD_COLUMN`, saying that their cells were written this way: a table without
it (written before, or by hand) is read as it is. The header survives what a coordinator may
do to the file — Excel re-saving it as "CSV UTF-8" (BOM kept) or as plain "CSV" (Shift_JIS,
no BOM) — where a BOM as the marker would not (docs/design.md).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import TextIO

BOM = "\ufeff"
# What a spreadsheet reads as the start of a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NEUTRALISING_PREFIX = "'"
# Text starting with the prefix itself is prefixed as well, so that removing one prefix from
# every cell that starts with it gives back exactly what was written.
NEEDS_PREFIX = FORMULA_STARTS + (NEUTRALISING_PREFIX,)
PRINTED_DASH = "-"  # printed in 別紙1 for "nothing planned"; not a formula
# The header cell of a table whose cells were neutralised (its column stays empty).
GUARD_COLUMN = "formula_guard"


def neutralise(text: str) -> str:
    """Put ``'`` in front of text a spreadsheet would take for a formula (and of text starting with ``'``).

    >>> neutralise("=1+1"), neutralise("-"), neutralise("-3%"), neutralise("計画どおり")
    ("'=1+1", '-', "'-3%", '計画どおり')
    """
    if text.startswith(NEEDS_PREFIX) and text != PRINTED_DASH:
        return NEUTRALISING_PREFIX + text
    return text


def restore(text: str) -> str:
    """What `neutralise` was given: one leading ``'`` removed.

    >>> restore("'=1+1"), restore("''x"), restore("-"), restore("計画")
    ('=1+1', "'x", '-', '計画')
    """
    return text[1:] if text.startswith(NEUTRALISING_PREFIX) else text


def write_guarded(out: TextIO, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """A BOM, ``header`` and `GUARD_COLUMN`, then ``rows`` with every cell neutralised.

    ``out`` is a text stream in plain UTF-8 (the BOM is written here, as a character). Rows end
    in CR LF, as Excel writes them; the csv module then quotes a cell holding a CR as well as
    one holding a LF (with LF row ends a bare CR would end the row when read back).
    """
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*header, GUARD_COLUMN])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])

