"""The corrected copy through openpyxl, for a workbook `xlsx_copy` cannot edit part by part
(OpenDocument, macros, external links, existing comments on a sheet to mark…): the workbook is
loaded (or rebuilt from its values), its faulty cells filled and commented, the Corrections sheet
inserted first, and saved with fixed dates. Such content is dropped from the copy.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path
from typing import Any

from cia_workbook.fileio import atomic_path
from cia_workbook.intake.sheetxml import get_column_letter
from cia_workbook.partners import excel
from cia_workbook.partners.corrections import AUTHOR, CorrectionsSheet, cell_marks, corrections_sheet, plain
from cia_workbook.schema.findings import Finding


def write_copy(
    path: Path, data: bytes, findings: list[Finding], target: Path, when: dt.datetime, contact: str
) -> None:
    """The copy of `path` (its bytes `data`) written to `target` (see `feedback.write_corrected_copy`)."""
    wb = _load_copy(path, data)
    _mark_cells(wb, findings)
    _add_corrections_sheet(wb, corrections_sheet(findings, wb.sheetnames, path.name, contact))
    wb.properties.created = when
    wb.properties.modified = when
    wb.properties.lastModifiedBy = AUTHOR
    with atomic_path(target) as tmp:
        wb.save(tmp)
        normalize_zip(tmp, when)


def _load_copy(path: Path, data: bytes):
    """The received workbook (its bytes `data`) loaded for writing a copy; rebuilt from its
    values when openpyxl cannot open it (OpenDocument, odd producers)."""
    import io

    import openpyxl

    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            # keep_vba=False: the copy is a plain .xlsx, macros are not carried over.
            return openpyxl.load_workbook(io.BytesIO(data), keep_links=False, keep_vba=False, rich_text=False)
        except Exception:
            pass
    from cia_workbook.intake.reader import read_workbook

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    result = read_workbook(path, data=data)
    for sheet in result.workbook.sheets if result.workbook else []:
        ws = wb.create_sheet(sheet.title[:31])
        if not sheet.visible:
            ws.sheet_state = "hidden"
        for r, row in enumerate(sheet.rows, start=1):
            for c, value in enumerate(row, start=1):
                if value != "":
                    _write(ws, r, c, value)
    return wb


def _write(ws, row: int, col: int, value: Any):
    """Write a value; text stays text even when it starts with = + - @."""
    if isinstance(value, dt.timedelta | dt.time):
        value = str(value)
    if isinstance(value, str):
        value = plain(value)
    cell = ws.cell(row, col, value)
    if isinstance(value, str):
        cell.data_type = "s"
    elif isinstance(value, dt.date):
        cell.number_format = "DD/MM/YYYY"
    return cell


def _mark_cells(wb, findings: list[Finding]) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    for mark in cell_marks(findings, wb.sheetnames):
        cell = wb[mark.sheet][mark.ref]
        if type(cell).__name__ == "MergedCell":
            continue
        if mark.fit and isinstance(cell.value, str):
            # (openpyxl cut the text at Excel's limit when it loaded it: it is shortened visibly)
            cell.value = excel.shortened(cell.value, excel.MAX_CELL_TEXT, mark.fit)
        cell.fill = PatternFill("solid", start_color=mark.color, end_color=mark.color)
        comment = Comment(mark.text, AUTHOR)
        comment.width = 320
        comment.height = min(80 + 60 * mark.lines, 400)
        cell.comment = comment


def _add_corrections_sheet(wb, sheet: CorrectionsSheet) -> None:
    """The Corrections sheet `sheet` inserted first in the openpyxl workbook `wb`, laid out as
    `xlsx_copy` lays it out."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.hyperlink import Hyperlink

    ws = wb.create_sheet(sheet.title, 0)
    # Fonts on the workbook's own (Calibri in a template): a bare Font() would leave the name out.
    base = wb._fonts[0] if getattr(wb, "_fonts", None) else Font(name="Calibri", sz=11)

    def font(**changes) -> Font:
        return Font(name=base.name or "Calibri", sz=changes.pop("sz", base.sz or 11), **changes)

    top = Alignment(vertical="top")
    wrap = Alignment(wrap_text=True, vertical="top")
    hr = sheet.header_row
    for r, text in enumerate([sheet.heading, *sheet.notes] if sheet.heading else list(sheet.notes), start=1):
        cell = _write(ws, r, 1, text)
        cell.alignment = wrap
        if sheet.heading and r == 1:
            cell.font = font(b=True, sz=sheet.heading_size)
    for ref in sheet.merged:
        ws.merge_cells(ref)
    fill = PatternFill("solid", start_color=sheet.header_fill, end_color=sheet.header_fill)
    for c, text in enumerate(sheet.headers, start=1):
        cell = _write(ws, hr, c, text)
        cell.font, cell.fill, cell.alignment = font(b=True), fill, wrap
    for r, line in enumerate(sheet.lines, start=hr + 1):
        for c, value in enumerate(line.values):
            cell = _write(ws, r, c + 1, value)
            cell.alignment = top
            if c == sheet.severity_col:
                cell.fill = PatternFill("solid", start_color=line.color, end_color=line.color)
            elif c == sheet.link_col and line.link:
                cell.hyperlink = Hyperlink(ref=cell.coordinate, location=line.link, display=value)
                cell.font = font(color=sheet.link_color, u="single")
            elif c == sheet.wrap_col:
                cell.alignment = wrap
    for r, height in enumerate(sheet.heights, start=1):
        ws.row_dimensions[r].height = height
    for c, width in enumerate(sheet.widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = width
    ws.freeze_panes = f"A{hr + 1}"
    ws.auto_filter.ref = f"A{hr}:{get_column_letter(len(sheet.headers))}{sheet.last_row}"
    ws.print_title_rows = f"{hr}:{hr}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = 9
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    margins = ws.page_margins
    margins.left, margins.right, margins.top, margins.bottom = sheet.margins
    if sheet.footer:
        ws.oddFooter.left.text, ws.oddFooter.right.text = _footer_parts(sheet.footer)
        ws.oddFooter.left.size = ws.oddFooter.right.size = 8
    for ws_ in wb.worksheets:
        ws_.sheet_view.tabSelected = False
    ws.sheet_view.tabSelected = True
    wb.active = 0


def _footer_parts(footer: str) -> tuple[str, str]:
    """The left and right texts of a footer written « &L…&R… » (openpyxl sets each part)."""
    left, _, right = footer.removeprefix("&L").partition("&R")
    return left.removeprefix("&8"), right.removeprefix("&8")


_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def normalize_zip(path: Path, when: dt.datetime | None = None) -> None:
    """Rewrite a zip with fixed entry times and, if `when` is given, a fixed modification time:
    openpyxl stamps each part, and the document's « modified » property, with the current time."""
    from cia_workbook.partners.xlsx_copy import zipped

    with zipfile.ZipFile(path) as src:
        entries = [(info.filename, src.read(info)) for info in src.infolist()]
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode() if when else None
    if stamp:
        entries = [
            (
                name,
                _MODIFIED.sub(rb"\g<1>" + stamp + rb"\g<2>", data) if name == "docProps/core.xml" else data,
            )
            for name, data in entries
        ]
    path.write_bytes(zipped(entries))
