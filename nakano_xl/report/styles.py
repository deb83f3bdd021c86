"""The report's fonts, borders and colours: one set of formats per workbook (`Styles`)."""

from __future__ import annotations

import xlsxwriter.workbook

from ..findings import Severity

FONT_SIZE = 10
HEADING_FONT_SIZE = 11
TITLE_FONT_SIZE = 14


class Styles:
    """The formats of the report, made once per workbook."""

    def __init__(self, workbook: xlsxwriter.workbook.Workbook, font: str) -> None:
        base = {"font_name": font, "font_size": FONT_SIZE}
        cell = {**base, "border": 1, "text_wrap": True, "valign": "top"}
        add = workbook.add_format
        self.title = add({**base, "bold": True, "font_size": TITLE_FONT_SIZE})
        self.heading = add({**base, "bold": True, "font_size": HEADING_FONT_SIZE})
        self.plain = add(base)
        self.header = add({**base, "bold": True, "border": 1, "text_wrap": True, "align": "center",
                           "valign": "vcenter", "bg_color": "#D9D9D9"})
        self.cell = add(cell)
        self.center = add({**cell, "align": "center"})
        self.middle = add({**cell, "valign": "vcenter"})
        self.value = add({**cell, "align": "center", "valign": "vcenter"})
        self.mark = add({**cell, "align": "center", "font_size": 12})
        self.number = add({**base, "border": 1, "num_format": "0", "valign": "top"})
        self.total_label = add({**cell, "bold": True, "bg_color": "#F2F2F2"})
        self.total = add({**base, "border": 1, "num_format": "0", "bold": True, "bg_color": "#F2F2F2"})
        self.copied = add({**cell, "font_color": "#595959", "italic": True})
        self.severity = {
            Severity.ERROR: add({**cell, "bold": True, "bg_color": "#FFC7CE", "font_color": "#9C0006"}),
            Severity.WARNING: add({**cell, "bg_color": "#FFEB9C", "font_color": "#9C5700"}),
            Severity.INFO: add({**cell, "bg_color": "#DDEBF7", "font_color": "#1F4E78"}),
        }
        self.flag = {  # a count that needs the coordinator's attention
            Severity.ERROR: add({**base, "border": 1, "num_format": "0", "valign": "top", "bold": True,
                                 "bg_color": "#FFC7CE", "font_color": "#9C0006"}),
            Severity.WARNING: add({**base, "border": 1, "num_format": "0", "valign": "top",
                                   "bg_color": "#FFEB9C", "font_color": "#9C5700"}),
        }
