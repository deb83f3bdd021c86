"""Writing workbooks: xlsxwriter through its documented options, the same bytes every run.

A workbook is built into a buffer (`new_workbook`, `finish`) and then saved by `files`: to a
temporary file beside the target, renamed over it.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import xlsxwriter

from .cells import CELL_TEXT_MAX, too_long_for_a_cell
from .text import representable


def new_workbook(created: datetime, *, title: str = "", author: str = "nakano-xl",
                 in_memory: bool = True, tmpdir: Path | None = None) -> tuple[xlsxwriter.Workbook, io.BytesIO]:
    """A workbook written into a buffer, whose document properties do not depend on the clock.

    xlsxwriter fixes the zip entries' timestamps itself; the ``created`` property is the only
    other thing that would change from run to run, so it is taken from the workspace. Texts are
    written as texts: what a department typed (``=HYPERLINK(…)``, a URL, ``001``) stays as typed.

    ``in_memory=True`` keeps every part of the workbook in memory until it is zipped;
    ``in_memory=False`` has xlsxwriter write each part to a temporary file first, so a very
    large workbook does not hold all its parts' XML at once; ``tmpdir``: the folder for them
    (the caller's temporary folder, removed whatever happens: xlsxwriter removes its files
    only when the zipping ends normally).
    """
    buffer = io.BytesIO()
    options: dict[str, object] = {"in_memory": in_memory, "strings_to_formulas": False, "strings_to_urls": False,
                                  "strings_to_numbers": False}
    if tmpdir is not None:
        options["tmpdir"] = str(tmpdir)
    workbook = xlsxwriter.Workbook(buffer, options)
    workbook.set_properties({"title": title, "author": author, "created": created})
    workbook.set_calc_mode("auto")
    return workbook, buffer


def finish(workbook: xlsxwriter.Workbook, buffer: io.BytesIO) -> bytes:
    """Close ``workbook`` and give the bytes of the .xlsx file."""
    workbook.close()
    return buffer.getvalue()


def fit_in_cell(text: str) -> str:
    """``text``, or the longest start of it that Excel keeps in one cell, counted in UTF-16
    units as Excel counts, never ending in half a surrogate pair.

    xlsxwriter cuts a longer text too, but not every release it accepts counts as Excel does;
    the report shows the same start of a text whichever is installed. What cannot be written
    (a lone surrogate) is replaced: the last guard before xlsxwriter's UTF-8.
    """
    text = representable(text)
    if not too_long_for_a_cell(text):
        return text
    return text.encode("utf-16-le")[: 2 * CELL_TEXT_MAX].decode("utf-16-le", errors="ignore")
