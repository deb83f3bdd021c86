"""別紙1, the progress list, drawn as the published one.

Title, legend and header are repeated on every printed page; A4 landscape fitted to the page
width; one row per plan row, its section cell merged over the section's rows on each page
(`pages.paginate` places the page breaks). Every answer is written as a text (the workbook
converts no formula, URL or number), so ``=HYPERLINK(…)`` typed by a department stays text.
A last column, hidden and outside the print area, holds each row's item id.
"""

from __future__ import annotations

import xlsxwriter.workbook

from ..workspace import Workspace
from ..xlsx.writer import fit_in_cell
from .contents import ANSWER_KEYS, LEGEND_FIRST_ROW, ProgressRow, header_row, sections_of
from .pages import EXCEL, ColumnMetrics, Layout, fitted_height, page_room, page_setup, paginate
from .styles import TITLE_FONT_SIZE, Styles


def write_progress_list(ws: Workspace, workbook: xlsxwriter.workbook.Workbook, st: Styles,
                        rows: list[ProgressRow], metrics: ColumnMetrics = EXCEL) -> Layout:
    """Draw 別紙1 on a new sheet of ``workbook``; returns where its rows went on the pages."""
    tmpl = ws.template
    sheet = workbook.add_worksheet(tmpl.report["sheet"])
    widths = {c.key: c.width for c in tmpl.columns}
    keys = [c.key for c in tmpl.columns]
    # The title and legend overflow into the empty cells beside them, as printed; their rows
    # get explicit heights because LibreOffice does not grow a row for a larger font.
    sheet.write_string(0, 0, ws.settings.title, st.title)
    title_rows = [fitted_height([], TITLE_FONT_SIZE)]
    sheet.write_string(1, 0, tmpl.report["legend_heading"], st.plain)
    title_rows.append(fitted_height([]))
    for n, line in enumerate(tmpl.legend_lines()):
        sheet.write_string(LEGEND_FIRST_ROW - 1 + n, 0, line, st.plain)
        title_rows.append(fitted_height([]))
    head = header_row(ws) - 1  # 0-based
    headers = tmpl.headers(ws.year)
    for c, (text, column) in enumerate(zip(headers, tmpl.columns)):
        sheet.write_string(head, c, text, st.header)
        sheet.set_column(c, c, metrics.width_like_excel(column.width))
    title_rows.append(fitted_height([(h, c.width) for h, c in zip(headers, tmpl.columns)]))
    for r, height in enumerate(title_rows):
        sheet.set_row(r, height)
    id_col = len(keys)
    sheet.write_string(head, id_col, tmpl.report["item_id_header"], st.header)
    sheet.set_column(id_col, id_col, 8, None, {"hidden": True})

    row_cols = [(k, widths[k]) for k in keys if k != "section"]
    measured = [([fitted_height([(r.cells[k], w) for k, w in row_cols]) for r in section],
                 fitted_height([(section[0].cells["section"], widths["section"])]))  # once per section
                for section in sections_of(rows)]
    layout = paginate(measured, page_room(list(widths.values())) - sum(title_rows))

    first = head + 1
    section_col = keys.index("section")
    bottom_of = dict(layout.blocks)  # top row of each section cell → its last row
    # The cells besides the section's: (column, key, style as answered, style when copied).
    columns = [(c, key, st.mark if key == "status" else st.cell,
                st.mark if key == "status" else st.copied if key in ANSWER_KEYS else st.cell)
               for c, key in enumerate(keys) if key != "section"]
    for n, row in enumerate(rows):
        r = first + n
        sheet.set_row(r, layout.heights[n])
        bottom = bottom_of.get(n)
        if bottom is not None:  # a section cell starts here; the rows below it hold none
            label = fit_in_cell(row.cells["section"])
            if bottom > n:
                sheet.merge_range(r, section_col, first + bottom, section_col, label, st.cell)
            elif label:
                sheet.write_string(r, section_col, label, st.cell)
            else:
                sheet.write_blank(r, section_col, None, st.cell)
        texts = row.cells
        for c, key, style, faint in columns:
            text = texts[key]
            if text:
                sheet.write_string(r, c, fit_in_cell(text), faint if row.copied else style)
            else:
                sheet.write_blank(r, c, None, faint if row.copied else style)
        sheet.write_string(r, id_col, row.item.item_id, st.cell)
    sheet.set_h_pagebreaks([first + b for b in layout.breaks])
    sheet.freeze_panes(head + 1, 0)
    page_setup(sheet, tmpl.report["footer"], head)
    sheet.print_area(0, 0, head + len(rows), len(keys) - 1)
    sheet.activate()
    return layout
