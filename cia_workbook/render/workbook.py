"""Rendering stage: the bilan's data and the validated rows as the consolidated workbook of the year.

One sheet per indicator table (numbers kept as numbers, native Excel charts), then the rows of
every validated return with their source (file, sheet, row). Written with xlsxwriter row
after row (constant-memory mode beyond CONSTANT_MEMORY_ROWS rows), so that large campaigns stay cheap.
Beyond DATA_SHEET_MAX_ROWS attribution rows, the detailed rows go to CSV files beside the workbook
(`write_data_csvs`) and the « Données » sheets say where they are. The same rows, typed, go to
Parquet files for data people (`write_data_parquet`), whatever the campaign's size; both are
written by polars from the campaign frames (`consolidate.frames.campaign_frame`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from cia_workbook.consolidate import Bilan, IndicatorTable
from cia_workbook.consolidate.frames import FILE, LINE, PARTNER, TITLE, as_kind, as_text, campaign_frame
from cia_workbook.convention.settings import Convention
from cia_workbook.fileio import write_atomic
from cia_workbook.intake.model import Campaign
from cia_workbook.partners.excel import MAX_CELL_TEXT, fit_cell
from cia_workbook.schema.columns import Column, Sheet
from cia_workbook.schema.rehousing import RELOGEMENTS
from cia_workbook.schema.sheets import any_contingent_sheet, schema_for

# Number formats are stored in Excel's neutral notation and shown with the reader's locale:
# "#,##0" displays as « 1 234 » and "0.0%" as « 25,0 % » in a French Excel.
COUNT_FORMAT = "#,##0"
RATE_FORMAT = "0.0%"
TARGET_FORMAT = "0%"
DATE_FORMAT = "dd/mm/yyyy"
DECIMAL_FORMAT = "#,##0.00"

SHEET_NAMES = {
    "synthese": "Synthèse",
    "objectif_hors_qpv_q1": "Obj1 1er quartile hors QPV",
    "objectif_qpv_q234": "Obj2 Quartiles 2-4 en QPV",
    "objectif_publics_prioritaires": "Obj3 Publics prioritaires",
    "prioritaires_contingents": "Prioritaires par contingent",
    "dalo": "DALO",
    "zoom_qpv": "Zoom QPV",
    "zooms": "Zooms secteurs",
    "publics_qpv": "Profil des ménages",
    "refus": "Refus",
    "vacance": "Vacance",
    "mutations": "Mutations",
    "reservataires": "Réservataires",
    "reservataires_ecarts": "Écarts réservataires",
    "qualite": "Qualité des données",
    "communes": "Communes",
    "evolution": "Évolution",
    "registre": "Retours utilisés",
    "exclus": "Retours exclus",
    # Issue 17, items 1 and 4.
    "attention_categories": "Attention par catégorie",
    "attention_contingents": "Attention par contingent",
    "refus_motifs": "Refus par motif",
    "lieux_accueil": "Lieux d'accueil",
    "lieux_accueil_evolution": "Lieux d'accueil évolution",
    "mixite_age": "Mixité QPV âge",
    "mixite_composition": "Mixité QPV composition",
    "mixite_emploi": "Mixité QPV emploi",
    # Demand and tension (consolidate/demand.py)
    "demande_secteurs": "Tension par secteur",
    "demande_typologies": "Typologies demandées",
    "demande_evolution": "Évolution de la tension",
    "demande_communes": "Demande par commune",
}
DATA_SHEET = "Données"
CONSTANT_MEMORY_ROWS = 20_000
SOURCE_HEADERS = ("Fichier", "Partenaire", "Feuille", "Ligne")
# The « Données » sheet copies every validated attribution row with its source: about 24 cells a
# row, and xlsxwriter costs 4 to 5 µs a cell however it is called (66 s for 500,000 rows, seven
# times the reading of every return; 14 s for 100,000). Up to this many rows (the year of the
# largest single territories, about 10,000 attributions) the sheet holds them all; beyond
# (several territories consolidated together), they go to donnees-<year>.csv, written by a
# worker while the workbook is written, which a French Excel opens directly, and the sheet holds
# a note saying where they are and why.
DATA_SHEET_MAX_ROWS = 20_000
# A cell starting with one of these is taken for a formula by spreadsheet programs opening a CSV:
# partner text that starts so gets a leading apostrophe (OWASP, "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_START = "^[" + "".join(f"\\x{ord(c):02x}" for c in FORMULA_TRIGGERS) + "]"  # the same, as a regex


# The table sheets whose rows go to a CSV of their own when the campaign is that large
# (the rehousing rows stay in the workbook: a few hundred households per operation).
CSV_DATA_SETS = {
    "attributions": "donnees-{year}.csv",
    "patrimoine": "donnees-patrimoine-{year}.csv",
    "contingent": "donnees-contingents-{year}.csv",
}


def data_csv_names(year: int) -> dict[str, str]:
    """Table key → name of its CSV beside the workbook, for a campaign `data_in_csv`."""
    return {key: name.format(year=year) for key, name in CSV_DATA_SETS.items()}


def data_parquet_names(year: int, rehousing: bool) -> dict[str, str]:
    """Table key → name of its Parquet file beside the workbook (written for every campaign)."""
    names = {
        key: name.format(year=year).removesuffix(".csv") + ".parquet" for key, name in CSV_DATA_SETS.items()
    }
    return names | ({"relogements": f"donnees-relogements-{year}.parquet"} if rehousing else {})


def data_sets(convention: Convention, year: int) -> list[tuple[str, str, Sheet]]:
    """(table key, « Données » sheet title, the returns' sheet of the schema) of every detailed
    data set, in order."""
    # The convention's own sheets: without local zones, no « Zone locale » column.
    bailleur = schema_for(convention, "bailleur", year)
    # Every réservataire's rows: with the « Contingent » column when one declares several.
    contingent = any_contingent_sheet(convention)
    return [
        ("attributions", DATA_SHEET, bailleur.sheet("attributions")),
        ("patrimoine", "Données patrimoine", bailleur.sheet("patrimoine")),
        ("contingent", "Données contingents", contingent),
        ("relogements", "Données relogements", RELOGEMENTS),
    ]


def attribution_rows(campaign: Campaign) -> int:
    """Validated attribution rows: those the « Données » sheet would list."""
    return sum(
        len(rf.tables["attributions"]) for rf in campaign.usable().values() if "attributions" in rf.tables
    )


def data_in_csv(campaign: Campaign) -> bool:
    """True when the validated attribution rows are too many for the « Données » sheet."""
    return attribution_rows(campaign) > DATA_SHEET_MAX_ROWS


def write_consolidation_xlsx(
    convention: Convention,
    bilan: Bilan,
    campaign: Campaign,
    path: Path,
    data_csv: dict[str, str] | None = None,
) -> Path:
    """Write the consolidated workbook: indicator sheets with charts, then the validated rows.

    With `data_csv` (table key → name of the file `write_data_csvs` wrote beside it), each of
    those « Données » sheets holds a note pointing to its file instead of the rows.
    """
    csvs = dict(data_csv or {})
    return write_atomic(Path(path), lambda tmp: _write(convention, bilan, campaign, tmp, csvs))


def _write(
    convention: Convention, bilan: Bilan, campaign: Campaign, path: Path, csvs: dict[str, str]
) -> None:
    import xlsxwriter

    usable = campaign.usable()
    rows = sum(len(t) for rf in usable.values() for key, t in rf.tables.items() if key not in csvs)
    wb = xlsxwriter.Workbook(
        str(path),
        {
            # Large campaigns are streamed row by row (flat memory); a territory's usual year
            # is faster kept in memory (no temporary file per sheet).
            "constant_memory": rows > CONSTANT_MEMORY_ROWS,
            "in_memory": rows <= CONSTANT_MEMORY_ROWS,
            # Partner text stays text: never turned into a formula, a number or a link.
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    fmt = {
        "title": wb.add_format({"bold": True, "font_size": 13, "font_color": "#1F3A5F"}),
        "note": wb.add_format({"italic": True, "font_size": 9, "font_color": "#404040"}),
        "header": wb.add_format(
            {"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DCE6F1", "border": 1}
        ),
        "count": wb.add_format({"num_format": COUNT_FORMAT}),
        "number": wb.add_format({"num_format": COUNT_FORMAT}),
        "rate": wb.add_format({"num_format": RATE_FORMAT}),
        "ratio": wb.add_format({"num_format": "0.0"}),
        "delta": wb.add_format({"num_format": "+0.0;-0.0;0.0"}),
        "target": wb.add_format({"num_format": TARGET_FORMAT}),
        "date": wb.add_format({"num_format": DATE_FORMAT}),
        "decimal": wb.add_format({"num_format": DECIMAL_FORMAT}),
    }
    wb.set_properties(
        {"title": f"Consolidation {bilan.year} – {bilan.convention_title}", "author": "cia-workbook"}
    )
    used_names: set[str] = set()
    for table in [*bilan.tables, *_rehousing_tables(bilan)]:
        _indicator_sheet(wb, fmt, table, _sheet_name(table, used_names))
    # Coded values are written with the label the partner chose in the dropdown.
    labels = _labels(convention, campaign.year)
    names = {p.id: p.name for p in convention.partners}
    for key, title, sheet in data_sets(convention, campaign.year):
        if key == "relogements" and not bilan.rehousing:
            continue
        if key in csvs:
            count = sum(len(rf.tables[key]) for rf in usable.values() if key in rf.tables)
            _csv_note_sheet(wb, fmt, title, sheet.title, count, csvs[key])
        else:
            _data_sheet(wb, fmt, title, sheet.columns, campaign_frame(campaign, key, sheet), names, labels)
    wb.close()


def _rehousing_tables(bilan: Bilan) -> list[IndicatorTable]:
    """The charter's progress and criteria (year and cumulated), when the convention has a charter."""
    if bilan.rehousing is None:
        return []
    from cia_workbook.consolidate.rehousing_tables import criteria_table, progress_table

    r = bilan.rehousing
    return [progress_table(r), criteria_table(r, cumulative=False), criteria_table(r, cumulative=True)]


def _csv_note_sheet(wb, fmt: dict, name: str, source: str, rows: int, csv_name: str) -> None:
    from cia_workbook.render.frformat import integer

    ws = wb.add_worksheet(name)
    ws.set_column(0, 0, 120)
    ws.write_string(0, 0, f"Lignes validées des feuilles {source}", fmt["title"])
    lines = (
        f"Les {integer(rows)} lignes validées sont dans le fichier « {csv_name} », enregistré à côté de ce classeur.",
        f"Au-delà de {integer(DATA_SHEET_MAX_ROWS)} lignes d'attributions, les lignes détaillées des "
        "retours sont renvoyées vers des fichiers CSV : les recopier ici rendrait le classeur très long "
        "à écrire et à ouvrir.",
        "Chaque ligne y garde sa source (fichier, partenaire, feuille, ligne) ; le fichier s'ouvre directement "
        "dans Excel ou LibreOffice (séparateur point-virgule, virgule décimale).",
        "Tous les indicateurs de ce classeur sont calculés sur l'ensemble de ces lignes.",
    )
    for i, line in enumerate(lines, start=2):
        ws.write_string(i, 0, line)


def data_frames(convention: Convention, campaign: Campaign, keys) -> dict[str, tuple[pl.DataFrame, Sheet]]:
    """Table key → (every validated row of that table with its source, the schema's sheet)."""
    sets = {key: sheet for key, _title, sheet in data_sets(convention, campaign.year)}
    return {key: (campaign_frame(campaign, key, sets[key]), sets[key]) for key in keys}


CSV_SLICE_ROWS = 50_000
PARQUET_ROW_GROUP = 50_000  # rows per row group of the Parquet files
# Rows the streaming engine casts to text at a time for the Parquet files: with its default
# (about 50,000 rows per morsel on each thread) writing a 500,000-row campaign held 145 MB more
# at the peak of the command; with 5,000, 29 MB more, for 0.1 s.
PARQUET_CHUNK_ROWS = 5_000


def write_data_csvs(convention: Convention, campaign: Campaign, targets: dict[str, Path]) -> list[Path]:
    """Every validated row of each table key of `targets` with its source, one CSV per table.

    UTF-8 with a byte-order mark (Excel then reads the accents), « ; » between fields, decimal
    comma, dates as dd/mm/yyyy, coded values as their label; partner text is neutralised
    against formulas. Every file is written atomically: an error leaves none of them half-written.
    """
    from contextlib import ExitStack

    from cia_workbook.fileio import atomic_path

    names = {p.id: p.name for p in convention.partners}
    labels = _labels(convention, campaign.year)
    with ExitStack() as stack:
        for key, path in targets.items():
            frame, sheet = data_frames(convention, campaign, [key])[key]
            out = stack.enter_context(open(stack.enter_context(atomic_path(Path(path))), "wb"))
            # By slices: every field is text, several times the typed rows' memory.
            for i, part in enumerate(frame.iter_slices(CSV_SLICE_ROWS) if frame.height else [frame]):
                _csv_frame(part, sheet.columns, names, labels).write_csv(
                    out,
                    separator=";",
                    line_terminator="\r\n",
                    include_bom=not i,
                    include_header=not i,
                    quote_style="necessary",
                )
    return [Path(p) for p in targets.values()]


def write_data_parquet(convention: Convention, campaign: Campaign, targets: dict[str, Path]) -> list[Path]:
    """The same rows as `write_data_csvs`, typed, for data people: one Parquet file per table,
    columns named by the schema's keys (codes as codes, dates as dates) after the source
    (fichier, partenaire_id, partenaire, feuille, ligne)."""
    from cia_workbook.fileio import atomic_path

    names = {p.id: p.name for p in convention.partners}
    for key, (frame, sheet) in data_frames(convention, campaign, targets).items():
        source = [
            as_text(FILE).alias("fichier"),
            as_text(PARTNER).alias("partenaire_id"),
            _named(names).alias("partenaire"),
            as_text(TITLE).alias("feuille"),
            pl.col(LINE).alias("ligne"),
        ]
        with atomic_path(Path(targets[key])) as tmp:
            # Streamed (the eager writer held some 90 MB more at the peak of a 500,000-row
            # campaign), in small morsels: see PARQUET_CHUNK_ROWS.
            with pl.Config(streaming_chunk_size=PARQUET_CHUNK_ROWS):
                frame.lazy().select(*source, *map(as_kind, sheet.columns)).sink_parquet(
                    tmp, row_group_size=PARQUET_ROW_GROUP
                )
    return [Path(p) for p in targets.values()]


def _labels(convention: Convention, year: int) -> dict[str, dict[str, str]]:
    """Codelist name → code → the label the partner chose in the dropdown."""
    return {
        name: {c.code: c.label for c in codelist.codes}
        for name, codelist in schema_for(convention, "bailleur", year).codelists.items()
    }


def _csv_frame(
    frame: pl.DataFrame, columns: tuple[Column, ...], names: dict[str, str], labels: dict[str, dict[str, str]]
) -> pl.DataFrame:
    """The CSV's fields, one text column per field: the source, then each schema column."""
    frame = _fit_texts(frame)
    fields = [
        _by_value(frame, FILE, _field).alias(SOURCE_HEADERS[0]),
        _by_value(frame, PARTNER, lambda v: _field(names.get(v, v))).alias(SOURCE_HEADERS[1]),
        _by_value(frame, TITLE, _field).alias(SOURCE_HEADERS[2]),
        pl.col(LINE).cast(pl.String).alias(SOURCE_HEADERS[3]),
    ]
    for c in columns:
        x = as_kind(c)
        if c.kind == "date":
            field = x.dt.strftime("%d/%m/%Y")
        elif c.kind == "decimal":
            # The CSV's number notation for a French Excel (not a display format: no thousands
            # separator, every digit kept, as Python writes the number).
            field = _decimal_text(frame[c.key]).str.replace(".", ",", literal=True)
        elif c.kind == "integer":
            field = x.cast(pl.String)
        elif c.codelist or c.kind in ("code", "yesno"):
            known = labels.get(c.codelist or "oui_non", {})
            field = _by_value(frame, c.key, lambda v, known=known: _field(known.get(v, v)))
        else:
            field = _neutral(x)
        fields.append(field.alias(_neutral_text(c.header)))
    return frame.select(fields)


def _named(names: dict[str, str]) -> pl.Expr:
    """Each row's partner by name (its id when the convention does not name it)."""
    return as_text(PARTNER).replace_strict(names, default=as_text(PARTNER))


def _fit_texts(frame: pl.DataFrame) -> pl.DataFrame:
    """Text beyond a cell's limit shortened visibly (rare: looked for over each column at once)."""
    long = [
        name
        for name, dtype in frame.schema.items()
        if dtype in (pl.String, pl.Categorical)
        and (frame[name].cast(pl.String).str.len_chars().max() or 0) > MAX_CELL_TEXT
    ]
    return frame.with_columns(
        pl.col(name).cast(pl.String).map_elements(fit_cell, return_dtype=pl.String) for name in long
    )


def _decimal_text(values: pl.Series) -> pl.Expr:
    """Python's own notation of each number; polars' where they agree (everywhere but below 1e-4
    or from 1e16, where Python writes an exponent)."""
    size = values.abs()
    if ((size < 1e-4) & (size != 0) | (size >= 1e16)).any():
        return pl.lit(values.map_elements(repr, return_dtype=pl.String))
    return pl.col(values.name).cast(pl.String)


def _neutral(text: pl.Expr) -> pl.Expr:
    """Partner text that a spreadsheet would take for a formula, made plain text (OWASP, "CSV
    injection"): a leading apostrophe. Empty text is an empty field."""
    formula = text.str.contains(FORMULA_START)
    return pl.when(text == "").then(None).when(formula).then(pl.lit("'") + text).otherwise(text)


def _neutral_text(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _field(text: str) -> str | None:
    """`_neutral` of one value: None (an empty field) for empty text."""
    return _neutral_text(text) if text else None


def _by_value(frame: pl.DataFrame, name: str, text: Callable[[str], str | None]) -> pl.Expr:
    """Column `name` of `frame` (a source or a coded column: a few distinct values per return)
    as its CSV field, `text` applied once to each distinct value rather than to every row."""
    values = frame.get_column(name).unique().drop_nulls().cast(pl.String).to_list()
    return as_text(name).replace_strict({v: text(v) for v in values}, default=None, return_dtype=pl.String)


def _sheet_name(table: IndicatorTable, used: set[str]) -> str:
    base = SHEET_NAMES.get(table.key, table.key)[:31]
    name, n = base, 2
    while name.lower() in used:
        name = f"{base[:28]} {n}"
        n += 1
    used.add(name.lower())
    return name


def _indicator_sheet(wb, fmt: dict, table: IndicatorTable, name: str) -> None:
    ws = wb.add_worksheet(name)
    ws.write_string(0, 0, table.title, fmt["title"])
    if table.note:
        ws.write_string(1, 0, table.note, fmt["note"])
    header_row = 3
    ws.set_row(header_row, 45)
    for j, col in enumerate(table.columns):
        ws.set_column(j, j, 34 if j == 0 else (66 if col.key == "sha256" else 14))
        ws.write_string(header_row, j, col.label, fmt["header"])
    for i, row in enumerate(table.rows, start=header_row + 1):
        for j, col in enumerate(table.columns):
            _write_cell(ws, fmt, i, j, col.kind, row.get(col.key))
    ws.freeze_panes(header_row + 1, 1)
    if table.chart and table.rows:
        _chart(wb, ws, table, name, header_row)


def _write_cell(ws, fmt: dict, i: int, j: int, kind: str, value: Any) -> None:
    if value is None:
        return
    if kind in ("count", "number", "rate", "target", "ratio", "delta") and isinstance(value, int | float):
        ws.write_number(i, j, value, fmt[kind])
    elif kind == "date" and isinstance(value, dt.date):
        ws.write_datetime(i, j, value, fmt["date"])
    else:
        ws.write_string(i, j, fit_cell(str(value)))


def _chart(wb, ws, table: IndicatorTable, name: str, header_row: int) -> None:
    rate_key, target_key = table.chart
    keys = [c.key for c in table.columns]
    first, last = header_row + 1, header_row + len(table.rows)
    rate_col = keys.index(rate_key)
    chart = wb.add_chart({"type": "column"})
    chart.add_series(
        {
            "name": [name, header_row, rate_col],
            "categories": [name, first, 0, last, 0],
            "values": [name, first, rate_col, last, rate_col],
            "data_labels": {"value": True, "num_format": RATE_FORMAT},
            "fill": {"color": "#2F6690"},
        }
    )
    if target_key:
        target_col = keys.index(target_key)
        line = wb.add_chart({"type": "line"})
        line.add_series(
            {
                "name": [name, header_row, target_col],
                "categories": [name, first, 0, last, 0],
                "values": [name, first, target_col, last, target_col],
                "line": {"color": "#D1495B", "width": 2.25, "dash_type": "dash"},
                "marker": {"type": "none"},
            }
        )
        chart.combine(line)
    chart.set_title({"name": table.chart_title or table.title, "name_font": {"size": 11}})
    chart.set_y_axis({"num_format": "0%", "min": 0, "max": 1})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 760, "height": 360})
    ws.insert_chart(last + 3, 0, chart)


def _data_sheet(
    wb,
    fmt: dict,
    name: str,
    columns: tuple[Column, ...],
    frame: pl.DataFrame,
    names: dict[str, str],
    labels: dict[str, dict[str, str]],
) -> None:
    """Every validated row of one kind of table sheet, with its source (file, sheet, row)."""
    ws = wb.add_worksheet(name)
    headers = [*SOURCE_HEADERS, *(c.header for c in columns)]
    for j, header in enumerate(headers):
        ws.write_string(0, j, header, fmt["header"])
        ws.set_column(j, j, 30 if j == 0 else 14)
    ws.freeze_panes(1, 0)
    source = frame.select(as_text(FILE), _named(names), as_text(TITLE), LINE, *(c.key for c in columns))
    writers = [_column_writer(ws, fmt, c, labels.get(c.codelist or "", {})) for c in columns]
    offset = len(SOURCE_HEADERS)
    i = 0
    for i, (file, partner_name, sheet, row_number, *values) in enumerate(source.iter_rows(), start=1):
        ws.write_string(i, 0, file)
        ws.write_string(i, 1, partner_name)
        ws.write_string(i, 2, sheet)
        ws.write_number(i, 3, row_number)
        for j, (write, value) in enumerate(zip(writers, values, strict=True), start=offset):
            if value is not None:
                write(i, j, value)
    if i:
        ws.autofilter(0, 0, i, len(headers) - 1)


def _column_writer(ws, fmt: dict, column: Column, labels: dict[str, str]):
    """The xlsxwriter call for a schema column: typed numbers and dates, everything else as text."""
    if column.kind == "date":
        date_fmt = fmt["date"]

        def write_date(i: int, j: int, value: Any) -> None:
            if isinstance(value, dt.date):
                ws.write_datetime(i, j, value, date_fmt)
            else:
                ws.write_string(i, j, fit_cell(str(value)))

        return write_date
    if column.kind in ("integer", "decimal"):
        num_fmt = fmt["count"] if column.kind == "integer" else fmt["decimal"]

        def write_num(i: int, j: int, value: Any) -> None:
            if isinstance(value, int | float):
                ws.write_number(i, j, value, num_fmt)
            else:
                ws.write_string(i, j, fit_cell(str(value)))

        return write_num
    # Partner text beyond a cell's limit is shortened visibly (xlsxwriter would cut it in silence).
    if labels:
        return lambda i, j, value: ws.write_string(i, j, labels.get(value) or fit_cell(str(value)))
    return lambda i, j, value: ws.write_string(i, j, fit_cell(str(value)))
