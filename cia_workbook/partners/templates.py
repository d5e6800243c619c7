"""First stage of the yearly cycle: the Excel workbook each partner receives and fills.

Every sheet, column and list comes from `schema.schema_for`; this module only lays them out
for people (dropdowns, highlighted required cells, protection, print set-up) and records the
template's identification where Excel and LibreOffice keep it (very hidden sheet, defined
names, custom document properties). Cached formula values are left at 0: the tool never
trusts them and recomputes everything from the rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xlsxwriter
import xlsxwriter.worksheet
from babel.dates import format_date
from babel.numbers import format_decimal
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from cia_workbook.consolidate import Rate, objective_rates
from cia_workbook.convention.settings import OBJECTIVE_CODES, Convention, Partner
from cia_workbook.fileio import atomic_path
from cia_workbook.intake.model import Campaign, ReturnFile
from cia_workbook.partners import sheet_layout as layout
from cia_workbook.partners.synthese import objective_formulas, range_names
from cia_workbook.render.typography import fr
from cia_workbook.schema import formatdoc
from cia_workbook.schema import sheets as schema
from cia_workbook.schema.sheets import DECLARED_CONTINGENTS, Column, Sheet, WorkbookSchema


@dataclass
class FilledReturn:
    """What one partner types into its workbook: rows per table sheet, answers per form."""

    partner: Partner
    year: int
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Human description of the mistakes injected, for the demo's console output.
    mistakes: list[str] = field(default_factory=list)


LOCALE = "fr_FR"

# A rehousing starts years before the campaign (the programme runs over the whole convention):
# its dates may go back to this many years before the convention's first year.
REHOUSING_DATE_MARGIN = 3

# Synthèse layout, read back by the tests: one row per objective from SYNTHESE_FIRST_ROW.
SYNTHESE_HEADER_ROW = 4
SYNTHESE_FIRST_ROW = 5
SYNTHESE_COLUMNS = (
    "objectif", "numerateur", "univers", "taux", "cible", "ecart", "situation",
    "quartile_inconnu", "taux_precedent", "numerateur_precedent", "univers_precedent", "cible_precedente",
)  # fmt: skip

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

# Columns of the Lisez-moi sheet (sheet, header, definition, requirement, allowed values,
# example): one landscape A4 page wide at full size with the narrow margins below.
README_WIDTHS = (14, 23, 38, 17, 31, 20)
# The definitions table of the Lisez-moi: a reference, set a point smaller than the text.
README_TABLE_SIZE = 10
# Print margins in inches (left, right, top, bottom): narrow, as in Excel's « Étroites ».
MARGINS = (0.4, 0.4, 0.6, 0.6)
# A header wraps on at most this many lines: a column whose header needs more is widened (up to
# half as wide again), the row then takes the height of the tallest header.
HEADER_MAX_LINES = 4
HEADER_HEIGHT_MIN = 30
# Columns of a form sheet: question, answer, example.
FORM_WIDTHS = (60, 55, 40)


class _Worksheet(xlsxwriter.worksheet.Worksheet):
    """A worksheet that writes formulas as given.

    The templates' formulas use only functions of Excel 2007 (COUNTIFS, SUMPRODUCT, DATE, IF,
    AND, OR, LEN, COUNTA): none needs xlsxwriter's rewriting of newer functions ("_xlfn."),
    whose thirty-odd regular expressions per formula took a third of the writing time.
    """

    def _prepare_formula(self, formula, expand_future_functions=False):
        formula = formula.removeprefix("{").removeprefix("=").removesuffix("}")
        return formula


class _Workbook(xlsxwriter.Workbook):
    worksheet_class = _Worksheet


class MissingContact(ValueError):
    """The convention gives no address for the returns: no template can say where to send it."""


def require_contact(convention: Convention) -> str:
    """The address partners send their files to (« courriel_contact »); MissingContact without one."""
    address = convention.campaign.contact_email.strip()
    if not address:
        raise MissingContact(
            "La convention n'indique pas l'adresse à laquelle les partenaires renvoient leurs fichiers : "
            "renseignez « courriel_contact » dans la section [campagne] du fichier de la convention "
            '(par exemple courriel_contact = "habitat@mon-epci.fr"), puis relancez la commande. '
            "Chaque modèle affiche cette adresse."
        )
    return address


def template_filename(partner: Partner, year: int) -> str:
    """Stable file name without spaces or accents, e.g. cia-2024-logis-cevenols.xlsx."""
    return schema.template_file_name(partner.id, year)


def write_templates(
    convention: Convention,
    year: int,
    outdir: Path,
    partner_ids=None,
    previous: Campaign | None = None,
) -> list[Path]:
    """Write one template per partner (all, or those of `partner_ids`) into `outdir`, with the
    format documentation of the year beside them (`formatdoc.write_format_files`: format-<year>.md
    and the Table Schema of each table); MissingContact when the convention gives no return address.
    Returns the templates' paths."""
    require_contact(convention)
    wanted = set(partner_ids) if partner_ids else None
    previous_returns = previous.usable() if previous is not None else {}
    previous_excluded = previous.excluded() if previous is not None else {}
    paths = []
    for partner in convention.partners:
        if wanted is not None and partner.id not in wanted:
            continue
        path = Path(outdir) / template_filename(partner, year)
        paths.append(
            write_template(
                convention,
                partner,
                year,
                path,
                previous_returns.get(partner.id),
                previous_excluded=previous_excluded.get(partner.id),
                previous_missing=previous is not None and partner.id in previous.missing,
            )
        )
    if convention.collects_demand and wanted is None:
        # The EPCI's own Demande workbook (demand.py), filled by the officer from the SNE.
        from cia_workbook.schema.sheets import demand_file_name, demand_partner

        path = Path(outdir) / demand_file_name(year)
        paths.append(write_template(convention, demand_partner(convention), year, path))
    formatdoc.write_format_files(convention, year, outdir)
    return paths


def write_template(
    convention: Convention,
    partner: Partner,
    year: int,
    path: Path,
    previous_return: ReturnFile | None = None,
    filled: FilledReturn | None = None,
    previous_excluded: ReturnFile | None = None,
    previous_missing: bool = False,
) -> Path:
    """Write the workbook of one partner for `year` atomically at `path`.

    The Synthèse compares with the partner's validated return of the year before
    (`previous_return`); without one, it says why: that return was excluded for errors
    (`previous_excluded`) or never received (`previous_missing`).

    `filled` (demo and benchmarks only) writes a partner's answers into the data rows and forms
    as the template is built: thousands of filled returns in seconds, where opening each
    template again with openpyxl would take minutes.

    MissingContact when the convention gives no return address (every template shows it).
    """
    require_contact(convention)
    wb_schema = schema.schema_for(convention, partner.kind, year, partner.id)
    with atomic_path(Path(path)) as tmp:
        builder = _Builder(convention, partner, year, wb_schema, previous_return, filled)
        builder.previous_excluded, builder.previous_missing = previous_excluded, previous_missing
        builder.write(tmp)
    return Path(path)


def previous_rates(
    previous_return: ReturnFile | None, convention: Convention, year: int
) -> dict[str, Rate] | None:
    """The previous year's objectives of a bailleur from its validated return, or None."""
    if previous_return is None or "attributions" not in previous_return.tables:
        return None
    return objective_rates(convention, previous_return.tables["attributions"], year - 1)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value: float) -> str:
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


class _Builder:
    def __init__(self, convention, partner, year, wb_schema: WorkbookSchema, previous_return, filled=None):
        self.filled = filled
        self.convention = convention
        self.partner = partner
        self.year = year
        self.schema = wb_schema
        self.previous_return = previous_return
        self.previous_excluded: ReturnFile | None = None
        self.previous_missing = False
        self.list_ranges: dict[str, str] = {}

    # -- Workbook ------------------------------------------------------------------------

    def write(self, path: Path) -> None:
        wb = _Workbook(str(path), dict(WORKBOOK_OPTIONS))
        self.wb = wb
        self._formats()
        info = self.convention.info
        wb.set_properties(
            {
                "title": f"Bilan {self.year} de la CIA – {self.partner.name}",
                "subject": info.title,
                "author": self.convention.epci.name,
                "company": self.convention.epci.name,
                "comments": "Modèle généré par cia-workbook : ne pas renommer les feuilles ni modifier les en-têtes.",
            }
        )
        sheets = {}
        for sheet in self.schema.sheets:
            sheets[sheet.key] = wb.add_worksheet(sheet.title)
        lists_ws = wb.add_worksheet(schema.LISTS_SHEET)
        id_ws = wb.add_worksheet(schema.ID_SHEET)
        self._lists(lists_ws)
        self._identification(id_ws)
        for sheet in self.schema.sheets:
            ws = sheets[sheet.key]
            {
                "readme": self._readme,
                "form": self._form,
                "table": self._table,
                "synthese": self._synthese,
            }[sheet.layout](ws, sheet)
            ws.protect("", PROTECTION)
        sheets[self.schema.sheets[0].key].activate()
        wb.close()

    def _formats(self) -> None:
        add = self.wb.add_format
        base = {"font_name": "Calibri", "font_size": 11, "valign": "top"}
        self.f_title = add({**base, "bold": True, "font_size": 14})
        self.f_hint = add({**base, "italic": True, "font_color": "#595959", "text_wrap": True})
        # Hints of table sheets overflow to the right instead of wrapping in a narrow column A
        # (no merged cells on sheets the reader parses).
        self.f_hint_line = add({**base, "italic": True, "font_color": "#595959"})
        self.f_locked = add({**base})
        self.f_wrap = add({**base, "text_wrap": True})
        self.f_bold = add({**base, "bold": True, "text_wrap": True})
        self.f_section = add({**base, "bold": True, "font_size": 12, "font_color": "#1F4E78"})
        header = {
            **base,
            "bold": True,
            "text_wrap": True,
            "border": 1,
            "align": "center",
            "valign": "vcenter",
        }
        self.f_header_req = add({**header, "bg_color": REQUIRED_HEADER_FILL})
        self.f_header_opt = add({**header, "bg_color": OPTIONAL_HEADER_FILL})
        self.f_table_cell = add({**base, "text_wrap": True, "border": 1})
        small = {**base, "font_size": README_TABLE_SIZE, "text_wrap": True, "border": 1}
        self.f_small_cell = add(small)
        self.f_small_header = add({**small, "bold": True, "align": "center", "valign": "vcenter",
                                   "bg_color": OPTIONAL_HEADER_FILL})  # fmt: skip
        self.f_prefilled = add({**base, "bg_color": PREFILLED_FILL, "border": 1, "align": "left"})
        self.f_required = add({"bg_color": REQUIRED_FILL})
        self.f_percent = add({**base, "num_format": "0.0 %", "border": 1})
        self.f_points = add({**base, "num_format": "+0.0;-0.0;0.0", "border": 1})
        self.f_count = add({**base, "num_format": "0", "border": 1})
        self.f_example = add({**base, "italic": True, "font_color": "#7F7F7F", "text_wrap": True})
        unlocked = {**base, "locked": False}
        self.f_input = {
            "text": add({**unlocked, "num_format": "@"}),
            "integer": add({**unlocked, "num_format": "0"}),
            "decimal": add({**unlocked, "num_format": "#,##0.00"}),
            "date": add({**unlocked, "num_format": DATE_FORMAT, "align": "left"}),
            "code": add({**unlocked}),
            "yesno": add({**unlocked}),
        }
        self.f_form_input = {
            kind: add({**unlocked, "num_format": fmt, "border": 1, "text_wrap": True})
            for kind, fmt in (
                ("text", "@"), ("integer", "0"), ("decimal", "#,##0.00"),
                ("date", DATE_FORMAT), ("code", "General"), ("yesno", "General"),
            )
        }  # fmt: skip

    # -- Hidden sheets -------------------------------------------------------------------

    def _lists(self, ws) -> None:
        """One column per code list; dropdowns reference these ranges (no inline lists)."""
        for col, codelist in enumerate(self.schema.codelists.values()):
            ws.write_string(0, col, codelist.name)
            for row, display in enumerate(codelist.displays, start=1):
                ws.write_string(row, col, display)
            letter = xl_col_to_name(col)
            self.list_ranges[codelist.name] = (
                f"='{schema.LISTS_SHEET}'!${letter}$2:${letter}${len(codelist.displays) + 1}"
            )
            ws.set_column(col, col, 30)
        ws.protect("", PROTECTION)
        ws.very_hidden()

    def identity_values(self) -> dict[str, str | int]:
        return {
            "modele": schema.TEMPLATE_MARKER,
            "version_schema": schema.SCHEMA_VERSION,
            "convention": self.convention.info.id,
            "partenaire": self.partner.id,
            "type": self.partner.kind,
            "annee": self.year,  # a number, in the sheet, the defined name and the property
        }

    def _identification(self, ws) -> None:
        values = self.identity_values()
        for row, key in enumerate(schema.ID_KEYS):
            ws.write_string(row, 0, key)
            value = values[key]
            if isinstance(value, int):
                ws.write_number(row, 1, value)
            else:
                ws.write_string(row, 1, value)
            self.wb.define_name(f"CIA_{key.upper()}", f"='{schema.ID_SHEET}'!$B${row + 1}")
            self.wb.set_custom_property(key, value)
        ws.set_column(0, 1, 40)
        ws.protect("", PROTECTION)
        ws.very_hidden()

    # -- Validations -----------------------------------------------------------------------

    def _validation(self, column: Column) -> dict | None:
        """French input and error messages; codes from the hidden list sheet."""
        title = _clip(column.header, 32)
        definition = column.definition
        if column.codelist:
            return {
                "validate": "list",
                "source": self.list_ranges[column.codelist],
                "input_title": title,
                "input_message": _clip(f"{definition} Choisissez dans la liste.", 255),
                "error_title": "Valeur hors liste",
                "error_message": _clip(
                    f"Cette valeur n'est pas dans la liste de la colonne « {column.header} ». "
                    "Choisissez une valeur du menu déroulant (voir la feuille Lisez-moi).",
                    255,
                ),
                "error_type": "stop",
            }
        if column.kind in ("integer", "decimal"):
            low = column.minimum if column.minimum is not None else -1e9
            high = column.maximum if column.maximum is not None else 1e9
            what = "un nombre entier" if column.kind == "integer" else "un nombre"
            bounds = f"entre {_number(low)} et {_number(high)}"
            return {
                "validate": column.kind,
                "criteria": "between",
                "minimum": int(low) if column.kind == "integer" else low,
                "maximum": int(high) if column.kind == "integer" else high,
                "input_title": title,
                "input_message": _clip(f"{definition} Saisissez {what} {bounds}.", 255),
                "error_title": "Nombre attendu",
                "error_message": _clip(
                    f"Saisissez {what} {bounds}, sans texte ni unité (par exemple {column.example}).", 255
                ),
                "error_type": "stop",
            }
        if column.kind == "date":
            low, high = dt.date(self.year - 5, 1, 1), dt.date(self.year + 2, 12, 31)
            return {
                "validate": "date",
                "criteria": "between",
                "minimum": low,
                "maximum": high,
                "input_title": title,
                "input_message": _clip(f"{definition} Date au format JJ/MM/AAAA.", 255),
                "error_title": "Date attendue",
                "error_message": _clip(
                    f"Saisissez une date au format JJ/MM/AAAA (par exemple {column.example}), "
                    f"entre le {low:%d/%m/%Y} et le {high:%d/%m/%Y}.",
                    255,
                ),
                "error_type": "stop",
            }
        return {
            "validate": "any",
            "input_title": title,
            "input_message": _clip(definition, 255),
        }

    # -- Readme ----------------------------------------------------------------------------

    def _readme(self, ws, sheet: Sheet) -> None:
        """The mode d'emploi, readable as a page: the essentials, short sections, one filled
        example row of the main table, then the definition of every column."""
        widths = README_WIDTHS
        for col, width in enumerate(widths):
            ws.set_column(col, col, width)
        last_col = len(widths) - 1
        total = sum(widths)
        row = 0

        def para(text: str, fmt=None, first: int = 0, size: float = 11, bold: bool = False) -> None:
            nonlocal row
            text = fr(text)
            ws.merge_range(row, first, row, last_col, text, fmt or self.f_wrap)
            ws.set_row(row, layout.row_height([(text, sum(widths[first:]))], size, bold))
            row += 1

        def section(title: str) -> None:
            nonlocal row
            ws.set_row(row, 8)  # a gap before each section
            row += 1
            ws.write_string(row, 0, fr(title), self.f_section)
            ws.set_row(row, layout.row_height([(title, total)], 12, True))
            row += 1

        def pair(key: str, value: str) -> None:
            """A key in A:B, its value in C:F."""
            nonlocal row
            key, value = fr(key), fr(value)
            ws.merge_range(row, 0, row, 1, key, self.f_bold)
            ws.merge_range(row, 2, row, last_col, value, self.f_wrap)
            ws.set_row(row, max(layout.row_height([(key, sum(widths[:2]))], bold=True),
                                layout.row_height([(value, sum(widths[2:]))])))  # fmt: skip
            row += 1

        campaign = self.convention.campaign
        deadline = format_date(campaign.deadline_for(self.year), format="long", locale=LOCALE)
        info = self.convention.info
        epci = self.convention.epci.name
        address = campaign.contact_email
        title = f"Bilan {self.year} de la convention intercommunale d'attribution – {self.partner.name}"
        para(title, self.f_title, size=14, bold=True)
        para(
            f"{epci} évalue chaque année la « {info.title} ». Ce fichier recueille vos données de "
            f"l'année {self.year} ; elles entrent dans le bilan présenté à la commission de coordination "
            "puis à la Conférence intercommunale du logement."
        )
        section("L'essentiel")
        pair("Année évaluée", f"{self.year}, du 1er janvier au 31 décembre")
        pair("Date limite de retour", deadline)
        pair("Envoi du fichier", f"par courriel à {address}" if address else "par courriel à l'agglomération")
        service = campaign.contact_service or epci
        pair("Questions", f"{service} – {address}" if address else service)

        inputs = formatdoc.input_sheets(self.schema)
        section("Les feuilles à remplir")
        for sheet_ in inputs:
            where = ""
            if sheet_.layout == "table":
                last = sheet_.first_data_row + sheet_.rows - 1
                where = (
                    f" Lignes {sheet_.first_data_row} à {_number(last)} ({_number(sheet_.rows)} lignes "
                    "préparées, d'autres peuvent être insérées)."
                )
            pair(sheet_.title, f"{sheet_.purpose}{where}")
        if any(s.layout == "synthese" for s in self.schema.sheets):
            pair(
                "Synthèse (rien à saisir)",
                "Vos taux calculés en direct face aux cibles de l'année, à partir de la feuille « Attributions ». "
                "Indicative : l'agglomération recalcule tous les indicateurs à partir de vos lignes.",
            )

        section("Comment remplir")
        for text in (
            "Cellules orange : obligatoires ; elles restent orange tant qu'elles sont vides (dans un tableau, "
            "dès que la ligne est commencée). En-têtes orange : colonnes obligatoires ; en-têtes bleus : facultatives.",
            "Colonnes à liste : choisissez la valeur dans le menu déroulant de la cellule ; une bulle d'aide "
            "rappelle la définition de chaque colonne.",
            f"Dates au format JJ/MM/AAAA (par exemple 15/03/{self.year}) ; nombres sans texte ni unité "
            "(14500 et non « 14 500 € »).",
            "Jamais de nom, d'adresse ni de numéro de sécurité sociale : une référence de dossier suffit.",
            "Ne renommez pas les feuilles, ne déplacez pas et ne supprimez pas de colonnes, ne modifiez pas les "
            "en-têtes : la structure est protégée (sans mot de passe) pour que le fichier soit lu sans erreur.",
            "Enregistrez au format .xlsx (ou .ods avec LibreOffice) et envoyez le fichier "
            + (f"à {address}." if address else "à l'agglomération.")
            + " Toutes les valeurs sont contrôlées à la réception : s'il y a lieu, vous recevrez une copie "
            "annotée de votre fichier avec la liste des corrections.",
        ):
            para(f"•  {text}")
        tables = [s for s in inputs if s.layout == "table"]
        if tables:
            section("Coller un export de votre logiciel")
            for text in (
                "Collez uniquement les valeurs, colonne par colonne dans l'ordre des en-têtes (Excel : Collage "
                "spécial > Valeurs ; LibreOffice : Édition > Collage spécial > Coller seulement le texte, les "
                "nombres ou les dates) : les menus déroulants et les contrôles restent en place.",
                "Dans une colonne à liste, une valeur collée doit s'écrire exactement comme dans la colonne "
                "« Valeurs autorisées » du tableau des définitions ci-dessous.",
                "Pour ajouter des lignes, insérez-les à l'intérieur du tableau (clic droit sur un numéro de ligne "
                "> Insérer des lignes) : les menus et les contrôles s'étendent aux nouvelles lignes. N'écrivez "
                "pas sous la dernière ligne préparée.",
            ):
                para(f"•  {text}")
            section(f"Exemple : une ligne remplie de la feuille « {tables[0].title} »")
            row = self._readme_example(ws, tables[0], row)

        section("Définition de chaque colonne")
        headers = (
            "Feuille",
            "Colonne (en-tête)",
            "Définition",
            "Obligatoire",
            "Valeurs autorisées",
            "Exemple",
        )
        size = README_TABLE_SIZE
        for col, text in enumerate(headers):
            ws.write_string(row, col, text, self.f_small_header)
        ws.set_row(row, layout.row_height(zip(headers, widths, strict=True), size, bold=True))
        ws.repeat_rows(row)
        row += 1
        for sheet_ in inputs:
            for column in sheet_.columns:
                # (the header as the sheet spells it, so that a partner finds it again)
                cells = (
                    sheet_.title,
                    column.header,
                    fr(column.definition),
                    fr(formatdoc.requirement(column)),
                    fr(formatdoc.allowed_values(column, self.schema)),
                    self.schema.example(column),
                )
                for col, text in enumerate(cells):
                    ws.write_string(row, col, text, self.f_small_cell)
                ws.set_row(row, layout.row_height(zip(cells, widths, strict=True), size))
                row += 1
        self._print_page(ws)

    def _readme_example(self, ws, table: Sheet, row: int) -> int:
        """One filled row of `table` as the partner will type it, its headers above its values,
        cut into lines of the Lisez-moi's columns (read left to right, then the next line)."""
        widths = README_WIDTHS
        columns = list(table.columns)
        for start in range(0, len(columns), len(widths)):
            chunk = columns[start : start + len(widths)]
            heads = [c.header for c in chunk]
            values = [self.schema.example(c) for c in chunk]
            for col, column in enumerate(chunk):
                required = column.required or bool(column.required_when)
                ws.write_string(row, col, column.header, self.f_header_req if required else self.f_header_opt)
                ws.write_string(row + 1, col, values[col], self.f_table_cell)
            ws.set_row(row, layout.row_height(zip(heads, widths, strict=False), bold=True))
            ws.set_row(row + 1, layout.row_height(zip(values, widths, strict=False)))
            row += 2
        return row

    # -- Forms ------------------------------------------------------------------------------

    def _form(self, ws, sheet: Sheet) -> None:
        widths = FORM_WIDTHS
        for col, width in enumerate(widths):
            ws.set_column(col, col, width)
        ws.write_string(0, 0, f"{sheet.title} – {self.partner.name} – bilan {self.year}", self.f_title)
        ws.set_row(0, layout.row_height([], 14))
        hint = f"{sheet.purpose} Réponses en colonne B ; cellules orange : obligatoires."
        ws.write_string(1, 0, hint, self.f_hint)
        ws.set_row(1, layout.row_height([(hint, widths[0])]))
        prefilled = {}
        if sheet.key == "identification":
            prefilled = {"partenaire": self.partner.name, "annee": self.year}
        for column in sheet.columns:
            row = sheet.form_row(column.key) - 1
            ws.write_string(row, 0, column.header, self.f_bold)
            example = self.schema.example(column)
            shown = f"Exemple : {example}" if example and column.key not in prefilled else ""
            if shown:
                ws.write_string(row, 2, shown, self.f_example)
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
                    ws.write_number(row, 1, value, self.f_prefilled)
                else:
                    ws.write_string(row, 1, value, self.f_prefilled)
                continue
            answer = self.filled.forms.get(sheet.key, {}).get(column.key) if self.filled else None
            if answer is None or answer == "":
                ws.write_blank(row, 1, None, self.f_form_input[column.kind])
            else:
                self._answer(ws, row, 1, answer, self.f_form_input[column.kind])
            validation = self._validation(column)
            if validation:
                ws.data_validation(row, 1, row, 1, validation)
            if column.required:
                cell = xl_rowcol_to_cell(row, 1)
                ws.conditional_format(
                    row,
                    1,
                    row,
                    1,
                    {"type": "formula", "criteria": f"=LEN({cell})=0", "format": self.f_required},
                )
        self._print_page(ws)

    # -- Tables -----------------------------------------------------------------------------

    def _table(self, ws, sheet: Sheet) -> None:
        header_row = sheet.header_row - 1  # 0-based
        first = sheet.first_data_row - 1
        last = first + sheet.rows - 1
        ncols = len(sheet.columns)
        last_letter = xl_col_to_name(ncols - 1)
        # Rows above the data keep a locked style (a row style wins over the column style for
        # empty cells); the data columns take unlocked styles.
        widths = [header_width(c) for c in sheet.columns]
        for r in range(header_row + 1):
            ws.set_row(r, None, self.f_locked)
        ws.set_row(0, layout.row_height([], 14), self.f_locked)
        heads = [(c.header, w) for c, w in zip(sheet.columns, widths, strict=True)]
        ws.set_row(header_row, header_height(heads), self.f_locked)
        ws.write_string(0, 0, f"{sheet.title} – {self.partner.name} – bilan {self.year}", self.f_title)
        ws.write_string(
            1,
            0,
            f"{sheet.purpose} En-têtes orange : colonnes obligatoires ; une cellule obligatoire vide "
            "d'une ligne commencée est colorée. Mode d'emploi et définitions : feuille « Lisez-moi ».",
            self.f_hint_line,
        )
        index = {c.key: i for i, c in enumerate(sheet.columns)}
        for col, column in enumerate(sheet.columns):
            ws.set_column(col, col, widths[col], self.f_input[column.kind])
            required = column.required or bool(column.required_when)
            ws.write_string(
                header_row, col, column.header, self.f_header_req if required else self.f_header_opt
            )
            validation = self._validation(column)
            if validation and column.kind == "date" and sheet.key == "relogements":
                first_year = self.convention.info.first_year - REHOUSING_DATE_MARGIN
                validation["minimum"] = min(validation["minimum"], dt.date(first_year, 1, 1))
                validation["error_message"] = _clip(
                    f"Saisissez une date au format JJ/MM/AAAA (par exemple {column.example}), "
                    f"entre le {validation['minimum']:%d/%m/%Y} et le {validation['maximum']:%d/%m/%Y}.",
                    255,
                )
            if validation:
                ws.data_validation(first, col, last, col, validation)
            cell = xl_rowcol_to_cell(first, col)
            if column.required:
                row_span = f"$A{first + 1}:${last_letter}{first + 1}"
                criteria = f"=AND(COUNTA({row_span})>0,LEN({cell})=0)"
            elif column.required_if:
                # Highlighted only when the column it depends on holds one of the codes.
                other, codes = column.required_if
                labels = self.schema.codelists[sheet.column(other).codelist].by_code
                ref = f"${xl_col_to_name(index[other])}{first + 1}"
                tests = [f'{ref}="{labels[code].display}"' for code in codes]
                when = tests[0] if len(tests) == 1 else f"OR({','.join(tests)})"
                criteria = f"=AND({when},LEN({cell})=0)"
            else:
                continue
            ws.conditional_format(
                first, col, last, col, {"type": "formula", "criteria": criteria, "format": self.f_required}
            )
        if sheet.key == "contingent":
            # One row per bailleur, or per bailleur and contingent when the sheet has the column.
            declared = self.schema.codelists.get(DECLARED_CONTINGENTS) if "contingent" in index else None
            mine = declared.displays if declared is not None else [None]
            pairs = [(name, c) for name in self.schema.codelists["bailleur"].displays for c in mine]
            for offset, (name, contingent) in enumerate(pairs):
                ws.write_string(first + offset, index["bailleur"], name, self.f_input["code"])
                if contingent is not None:
                    ws.write_string(first + offset, index["contingent"], contingent, self.f_input["code"])
        if sheet.key == "demande":  # one row per commune
            for offset, name in enumerate(self.schema.codelists["commune"].displays):
                ws.write_string(first + offset, index["commune"], name, self.f_input["code"])
        if sheet.key == "lieux_accueil":  # one row per reception point and quarter
            quarters = self.schema.codelists["trimestre"].displays
            for offset, (point, quarter) in enumerate(
                (p, q) for p in self.schema.codelists["lieu_accueil"].displays for q in quarters
            ):
                ws.write_string(first + offset, index["lieu"], point, self.f_input["code"])
                ws.write_string(first + offset, index["trimestre"], quarter, self.f_input["code"])
        ws.freeze_panes(sheet.first_data_row - 1, 1)
        ws.autofilter(header_row, 0, last, ncols - 1)
        ws.repeat_rows(header_row)
        self._print_page(ws)
        if self.filled is not None and self.filled.tables.get(sheet.key):
            for r, row in enumerate(self.filled.tables[sheet.key], start=first):
                for col, column in enumerate(sheet.columns):
                    self._answer(ws, r, col, row.get(column.key), self.f_input[column.kind])

    def _print_page(self, ws) -> None:
        """Landscape A4, one page wide, narrow margins, the sheet's name and the page in the footer."""
        ws.set_landscape()
        ws.set_paper(9)
        ws.set_margins(*MARGINS)
        ws.fit_to_pages(1, 0)
        name = self.partner.name.replace("&", "&&")  # « & » starts a code in a footer
        ws.set_footer(f"&L&8{name} – bilan {self.year}&R&8&A – page &P sur &N")

    def _answer(self, ws, row: int, col: int, value, fmt) -> None:
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

    # -- Synthèse ---------------------------------------------------------------------------

    def _synthese(self, ws, sheet: Sheet) -> None:
        year = self.year
        headers = (
            "Objectif",
            f"Numérateur {year}",
            f"Univers {year} (dénominateur)",
            f"Taux {year}",
            f"Cible {year}",
            "Écart (points)",
            "Situation",
            "Dont quartile inconnu (dans l'univers)",
            f"Taux {year - 1}",
            f"Numérateur {year - 1}",
            f"Univers {year - 1}",
            f"Cible {year - 1}",
        )
        widths = [
            max(w, layout.word_width(h, bold=True))
            for w, h in zip((46, 12, 14, 10, 10, 10, 16, 14, 10, 12, 12, 10), headers, strict=True)
        ]
        for col, width in enumerate(widths):
            ws.set_column(col, col, width)
        ws.write_string(0, 0, f"Synthèse {year} – {self.partner.name}", self.f_title)
        ws.set_row(0, layout.row_height([], 14))
        hint = f"{sheet.purpose} Calcul à partir de la feuille « Attributions »."
        ws.merge_range(1, 0, 1, len(widths) - 1, hint, self.f_hint)
        ws.set_row(1, layout.row_height([(hint, sum(widths))]))
        hr = SYNTHESE_HEADER_ROW - 1
        ws.set_row(hr, header_height(list(zip(headers, widths, strict=True))))
        for col, text in enumerate(headers):
            ws.write_string(hr, col, text, self.f_header_opt)
        for name, ref in range_names(self.schema).items():
            self.wb.define_name(name, ref)
        formulas = objective_formulas(self.schema, self.convention, year)
        before = previous_rates(self.previous_return, self.convention, year)
        for i, code in enumerate(OBJECTIVE_CODES):
            r = SYNTHESE_FIRST_ROW - 1 + i
            excel_row = r + 1
            objective = self.convention.objective(code)
            f = formulas[code]
            ws.set_row(r, layout.row_height([(objective.label, widths[0])]))
            ws.write_string(r, 0, objective.label, self.f_table_cell)
            ws.write_formula(r, 1, f.numerator, self.f_count, 0)
            ws.write_formula(r, 2, f.universe, self.f_count, 0)
            ws.write_formula(r, 3, f'=IF(C{excel_row}>0,B{excel_row}/C{excel_row},"")', self.f_percent, "")
            target = self.convention.target(code, year)
            if target is None:
                ws.write_string(r, 4, "", self.f_percent)
            else:
                ws.write_number(r, 4, target / 100, self.f_percent)
            ws.write_formula(
                r,
                5,
                f'=IF(OR(D{excel_row}="",E{excel_row}=""),"",(D{excel_row}-E{excel_row})*100)',
                self.f_points,
                "",
            )
            ws.write_formula(
                r,
                6,
                f'=IF(D{excel_row}="","Pas de données",IF(E{excel_row}="","Sans cible",'
                f'IF(D{excel_row}>=E{excel_row},"Atteint","Non atteint")))',
                self.f_table_cell,
                "Pas de données",
            )
            if f.unknown_quartile:
                ws.write_formula(r, 7, f.unknown_quartile, self.f_count, 0)
            else:
                ws.write_string(r, 7, "sans objet", self.f_table_cell)
            self._previous_cells(ws, r, code, before)
        row = SYNTHESE_FIRST_ROW + len(OBJECTIVE_CODES)
        zones = " et ".join(z.name for z in self.convention.local_zones)
        outside = (
            f"hors QPV et hors zone locale ({zones} : colonne « Zone locale » à « Aucune »)"
            if zones
            else "hors QPV"
        )
        inside = f"en QPV ou dans une zone locale ({zones})" if zones else "en QPV"
        notes = [
            "Définitions (texte de la convention) :",
            f"1. Univers : baux signés en {year} (date de signature du bail dans l'année) pour des logements "
            f"{outside}. Numérateur : ménages du 1er quartile ou relogés "
            "dans le cadre du NPNRU (colonne « Relogé NPNRU », quelle que soit la catégorie, ou catégorie "
            "relogement NPNRU), comptés une seule fois.",
            f"2. Univers : attributions prononcées en {year} (date de décision CAL dans l'année) pour des "
            f"logements {inside}. Numérateur : ménages des quartiles 2, 3 et 4.",
            f"3. Univers : baux signés en {year} sur le contingent propre du bailleur. Numérateur : ménages "
            "d'une catégorie de publics prioritaires.",
            "Les ménages de quartile inconnu restent dans l'univers et ne comptent jamais comme 1er "
            "quartile : renseignez le quartile de chaque ménage.",
        ]
        notes.append(self._previous_note(before is not None))
        for note in notes:
            ws.merge_range(row, 0, row, len(widths) - 1, note, self.f_wrap)
            ws.set_row(row, layout.row_height([(note, sum(widths))]))
            row += 1
        ws.freeze_panes(SYNTHESE_HEADER_ROW, 1)
        self._print_page(ws)

    def _previous_note(self, compared: bool) -> str:
        """What the previous-year columns rest on: which return, or why there is none."""
        last = self.year - 1
        if compared and self.previous_return is not None:
            rf = self.previous_return
            answered = (rf.forms.get("identification") or {}).get("date_reponse")
            when = (
                f", réponse du {format_date(answered, format='dd/MM/yyyy', locale=LOCALE)}"
                if answered
                else ""
            )
            return (
                f"Colonnes {last} : calculées par l'agglomération à partir de votre retour validé de {last} "
                f"({rf.name}{when})."
            )
        if self.previous_excluded is not None:
            return (
                f"Votre retour {last} ({self.previous_excluded.name}) a été écarté pour erreurs : pas de comparaison "
                f"avec {last}. Il n'est compté dans aucun chiffre de {last} tant qu'une version corrigée n'est pas reçue."
            )
        if self.previous_missing:
            return f"Aucun retour reçu de votre part pour {last} : pas de comparaison avec {last}."
        return f"Aucun retour validé pour {last} : pas de comparaison avec l'année précédente."

    def _previous_cells(self, ws, r: int, code: str, before: dict[str, Rate] | None) -> None:
        target = self.convention.target(code, self.year - 1)
        if target is not None:
            ws.write_number(r, 11, target / 100, self.f_percent)
        else:
            ws.write_string(r, 11, "", self.f_table_cell)
        if before is None:
            for col in (8, 9, 10):
                ws.write_string(r, col, "", self.f_table_cell)
            return
        rate = before[code]
        if rate.value is None:
            ws.write_string(r, 8, "", self.f_table_cell)
        else:
            ws.write_number(r, 8, rate.value, self.f_percent)
        ws.write_number(r, 9, rate.numerator, self.f_count)
        ws.write_number(r, 10, rate.denominator, self.f_count)
