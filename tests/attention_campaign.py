"""Test helper for issue 17 (items 1 and 4): a campaign of two years whose bailleurs' rows are
written by the test, in the partners' own templates.

Logis Cévenols and Habitat du Gard keep their returns, their Attributions rows replaced by the
rows made here and their « Lieux d'accueil » sheets filled with figures made here; the other
bailleurs' returns are removed (missing partners), so that every figure of the bilan comes from
rows the test knows. `expected_*` recompute each indicator from those rows in plain Python.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
from campaign import CONVENTION, return_path

from cia_workbook.schema.sheets import schema_for

YEARS = (2023, 2024)
KEPT = ("logis-cevenols", "habitat-du-gard")
RECEPTION = {  # partner → point → quarter → (received, informed), per year
    2023: {"logis-cevenols": {"ALES_LOGIS_CEVENOLS": [(40, 10), (35, 7), (20, 4), (31, 9)]},
           "habitat-du-gard": {"GRAND_COMBE_HDG": [(12, 2), (15, 6), (9, 1), (14, 3)]}},
    2024: {"logis-cevenols": {"ALES_LOGIS_CEVENOLS": [(52, 20), (47, 18), (28, 12), (44, 25)]},
           "habitat-du-gard": {"GRAND_COMBE_HDG": [(18, 9), (21, 8), (11, 6), (20, 11)]}},
}  # fmt: skip

CATEGORIES = ("DALO", "PDALHPD", "AUCUNE")
EMPLOYMENT = ("CHOMAGE", "EMPLOI", "RETRAITE", "INCONNU", None, "CHOMAGE", "AUTRE")
DISABILITY = ("OUI", "NON", "INCONNU", None, "NON", "NON")
MOTIVES = ("LOCALISATION", "IMAGE", None, "LOYER", "IMAGE")


def household_rows(year: int, partner: str) -> list[dict[str, Any]]:
    """Rows as codes: every combination the indicators tell apart, varied by the year."""
    geo = CONVENTION.geography(year)
    qpv = geo.qpvs[0]
    rows = []
    n = 26 if year == 2023 else 33
    for i in range(n):
        in_qpv = i % 3 == 0
        suite = "REFUS" if i % 5 == 2 else ("AUTRE" if i % 11 == 4 else "BAIL_SIGNE")
        adults = 1 + (i % 2)
        kids = (i + year) % 5  # 0 to 4 children under 14
        known_adults = i % 9 != 5
        age = None if i % 13 == 6 else 20 + (i * 7 + year) % 60
        row = {
            "reference": f"{partner[:3].upper()}-{year}-{i:04d}",
            "date_cal": dt.date(year, 1 + i % 12, 10),
            "date_bail": dt.date(year, 1 + i % 12, 20) if suite == "BAIL_SIGNE" else None,
            "suite": suite,
            "commune": qpv.communes[0] if in_qpv else "30007",
            "qpv": qpv.code if in_qpv else "HORS_QPV",
            "zone_locale": "NON",
            "contingent": {1: "action-logement", 2: "etat-fonctionnaires"}.get(i % 8, "PROPRE"),
            "quartile": str(1 + i % 4),
            "categorie": CATEGORIES[(i + (year % 2)) % 3],
            "taille_menage": adults + kids,
            "nb_adultes": adults if known_adults else None,
            "nb_14_plus": adults if known_adults else None,
            "nb_moins_14": kids,
            "age_titulaire": age,
            "emploi": EMPLOYMENT[(i + year) % len(EMPLOYMENT)],
            "handicap": DISABILITY[i % len(DISABILITY)],
            "motif_refus": MOTIVES[i % len(MOTIVES)] if suite == "REFUS" else None,
        }
        rows.append(row)
    return rows


def write_campaign(workdir: Path) -> dict[int, list[dict[str, Any]]]:
    """The two years' returns rewritten; year → every row written (both bailleurs)."""
    written: dict[int, list[dict[str, Any]]] = {}
    for year in YEARS:
        written[year] = []
        for partner in CONVENTION.bailleurs:
            path = return_path(workdir, partner.id, year)
            if partner.id not in KEPT:
                path.unlink()
                continue
            rows = household_rows(year, partner.id)
            written[year] += rows
            _fill(path, partner.id, year, rows, RECEPTION[year][partner.id])
    return written


def _fill(path: Path, partner: str, year: int, rows: list[dict], reception: dict[str, list]) -> None:
    schema = schema_for(CONVENTION, "bailleur", year, partner)
    wb = openpyxl.load_workbook(path)
    sheet = schema.sheet("attributions")
    ws = wb[sheet.title]
    for r in range(sheet.first_data_row, ws.max_row + 1):
        for c in range(1, len(sheet.columns) + 1):
            ws.cell(r, c).value = None
    for r, row in enumerate(rows, start=sheet.first_data_row):
        for c, column in enumerate(sheet.columns, start=1):
            value = row.get(column.key)
            if value is not None and column.codelist:
                value = schema.codelists[column.codelist].by_code[value].display
            ws.cell(r, c).value = value
    points = schema.sheet("lieux_accueil")
    ws = wb[points.title]
    names = schema.codelists["lieu_accueil"].by_code
    r = points.first_data_row
    for point, quarters in reception.items():
        for received, informed in quarters:
            assert ws.cell(r, 1).value == names[point].display  # pre-filled by the template
            ws.cell(r, 3).value, ws.cell(r, 4).value = received, informed
            r += 1
    wb.save(path)


# -- The indicators recomputed from the rows, in plain Python --------------------------------


def leased(rows: list[dict], year: int) -> list[dict]:
    return [r for r in rows if r["suite"] == "BAIL_SIGNE" and r["date_bail"].year == year]


def decided(rows: list[dict], year: int) -> list[dict]:
    return [r for r in rows if r["date_cal"].year == year]


def groups(r: dict) -> dict[str, tuple[bool, bool]]:
    """Group → (in it, not filled in) for one row (DOMAIN: thresholds 3 children, 65 years)."""
    if r["nb_adultes"] is not None:
        children = r["taille_menage"] - r["nb_adultes"]
        large, large_nr = children >= 3, False
    else:
        large = r["nb_moins_14"] >= 3
        large_nr = not large
    return {
        "sans_emploi": (r["emploi"] == "CHOMAGE", r["emploi"] in (None, "INCONNU")),
        "familles_nombreuses": (large, large_nr),
        "handicap": (r["handicap"] == "OUI", r["handicap"] in (None, "INCONNU")),
        "ages": (r["age_titulaire"] is not None and r["age_titulaire"] >= 65, r["age_titulaire"] is None),
    }


def attention_counts(rows: list[dict]) -> dict[str, int]:
    out = {"baux": len(rows)}
    for key in ("sans_emploi", "familles_nombreuses", "handicap", "ages"):
        out[key] = sum(groups(r)[key][0] for r in rows)
        out[f"{key}_nr"] = sum(groups(r)[key][1] for r in rows)
    return out


def sheet_rows(path: Path, sheet: str) -> dict[str, dict[str, Any]]:
    """A consolidated workbook's table sheet: first cell of a row → {header: value}."""
    ws = openpyxl.load_workbook(path, read_only=True)[sheet]
    values = list(ws.iter_rows(values_only=True))
    header_at = next(
        i
        for i, row in enumerate(values)
        if row[0] and i > 0 and row[1] is not None and isinstance(row[1], str)
    )
    headers = values[header_at]
    out: dict[str, dict[str, Any]] = {}
    for row in values[header_at + 1 :]:
        if row[0] is None:
            break
        key = f"{row[0]} {row[1]}" if headers[1] == "Secteur" else str(row[0])
        out[key] = {h: v for h, v in zip(headers, row, strict=False) if h}
    return out
