"""Test helper: write a partner's return in a few lines, following the template layout.

`make_return(path, partner_id, rows=[{...}])` writes what a partner sends back: identification
(very hidden _cia sheet, defined names, document properties), the Identification form, and the
table sheets with their title, hint and header rows. Row dicts use schema column keys and hold
what the partner typed (labels, codes, dates, numbers, text). Every test builds its workbooks
with this one helper, so a change of layout is made once.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.packaging.custom import StringProperty
from openpyxl.workbook.defined_name import DefinedName

from cia_workbook.convention.settings import load_convention
from cia_workbook.schema import sheets as schema

CONVENTION = load_convention(None)
FIXED_TIME = dt.datetime(2025, 1, 15, 12, 0, 0)
_DROP = object()


def attribution(**overrides: Any) -> dict[str, Any]:
    """A valid attribution row of 2024 (bail signé hors QPV, quartile consistent)."""
    row: dict[str, Any] = {
        "reference": "LC-2024-0001",
        "date_cal": dt.date(2024, 3, 15),
        "date_bail": dt.date(2024, 4, 2),
        "suite": "Bail signé",
        "commune": "Alès (30007)",
        "qpv": "Hors QPV",
        "zone_locale": "Aucune",
        "contingent": "Contingent propre du bailleur",
        "quartile": "2",
        "categorie": "Aucune catégorie prioritaire",
        "typologie": "T3",
        "taille_menage": 3,
        "ressources": 14500,  # 14 500 / 1.8 UC = 8 056 €/UC → quartile 2 in 2024
        "nb_adultes": 2,
        "nb_14_plus": 2,
        "nb_moins_14": 1,
        "age_titulaire": 34,
        "emploi": "En emploi (salarié, indépendant, apprenti)",
        "mutation": "Non",
        "logement_recent": "Non",
    }
    row.update(overrides)
    return row


def relogement(**overrides: Any) -> dict[str, Any]:
    """A valid household of the rehousing sheet, rehoused definitively in 2024 outside QPV."""
    row: dict[str, Any] = {
        "identifiant": "PSJ-0001",
        "operation": "LC-PSJ – Démolitions Logis Cévenols – Près Saint-Jean",
        "taille_menage": 3,
        "nb_adultes": 2,
        "nb_14_plus": 2,
        "nb_moins_14": 1,
        "statut": "Relogé définitivement",
        "date_entree": dt.date(2022, 9, 15),
        "date_relogement": dt.date(2024, 4, 2),
        "origine_parc": "Logis Cévenols",
        "origine_commune": "Alès (30007)",
        "origine_qpv": "Oui",
        "origine_typologie": "T3",
        "origine_surface": 65,
        "origine_loyer": 320,
        "origine_charges": 80,
        "origine_apl": 150,
        "destination_parc": "Un Toit pour Tous",
        "destination_commune": "Saint-Christol-lès-Alès (30243)",
        "destination_qpv": "Non",
        "destination_meme_quartier": "Non",
        "destination_recent": "Oui",
        "destination_typologie": "T3",
        "destination_surface": 68,
        "destination_loyer": 350,
        "destination_charges": 75,
        "destination_apl": 170,
        "propositions": 2,
        "refus": 1,
        "bloque": "Non",
    }
    row.update(overrides)
    return row


def reception_row(**overrides: Any) -> dict[str, Any]:
    """A row of Logis Cévenols' « Lieux d'accueil » sheet (issue 17)."""
    row: dict[str, Any] = {
        "lieu": "Accueil des Logis Cévenols à Alès",
        "trimestre": "1er trimestre",
        "demandeurs": 40,
        "informes_qpv": 12,
    }
    row.update(overrides)
    return row


def contingent_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "bailleur": "Logis Cévenols",
        "logements_mis_a_disposition": 10,
        "candidats_proposes": 20,
        "baux_signes": 1,
        "prioritaires_dalo": 0,
        "prioritaires_npnru": 0,
        "prioritaires_pdalhpd": 0,
        "prioritaires_l441": 0,
        "q1_hors_qpv": 0,
        "q234_qpv": 0,
        "refus": 2,
    }
    row.update(overrides)
    return row


def make_return(
    path: Path,
    partner_id: str = "logis-cevenols",
    rows: list[dict[str, Any]] | None = None,
    *,
    year: int = 2024,
    identity: dict[str, Any] | None = None,
    id_sheet: bool = True,
    defined_names: bool = True,
    properties: bool = True,
    form: dict[str, Any] | None = None,
    sheet_titles: dict[str, str] | None = None,
    headers: dict[str, str | None] | None = None,
    extra_headers: list[str] = (),
    column_order: list[str] | None = None,
    patrimoine: list[dict[str, Any]] | None = None,
    relogements: list[dict[str, Any]] | None = None,
    lieux_accueil: list[dict[str, Any]] | None = None,
    date1904: bool = False,
    convention=CONVENTION,
    edit=None,
) -> Path:
    """Write a return of `partner_id`; keyword arguments damage it the way partners do.

    identity: overrides of the _cia keys (e.g. {"annee": 2023}); column_order: keys of the
    main table's columns in the order written; sheet_titles: sheet key →
    title used instead; headers: column key → header text written instead (None: column
    dropped); rows: None for none, each dict may omit keys (empty cells) or use `{"_blank": True}`
    for an empty row; edit(wb): last-minute changes (merges, formulas...).
    """
    partner = convention.partners_by_id.get(partner_id)
    # « demande »: the EPCI's own Demande workbook (demand.py), whose rows are `rows`.
    kind = partner.kind if partner else ("demande" if partner_id == "demande" else "bailleur")
    # The rehousing sheet is written only when asked for (or for an operator, whose only table
    # it is), so that the other returns keep the bytes of the committed corpus.
    if kind == "operateur" and relogements is None:
        relogements, rows = rows, None
    rehousing = relogements is not None and convention.reports_rehousing(partner_id)
    # Likewise the « Lieux d'accueil » sheet of a partner running a reception point.
    # A réservataire's own schema: the State's Contingent sheet has a « Contingent » column.
    shown = (
        rehousing
        or kind == "reservataire"
        or (lieux_accueil is not None and bool(convention.reception_points_of(partner_id)))
    )
    wschema = schema.schema_for(convention, kind, year, partner_id if shown else None)
    dropped = {"relogements"} if not rehousing else set()
    dropped |= {"lieux_accueil"} if lieux_accueil is None else set()
    wschema = replace(wschema, sheets=tuple(s for s in wschema.sheets if s.key not in dropped))
    ident = {
        "modele": schema.TEMPLATE_MARKER,
        "version_schema": schema.SCHEMA_VERSION,
        "convention": convention.info.id,
        "partenaire": partner_id,
        "type": kind,
        "annee": year,
    }
    ident.update(identity or {})
    titles = {s.key: s.title for s in wschema.sheets}
    titles.update(sheet_titles or {})

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    if date1904:
        wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    for sheet in wschema.sheets:
        if titles.get(sheet.key) is None:
            continue
        ws = wb.create_sheet(titles[sheet.key])
        ws["A1"] = sheet.title
        ws["A2"] = sheet.purpose
        if sheet.layout == "form":
            answers = dict(form or {}) if sheet.key == "identification" else {}
            if sheet.key == "identification":
                answers.setdefault("partenaire", partner.name if partner else partner_id)
                answers.setdefault("annee", year)
                answers.setdefault("repondant", "Chargée de gestion locative")
                answers.setdefault("date_reponse", dt.date(year + 1, 2, 15))
            for col in sheet.columns:
                row = sheet.form_row(col.key)
                ws.cell(row, 1, col.header)
                if col.key in answers and answers[col.key] is not None:
                    ws.cell(row, 2, answers[col.key])
        elif sheet.layout == "table":
            cols = list(sheet.columns)
            if column_order and sheet.key in ("attributions", "contingent"):
                cols = [sheet.column(k) for k in column_order]
            written: list[tuple[int, str]] = []
            for col in cols:
                text = (headers or {}).get(col.key, col.header)
                if text is None:
                    continue
                written.append((len(written) + 1, col.key))
                ws.cell(sheet.header_row, len(written), text)
            for extra in extra_headers if sheet.key in ("attributions", "contingent") else ():
                ws.cell(sheet.header_row, len(written) + 1, extra)
                written.append((len(written) + 1, "_extra"))
            data = {
                "attributions": rows,
                "contingent": rows,
                "demande": rows,
                "relogements": relogements,
                "lieux_accueil": lieux_accueil,
            }.get(sheet.key, patrimoine)
            for offset, values in enumerate(data or []):
                r = sheet.first_data_row + offset
                if values.get("_blank"):
                    continue
                for index, key in written:
                    if key in values and values[key] is not None:
                        cell = ws.cell(r, index, values[key])
                        if isinstance(values[key], str):
                            cell.data_type = "s"  # partner text stays text, even "=…"
                        if isinstance(values[key], dt.date):
                            cell.number_format = "DD/MM/YYYY"
    if id_sheet:
        ws = wb.create_sheet(schema.ID_SHEET)
        for i, key in enumerate(schema.ID_KEYS, start=1):
            ws.cell(i, 1, key)
            ws.cell(i, 2, ident[key])
        ws.sheet_state = "veryHidden"
    if defined_names:
        for key in schema.ID_KEYS:
            wb.defined_names[f"CIA_{key.upper()}"] = DefinedName(
                f"CIA_{key.upper()}", attr_text=f'"{ident[key]}"'
            )
    if properties:
        for key in schema.ID_KEYS:
            wb.custom_doc_props.append(StringProperty(name=f"CIA_{key.upper()}", value=str(ident[key])))
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    if edit is not None:
        edit(wb)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def flat(findings) -> list[tuple[str, str, str]]:
    """Findings flattened for compact assertions: [(sheet, cell, code)], sorted."""
    return sorted((f.sheet, f.cell, f.code) for f in findings)


def rezipped(
    src: Path,
    target: Path,
    change: Callable[[str, bytes], bytes] | None = None,
    add: dict[str, bytes] | None = None,
) -> Path:
    """A copy of the workbook package `src` with parts changed (`change(name, data)` → new data)
    or added, the way damaged or unusual files arrive."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, change(info.filename, data) if change else data)
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return Path(target)
