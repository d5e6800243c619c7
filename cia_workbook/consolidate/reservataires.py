"""The réservataires' tables: their contribution to the objectives, computed on the bailleurs'
rows attributed on their contingents, and what they declare against what those rows count.

A réservataire's lines are its contingents (the State's two, where the convention declares
them), in the order of the convention's objectives table, a group of that table (« Les
communes ») after its members as their sum (`Convention.reservataire_lines`).
"""

from __future__ import annotations

from dataclasses import replace
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
    ON_CONTINGENT,
    OWN,
    PARTNER,
    PRIORITY,
    Q1,
    Q1U,
    Q234,
    REFUS,
    ROWS,
    counts,
    rates,
    table_frame,
)
from cia_workbook.consolidate.tables import (
    DETAIL,
    FAMILY_BAILLEUR,
    FAMILY_RESERVATAIRE,
    SUBTOTAL,
    Block,
    Col,
    IndicatorTable,
    Rate,
    fraction,
)
from cia_workbook.convention.contingents import TableLine
from cia_workbook.convention.settings import OBJECTIVE_CODES, Convention
from cia_workbook.schema.identity import older_than
from cia_workbook.schema.sheets import schema_for

PRIORITY_OBJECTIVE = "publics_prioritaires"


def contingent_rates(convention: Convention, year: int, frame: pl.DataFrame) -> dict[str, dict[str, Rate]]:
    """Contingent code → objective → `Rate` on the bailleurs' rows of that contingent; a
    contingent not held to the priority-publics target has that rate « sans objectif »."""
    codes = [c.code for c in convention.contingents]
    found = rates(convention, year, frame, ON_CONTINGENT, "contingent", codes)
    for c in convention.contingents:
        if not c.priority_target:
            found[c.code][PRIORITY_OBJECTIVE] = replace(found[c.code][PRIORITY_OBJECTIVE], exempt=True)
    return found


def line_rates(convention: Convention, by_code: dict[str, dict[str, Rate]]) -> list[dict[str, Rate]]:
    """Objective → `Rate` of each line of `Convention.reservataire_lines`: the sum over its
    contingents (for priority publics, over those held to the target; none: « sans objectif »)."""
    out = []
    for line in convention.reservataire_lines:
        rated = {}
        for code in OBJECTIVE_CODES:
            summed = line.priority_codes if code == PRIORITY_OBJECTIVE else line.codes
            parts = [by_code[c][code] for c in summed or line.codes]
            total = replace(parts[0], exempt=not summed)
            for part in parts[1:]:
                total = total + part
            rated[code] = total
        out.append(rated)
    return out


def line_keys(line: TableLine) -> dict[str, Any]:
    """The row keys of a line besides its columns: its family, and whether it is a group of the
    convention's table (`SUBTOTAL`) or one of its members (`DETAIL`)."""
    keys: dict[str, Any] = {"famille": FAMILY_RESERVATAIRE}
    if line.subtotal:
        keys[SUBTOTAL] = True
    elif line.group is not None:
        keys[DETAIL] = True
    return keys


def reservataire_tables(y: Year, by_code: dict[str, dict[str, Rate]]) -> list[IndicatorTable]:
    c = y.convention
    lines = c.reservataire_lines
    contribution = table(
        "reservataires",
        "reservataires",
        "Contribution des réservataires, calculée sur les lignes des bailleurs attribuées sur leur contingent",
        objective_columns(Col("reservataire", "Réservataire", "text")),
        [
            {"reservataire": line.label, **line_keys(line), **rate_cells(r)}
            for line, r in zip(lines, line_rates(c, by_code), strict=True)
        ],
        note=_lines_note(c)
        + "Calcul à partir des retours valides des bailleurs ; un bailleur sans retour valide manque à ces chiffres.",
        blocks=OBJECTIVE_BLOCKS,
        family="famille",
    )
    return [contribution, _declared_and_counted(y)]


def _lines_note(c: Convention) -> str:
    """What the lines of the réservataires' tables are, when the convention says more than one
    line per réservataire (contingents, groups)."""
    parts = []
    exempt = [x.label for x in c.contingents if not x.priority_target]
    if exempt:
        parts.append(
            f"{', '.join(f'« {e} »' for e in exempt)} : contingent non tenu à l'objectif de publics prioritaires "
            "(« sans objectif »)."
        )
    groups = [line for line in c.reservataire_lines if line.subtotal]
    if groups:
        parts.append(
            f"{', '.join(f'« {g.label} »' for g in groups)} : somme des lignes de {'leurs' if len(groups) > 1 else 'ses'} "
            "membres (seule publiée dans la version publique)."
        )
    return " ".join(parts) + (" " if parts else "")


def priority_by_contingent(y: Year) -> IndicatorTable:
    """Priority publics on each bailleur's own contingent and on each réservataire's line."""
    c = y.convention
    cats = [cat.code for cat in c.priority_categories if cat.priority]
    labels = {cat.code: cat.label for cat in c.priority_categories}
    cols = [Col("contingent", "Contingent", "text"), Col("baux", "Baux signés")]
    cols += [Col(f"cat_{k}", k if len(k) <= 8 else labels[k], part_of="prioritaires") for k in cats]
    cols += [
        Col("prioritaires", "Publics prioritaires"),
        Col("taux", "Taux", "rate", of=("prioritaires", "baux")),
        Col("cible", "Cible", "target"),
        Col("statut", "Objectif", "status", of=("prioritaires", "baux")),
    ]
    target = c.target(PRIORITY_OBJECTIVE, y.year)
    gap = c.campaign.close_gap_points
    measures = {"baux": ROWS, "prioritaires": PRIORITY} | {f"cat_{k}": pl.col("categorie") == k for k in cats}
    leased = y.frame.lazy().filter(BAIL)
    own = counts(leased.filter(OWN), measures, PARTNER, y.bailleurs)
    by_code = counts(leased, measures, "contingent", [x.code for x in c.contingents])
    rows = []
    for b in y.bailleurs:
        n = own[b]
        status = Rate(n["prioritaires"], n["baux"], target=target, close_gap=gap).status
        rows.append(
            {"contingent": f"{y.names[b]} (contingent propre)", "famille": FAMILY_BAILLEUR, **n,
             "cible": fraction(target), "statut": status}
        )  # fmt: skip
    for line in c.reservataire_lines:
        # A group's line counts its members held to the target (all of them when none is).
        summed = line.priority_codes or line.codes
        n = {k: sum(by_code[code][k] for code in summed) for k in measures}
        exempt = not line.priority_codes
        rate = Rate(n["prioritaires"], n["baux"], target=target, close_gap=gap, exempt=exempt)
        rows.append(
            {"contingent": line.label, **line_keys(line), **n,
             "cible": None if exempt else fraction(target), "statut": rate.status}
        )  # fmt: skip
    rows.append(
        {
            "contingent": "Tous contingents",
            **counts(leased, measures),
            "cible": fraction(target),
            "statut": "",
        }
    )
    legend = " ; ".join(f"{k} : {labels[k]}" for k in cats)
    return table(
        "prioritaires_contingents",
        "objectif_publics_prioritaires",
        "Publics prioritaires par contingent et par catégorie (catégorie la plus haute du ménage)",
        cols,
        rows,
        total_row=True,
        note=_lines_note(c)
        + f"Catégories dans l'ordre de priorité — {legend}. Un ménage est compté une fois, dans sa catégorie la plus haute.",
        blocks=(Block("baux", ("prioritaires", *(f"cat_{k}" for k in cats))),),
        family="famille",
    )


def _declared_and_counted(y: Year) -> IndicatorTable:
    """Declared (Contingent sheets) against counted (bailleurs' rows), per contingent."""
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
        [x.code for x in c.contingents],
    )
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
        sheet = schema_for(c, "reservataire", y.year, p.id).sheet("contingent")
        several = any(col.key == "contingent" for col in sheet.columns)
        rf = usable.get(p.id)
        # A return of an earlier template declared the 1st quartile alone: compared so.
        former = (
            rf is not None
            and rf.identity is not None
            and older_than(rf.identity.schema_version, sheet.column("q1_hors_qpv").since)
        )
        contingent = rf.tables.get("contingent") if rf is not None else None
        for line in c.contingents:
            if line.partner != p.id:
                continue
            counted = dict(counted_by[line.code])
            if former:
                counted["q1"] = counted["q1_seul"]
            row: dict[str, Any] = {"reservataire": line.label}
            if contingent is None:
                row["retour"] = "sans retour valide"
                declared = None
            else:
                row["retour"] = f"reçu (modèle {rf.identity.schema_version})" if former else "reçu"
                # Only the lines about bailleurs whose own return is used can be compared.
                lines = table_frame(contingent, sheet.columns).filter(pl.col("bailleur").is_in(y.bailleurs))
                if several:
                    lines = lines.filter(pl.col("contingent") == line.code)
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
            "Déclaré : somme des lignes de la feuille Contingent du réservataire (de ce contingent) portant sur les "
            "bailleurs dont le retour est utilisé. Compté : lignes des bailleurs sur ce contingent. Écart = déclaré − compté. "
            "Le 1er quartile compte avec les relogés NPNRU (colonne « Relogé NPNRU » des bailleurs), comme "
            "l'objectif et la feuille Contingent ; pour un retour fait sur le modèle 1.0, dont la colonne comptait "
            "le 1er quartile seul, il est compté sans eux."
        ),
        restricted=True,
    )
