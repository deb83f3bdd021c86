"""Where things sit in a department workbook, and the signed metadata that identifies it.

distribute writes by this layout; intake reads by it. The metadata is a list of key/value
rows in a (very) hidden sheet, all strings: LibreOffice turns integer document properties
into floats, and a sheet of text survives every client we know of. A keyed HMAC over a
canonical form of the metadata proves which department, year and distribution a file
belongs to, whatever it is named.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

from .template import Template
from .xlsx.reader import Sheet

FORMAT = "nakano-xl/1"
TITLE_ROW = 1
DEPARTMENT_ROW = 2
NOTE_ROW = 3
HEADER_ROW = 4
FIRST_ROW = 5


@dataclass(frozen=True, slots=True)
class InputColumns:
    """Column numbers (1-based) of the 回答 sheet: the template's columns, then the item id."""

    keys: tuple[str, ...]

    @classmethod
    def of(cls, template: Template) -> InputColumns:
        return cls(tuple(c.key for c in template.columns) + ("item_id",))

    def col(self, key: str) -> int:
        return self.keys.index(key) + 1

    @property
    def item_id(self) -> int:
        return len(self.keys)

    @property
    def width(self) -> int:
        return len(self.keys)


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

    def canonical(self) -> bytes:
        """The signed bytes: every field but the signature, as sorted compact JSON in UTF-8."""
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
        }
        return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")

    def signed(self, key: bytes) -> Metadata:
        mac = hmac.new(key, self.canonical(), hashlib.sha256).hexdigest()
        return Metadata(**{**self._fields(), "signature": mac})

    def verify(self, key: bytes) -> bool:
        expected = hmac.new(key, self.canonical(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.signature)

    def rows(self) -> list[tuple[str, str]]:
        """Key/value rows for the metadata sheet, in a fixed order."""
        head = [("format", FORMAT), ("department", self.department), ("fiscal_year", self.fiscal_year),
                ("template", self.template), ("template_version", self.template_version),
                ("distribution_id", self.distribution_id), ("answer_sheet", self.answer_sheet),
                ("header_row", str(HEADER_ROW)), ("signature", self.signature)]
        return head + [("item_id", i) for i in self.item_ids]

    @classmethod
    def from_sheet(cls, sheet: Sheet) -> Metadata | None:
        """Read the metadata rows back; None when the sheet does not hold our format."""
        values: dict[str, str] = {}
        items: list[str] = []
        for row in sorted({r for r, _ in sheet.cells}):
            key, value = sheet.text(row, 1), sheet.text(row, 2)
            if key == "item_id":
                items.append(value)
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
                item_ids=tuple(items),
                signature=values.get("signature", ""),
            )
        except KeyError:
            return None

    def _fields(self) -> dict[str, object]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


def safe_file_name(department: str) -> str:
    """A department name usable as a file name on Windows (no \\ / : * ? " < > |)."""
    bad = '\\/:*?"<>|'
    return "".join("_" if ch in bad or ord(ch) < 32 else ch for ch in department).strip(" .") or "_"
