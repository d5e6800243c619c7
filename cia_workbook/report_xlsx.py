"""Rendering stage: the bilan's data and the validated rows as the consolidated workbook of the year.

One sheet per indicator table (numbers kept as numbers, native Excel charts), then the rows of
every validated return with their source (file, sheet, row). Written with xlsxwriter row
after row (constant-memory mode beyond CONSTANT_MEMORY_ROWS rows), so that large campaigns stay cheap.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from cia_workbook.consolidate import Bilan, IndicatorTable
from cia_workbook.convention import Convention
from cia_workbook.fileio import write_atomic
from cia_workbook.model import Campaign
from cia_workbook.schema import ATTRIBUTIONS, PATRIMOINE, Column, schema_for

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


def write_consolidation_xlsx(convention: Convention, bilan: Bilan, campaign: Campaign, path: Path) -> Path:
    """Write the consolidated workbook: indicator sheets with charts, then the validated rows."""
    return write_atomic(Path(path), lambda tmp: _write(convention, bilan, campaign, tmp))


def _write(convention: Convention, bilan: Bilan, campaign: Campaign, path: Path) -> None:
    import xlsxwriter

    usable = campaign.usable()
    rows = sum(len(t) for rf in usable.values() for t in rf.tables.values())
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
    for table in bilan.tables:
        _indicator_sheet(wb, fmt, table, _sheet_name(table, used_names))
    # Coded values are written with the label the partner chose in the dropdown.
    labels = {
        name: {c.code: c.label for c in codelist.codes}
        for name, codelist in schema_for(convention, "bailleur", campaign.year).codelists.items()
    }
    contingent = schema_for(convention, "reservataire", campaign.year).sheet("contingent")
    names = {p.id: p.name for p in convention.partners}
    for title, columns, key in (
        (DATA_SHEET, ATTRIBUTIONS.columns, "attributions"),
        ("Données patrimoine", PATRIMOINE.columns, "patrimoine"),
        ("Données contingents", contingent.columns, "contingent"),
    ):
        _data_sheet(wb, fmt, title, columns, usable, key, names, labels)
    wb.close()


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
        ws.write_string(i, j, str(value))


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
        for k, row_number in enumerate(table.rows):
            ws.write_string(i, 0, rf.name)
            ws.write_string(i, 1, partner)
            ws.write_string(i, 2, table.sheet_title)
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
                ws.write_string(i, j, str(value))

        return write_date
    if column.kind in ("integer", "decimal"):
        num_fmt = fmt["count"] if column.kind == "integer" else fmt["decimal"]

        def write_num(i: int, j: int, value: Any) -> None:
            if isinstance(value, int | float):
                ws.write_number(i, j, value, num_fmt)
            else:
                ws.write_string(i, j, str(value))

        return write_num
    if labels:
        return lambda i, j, value: ws.write_string(i, j, labels.get(value, str(value)))
    return lambda i, j, value: ws.write_string(i, j, str(value))
