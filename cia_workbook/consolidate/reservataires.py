"""The réservataires' tables: their contribution to the objectives, computed on the bailleurs'
rows attributed on their contingent, and what they declare against what those rows count."""

from __future__ import annotations

from typing import Any

import polars as pl

from cia_workbook.consolidate.attributions import (
    OBJECTIVE_BLOCKS,
    Year,
    objective_columns,
    rate_cells,
    table,
)
from cia_workbook.consolidate.frames import (
    BAIL,
    CAL,
    HORS,
    INQ,
    PRIORITY,
    Q1,
    Q1U,
    Q234,
    REFUS,
    counts,
    table_frame,
)
from cia_workbook.consolidate.tables import FAMILY_RESERVATAIRE, Col, IndicatorTable, Rate
from cia_workbook.schema.sheets import older_than, schema_for


def reservataire_tables(y: Year, reservataires: dict[str, dict[str, Rate]]) -> list[IndicatorTable]:
    c = y.convention
    contribution = table(
        "reservataires",
        "reservataires",
        "Contribution des réservataires, calculée sur les lignes des bailleurs attribuées sur leur contingent",
        objective_columns(Col("reservataire", "Réservataire", "text")),
        [
            {"reservataire": p.name, "famille": FAMILY_RESERVATAIRE, **rate_cells(reservataires[p.id])}
            for p in c.reservataires
        ],
        note="Calcul à partir des retours valides des bailleurs ; un bailleur sans retour valide manque à ces chiffres.",
        blocks=OBJECTIVE_BLOCKS,
        family="famille",
    )
    return [contribution, _declared_and_counted(y)]


def _declared_and_counted(y: Year) -> IndicatorTable:
    """Declared (Contingent sheets) against counted (bailleurs' rows), per réservataire."""
    c = y.convention
    measures = (
        ("baux", "Baux signés"),
        ("prioritaires", "Publics prioritaires"),
        ("q1", "1er quartile ou relogés NPNRU hors QPV"),
        ("q234", "Quartiles 2-4 en QPV"),
        ("refus", "Refus"),
    )
    cols = [Col("reservataire", "Réservataire", "text"), Col("retour", "Retour", "text")]
    for key, label in measures:
        cols += [
            Col(f"{key}_declare", f"{label} : déclaré"),
            Col(f"{key}_compte", f"{label} : compté"),
            Col(f"{key}_ecart", f"{label} : écart", "number"),
        ]
    usable = y.campaign.usable()
    counted_by = counts(
        y.frame,
        {
            "baux": BAIL,
            "prioritaires": BAIL & PRIORITY,
            "q1": BAIL & HORS & Q1U,
            "q1_seul": BAIL & HORS & Q1,
            "q234": CAL & INQ & Q234,
            "refus": CAL & REFUS,
        },  # fmt: skip
        "contingent",
        [p.id for p in c.reservataires],
    )
    sheet = schema_for(c, "reservataire", y.year).sheet("contingent")
    prio = [pl.col(f"prioritaires_{cat.code.lower()}") for cat in c.priority_categories if cat.priority]
    declared_as = {
        "baux": pl.col("baux_signes"),
        "prioritaires": pl.sum_horizontal(*(p.fill_null(0) for p in prio)) if prio else pl.lit(0),
        "q1": pl.col("q1_hors_qpv"),
        "q234": pl.col("q234_qpv"),
        "refus": pl.col("refus"),
    }
    rows = []
    for p in c.reservataires:
        counted = counted_by[p.id]
        rf = usable.get(p.id)
        # A return of an earlier template declared the 1st quartile alone: compared so.
        former = (
            rf is not None
            and rf.identity is not None
            and older_than(rf.identity.schema_version, sheet.column("q1_hors_qpv").since)
        )
        if former:
            counted["q1"] = counted["q1_seul"]
        row: dict[str, Any] = {"reservataire": p.name}
        contingent = rf.tables.get("contingent") if rf is not None else None
        if contingent is None:
            row["retour"] = "sans retour valide"
            declared = None
        else:
            row["retour"] = f"reçu (modèle {rf.identity.schema_version})" if former else "reçu"
            # Only the lines about bailleurs whose own return is used can be compared.
            lines = table_frame(contingent, sheet.columns).filter(pl.col("bailleur").is_in(y.bailleurs))
            declared = counts(lines, declared_as)
        for key, _ in measures:
            row[f"{key}_compte"] = counted[key]
            row[f"{key}_declare"] = None if declared is None else declared[key]
            row[f"{key}_ecart"] = None if declared is None else declared[key] - counted[key]
        rows.append(row)
    return table(
        "reservataires_ecarts",
        "reservataires",
        "Contrôle croisé : ce que déclarent les réservataires et ce que comptent les bailleurs",
        cols,
        rows,
        note=(
            "Déclaré : somme des lignes de la feuille Contingent du réservataire portant sur les bailleurs dont le "
            "retour est utilisé. Compté : lignes des bailleurs sur ce contingent. Écart = déclaré − compté. "
            "Le 1er quartile compte avec les relogés NPNRU (colonne « Relogé NPNRU » des bailleurs), comme "
            "l'objectif et la feuille Contingent ; pour un retour fait sur le modèle 1.0, dont la colonne comptait "
            "le 1er quartile seul, il est compté sans eux."
        ),
        restricted=True,
    )
