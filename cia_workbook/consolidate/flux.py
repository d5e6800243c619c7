"""The partners' own reports (art. R. 441-5-1 CCH): each bailleur's yearly flux per réservataire,
each réservataire's contribution to the objectives, both from the bailleurs' validated rows.

Universe: a bailleur's attribution rows of the year (attributions prononcées: CAL decision in the
year; baux signés: lease signed in the year), grouped by contingent and by typology, by commune,
in or outside QPV. The dwellings made available on a contingent are the réservataire's own
declaration (its Contingent sheet), the only source of that figure. No file is read or written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from cia_workbook.consolidate.frames import (
    BAIL,
    CAL,
    ON_CONTINGENT,
    OUT_QPV,
    PARTNER,
    PRIORITY,
    Indicator,
    campaign_frame,
    rates,
)
from cia_workbook.consolidate.reservataires import PRIORITY_OBJECTIVE
from cia_workbook.consolidate.tables import Rate
from cia_workbook.convention.settings import Convention
from cia_workbook.intake.model import Campaign
from cia_workbook.schema import sheets as schema

NO_TYPOLOGY = "Non renseignée"
MEASURES = {
    "prononcees": CAL,
    "prononcees_qpv": CAL & ~OUT_QPV,
    "prononcees_hors_qpv": CAL & OUT_QPV,
    "baux": BAIL,
    "baux_qpv": BAIL & ~OUT_QPV,
    "baux_hors_qpv": BAIL & OUT_QPV,
}


@dataclass
class BailleurFlux:
    bailleur: str  # id
    name: str
    file: str
    # contingent code → {"mis_a_disposition": declared or None, measure → count}
    by_contingent: dict[str, dict[str, int | None]] = field(default_factory=dict)
    # (contingent, typology) and (contingent, commune) → the counts of MEASURES, in its order (a
    # tuple, not a dict: a national campaign has some 170,000 of them, written by forked children)
    by_typology: dict[tuple[str, str], tuple[int, ...]] = field(default_factory=dict)
    by_commune: dict[tuple[str, str], tuple[int, ...]] = field(default_factory=dict)


@dataclass
class ReservataireContribution:
    reservataire: str
    name: str
    # bailleur id (or "" for all of them) → objective code → Rate on the contingent
    rates: dict[str, dict[str, Rate]] = field(default_factory=dict)
    declared_file: str = ""  # its own return, if any (the figures do not depend on it)


def _grouped(frame: pl.LazyFrame, keys: list[str]) -> dict[str, dict]:
    """Bailleur id → (the values of `keys`) → the counts of MEASURES (a tuple in its order), the
    groups with a count only; every bailleur at once (one group_by, not one filter per bailleur)."""
    agg = (
        frame.group_by([PARTNER, *keys])
        .agg(**{name: expr.sum() for name, expr in MEASURES.items()})
        .collect(engine="in-memory")
    )
    out: dict[str, dict] = {}
    n = len(keys)
    # The same code, typology or commune is one object in every group (and the same count tuple
    # one object where it repeats): some 170,000 groups at national size, handed to the writers.
    same: dict = {}
    for row in agg.iter_rows():
        values = row[1 + n :]
        if any(values):
            key = (
                tuple(same.setdefault(v, v) for v in row[1 : 1 + n])
                if n > 1
                else same.setdefault(row[1], row[1])
            )
            out.setdefault(row[0], {})[key] = same.setdefault(values, values)
    return out


def bailleur_fluxes(convention: Convention, campaign: Campaign, frame: pl.DataFrame) -> list[BailleurFlux]:
    """One flux report per bailleur whose return is used; `frame` the year's flagged attribution rows."""
    # Lazy: only the columns the groups read are filtered (the whole frame filtered is a copy of
    # some fifty columns: 230 MB more at the peak of a 500,000-row consolidation).
    year_frame = frame.lazy().filter(CAL | BAIL).with_columns(pl.col("typologie").fill_null(NO_TYPOLOGY))
    made: dict[str, dict[str, int | None]] = {}  # bailleur → contingent → dwellings declared
    for r in _declared_by_contingent(campaign, convention).iter_rows(named=True):
        made.setdefault(r["bailleur"], {})[r[CODE]] = r["logements_mis_a_disposition"]
    by_contingent = _grouped(year_frame, ["contingent"])
    by_typology = _grouped(year_frame, ["contingent", "typologie"])
    by_commune = _grouped(year_frame, ["contingent", "commune"])
    usable = campaign.usable()
    out = []
    for b in convention.bailleurs:
        if b.id not in usable:
            continue
        flux = BailleurFlux(b.id, b.name, usable[b.id].name)
        counted, declared = by_contingent.get(b.id, {}), made.get(b.id, {})
        for code in [schema.CONTINGENT_OWN, *(c.code for c in convention.contingents)]:
            counts = counted.get(code)
            if counts is None and code not in declared:
                continue
            flux.by_contingent[code] = {
                "mis_a_disposition": declared.get(code),
                **dict(zip(MEASURES, counts or (0,) * len(MEASURES), strict=True)),
            }
        flux.by_typology = by_typology.get(b.id, {})
        flux.by_commune = by_commune.get(b.id, {})
        out.append(flux)
    return out


HOLDER = "_reservataire"  # in `reservataire_contributions`: the réservataire holding a row's contingent
HELD = "_tenu"  # and whether that contingent is held to the priority-publics target


def reservataire_contributions(
    convention: Convention, campaign: Campaign, frame: pl.DataFrame, year: int
) -> list[ReservataireContribution]:
    """Each réservataire's rates on its contingent, per bailleur and in all, from the bailleurs' rows.

    Universe: the rows attributed on one of the réservataire's contingents; the priority-publics
    objective on the contingents held to it only (not the State's civil servants' one), as in the
    bilan. Grouping: réservataire, then réservataire and bailleur (two group_bys in all)."""
    usable = campaign.usable()
    bailleurs = [b.id for b in convention.bailleurs if b.id in usable]
    holder = {x.code: x.partner for x in convention.contingents}
    held = [x.code for x in convention.contingents if x.priority_target]
    rows = frame.with_columns(
        pl.col("contingent").replace_strict(holder, default=None, return_dtype=pl.String).alias(HOLDER),
        pl.col("contingent").is_in(held).fill_null(False).alias(HELD),
    )
    indicators = (
        *ON_CONTINGENT[:2],
        Indicator(PRIORITY_OBJECTIVE, universe=BAIL & pl.col(HELD), numerator=PRIORITY),
    )
    ids = [r.id for r in convention.reservataires]
    by_bailleur = rates(
        convention, year, rows, indicators, [HOLDER, PARTNER], [(r, b) for r in ids for b in bailleurs]
    )
    in_all = rates(convention, year, rows, indicators, HOLDER, ids)
    out = []
    for r in convention.reservataires:
        c = ReservataireContribution(r.id, r.name)
        c.rates = {b: by_bailleur[(r.id, b)] for b in bailleurs}
        c.rates[""] = in_all[r.id]
        used = usable.get(r.id)
        c.declared_file = used.name if used is not None else ""
        out.append(c)
    return out


CODE = "_contingent"  # in `_declared_by_contingent`: the contingent a declared row is about


def _declared_by_contingent(campaign: Campaign, convention: Convention) -> pl.DataFrame:
    """The réservataires' Contingent rows with the contingent each is about: its « Contingent »
    column where the réservataire declares several, else the réservataire's single one (its id)."""
    declared = campaign_frame(campaign, "contingent", schema.any_contingent_sheet(convention))
    code = pl.col("contingent") if "contingent" in declared.columns else pl.lit(None, pl.String)
    return declared.with_columns(pl.coalesce(code, pl.col(PARTNER)).alias(CODE))
