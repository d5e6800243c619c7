"""The sheets of a partner's template that take its answers: the table sheets (columns,
dropdowns, validations, highlighted required cells, prefilled rows) and the form sheets; the
hidden list and identification sheets; the state every sheet of a template is written from.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

from babel.numbers import format_decimal
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from cia_workbook.convention.settings import Convention, Partner
from cia_workbook.intake.model import ReturnFile
from cia_workbook.partners import sheet_layout as layout
from cia_workbook.partners.workbook_formats import (
    BASE,
    DATE_FORMAT,
    OPTIONAL_HEADER_FILL,
    PREFILLED_FILL,
    PROTECTION,
    REQUIRED_FILL,
    Formats,
    Workbook,
    print_page,
)
from cia_workbook.schema import sheets as schema
from cia_workbook.schema.sheets import Column, Sheet, WorkbookSchema

LOCALE = "fr_FR"

# A rehousing starts years before the campaign (the programme runs over the whole convention):
# its dates may go back to this many years before the convention's first year.
REHOUSING_DATE_MARGIN = 3
# The definitions table of the Lisez-moi: a reference, set a point smaller than the text.
README_TABLE_SIZE = 10
# A header wraps on at most this many lines: a column whose header needs more is widened (up to
# half as wide again), the row then takes the height of the tallest header.
HEADER_MAX_LINES = 4
HEADER_HEIGHT_MIN = 30
# Columns of a form sheet: question, answer, example.
FORM_WIDTHS = (60, 55, 40)


@dataclass
class FilledReturn:
    """What one partner types into its workbook: rows per table sheet, answers per form."""

    partner: Partner
    year: int
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Human description of the mistakes injected, for the demo's console output.
    mistakes: list[str] = field(default_factory=list)


class TemplateFormats(Formats):
    """The formats of a template's sheets, beyond those every workbook has."""

    def __init__(self, wb: Workbook):
        super().__init__(wb)
        add = wb.add_format
        self.hint = add({**BASE, "italic": True, "font_color": "#595959", "text_wrap": True})
        self.locked = add({**BASE})
        self.section = add({**BASE, "bold": True, "font_size": 12, "font_color": "#1F4E78"})
        self.table_cell = add({**BASE, "text_wrap": True, "border": 1})
        small = {**BASE, "font_size": README_TABLE_SIZE, "text_wrap": True, "border": 1}
        self.small_cell = add(small)
        self.small_header = add({**small, "bold": True, "align": "center", "valign": "vcenter",
                                 "bg_color": OPTIONAL_HEADER_FILL})  # fmt: skip
        self.prefilled = add({**BASE, "bg_color": PREFILLED_FILL, "border": 1, "align": "left"})
        self.required = add({"bg_color": REQUIRED_FILL})
        self.percent = add({**BASE, "num_format": "0.0 %", "border": 1})
        self.points = add({**BASE, "num_format": "+0.0;-0.0;0.0", "border": 1})
        self.count = add({**BASE, "num_format": "0", "border": 1})
        self.example = add({**BASE, "italic": True, "font_color": "#7F7F7F", "text_wrap": True})
        unlocked = {**BASE, "locked": False}
        self.input = {
            "text": add({**unlocked, "num_format": "@"}),
            "integer": add({**unlocked, "num_format": "0"}),
            "decimal": add({**unlocked, "num_format": "#,##0.00"}),
            "date": add({**unlocked, "num_format": DATE_FORMAT, "align": "left"}),
            "code": add({**unlocked}),
            "yesno": add({**unlocked}),
        }
        self.form_input = {
            kind: add({**unlocked, "num_format": fmt, "border": 1, "text_wrap": True})
            for kind, fmt in (
                ("text", "@"), ("integer", "0"), ("decimal", "#,##0.00"),
                ("date", DATE_FORMAT), ("code", "General"), ("yesno", "General"),
            )
        }  # fmt: skip


@dataclass
class Template:
    """What every sheet of one partner's template is written from."""

    convention: Convention
    partner: Partner
    year: int
    schema: WorkbookSchema
    wb: Workbook
    f: TemplateFormats
    previous_return: ReturnFile | None = None
    previous_excluded: ReturnFile | None = None
    previous_missing: bool = False
    filled: FilledReturn | None = None
    # Code list name → its range on the hidden list sheet, the source of its dropdowns.
    list_ranges: dict[str, str] = field(default_factory=dict)

    def print_page(self, ws) -> None:
        """Landscape A4, one page wide, narrow margins, the sheet's name and the page in the footer."""
        print_page(ws, f"{self.partner.name} – bilan {self.year}")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def number(value: float) -> str:
    return format_decimal(value, locale=LOCALE)


def header_width(column: Column) -> float:
    """The width of a table column: the schema's, widened so that no word of its header is cut
    and the header wraps on at most HEADER_MAX_LINES lines."""
    width = max(float(column.width), layout.word_width(column.header, bold=True))
    while layout.lines(column.header, width, bold=True) > HEADER_MAX_LINES and width < column.width * 1.5:
        width += 1
    return width


def header_height(headers: list[tuple[str, float]]) -> float:
    """The height of a header row: its tallest wrapped header (bold), never under two lines."""
    return max(layout.row_height(headers, bold=True), HEADER_HEIGHT_MIN)


def header_format(t: Template, column: Column):
    """Orange header for a required column (always or under a condition), blue otherwise."""
    return t.f.header_req if column.required or column.required_when else t.f.header_opt


# -- Hidden sheets -------------------------------------------------------------------------


def write_lists(t: Template, ws) -> None:
    """One column per code list; dropdowns reference these ranges (no inline lists)."""
    for col, codelist in enumerate(t.schema.codelists.values()):
        ws.write_string(0, col, codelist.name)
        for row, display in enumerate(codelist.displays, start=1):
            ws.write_string(row, col, display)
        letter = xl_col_to_name(col)
        t.list_ranges[codelist.name] = (
            f"='{schema.LISTS_SHEET}'!${letter}$2:${letter}${len(codelist.displays) + 1}"
        )
        ws.set_column(col, col, 30)
    ws.protect("", PROTECTION)
    ws.very_hidden()


def write_identification(t: Template, ws) -> None:
    """The template's identity in the very hidden sheet, in defined names and in custom document
    properties: the places Excel and LibreOffice keep."""
    values: dict[str, str | int] = {
        "modele": schema.TEMPLATE_MARKER,
        "version_schema": schema.SCHEMA_VERSION,
        "convention": t.convention.info.id,
        "partenaire": t.partner.id,
        "type": t.partner.kind,
        "annee": t.year,  # a number, in the sheet, the defined name and the property
    }
    for row, key in enumerate(schema.ID_KEYS):
        ws.write_string(row, 0, key)
        value = values[key]
        if isinstance(value, int):
            ws.write_number(row, 1, value)
        else:
            ws.write_string(row, 1, value)
        t.wb.define_name(f"CIA_{key.upper()}", f"='{schema.ID_SHEET}'!$B${row + 1}")
        t.wb.set_custom_property(key, value)
    ws.set_column(0, 1, 40)
    ws.protect("", PROTECTION)
    ws.very_hidden()


# -- Validations ---------------------------------------------------------------------------


def validation(t: Template, column: Column, rehousing: bool = False) -> dict:
    """French input and error messages; codes from the hidden list sheet. The dates of the
    rehousing sheet (`rehousing`) may go back to the programme's start."""
    title = clip(column.header, 32)
    definition = column.definition

    def stop(hint: str, error_title: str, error: str, **criteria) -> dict:
        """A rule that refuses what breaks it, its help shown when the cell is selected."""
        return {**criteria, "input_title": title, "input_message": clip(hint, 255), "error_title": error_title,
                "error_message": clip(error, 255), "error_type": "stop"}  # fmt: skip

    if column.codelist:
        return stop(
            f"{definition} Choisissez dans la liste.",
            "Valeur hors liste",
            f"Cette valeur n'est pas dans la liste de la colonne « {column.header} ». "
            "Choisissez une valeur du menu déroulant (voir la feuille Lisez-moi).",
            validate="list",
            source=t.list_ranges[column.codelist],
        )
    if column.kind in ("integer", "decimal"):
        low = column.minimum if column.minimum is not None else -1e9
        high = column.maximum if column.maximum is not None else 1e9
        what = "un nombre entier" if column.kind == "integer" else "un nombre"
        bounds = f"entre {number(low)} et {number(high)}"
        return stop(
            f"{definition} Saisissez {what} {bounds}.",
            "Nombre attendu",
            f"Saisissez {what} {bounds}, sans texte ni unité (par exemple {column.example}).",
            validate=column.kind,
            criteria="between",
            minimum=int(low) if column.kind == "integer" else low,
            maximum=int(high) if column.kind == "integer" else high,
        )
    if column.kind == "date":
        low, high = dt.date(t.year - 5, 1, 1), dt.date(t.year + 2, 12, 31)
        if rehousing:
            low = min(low, dt.date(t.convention.info.first_year - REHOUSING_DATE_MARGIN, 1, 1))
        return stop(
            f"{definition} Date au format JJ/MM/AAAA.",
            "Date attendue",
            f"Saisissez une date au format JJ/MM/AAAA (par exemple {column.example}), "
            f"entre le {low:%d/%m/%Y} et le {high:%d/%m/%Y}.",
            validate="date",
            criteria="between",
            minimum=low,
            maximum=high,
        )
    return {"validate": "any", "input_title": title, "input_message": clip(definition, 255)}


def write_answer(ws, row: int, col: int, value, fmt) -> None:
    """One pre-filled answer, typed as Excel stores what a partner types or picks."""
    if value is None or value == "":
        return
    if isinstance(value, str):
        ws.write_string(row, col, value, fmt)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value, fmt)
    elif isinstance(value, dt.date):
        ws.write_datetime(row, col, value, fmt)
    else:
        ws.write_number(row, col, value, fmt)


# -- Forms ---------------------------------------------------------------------------------


def write_form(t: Template, ws, sheet: Sheet) -> None:
    """A questionnaire: the questions in column A, the answers in B, an example in C."""
    widths = FORM_WIDTHS
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)
    ws.write_string(0, 0, f"{sheet.title} – {t.partner.name} – bilan {t.year}", t.f.title)
    ws.set_row(0, layout.row_height([], 14))
    hint = f"{sheet.purpose} Réponses en colonne B ; cellules orange : obligatoires."
    ws.write_string(1, 0, hint, t.f.hint)
    ws.set_row(1, layout.row_height([(hint, widths[0])]))
    prefilled = {}
    if sheet.key == "identification":
        prefilled = {"partenaire": t.partner.name, "annee": t.year}
    for column in sheet.columns:
        row = sheet.form_row(column.key) - 1
        ws.write_string(row, 0, column.header, t.f.bold)
        example = t.schema.example(column)
        shown = f"Exemple : {example}" if example and column.key not in prefilled else ""
        if shown:
            ws.write_string(row, 2, shown, t.f.example)
        height = max(
            layout.row_height([(column.header, widths[0])], bold=True),
            layout.row_height([(shown, widths[2])]),
        )
        if column.width >= 60:  # room for a few lines of answer
            height = max(height, layout.row_height([], minimum=4))
        ws.set_row(row, height)
        if column.key in prefilled:
            value = prefilled[column.key]
            if isinstance(value, int):
                ws.write_number(row, 1, value, t.f.prefilled)
            else:
                ws.write_string(row, 1, value, t.f.prefilled)
            continue
        answer = t.filled.forms.get(sheet.key, {}).get(column.key) if t.filled else None
        if answer is None or answer == "":
            ws.write_blank(row, 1, None, t.f.form_input[column.kind])
        else:
            write_answer(ws, row, 1, answer, t.f.form_input[column.kind])
        ws.data_validation(row, 1, row, 1, validation(t, column))
        if column.required:
            criteria = f"=LEN({xl_rowcol_to_cell(row, 1)})=0"
            ws.conditional_format(
                row, 1, row, 1, {"type": "formula", "criteria": criteria, "format": t.f.required}
            )
    t.print_page(ws)


# -- Tables --------------------------------------------------------------------------------


def write_table(t: Template, ws, sheet: Sheet) -> None:
    """A table sheet: title and hint, its headers, then `sheet.rows` prepared rows."""
    header_row = sheet.header_row - 1  # 0-based
    first = sheet.first_data_row - 1
    last = first + sheet.rows - 1
    ncols = len(sheet.columns)
    # Rows above the data keep a locked style (a row style wins over the column style for
    # empty cells); the data columns take unlocked styles.
    widths = [header_width(c) for c in sheet.columns]
    for r in range(header_row + 1):
        ws.set_row(r, None, t.f.locked)
    ws.set_row(0, layout.row_height([], 14), t.f.locked)
    heads = [(c.header, w) for c, w in zip(sheet.columns, widths, strict=True)]
    ws.set_row(header_row, header_height(heads), t.f.locked)
    ws.write_string(0, 0, f"{sheet.title} – {t.partner.name} – bilan {t.year}", t.f.title)
    ws.write_string(
        1,
        0,
        f"{sheet.purpose} En-têtes orange : colonnes obligatoires ; une cellule obligatoire vide "
        "d'une ligne commencée est colorée. Mode d'emploi et définitions : feuille « Lisez-moi ».",
        t.f.hint_line,
    )
    index = {c.key: i for i, c in enumerate(sheet.columns)}
    for col, column in enumerate(sheet.columns):
        ws.set_column(col, col, widths[col], t.f.input[column.kind])
        ws.write_string(header_row, col, column.header, header_format(t, column))
        ws.data_validation(first, col, last, col, validation(t, column, rehousing=sheet.key == "relogements"))
        criteria = _required_criteria(t, sheet, column, index, first, last)
        if criteria:
            ws.conditional_format(
                first, col, last, col, {"type": "formula", "criteria": criteria, "format": t.f.required}
            )
    for offset, cells in enumerate(_prefilled_rows(t.schema, sheet, index)):
        for key, display in cells.items():
            ws.write_string(first + offset, index[key], display, t.f.input["code"])
    ws.freeze_panes(sheet.first_data_row - 1, 1)
    ws.autofilter(header_row, 0, last, ncols - 1)
    ws.repeat_rows(header_row)
    t.print_page(ws)
    if t.filled is not None and t.filled.tables.get(sheet.key):
        for r, row in enumerate(t.filled.tables[sheet.key], start=first):
            for col, column in enumerate(sheet.columns):
                write_answer(ws, r, col, row.get(column.key), t.f.input[column.kind])


def _required_criteria(
    t: Template, sheet: Sheet, column: Column, index: dict[str, int], first: int, last: int
) -> str | None:
    """The formula that highlights an empty required cell of a started row, or None."""
    cell = xl_rowcol_to_cell(first, index[column.key])
    if column.required:
        row_span = f"$A{first + 1}:${xl_col_to_name(len(sheet.columns) - 1)}{first + 1}"
        return f"=AND(COUNTA({row_span})>0,LEN({cell})=0)"
    if column.required_if:
        # Highlighted only when the column it depends on holds one of the codes.
        other, codes = column.required_if
        labels = t.schema.codelists[sheet.column(other).codelist].by_code
        ref = f"${xl_col_to_name(index[other])}{first + 1}"
        tests = [f'{ref}="{labels[code].display}"' for code in codes]
        when = tests[0] if len(tests) == 1 else f"OR({','.join(tests)})"
        return f"=AND({when},LEN({cell})=0)"
    return None


def _prefilled_rows(wb_schema: WorkbookSchema, sheet: Sheet, index: dict[str, int]) -> list[dict[str, str]]:
    """The rows a table sheet comes with, as column key → display: a réservataire's, one per
    bailleur (and per contingent when the sheet has the column); the Demande's, one per commune;
    the reception points', one per point and quarter."""
    lists = {key: sheet.column(key).codelist for key in sheet.prefilled if key in index}
    columns = {key: name for key, name in lists.items() if name in wb_schema.codelists}
    if not columns:
        return []
    displays = [wb_schema.codelists[name].displays for name in columns.values()]
    return [dict(zip(columns, values, strict=True)) for values in itertools.product(*displays)]
