"""Intake stage: the cross-checks between partners of one campaign — a réservataire's declared
contingent against the bailleurs' rows (CONTINGENT_ECART), a household returned by two partners
(RELOGEMENT_DOUBLON_PARTENAIRES). The counts are the consolidation's own definitions.
"""

from __future__ import annotations

from typing import Any

from cia_workbook.convention.settings import Convention
from cia_workbook.intake.model import Campaign, Table
from cia_workbook.schema.findings import Finding, finding
from cia_workbook.schema.identity import older_than
from cia_workbook.schema.sheets import schema_for


def contingents_counts(
    convention: Convention, year: int, table: Table, reservataires: list[str]
) -> dict[str, dict[str, int]]:
    """What one bailleur's rows say about each réservataire's contingent, per column of the
    Contingent sheet (`consolidate.contingent_counts`: the bilan's own definitions)."""
    from cia_workbook.consolidate import contingent_counts as counts_by_bailleur

    return counts_by_bailleur(convention, year, [("", table)], reservataires)[""]


def cross_check(convention: Convention, year: int, campaign: Campaign) -> list[Finding]:
    """CONTINGENT_ECART for every figure a réservataire declares that bailleurs' rows contradict,
    and RELOGEMENT_DOUBLON_PARTENAIRES for a rehoused household returned by two partners.

    Only returns that enter the consolidation are compared, and only for bailleurs whose return
    does: a missing bailleur would make every declaration look wrong.
    """
    from cia_workbook.consolidate import FORMER_COUNTS
    from cia_workbook.consolidate import contingent_counts as counts_by_bailleur

    usable = campaign.usable()
    bailleurs = {pid: rf for pid, rf in usable.items() if convention.partners_by_id[pid].is_bailleur}
    found: list[Finding] = []
    # Each bailleur's rows are counted once for every declaring réservataire (not once per
    # réservataire: a national campaign has a thousand bailleurs).
    declaring = [
        c.code
        for c in convention.contingents
        if c.partner in usable and "contingent" in usable[c.partner].tables
    ]
    # Counted where each file was read (and cached); counted here only for a file that was not.
    counted_by_bailleur: dict[str, dict[str, dict[str, int]]] = {}
    if declaring:
        to_count = []
        for bid, brf in bailleurs.items():
            counts = brf.contingent_counts
            if counts is None or any(r not in counts for r in declaring):
                if "attributions" in brf.tables:
                    to_count.append((bid, brf.tables["attributions"]))
            else:
                counted_by_bailleur[bid] = counts
        # Every bailleur at once: one group_by over their rows.
        counted_by_bailleur |= counts_by_bailleur(convention, year, to_count, declaring)
    for res in convention.reservataires:
        rf = usable.get(res.id)
        table = rf.tables.get("contingent") if rf else None
        if rf is None or table is None:
            continue
        sheet = schema_for(convention, "reservataire", year, res.id).sheet("contingent")
        # Several contingents declared: a row per bailleur and contingent, its code in a column.
        several = any(c.key == "contingent" for c in sheet.columns)
        mine = [c for c in convention.contingents if c.partner == res.id]
        measures = [c for c in sheet.columns if c.key not in ("bailleur", "contingent", "logements_mis_a_disposition",
                                                              "candidats_proposes", "refus")]  # fmt: skip
        declared_rows: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        for i, record in enumerate(table.records()):
            code = record.get("contingent") if several else mine[0].code
            if record.get("bailleur") and code:
                declared_rows.setdefault((record["bailleur"], code), (i, record))
        for bid, contingent in ((b, c) for b in bailleurs for c in mine):
            if bid not in counted_by_bailleur:
                continue
            counted = counted_by_bailleur[bid][contingent.code]
            index, record = declared_rows.get((bid, contingent.code), (-1, {}))
            for col in measures:
                declared = record.get(col.key) or 0
                # A return of an earlier template declared the column under its former definition.
                key = col.key
                if rf.identity is not None and older_than(rf.identity.schema_version, col.since):
                    key = FORMER_COUNTS.get(key, key)
                if key not in counted or declared == counted[key]:
                    continue
                # On the sheet (or the copy) of the bailleur's row; on the sheet when it has none.
                sheet, cell = table.position(index, col.key) if index >= 0 else (table.sheet_title, "")
                found.append(
                    finding(
                        "CONTINGENT_ECART",
                        rf.name,
                        sheet,
                        cell,
                        reservataire=f"{res.name} (contingent « {contingent.label} »)"
                        if several
                        else res.name,
                        declared=declared,
                        measure=col.header,
                        bailleur=convention.partners_by_id[bid].name,
                        counted=counted[key],
                    )  # fmt: skip
                )
    from cia_workbook.intake.rehousing_rules import duplicates_between_partners

    found.extend(duplicates_between_partners(convention, year, usable))
    return found
