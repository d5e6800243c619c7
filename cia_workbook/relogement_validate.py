"""Intake rules of the NPNRU rehousing sheet: one typed `Relogements NPNRU` table in, findings out.

Called by `validate.validate_workbook` once the sheet's cells are converted (types, lists and
bounds are already judged there); this module checks what spans several cells of a household
row: status against the filled fields, dates in order, plausible amounts, origin against the
operation, a pseudonymous id. Messages come from the one catalogue (`findings.py`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from cia_workbook.convention import Convention
from cia_workbook.findings import Finding, finding
from cia_workbook.model import ReturnFile, Table
from cia_workbook.schema import PRIVATE_STOCK, REHOUSING_STATUSES, Sheet

Add = Callable[..., None]  # (code, sheet title, cell, **params) → records a finding

# A household not yet rehoused has no dwelling to describe (DOMAIN.md, rehousing follow-up).
_NOT_YET = ("A_RELOGER", "PROPOSITION")
_DESTINATION = (
    "date_relogement", "destination_parc", "destination_commune", "destination_qpv",
    "destination_meme_quartier", "destination_recent", "destination_typologie", "destination_surface",
    "destination_loyer", "destination_charges", "destination_apl",
)  # fmt: skip


def rest_to_pay(rent: float | None, charges: float | None, benefit: float | None) -> float | None:
    """Monthly « reste à charge »: rent + charges − housing benefit; None when rent or charges are unknown.

    A blank housing benefit is taken as none: partners leave it empty more often than they type 0.
    """
    if rent is None or charges is None:
        return None
    return rent + charges - (benefit or 0)


def rehousing_rules(convention: Convention, year: int, table: Table, sheet: Sheet, add: Add) -> None:
    """Judge every household row of one return's rehousing table for the campaign `year`."""
    from cia_workbook.validate import fr_date, fr_number, looks_like_a_name

    title = table.sheet_title
    cols = table.columns
    n = len(table.rows)
    letter = table.letters
    headers = {c.key: c for c in sheet.columns}
    labels = REHOUSING_STATUSES.by_code
    operations = {o.code: o for o in convention.rehousing.operations} if convention.rehousing else {}
    partners = convention.partners_by_id
    with_qpv = {c for q in convention.geography(year).qpvs for c in q.communes}
    communes = convention.communes_by_insee
    end = dt.date(year, 12, 31)

    def column(key: str) -> list[Any]:
        return cols.get(key) or [None] * n

    values = {key: column(key) for key in headers}
    for i, row in enumerate(table.rows):
        v = {key: values[key][i] for key in headers}

        def cell(key: str, row: int = row) -> str:
            return f"{letter[key]}{row}"

        # Cells required by the status or the blocking (Column.required_if) are checked by the
        # validator for every sheet; here only what the schema cannot say.
        status = v["statut"]
        if status in _NOT_YET:
            filled = next((k for k in _DESTINATION if v[k] is not None), None)
            if filled is not None:
                add("RELOGEMENT_STATUT_INCOHERENT", title, cell(filled), status=labels[status].label,
                    column=headers[filled].header,
                    why="un ménage pas encore relogé n'a ni logement de destination ni date de relogement.")  # fmt: skip
        entered, rehoused = v["date_entree"], v["date_relogement"]
        if isinstance(entered, dt.date) and isinstance(rehoused, dt.date) and rehoused < entered:
            add(
                "RELOGEMENT_DATES",
                title,
                cell("date_relogement"),
                rehoused=fr_date(rehoused),
                entered=fr_date(entered),
            )
        for key in ("date_entree", "date_relogement"):
            if isinstance(v[key], dt.date) and v[key] > end:
                add("RELOGEMENT_DATE_FUTURE", title, cell(key), column=headers[key].header,
                    value=fr_date(v[key]), year=year)  # fmt: skip
        proposals, refusals = v["propositions"], v["refus"]
        if proposals is not None and refusals is not None and refusals > proposals:
            add("RELOGEMENT_REFUS", title, cell("refus"), refusals=refusals, proposals=proposals)
        for side, where in (("origine", "Logement d'origine"), ("destination", "Logement de relogement")):
            rent, charges, apl = v[f"{side}_loyer"], v[f"{side}_charges"], v[f"{side}_apl"]
            if apl is not None and rent is not None and apl > rent + (charges or 0):
                add("RELOGEMENT_AIDE_EXCESSIVE", title, cell(f"{side}_apl"), where=where,
                    apl=_euros(fr_number, apl), cost=_euros(fr_number, rent + (charges or 0)))  # fmt: skip
            commune = v[f"{side}_commune"]
            if v[f"{side}_qpv"] == "OUI" and commune is not None and commune not in with_qpv:
                c = communes.get(commune)
                add("RELOGEMENT_QPV_COMMUNE", title, cell(f"{side}_qpv"), where=where,
                    commune=f"{c.name} ({commune})" if c else commune, year=year)  # fmt: skip
        if v["bloque"] == "OUI" and status == "RELOGE_DEFINITIF":
            add("RELOGEMENT_BLOQUE_RELOGE", title, cell("bloque"))
        op = operations.get(v["operation"])
        origin = v["origine_parc"]
        if op is not None and origin is not None:
            expected = PRIVATE_STOCK if op.sector == "prive" else op.bailleur
            if origin != expected:
                wanted = (
                    "le parc privé" if op.sector == "prive" else f"le parc de {partners[op.bailleur].name}"
                )
                found = "Parc privé" if origin == PRIVATE_STOCK else partners[origin].name
                add(
                    "RELOGEMENT_ORIGINE",
                    title,
                    cell("origine_parc"),
                    operation=op.name,
                    expected=wanted,
                    found=found,
                )
        adults, n14, under14, size = v["nb_adultes"], v["nb_14_plus"], v["nb_moins_14"], v["taille_menage"]
        if adults is not None and n14 is not None and adults > n14:
            add("COMPOSITION_INCOHERENTE", title, cell("nb_adultes"),
                detail=f"{adults} adulte(s) mais {n14} personne(s) de 14 ans ou plus")  # fmt: skip
        elif size is not None and n14 is not None and under14 is not None and size != n14 + under14:
            add("COMPOSITION_INCOHERENTE", title, cell("taille_menage"),
                detail=f"taille {size} mais {n14} personne(s) de 14 ans ou plus et {under14} enfant(s) de moins de 14 ans")  # fmt: skip
        ident = v["identifiant"]
        if ident and looks_like_a_name(ident):
            add("REFERENCE_NOMINATIVE", title, cell("identifiant"), value=ident)


def _euros(fmt: Callable[[float], str], value: float) -> str:
    return f"{fmt(value)}\u00a0€"


def household_key(ident: Any) -> str:
    """How ids are compared between partners and years: without case or surrounding spaces."""
    return " ".join(str(ident).split()).casefold()


def duplicates_between_partners(
    convention: Convention, year: int, usable: dict[str, ReturnFile]
) -> list[Finding]:
    """A household returned by two partners in one year: the first partner in the convention's
    order keeps it (the consolidation does the same), the later one is told."""
    seen: dict[str, str] = {}
    found: list[Finding] = []
    for pid in sorted(usable, key=convention.partner_rank):
        rf = usable[pid]
        table = rf.tables.get("relogements")
        if table is None:
            continue
        for i, ident in enumerate(table.columns.get("identifiant") or []):
            if not ident:
                continue
            key = household_key(ident)
            if key in seen and seen[key] != pid:
                names = convention.partners_by_id
                found.append(
                    finding(
                        "RELOGEMENT_DOUBLON_PARTENAIRES",
                        rf.name,
                        *table.position(i, "identifiant"),
                        value=str(ident),
                        other=names[seen[key]].name,
                        year=year,
                        kept=names[seen[key]].name,
                    )  # fmt: skip
                )
            else:
                seen.setdefault(key, pid)
    return found
