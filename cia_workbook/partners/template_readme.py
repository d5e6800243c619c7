"""The Lisez-moi sheet of a partner's template: the mode d'emploi, readable as a page (the
essentials, short sections, one filled example row of the main table), then the definition of
every column (from `schema.formatdoc`, as in the format documentation).
"""

from __future__ import annotations

from babel.dates import format_date

from cia_workbook.partners import sheet_layout as layout
from cia_workbook.partners.template_sheets import (
    LOCALE,
    README_TABLE_SIZE,
    Template,
    header_format,
    number,
)
from cia_workbook.partners.workbook_formats import TextRows
from cia_workbook.render.typography import fr
from cia_workbook.schema import formatdoc
from cia_workbook.schema.sheets import Sheet

# Columns of the Lisez-moi sheet (sheet, header, definition, requirement, allowed values,
# example): one landscape A4 page wide at full size with the narrow margins.
README_WIDTHS = (14, 23, 38, 17, 31, 20)
DEFINITION_HEADERS = (
    "Feuille",
    "Colonne (en-tête)",
    "Définition",
    "Obligatoire",
    "Valeurs autorisées",
    "Exemple",
)
# A key of the essentials spans the first two columns, its value the others.
KEY_COLUMNS = 2

HOW_TO_FILL = (
    "Cellules orange : obligatoires ; elles restent orange tant qu'elles sont vides (dans un tableau, "
    "dès que la ligne est commencée). En-têtes orange : colonnes obligatoires ; en-têtes bleus : facultatives.",
    "Colonnes à liste : choisissez la valeur dans le menu déroulant de la cellule ; une bulle d'aide "
    "rappelle la définition de chaque colonne.",
    "Dates au format JJ/MM/AAAA (par exemple 15/03/{year}) ; nombres sans texte ni unité "
    "(14500 et non « 14 500 € »).",
    "Jamais de nom, d'adresse ni de numéro de sécurité sociale : une référence de dossier suffit.",
    "Ne renommez pas les feuilles, ne déplacez pas et ne supprimez pas de colonnes, ne modifiez pas les "
    "en-têtes : la structure est protégée (sans mot de passe) pour que le fichier soit lu sans erreur.",
    "Enregistrez au format .xlsx (ou .ods avec LibreOffice) et envoyez le fichier {to}. Toutes les valeurs "
    "sont contrôlées à la réception : s'il y a lieu, vous recevrez une copie annotée de votre fichier avec la "
    "liste des corrections.",
)
PASTING = (
    "Collez uniquement les valeurs, colonne par colonne dans l'ordre des en-têtes (Excel : Collage "
    "spécial > Valeurs ; LibreOffice : Édition > Collage spécial > Coller seulement le texte, les "
    "nombres ou les dates) : les menus déroulants et les contrôles restent en place.",
    "Dans une colonne à liste, une valeur collée doit s'écrire exactement comme dans la colonne "
    "« Valeurs autorisées » du tableau des définitions ci-dessous.",
    "Pour ajouter des lignes, insérez-les à l'intérieur du tableau (clic droit sur un numéro de ligne "
    "> Insérer des lignes) : les menus et les contrôles s'étendent aux nouvelles lignes. N'écrivez "
    "pas sous la dernière ligne préparée.",
)


def write_readme(t: Template, ws, sheet: Sheet) -> None:
    """The mode d'emploi, readable as a page: the essentials, short sections, one filled
    example row of the main table, then the definition of every column."""
    rows = TextRows(ws, README_WIDTHS, t.f)

    def section(title: str) -> None:
        ws.set_row(rows.row, 8)  # a gap before each section
        rows.row += 1
        ws.write_string(rows.row, 0, fr(title), t.f.section)
        ws.set_row(rows.row, layout.row_height([(title, sum(README_WIDTHS))], 12, True))
        rows.row += 1

    campaign = t.convention.campaign
    deadline = format_date(campaign.deadline_for(t.year), format="long", locale=LOCALE)
    epci = t.convention.epci.name
    address = campaign.contact_email
    title = f"Bilan {t.year} de la convention intercommunale d'attribution – {t.partner.name}"
    rows.para(title, t.f.title, size=14, bold=True)
    rows.para(
        f"{epci} évalue chaque année la « {t.convention.info.title} ». Ce fichier recueille vos données de "
        f"l'année {t.year} ; elles entrent dans le bilan présenté à la commission de coordination "
        "puis à la Conférence intercommunale du logement."
    )
    section("L'essentiel")
    rows.pair("Année évaluée", f"{t.year}, du 1er janvier au 31 décembre", KEY_COLUMNS)
    rows.pair("Date limite de retour", deadline, KEY_COLUMNS)
    rows.pair(
        "Envoi du fichier",
        f"par courriel à {address}" if address else "par courriel à l'agglomération",
        KEY_COLUMNS,
    )
    service = campaign.contact_service or epci
    rows.pair("Questions", f"{service} – {address}" if address else service, KEY_COLUMNS)

    inputs = formatdoc.input_sheets(t.schema)
    section("Les feuilles à remplir")
    for sheet_ in inputs:
        where = ""
        if sheet_.layout == "table":
            last = sheet_.first_data_row + sheet_.rows - 1
            where = (
                f" Lignes {sheet_.first_data_row} à {number(last)} ({number(sheet_.rows)} lignes "
                "préparées, d'autres peuvent être insérées)."
            )
        rows.pair(sheet_.title, f"{sheet_.purpose}{where}", KEY_COLUMNS)
    if any(s.layout == "synthese" for s in t.schema.sheets):
        rows.pair(
            "Synthèse (rien à saisir)",
            "Vos taux calculés en direct face aux cibles de l'année, à partir de la feuille « Attributions ». "
            "Indicative : l'agglomération recalcule tous les indicateurs à partir de vos lignes.",
            KEY_COLUMNS,
        )

    section("Comment remplir")
    to = f"à {address}" if address else "à l'agglomération"
    for text in HOW_TO_FILL:
        rows.para(f"•  {text.format(year=t.year, to=to)}")
    tables = [s for s in inputs if s.layout == "table"]
    if tables:
        section("Coller un export de votre logiciel")
        for text in PASTING:
            rows.para(f"•  {text}")
        section(f"Exemple : une ligne remplie de la feuille « {tables[0].title} »")
        rows.row = _example(t, ws, tables[0], rows.row)

    section("Définition de chaque colonne")
    _definitions(t, ws, inputs, rows.row)
    t.print_page(ws)


def _example(t: Template, ws, table: Sheet, row: int) -> int:
    """One filled row of `table` as the partner will type it, its headers above its values,
    cut into lines of the Lisez-moi's columns (read left to right, then the next line)."""
    widths = README_WIDTHS
    columns = list(table.columns)
    for start in range(0, len(columns), len(widths)):
        chunk = columns[start : start + len(widths)]
        heads = [c.header for c in chunk]
        values = [t.schema.example(c) for c in chunk]
        for col, column in enumerate(chunk):
            ws.write_string(row, col, column.header, header_format(t, column))
            ws.write_string(row + 1, col, values[col], t.f.table_cell)
        ws.set_row(row, layout.row_height(zip(heads, widths, strict=False), bold=True))
        ws.set_row(row + 1, layout.row_height(zip(values, widths, strict=False)))
        row += 2
    return row


def _definitions(t: Template, ws, inputs: list[Sheet], row: int) -> None:
    """The table of every column of the sheets to fill, its header repeated on each printed page."""
    widths, size = README_WIDTHS, README_TABLE_SIZE
    for col, text in enumerate(DEFINITION_HEADERS):
        ws.write_string(row, col, text, t.f.small_header)
    ws.set_row(row, layout.row_height(zip(DEFINITION_HEADERS, widths, strict=True), size, bold=True))
    ws.repeat_rows(row)
    row += 1
    for sheet in inputs:
        for column in sheet.columns:
            # (the header as the sheet spells it, so that a partner finds it again)
            cells = (
                sheet.title,
                column.header,
                fr(column.definition),
                fr(formatdoc.requirement(column)),
                fr(formatdoc.allowed_values(column, t.schema)),
                t.schema.example(column),
            )
            for col, text in enumerate(cells):
                ws.write_string(row, col, text, t.f.small_cell)
            ws.set_row(row, layout.row_height(zip(cells, widths, strict=True), size))
            row += 1
