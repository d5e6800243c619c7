"""Test helper: campaigns built in memory from rows written in the test (no file, no reader)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from cia_workbook.intake.model import Campaign, Identity, ReturnFile, Table
from cia_workbook.schema import sheets as schema
from cia_workbook.schema.findings import finding

SHEET_TITLES = {"attributions": "Attributions", "patrimoine": "Patrimoine", "contingent": "Contingent"}


def table(key: str, rows: list[dict[str, Any]], first_row: int = 4) -> Table:
    """A columnar Table from row dicts; missing keys become None, rows numbered from `first_row`."""
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    return Table.of(
        key,
        SHEET_TITLES.get(key, key),
        list(range(first_row, first_row + len(rows))),
        {k: [row.get(k) for row in rows] for k in keys},
    )


def return_file(
    partner_id: str, kind: str, year: int, tables: dict[str, list[dict]], errors: int = 0, name: str = ""
) -> ReturnFile:
    name = name or f"{partner_id}-{year}.xlsx"
    findings = [
        finding(
            "CELLULE_OBLIGATOIRE", name, "Attributions", f"B{4 + i}", column="Date de décision CAL", when=""
        )
        for i in range(errors)
    ]
    return ReturnFile(
        path=Path("forms") / str(year) / name,
        sha256=hashlib.sha256(name.encode()).hexdigest(),
        size=1000,
        modified=dt.datetime(year + 1, 2, 15, 10, 30),
        identity=Identity("cia-workbook", schema.SCHEMA_VERSION, "test", partner_id, kind, year),
        tables={k: table(k, rows) for k, rows in tables.items()},
        findings=findings,
        reader="test",
    )


def campaign(year: int, returns: list[ReturnFile], missing: list[str] = (), superseded=None) -> Campaign:
    return Campaign(
        year=year,
        files=list(returns),
        used={rf.partner_id: rf for rf in returns},
        superseded=superseded or {},
        missing=list(missing),
    )


def attribution(year: int, n: int = 0, **values: Any) -> dict[str, Any]:
    """One household row with sensible defaults: a lease signed in the year, outside QPV."""
    row = {
        "reference": f"REF-{year}-{n:05d}",
        "date_cal": dt.date(year, 3, 10),
        "date_bail": dt.date(year, 4, 1),
        "suite": "BAIL_SIGNE",
        "commune": "30007",
        "qpv": "HORS_QPV",
        "zone_locale": "NON",
        "contingent": "PROPRE",
        "quartile": "2",
        "categorie": "AUCUNE",
        "typologie": "T3",
        "taille_menage": 2,
        "ressources": 15000.0,
        "nb_adultes": 2,
        "nb_14_plus": 2,
        "nb_moins_14": 0,
        "age_titulaire": 40,
        "emploi": "EMPLOI",
        "mutation": "NON",
        "logement_recent": "NON",
    }
    row.update(values)
    if row["suite"] != "BAIL_SIGNE" and "date_bail" not in values:
        row["date_bail"] = None
    return row
