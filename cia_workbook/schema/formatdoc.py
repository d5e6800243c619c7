"""Documentation of the return format, generated from the schema: `docs/format.md` (the Alès
example), the `format-<year>.md` and Table Schemas that `templates` writes beside a working
folder's templates, and the column table of every template's Lisez-moi sheet share the wording
built here.

Regenerate the committed documentation with:

    python -m cia_workbook.schema.formatdoc > docs/format.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cia_workbook.convention.settings import Convention, load_convention
from cia_workbook.fileio import write_text_atomic
from cia_workbook.schema import sheets as schema
from cia_workbook.schema.columns import Column, Sheet, WorkbookSchema

REGENERATE_COMMAND = "python -m cia_workbook.schema.formatdoc > docs/format.md"
# The Table Schema specification (Frictionless), the convention of schema.data.gouv.fr.
TABLE_SCHEMA_PROFILE = "https://frictionlessdata.io/schemas/table-schema.json"
# Dates as the templates show them and partners type them (a strptime pattern, as the spec allows).
TABLE_SCHEMA_DATE_FORMAT = "%d/%m/%Y"

KIND_LABELS = {
    "text": "Texte",
    "integer": "Nombre entier",
    "decimal": "Nombre",
    "date": "Date (JJ/MM/AAAA)",
    "code": "Liste",
    "yesno": "Oui / Non",
}

# Lists longer than this are described rather than spelled out (72 communes would drown the
# table); the dropdown in the workbook still offers every value.
INLINE_LIST_MAX = 8

# How a long list is named for a reader; other long lists fall back to a generic wording.
_LONG_LIST_WORDING = {
    "commune": "liste des communes de l'EPCI",
}

PARTNER_KIND_TITLES = {
    "bailleur": "Classeur des bailleurs",
    "reservataire": "Classeur des réservataires",
    "operateur": "Classeur de l'opérateur de relogement",
}


def kind_label(column: Column) -> str:
    return KIND_LABELS[column.kind]


def requirement(column: Column) -> str:
    """'Obligatoire', 'Obligatoire si …' or 'Facultatif', as a partner reads it."""
    if column.required:
        return "Obligatoire"
    if column.required_when:
        return f"Obligatoire {column.required_when}"
    return "Facultatif"


def _bounds(column: Column) -> str:
    def fmt(value: float) -> str:
        return f"{value:,.0f}".replace(",", "\u202f") if value == int(value) else str(value)

    if column.minimum is not None and column.maximum is not None:
        return f"de {fmt(column.minimum)} à {fmt(column.maximum)}"
    if column.minimum is not None:
        return f"{fmt(column.minimum)} ou plus"
    if column.maximum is not None:
        return f"{fmt(column.maximum)} au plus"
    return ""


def allowed_values(column: Column, wb_schema: WorkbookSchema) -> str:
    """The values a column accepts, in French: the list itself when short, a description when long."""
    if column.codelist:
        displays = wb_schema.codelists[column.codelist].displays
        if len(displays) <= INLINE_LIST_MAX:
            return " ; ".join(f"« {d} »" for d in displays)
        name = _LONG_LIST_WORDING.get(column.codelist, "liste")
        return f"{name} ({len(displays)} valeurs, menu déroulant), par exemple « {displays[0]} »"
    if column.kind in ("integer", "decimal"):
        unit = "nombre entier" if column.kind == "integer" else "nombre"
        return " ".join(p for p in (unit, _bounds(column)) if p) + ", sans texte ni unité"
    if column.kind == "date":
        return "date JJ/MM/AAAA"
    return "texte libre"


def input_sheets(wb_schema: WorkbookSchema) -> list[Sheet]:
    """The sheets a partner fills (forms and tables), in workbook order."""
    return [s for s in wb_schema.sheets if s.layout in ("form", "table")]


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _layout_sentence(sheet: Sheet) -> str:
    if sheet.layout == "form":
        return (
            f"Formulaire : une question par ligne à partir de la ligne {schema.FORM_FIRST_ROW}, "
            "le libellé en colonne A, la réponse en colonne B."
        )
    if sheet.layout == "table":
        return (
            f"Tableau : en-têtes en ligne {sheet.header_row} à partir de la colonne A, une ligne par "
            f"enregistrement à partir de la ligne {sheet.first_data_row} ; {sheet.rows} lignes préparées "
            "(insérer des lignes à l'intérieur du tableau pour en ajouter)."
        )
    if sheet.layout == "synthese":
        return "Feuille calculée par des formules : rien à saisir."
    return "Mode d'emploi : rien à saisir."


def format_doc_name(year: int) -> str:
    return f"format-{year}.md"


def table_schema_name(sheet_key: str, year: int) -> str:
    return f"schema-{sheet_key.replace('_', '-')}-{year}.json"


def render_format_doc(convention: Convention, year: int, folder: bool = False) -> str:
    """The French Markdown documentation of every partner workbook of `year`: the repository's
    example (`docs/format.md`), or with `folder` the one `templates` writes beside a working
    folder's templates, which names the Table Schema of each table written with it."""
    geo = convention.geography(year)
    if folder:
        notice = [
            f"<!-- Écrit par « cia-workbook templates » pour l'année {year}, à partir de la convention du dossier de",
            "     travail : ne pas modifier à la main, la commande le réécrit. -->",
        ]
    else:
        notice = [
            "<!-- Fichier généré à partir du schéma (cia_workbook/schema.py) : ne pas modifier à la main.",
            f"     Pour le régénérer : {REGENERATE_COMMAND} -->",
        ]
    out: list[str] = [
        "# Format des classeurs de retour",
        "",
        *notice,
        "",
        f"Convention : {convention.info.title} ({convention.info.id}). Version du schéma : "
        f"{schema.SCHEMA_VERSION}. Listes de l'année {year} (géographie prioritaire : {geo.label}) ; "
        "les listes qui dépendent de l'année (QPV, cibles) sont celles en vigueur l'année évaluée.",
        "",
        *_earlier_versions(convention, year),
        "Chaque partenaire reçoit un classeur Excel (.xlsx) à son nom. Il peut le remplir dans Excel "
        "ou LibreOffice et le renvoyer au format .xlsx ou .ods. Les valeurs des colonnes « Liste » "
        "se choisissent dans un menu déroulant ; une valeur collée doit s'écrire exactement comme "
        "dans la liste (majuscules et accents sans importance). Les dates s'écrivent JJ/MM/AAAA, "
        "les nombres sans texte ni unité.",
        "",
    ]
    kinds = ["bailleur", "reservataire"] + (["operateur"] if convention.operators else [])
    charter = convention.rehousing.partners if convention.rehousing else []
    for kind in kinds:
        # The bailleurs' section shows the rehousing sheet as a charter partner receives it.
        partner = _shown_partner(convention, kind, charter)
        # The réservataires' section shows the Contingent sheet of one that declares several.
        several = [p for p in convention.reservataires if len(p.contingents) >= 2]
        if kind == "reservataire" and several:
            partner = several[0].id
        wb_schema = schema.schema_for(convention, kind, year, partner)
        out += [f"## {PARTNER_KIND_TITLES[kind]}", ""]
        out.append("Feuilles, dans l'ordre : " + ", ".join(f"« {t} »" for t in wb_schema.sheet_titles) + ".")
        out.append("")
        for sheet in wb_schema.sheets:
            out += [f"### Feuille « {sheet.title} »", "", sheet.purpose, "", _layout_sentence(sheet), ""]
            if sheet.key == "relogements" and kind != "operateur":
                names = ", ".join(convention.partners_by_id[pid].name for pid in charter)
                out += [
                    f"Feuille présente seulement dans les classeurs des partenaires de la charte de relogement : {names}.",
                    "",
                ]
            if sheet.key == "lieux_accueil":
                names = ", ".join(
                    f"{p.name} ({convention.partners_by_id[p.partner].name})"
                    for p in convention.reception_points
                )
                out += [
                    "Feuille présente seulement dans les classeurs des partenaires qui tiennent un lieu d'accueil, "
                    f"ses lignes pré-remplies pour leurs lieux : {names}.",
                    "",
                ]
            if sheet.key == "contingent" and kind == "reservataire" and several:
                names = ", ".join(f"« {p.name} »" for p in several)
                out += [
                    "Colonne « Contingent » présente seulement dans les classeurs des réservataires qui déclarent "
                    f"plusieurs contingents ({names}), avec leurs seuls contingents ; les autres ont une ligne par bailleur.",
                    "",
                ]
            if sheet.required and sheet.layout in ("form", "table"):
                out += ["Feuille obligatoire : un classeur sans cette feuille est refusé.", ""]
            if not sheet.columns:
                continue
            out += [
                "| Colonne | Définition | Type | Valeurs autorisées | Obligatoire | Exemple |",
                "|---|---|---|---|---|---|",
            ]
            for column in sheet.columns:
                cells = (
                    column.header,
                    column.definition,
                    kind_label(column),
                    allowed_values(column, wb_schema),
                    requirement(column),
                    wb_schema.example(column),
                )
                out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
            out.append("")
    if folder:
        out += _table_schema_section(convention, year)
    out += [
        "## Identification du modèle",
        "",
        f"Chaque classeur porte son identification dans la feuille très masquée « {schema.ID_SHEET} » "
        "(clé en colonne A, valeur en colonne B, dans cet ordre) : "
        + ", ".join(f"`{k}`" for k in schema.ID_KEYS)
        + f". `modele` vaut « {schema.TEMPLATE_MARKER} », `annee` est écrite comme un nombre. "
        "Les mêmes valeurs sont reprises dans les noms définis "
        + ", ".join(f"`CIA_{k.upper()}`" for k in schema.ID_KEYS)
        + " et dans les propriétés personnalisées du document (mêmes clés). Les listes des menus "
        f"déroulants sont dans la feuille très masquée « {schema.LISTS_SHEET} », une colonne par liste.",
        "",
    ]
    return "\n".join(out)


def table_sheets(convention: Convention, year: int) -> list[tuple[WorkbookSchema, Sheet]]:
    """Every table sheet of the year's workbooks, once, with the workbook schema it belongs to
    (the rehousing sheet as a charter partner receives it)."""
    out: dict[str, tuple[WorkbookSchema, Sheet]] = {}
    charter = convention.rehousing.partners if convention.rehousing else []
    for kind in ("bailleur", "reservataire", "operateur"):
        partner = _shown_partner(convention, kind, charter)
        if kind == "operateur" and partner is None:
            continue
        wb_schema = schema.schema_for(convention, kind, year, partner)
        for sheet in wb_schema.sheets:
            if sheet.layout == "table":
                out.setdefault(sheet.key, (wb_schema, sheet))
    return list(out.values())


def _shown_partner(convention: Convention, kind: str, charter: list[str]) -> str | None:
    """The partner whose workbook documents a kind: one of the charter (the rehousing sheet),
    else one running a reception point (the « Lieux d'accueil » sheet), else none."""
    kind_of = {p.id: p.kind for p in convention.partners}
    return next((pid for pid in charter if kind_of[pid] == kind), None) or next(
        (p.partner for p in convention.reception_points if kind_of[p.partner] == kind), None
    )


def _table_schema_section(convention: Convention, year: int) -> list[str]:
    lines = [
        "## Schémas des tableaux (Table Schema)",
        "",
        "Pour un export produit par un logiciel de gestion, chaque tableau est aussi décrit au format Table Schema "
        f"(spécification Frictionless, celle de schema.data.gouv.fr : {TABLE_SCHEMA_PROFILE}), à côté de ce fichier. "
        "Un champ porte le nom stable de la colonne (`name`), son en-tête dans le classeur (`title`), son type, "
        "ses valeurs autorisées (`enum` : les libellés des menus déroulants de l'année) et ses bornes. Les lignes "
        "exportées se collent ensuite dans le classeur, valeurs seulement, sous les en-têtes de la feuille.",
        "",
        "| Feuille | Fichier |",
        "|---|---|",
    ]
    for _wb, sheet in table_sheets(convention, year):
        lines.append(f"| {_cell(sheet.title)} | `{table_schema_name(sheet.key, year)}` |")
    return [*lines, ""]


_TABLE_SCHEMA_TYPES = {"text": "string", "integer": "integer", "decimal": "number", "date": "date",
                       "code": "string", "yesno": "boolean"}  # fmt: skip


def table_schema(convention: Convention, wb_schema: WorkbookSchema, sheet: Sheet) -> dict:
    """The Table Schema (Frictionless) of a table sheet of the year: one field per column."""
    fields = []
    for column in sheet.columns:
        field: dict = {
            "name": column.key,
            "title": column.header,
            "description": column.definition + (f" {requirement(column)}." if column.required_when else ""),
            "type": _TABLE_SCHEMA_TYPES[column.kind],
        }
        example = wb_schema.example(column)
        if example and column.kind in ("integer", "decimal"):
            # As a program writes it: no group separator, a decimal point.
            example = "".join(example.split()).replace("\u202f", "").replace(",", ".")
        if example:
            field["example"] = example
        constraints: dict = {}
        if column.required:
            constraints["required"] = True
        if column.kind == "date":
            field["format"] = TABLE_SCHEMA_DATE_FORMAT
        elif column.kind == "yesno":
            codes = wb_schema.codelists[column.codelist or "oui_non"].by_code
            field["trueValues"] = [codes["OUI"].display]
            field["falseValues"] = [codes["NON"].display]
        elif column.codelist:
            constraints["enum"] = wb_schema.codelists[column.codelist].displays
        if column.kind in ("integer", "decimal"):
            cast = int if column.kind == "integer" else float
            if column.minimum is not None:
                constraints["minimum"] = cast(column.minimum)
            if column.maximum is not None:
                constraints["maximum"] = cast(column.maximum)
        if constraints:
            field["constraints"] = constraints
        fields.append(field)
    info = convention.info
    return {
        "$schema": TABLE_SCHEMA_PROFILE,
        "name": f"cia-{sheet.key}",
        "title": f"{sheet.title} – bilan {wb_schema.year} de la CIA ({convention.epci.name})",
        "description": (
            f"{sheet.purpose} Feuille « {sheet.title} » des classeurs de retour de la « {info.title} » "
            f"({info.id}), en-têtes en ligne {sheet.header_row}, données à partir de la ligne "
            f"{sheet.first_data_row}. Listes de l'année {wb_schema.year}."
        ),
        "countryCode": "FR",
        "version": schema.SCHEMA_VERSION,
        "contributors": [{"title": convention.epci.name, "role": "author"}],
        "missingValues": [""],
        "fields": fields,
    }


def write_format_files(convention: Convention, year: int, outdir: Path) -> list[Path]:
    """`format-<year>.md` and the Table Schema of each table (`schema-<table>-<year>.json`) of the
    year's workbooks, written atomically into `outdir` (beside the templates)."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = [
        write_text_atomic(outdir / format_doc_name(year), render_format_doc(convention, year, folder=True))
    ]
    for wb_schema, sheet in table_sheets(convention, year):
        text = json.dumps(table_schema(convention, wb_schema, sheet), ensure_ascii=False, indent=2) + "\n"
        paths.append(write_text_atomic(outdir / table_schema_name(sheet.key, year), text))
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Écrit la documentation du format des classeurs (Markdown).")
    parser.add_argument(
        "--year",
        type=int,
        default=None,
        help="Année des listes (par défaut : dernière année de la convention).",
    )
    args = parser.parse_args(argv)
    convention = load_convention(None)
    year = args.year if args.year is not None else convention.info.last_year
    sys.stdout.write(render_format_doc(convention, year))
    return 0


def _earlier_versions(convention: Convention, year: int) -> list[str]:
    """What becomes of a return made on an earlier template that is still read."""
    if not schema.READABLE_VERSIONS:
        return []
    sheets = [schema.ATTRIBUTIONS, schema.schema_for(convention, "reservataire", year).sheet("contingent")]
    changed = [
        f"« {c.header} » (feuille « {sheet.title} », version {c.since})"
        for sheet in sheets
        for c in sheet.columns
        if schema.older_than(schema.READABLE_VERSIONS[0], c.since)
    ]
    versions = ", ".join(schema.READABLE_VERSIONS)
    return [
        f"Les classeurs faits sur un modèle antérieur (version {versions}) restent lus : les colonnes ajoutées ou "
        "redéfinies depuis y sont lues selon leur ancienne définition, et le fichier reçoit un avertissement "
        f"MODELE_ANCIEN qui dit ce que cela change. Colonnes concernées : {', '.join(changed)}.",
        "",
    ]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
