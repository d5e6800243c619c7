"""What every workbook written with xlsxwriter shares (the partners' templates, the commission's
workbook): the workbook class, the sheet protection, the fills and cell formats, the print set-up,
and the rows of a text sheet (Lisez-moi) sized from their text.
"""

from __future__ import annotations

from pathlib import Path

import xlsxwriter
import xlsxwriter.worksheet

from cia_workbook.partners import sheet_layout as layout
from cia_workbook.render.typography import fr

# Sheet protection without a password: structure and headers locked, input cells editable,
# and rows can be inserted inside a table so that validations and highlights extend to them.
# Deleting rows stays off: Excel refuses it anyway for rows holding locked cells (the columns
# right of the table), and unlocking all 16,384 columns costs more time than every other part
# of the template; clearing a row's content (Suppr) does the same job.
PROTECTION = {
    "objects": False,
    "scenarios": False,
    "format_cells": True,
    "format_columns": True,
    "format_rows": True,
    "insert_columns": False,
    "insert_rows": True,
    "insert_hyperlinks": False,
    "delete_columns": False,
    "delete_rows": False,
    "select_locked_cells": True,
    "sort": True,
    "autofilter": True,
    "pivot_tables": False,
    "select_unlocked_cells": True,
}

# Templates are small: assembling them in memory avoids one temporary file per sheet.
# (constant_memory does not fit: the list sheet is written column by column.)
WORKBOOK_OPTIONS = {"in_memory": True}

REQUIRED_FILL = "#FCE4D6"
REQUIRED_HEADER_FILL = "#F4B183"
OPTIONAL_HEADER_FILL = "#DDEBF7"
PREFILLED_FILL = "#EDEDED"
DATE_FORMAT = "dd/mm/yyyy"
# Print margins in inches (left, right, top, bottom): narrow, as in Excel's « Étroites ».
MARGINS = (0.4, 0.4, 0.6, 0.6)

BASE = {"font_name": "Calibri", "font_size": 11, "valign": "top"}
HEADER = {**BASE, "bold": True, "text_wrap": True, "border": 1, "align": "center", "valign": "vcenter"}


class _Worksheet(xlsxwriter.worksheet.Worksheet):
    """A worksheet that writes formulas as given.

    The templates' formulas use only functions of Excel 2007 (COUNTIFS, SUMPRODUCT, DATE, IF,
    AND, OR, LEN, COUNTA): none needs xlsxwriter's rewriting of newer functions ("_xlfn."),
    whose thirty-odd regular expressions per formula took a third of the writing time.
    """

    def _prepare_formula(self, formula, expand_future_functions=False):
        formula = formula.removeprefix("{").removeprefix("=").removesuffix("}")
        return formula


class Workbook(xlsxwriter.Workbook):
    worksheet_class = _Worksheet


def new_workbook(path: Path, title: str, subject: str, author: str, comments: str) -> Workbook:
    """A workbook at `path` with its document properties (the EPCI as author and company)."""
    wb = Workbook(str(path), dict(WORKBOOK_OPTIONS))
    wb.set_properties(
        {"title": title, "subject": subject, "author": author, "company": author, "comments": comments}
    )
    return wb


class Formats:
    """The cell formats of every workbook: title, hints, wrapped and bold text, column headers."""

    def __init__(self, wb: Workbook):
        add = wb.add_format
        self.title = add({**BASE, "bold": True, "font_size": 14})
        # Hints of table sheets overflow to the right instead of wrapping in a narrow column A
        # (no merged cells on sheets the reader parses).
        self.hint_line = add({**BASE, "italic": True, "font_color": "#595959"})
        self.wrap = add({**BASE, "text_wrap": True})
        self.bold = add({**BASE, "bold": True, "text_wrap": True})
        self.header_req = add({**HEADER, "bg_color": REQUIRED_HEADER_FILL})
        self.header_opt = add({**HEADER, "bg_color": OPTIONAL_HEADER_FILL})


def print_page(ws, footer: str, header: str = "") -> None:
    """Landscape A4, one page wide, narrow margins; `footer` on the left of the footer (« & »
    escaped: it starts a code there), the sheet's name and the page on its right."""
    ws.set_landscape()
    ws.set_paper(9)
    ws.set_margins(*MARGINS)
    ws.fit_to_pages(1, 0)
    if header:
        ws.set_header(f"&R&8{header}")
    ws.set_footer(f"&L&8{footer.replace('&', '&&')}&R&8&A – page &P sur &N")


class TextRows:
    """The rows of a text sheet (a Lisez-moi), written one after the other, each sized from the
    text it holds in the sheet's columns (`widths`)."""

    def __init__(self, ws, widths: tuple[float, ...], formats: Formats):
        self.ws, self.widths, self.f = ws, widths, formats
        self.row = 0
        for col, width in enumerate(widths):
            ws.set_column(col, col, width)

    def para(self, text: str, fmt=None, first: int = 0, size: float = 11, bold: bool = False) -> None:
        """A paragraph merged from column `first` to the last."""
        text = fr(text)
        self.ws.merge_range(self.row, first, self.row, len(self.widths) - 1, text, fmt or self.f.wrap)
        self.ws.set_row(self.row, layout.row_height([(text, sum(self.widths[first:]))], size, bold))
        self.row += 1

    def pair(self, key: str, value: str, split: int, command: str = "") -> None:
        """A key in bold over the columns before `split`, its value over the others; `command`,
        typed as is (its « -- » untouched by the typography), ends the value."""
        key, value = fr(key), fr(value) + command
        self._cells(0, split - 1, key, self.f.bold)
        self._cells(split, len(self.widths) - 1, value, self.f.wrap)
        self.ws.set_row(
            self.row,
            max(
                layout.row_height([(key, sum(self.widths[:split]))], bold=True),
                layout.row_height([(value, sum(self.widths[split:]))]),
            ),
        )
        self.row += 1

    def _cells(self, first: int, last: int, text: str, fmt) -> None:
        if first == last:
            self.ws.write_string(self.row, first, text, fmt)
        else:
            self.ws.merge_range(self.row, first, self.row, last, text, fmt)
