"""Rendering stage: the bilan's data and the validated rows as the consolidated workbook of the year.

One sheet per indicator table (numbers kept as numbers, native Excel charts), then the rows of
every validated return with their source (file, sheet, row). Written with xlsxwriter row
after row (constant-memory mode beyond CONSTANT_MEMORY_ROWS rows), so that large campaigns stay cheap.
Beyond DATA_SHEET_MAX_ROWS attribution rows, the detailed rows go to CSV files beside the workbook
(`write_data_csvs`) and the « Données » sheets say where they are.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cia_workbook.consolidate import Bilan, IndicatorTable
from cia_workbook.convention import Convention
from cia_workbook.excel import MAX_CELL_TEXT, fit_cell
from cia_workbook.fileio import write_atomic
from cia_workbook.model import Campaign, ReturnFile
from cia_workbook.schema import ATTRIBUTIONS, PATRIMOINE, RELOGEMENTS, Column, Sheet, schema_for

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


def data_sets(convention: Convention, year: int) -> list[tuple[str, str, Sheet]]:
    """(table key, « Données » sheet title, the returns' sheet of the schema) of every detailed
    data set, in order."""
    contingent = schema_for(convention, "reservataire", year).sheet("contingent")
    return [
        ("attributions", DATA_SHEET, ATTRIBUTIONS),
        ("patrimoine", "Données patrimoine", PATRIMOINE),
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
    labels = {
        name: {c.code: c.label for c in codelist.codes}
        for name, codelist in schema_for(convention, "bailleur", campaign.year).codelists.items()
    }
    names = {p.id: p.name for p in convention.partners}
    for key, title, sheet in data_sets(convention, campaign.year):
        if key == "relogements" and not bilan.rehousing:
            continue
        if key in csvs:
            count = sum(len(rf.tables[key]) for rf in usable.values() if key in rf.tables)
            _csv_note_sheet(wb, fmt, title, sheet.title, count, csvs[key])
        else:
            _data_sheet(wb, fmt, title, sheet.columns, usable, key, names, labels)
    wb.close()


def _rehousing_tables(bilan: Bilan) -> list[IndicatorTable]:
    """The charter's progress and criteria (year and cumulated), when the convention has a charter."""
    if bilan.rehousing is None:
        return []
    from cia_workbook.relogement import criteria_table, progress_table

    r = bilan.rehousing
    return [progress_table(r), criteria_table(r, cumulative=False), criteria_table(r, cumulative=True)]


def _csv_note_sheet(wb, fmt: dict, name: str, source: str, rows: int, csv_name: str) -> None:
    from cia_workbook.frformat import integer

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


def write_data_csvs(
    convention: Convention,
    campaign: Campaign,
    targets: dict[str, Path],
    rendered: Callable[[ReturnFile, str], bytes | None] | None = None,
) -> list[Path]:
    """Every validated row of each table key of `targets` with its source, one CSV per table,
    in one pass over the usable returns.

    UTF-8 with a byte-order mark (Excel then reads the accents), « ; » between fields, decimal
    comma, dates as dd/mm/yyyy, coded values as their label; partner text is neutralised
    against formulas. Written column by column, then row by row.

    `rendered(return, key)` gives the lines of a return already rendered elsewhere (by a worker),
    or None: those are rendered here. Every file is written atomically: an error leaves none of
    them half-written.
    """
    from contextlib import ExitStack

    from cia_workbook.fileio import atomic_path

    renderer = CsvRenderer(convention, campaign.year)
    with ExitStack() as stack:
        files = {}
        for key, path in targets.items():
            files[key] = stack.enter_context(open(stack.enter_context(atomic_path(Path(path))), "wb"))
            files[key].write(renderer.header(key).encode("utf-8-sig"))
        for pid, rf in campaign.usable().items():
            for key, fh in files.items():
                lines = rendered(rf, key) if rendered is not None else None
                fh.write(lines if lines is not None else renderer.rows(pid, rf, key).encode("utf-8"))
    return [Path(p) for p in targets.values()]


class CsvRenderer:
    """The CSV text of the detailed rows (see `write_data_csvs`), return by return: a header
    line per table key, then each return's rows, so that parts rendered apart (by several
    workers, in any order) are joined into the same bytes."""

    def __init__(self, convention: Convention, year: int):
        self.columns = {key: sheet.columns for key, _title, sheet in data_sets(convention, year)}
        self.labels = {
            name: {c.code: _field(c.label) for c in codelist.codes}
            for name, codelist in schema_for(convention, "bailleur", year).codelists.items()
        }
        self.names = {p.id: p.name for p in convention.partners}
        # Dates, counts and codes repeat across the whole campaign: each distinct value of a
        # column is written once (Babel's format_date costs 20 µs a call).
        self.written: dict[tuple[str, str], dict[Any, str]] = {}

    def header(self, key: str) -> str:
        return ";".join(_field(h) for h in (*SOURCE_HEADERS, *(c.header for c in self.columns[key]))) + "\r\n"

    def _by_value(self, tag: tuple[str, str], values: list, convert) -> list[str]:
        fields = self.written.setdefault(tag, {None: ""})
        for v in set(values).difference(fields):
            fields[v] = convert(v)
        return list(map(fields.__getitem__, values))

    def _fields(self, key: str, col, values: list) -> list[str]:
        """The CSV field of each value of `values`, values of column `col` of table `key`."""
        tag = (key, col.key)
        if col.kind == "date":
            return self._by_value(tag, values, _date_field)
        if col.kind == "decimal":
            # The CSV's number notation for a French Excel (not a display format: no thousands
            # separator, every digit kept).
            return ["" if v is None else repr(v).replace(".", ",") for v in values]
        if col.kind == "integer":
            return self._by_value(tag, values, str)
        if col.codelist or col.kind in ("code", "yesno"):
            known = self.labels.get(col.codelist or "oui_non", {})
            return self._by_value(tag, values, lambda v, known=known: known.get(v) or _field(str(v)))
        return _text_fields(values)

    def rows(self, pid: str, rf: ReturnFile, key: str) -> str:
        """The rows of table `key` of one return, each line ended by CR LF ("" without rows)."""
        table = rf.tables.get(key)
        if table is None or not table.rows:
            return ""
        n = len(table.rows)
        empty = [None] * n
        # A column loaded from the cache as its distinct values and an index per row (see
        # cache._Columns.keyed) is rendered value by value, then spread over its rows.
        keyed = getattr(table.columns, "keyed", None)
        # The csv module's quoting rules (a field holding ; " CR or LF is quoted), applied once
        # per field and joined by hand: twice as fast as csv.writer on 12 million fields.
        out_columns = [
            [_field(rf.name)] * n,
            [_field(self.names.get(pid, pid))] * n,
            [_field(table.sheet_title)] * n if not table.more else list(map(_field, table.sheet_titles())),
            list(map(str, table.rows)),
        ]
        for col in self.columns[key]:
            parts = keyed(col.key) if keyed is not None else None
            if parts is None:
                out_columns.append(self._fields(key, col, table.columns.get(col.key) or empty))
            else:
                distinct, positions = parts
                out_columns.append(list(map(self._fields(key, col, distinct).__getitem__, positions)))
        return "\r\n".join(map(";".join, zip(*out_columns, strict=True))) + "\r\n"


def _date_field(v: Any) -> str:
    if isinstance(v, dt.date):
        from babel.dates import format_date

        return format_date(v, format="dd/MM/yyyy", locale="fr_FR")
    return _field(str(v))


_QUOTED = re.compile(r'[;"\r\n]')


def _field(text: str) -> str:
    """One CSV field: as a cell of the spreadsheet opening it can hold it, neutralised against
    formulas, quoted when it holds ; " CR or LF."""
    text = _neutral(fit_cell(text))
    if _QUOTED.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


# A field needing quoting: one holding ; " or CR (LF is counted apart).
_QUOTE_ANYWHERE = re.compile(r'[;"\r]')


def _text_fields(values: list[Any]) -> list[str]:
    """`_field` of a whole text column; when no field needs care (the usual case, checked at
    once over the joined column) the texts are written as they are."""
    if set(map(type, values)) == {str}:
        texts = values
    else:
        texts = ["" if v is None else v if v.__class__ is str else str(v) for v in values]
    joined = "\n".join(texts)
    if (
        joined.count("\n") == max(len(texts) - 1, 0)
        and not _QUOTE_ANYWHERE.search(joined)
        and max(map(len, texts), default=0) <= MAX_CELL_TEXT
    ):
        # No line of the joined column starts with a formula trigger (substring searches).
        if not joined.startswith(FORMULA_TRIGGERS) and not any("\n" + t in joined for t in FORMULA_TRIGGERS):
            return list(texts)
    return ["" if v is None else _field(str(v)) for v in values]


def _neutral(text: str) -> str:
    """Partner text that a spreadsheet would take for a formula, made plain text."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


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
    if kind in ("count", "number", "rate", "target") and isinstance(value, int | float):
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
    usable: dict,
    sheet_key: str,
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
    i = 1
    offset = len(SOURCE_HEADERS)
    for pid, rf in usable.items():
        table = rf.tables.get(sheet_key)
        if table is None or not table.rows:
            continue
        n = len(table.rows)
        empty = [None] * n
        values = [table.columns.get(c.key) or empty for c in columns]
        writers = [_column_writer(ws, fmt, c, labels.get(c.codelist or "", {})) for c in columns]
        partner = names.get(pid, pid)
        for k, (row_number, sheet) in enumerate(zip(table.rows, table.sheet_titles(), strict=True)):
            ws.write_string(i, 0, rf.name)
            ws.write_string(i, 1, partner)
            ws.write_string(i, 2, sheet)
            ws.write_number(i, 3, row_number)
            for j, (write, column) in enumerate(zip(writers, values, strict=True), start=offset):
                value = column[k]
                if value is not None:
                    write(i, j, value)
            i += 1
    if i > 1:
        ws.autofilter(0, 0, i - 1, len(headers) - 1)


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
