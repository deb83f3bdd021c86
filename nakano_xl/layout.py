"""Where things sit in a department workbook, and the signed metadata that identifies it.

distribute writes by this layout; intake reads by it. The metadata is a list of key/value
rows in a (very) hidden sheet, all strings: LibreOffice turns integer document properties
into floats, and a sheet of text survives every client we know of. A keyed HMAC over a
canonical form of the metadata proves which department, year and distribution a file
belongs to, whatever it is named.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from dataclasses import dataclass

from .template import Template
from .xlsx.worksheet import Sheet

FORMAT = "nakano-xl/1"
TITLE_ROW = 1
DEPARTMENT_ROW = 2
NOTE_ROW = 3
HEADER_ROW = 4
FIRST_ROW = 5


@dataclass(frozen=True, slots=True)
class InputColumns:
    """Column numbers (1-based) of the 回答 sheet, by key.

    The template's columns in 別紙1 order, then the item id. After a rollover, last year's
    answers (``previous.status`` …) stand just before the first answer column, where a
    department reads them while typing. The keys are signed into each workbook's metadata,
    so intake reads every file by the layout it was distributed with.
    """

    keys: tuple[str, ...]

    @classmethod
    def of(cls, template: Template, *, reference: bool = False) -> InputColumns:
        keys = [c.key for c in template.columns]
        if reference and template.reference_columns:
            first_answer = next(n for n, c in enumerate(template.columns) if c.answer)
            keys[first_answer:first_answer] = [c.key for c in template.reference_columns]
        return cls(tuple(keys) + ("item_id",))

    @classmethod
    def from_meta(cls, meta: Metadata, template: Template) -> InputColumns:
        return cls(meta.columns) if meta.columns else cls.of(template)

    def col(self, key: str) -> int:
        return self.keys.index(key) + 1

    @property
    def item_id(self) -> int:
        return len(self.keys)

    @property
    def width(self) -> int:
        return len(self.keys)

    @property
    def reference(self) -> tuple[str, ...]:
        """The keys of last year's answers shown for reference (``previous.<field>``)."""
        return tuple(k for k in self.keys if k.startswith(REFERENCE_PREFIX))


REFERENCE_PREFIX = "previous."
KPI_TITLE_ROW = 1
KPI_NOTE_ROW = 2
KPI_HEADER_ROW = 4
KPI_FIRST_ROW = 5
KPI_VALUE_COL = 5  # 目標, 指標項目, これまでの実績, 目標値, the year's 実績, 指標ID
KPI_ID_COL = 6


@dataclass(frozen=True, slots=True)
class Metadata:
    department: str
    fiscal_year: str  # R3
    template: str
    template_version: str
    distribution_id: str
    answer_sheet: str
    item_ids: tuple[str, ...]
    signature: str = ""
    columns: tuple[str, ...] = ()  # the 回答 sheet's column keys, in order
    kpi_ids: tuple[str, ...] = ()  # the KPIs whose actual this department reports
    # When the distribution was made (ISO 8601, UTC): a saved time is judged against it. Empty
    # in files distributed before it was signed, which leave it out of the signed bytes.
    distributed: str = ""

    def canonical(self) -> bytes:
        """The signed bytes: every field but the signature, as sorted compact JSON in UTF-8.

        ``distributed`` is signed only when set, so files distributed without it still verify.
        """
        body = {
            "format": FORMAT,
            "department": self.department,
            "fiscal_year": self.fiscal_year,
            "template": self.template,
            "template_version": self.template_version,
            "distribution_id": self.distribution_id,
            "answer_sheet": self.answer_sheet,
            "header_row": HEADER_ROW,
            "item_ids": list(self.item_ids),
            "columns": list(self.columns),
            "kpi_ids": list(self.kpi_ids),
        }
        if self.distributed:
            body["distributed"] = self.distributed
        return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")

    def signed(self, key: bytes) -> Metadata:
        return dataclasses.replace(self, signature=hmac.new(key, self.canonical(), hashlib.sha256).hexdigest())

    def verify(self, key: bytes) -> bool:
        expected = hmac.new(key, self.canonical(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.signature)

    def rows(self) -> list[tuple[str, str]]:
        """Key/value rows for the metadata sheet, in a fixed order."""
        head = [("format", FORMAT), ("department", self.department), ("fiscal_year", self.fiscal_year),
                ("template", self.template), ("template_version", self.template_version),
                ("distribution_id", self.distribution_id), ("answer_sheet", self.answer_sheet),
                ("header_row", str(HEADER_ROW)), ("signature", self.signature)]
        if self.distributed:
            head.append(("distributed", self.distributed))
        return (head + [("item_id", i) for i in self.item_ids] + [("column", c) for c in self.columns]
                + [("kpi_id", k) for k in self.kpi_ids])

    @classmethod
    def from_sheet(cls, sheet: Sheet) -> Metadata | None:
        """Read the metadata rows back; None when the sheet does not hold our format."""
        values: dict[str, str] = {}
        lists: dict[str, list[str]] = {"item_id": [], "column": [], "kpi_id": []}
        for row in sorted({r for r, _ in sheet.cells}):
            key, value = sheet.text(row, 1), sheet.text(row, 2)
            if key in lists:
                lists[key].append(value)
            elif key and key not in values:
                values[key] = value
        if values.get("format") != FORMAT:
            return None
        try:
            return cls(
                department=values["department"],
                fiscal_year=values["fiscal_year"],
                template=values["template"],
                template_version=values["template_version"],
                distribution_id=values["distribution_id"],
                answer_sheet=values["answer_sheet"],
                item_ids=tuple(lists["item_id"]),
                signature=values.get("signature", ""),
                columns=tuple(lists["column"]),
                kpi_ids=tuple(lists["kpi_id"]),
                distributed=values.get("distributed", ""),
            )
        except KeyError:
            return None


def safe_file_name(department: str) -> str:
    """A department name usable as a file name on Windows (no \\ / : * ? " < > |)."""
    bad = '\\/:*?"<>|'
    return "".join("_" if ch in bad or ord(ch) < 32 else ch for ch in department).strip(" .") or "_"
