"""Demand and tension (Action 4): the EPCI's Demande workbooks of the years → the bilan's tables.

Each indicator is a universe, a numerator and a grouping over the Demande rows (one per
commune): the tension is the demands pending at 31 December per attribution of the year, per
commune and per sector of the convention (a commune of no sector in « Autres communes »), its
evolution since the first year with a Demande workbook; the typology gap compares each
typology's share of the demands with its share of the attributions, both on the rows that give
typologies. Only a Demande workbook without error is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from cia_workbook.consolidate.tables import Col, IndicatorTable
from cia_workbook.convention.settings import Convention
from cia_workbook.intake.model import Campaign
from cia_workbook.schema.demand import DEMAND_TYPOLOGIES, TYPOLOGY_LABELS, demand_file_name

SECTION = "demande"
OTHER_SECTOR = "Autres communes"
TERRITORY_ROW = "Ensemble du territoire"


@dataclass
class DemandYear:
    """One year's Demande rows with their sector, or why there are none."""

    year: int
    frame: pl.DataFrame | None  # commune, sector, demandes, attributions, …; None: nothing usable
    file: str = ""
    excluded: bool = False  # received, kept out for errors


@dataclass
class DemandBilan:
    year: int
    current: DemandYear
    first: DemandYear | None  # the first year of the convention with a usable Demande workbook
    tables: list[IndicatorTable] = field(default_factory=list)
    territory: dict[str, Any] = field(default_factory=dict)  # demandes, attributions, tension
    sectors: list[dict[str, Any]] = field(default_factory=list)  # rows of the sector table
    typologies: list[dict[str, Any]] = field(default_factory=list)
    file_name: str = ""

    @property
    def received(self) -> bool:
        return self.current.frame is not None


def sector_of(convention: Convention) -> dict[str, str]:
    return {c: s.name for s in convention.sectors for c in s.communes}


def sector_names(convention: Convention) -> list[str]:
    """The convention's sectors in order, then « Autres communes » when a commune is in none."""
    names = [s.name for s in convention.sectors]
    covered = set(sector_of(convention))
    if not names or any(c.insee not in covered for c in convention.epci.communes):
        names.append(OTHER_SECTOR)
    return names


def demand_year(convention: Convention, campaign: Campaign | None, year: int) -> DemandYear:
    rf = campaign.demand if campaign is not None else None
    if rf is None:
        return DemandYear(year, None)
    if rf.has_errors or "demande" not in rf.tables:
        return DemandYear(year, None, rf.name, excluded=True)
    frame = rf.tables["demande"].frame
    sectors = sector_of(convention)
    frame = frame.filter(pl.col("commune").is_not_null()).with_columns(
        pl.col("commune")
        .replace_strict(sectors, default=OTHER_SECTOR, return_dtype=pl.String)
        .alias("secteur")
    )
    return DemandYear(year, frame, rf.name)


def tension(demandes: int | None, attributions: int | None) -> float | None:
    """Demands pending per attribution of the year; None without attribution."""
    return demandes / attributions if attributions and demandes is not None else None


def _by(frame: pl.DataFrame, key: str) -> dict[str, dict[str, int]]:
    grouped = frame.group_by(key).agg(pl.col("demandes").sum(), pl.col("attributions").sum())
    return {row[key]: row for row in grouped.iter_rows(named=True)}


def demand_bilan(convention: Convention, campaigns: Mapping[int, Campaign], year: int) -> DemandBilan:
    years = [y for y in sorted(campaigns) if y <= year and y in convention.years]
    by_year = {y: demand_year(convention, campaigns.get(y), y) for y in years}
    current = by_year.get(year) or DemandYear(year, None)
    first = next((by_year[y] for y in years if by_year[y].frame is not None), None)
    b = DemandBilan(year, current, first, file_name=demand_file_name(year))
    if current.frame is None:
        return b
    names = sector_names(convention)
    now = _by(current.frame, "secteur")
    before = _by(first.frame, "secteur") if first is not None and first.year < year else {}  # type: ignore[union-attr]
    for name in [*names, TERRITORY_ROW]:
        if name == TERRITORY_ROW:
            cur = {
                "demandes": int(current.frame["demandes"].sum()),
                "attributions": int(current.frame["attributions"].sum()),
            }
            old = (
                {
                    "demandes": int(first.frame["demandes"].sum()),
                    "attributions": int(first.frame["attributions"].sum()),
                }  # type: ignore[union-attr]
                if before
                else {}
            )
        else:
            cur, old = now.get(name, {"demandes": 0, "attributions": 0}), before.get(name, {})
        row = {
            "secteur": name,
            "demandes": cur["demandes"],
            "attributions": cur["attributions"],
            "tension": tension(cur["demandes"], cur["attributions"]),
        }
        if before:
            row["demandes_avant"], row["attributions_avant"] = old.get("demandes"), old.get("attributions")
            row["tension_avant"] = tension(old.get("demandes"), old.get("attributions"))
            row["evolution"] = (
                row["tension"] - row["tension_avant"]
                if row["tension"] is not None and row["tension_avant"] is not None
                else None
            )
        b.sectors.append(row)
    b.territory = b.sectors[-1]
    b.typologies = typology_rows(current.frame)
    b.tables = [
        _sector_table(b, before_year=first.year if before else None),  # type: ignore[union-attr]
        _typology_table(b),
        _trend_table(convention, by_year, names),
        _commune_table(convention, current.frame),
    ]
    return b


def typology_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Per typology: demands and attributions, their shares among those with a typology, the gap."""
    sums = frame.select(
        *(
            pl.col(f"{m}_{t.lower()}").fill_null(0).sum().alias(f"{m}_{t}")
            for m in ("demandes", "attributions")
            for t in DEMAND_TYPOLOGIES
        )
    ).row(0, named=True)
    total_d = sum(sums[f"demandes_{t}"] for t in DEMAND_TYPOLOGIES)
    total_a = sum(sums[f"attributions_{t}"] for t in DEMAND_TYPOLOGIES)
    rows = []
    for t in DEMAND_TYPOLOGIES:
        d, a = sums[f"demandes_{t}"], sums[f"attributions_{t}"]
        share_d = d / total_d if total_d else None
        share_a = a / total_a if total_a else None
        rows.append({
            "typologie": TYPOLOGY_LABELS[t],
            "demandes": d,
            "part_demandes": share_d,
            "attributions": a,
            "part_attributions": share_a,
            "ecart": (share_a - share_d) * 100 if share_a is not None and share_d is not None else None,
            "tension": tension(d, a),
        })  # fmt: skip
    rows.append({
        "typologie": "Ensemble (typologie connue)",
        "demandes": total_d,
        "part_demandes": 1.0 if total_d else None,
        "attributions": total_a,
        "part_attributions": 1.0 if total_a else None,
        "ecart": None,
        "tension": tension(total_d, total_a),
    })  # fmt: skip
    return rows


def _sector_table(b: DemandBilan, before_year: int | None) -> IndicatorTable:
    cols = [
        Col("secteur", "Secteur", "text"),
        Col("demandes", "Demandes en attente au 31 décembre"),
        Col("attributions", f"Attributions {b.year}"),
        Col("tension", "Tension (demandes par attribution)", "ratio", of=("demandes", "attributions")),
    ]
    if before_year is not None:
        cols += [
            Col("demandes_avant", f"Demandes en attente au 31 décembre {before_year}", visible=False),
            Col("attributions_avant", f"Attributions {before_year}", visible=False),
            Col(
                "tension_avant",
                f"Tension {before_year}",
                "ratio",
                of=("demandes_avant", "attributions_avant"),
            ),
            Col(
                "evolution",
                f"Évolution depuis {before_year}",
                "delta",
                of=("demandes", "attributions", "demandes_avant", "attributions_avant"),
            ),
        ]
    return IndicatorTable(
        "demande_secteurs", SECTION, f"Demande et tension locative par secteur en {b.year}", cols, b.sectors,
        note="Source : classeur « Demande » de l'agglomération (infocentre du SNE, commune demandée en premier "
        "choix). Tension : demandes en attente au 31 décembre pour une attribution de l'année.",
        total_row=True, family="secteur",
    )  # fmt: skip


def _typology_table(b: DemandBilan) -> IndicatorTable:
    cols = [
        Col("typologie", "Typologie", "text"),
        Col("demandes", "Demandes en attente"),
        Col("part_demandes", "Part des demandes", "rate", of=("demandes",)),
        Col("attributions", "Attributions"),
        Col("part_attributions", "Part des attributions", "rate", of=("attributions",)),
        Col("ecart", "Écart (points)", "delta", of=("demandes", "attributions")),
        Col("tension", "Tension", "ratio", of=("demandes", "attributions")),
    ]
    return IndicatorTable(
        "demande_typologies", SECTION, f"Typologies demandées et attribuées en {b.year}", cols, b.typologies,
        note="Parts calculées sur les demandes et les attributions dont la typologie est renseignée. Écart : part "
        "des attributions moins part des demandes, en points ; négatif, la typologie est moins attribuée que demandée.",
        total_row=True,
    )  # fmt: skip


def _trend_table(
    convention: Convention, by_year: Mapping[int, DemandYear], names: list[str]
) -> IndicatorTable:
    years = [y for y, d in by_year.items() if d.frame is not None]
    cols = [Col("secteur", "Secteur", "text")]
    for y in years:  # each year's tension hidden in public with the counts it is computed on
        cols += [Col(f"d{y}", f"Demandes {y}", visible=False), Col(f"a{y}", f"Attributions {y}", visible=False),
                 Col(f"t{y}", str(y), "ratio", of=(f"d{y}", f"a{y}"))]  # fmt: skip
    rows: list[dict[str, Any]] = [{"secteur": n} for n in [*names, TERRITORY_ROW]]
    for y in years:
        frame = by_year[y].frame
        grouped = _by(frame, "secteur")  # type: ignore[arg-type]
        grouped[TERRITORY_ROW] = {
            "demandes": int(frame["demandes"].sum()),
            "attributions": int(frame["attributions"].sum()),
        }  # type: ignore[index]
        for row in rows:
            g = grouped.get(row["secteur"], {})
            row[f"d{y}"], row[f"a{y}"] = g.get("demandes"), g.get("attributions")
            row[f"t{y}"] = tension(g.get("demandes"), g.get("attributions"))
    return IndicatorTable(
        "demande_evolution", SECTION, "Évolution de la tension locative par secteur", cols, rows,
        note="Demandes en attente au 31 décembre pour une attribution de l'année ; « – » : pas de classeur « Demande » "
        "utilisable cette année-là, ou aucune attribution.",
    )  # fmt: skip


def _commune_table(convention: Convention, frame: pl.DataFrame) -> IndicatorTable:
    names = {c.insee: c.name for c in convention.epci.communes}
    order = {c.insee: i for i, c in enumerate(convention.epci.communes)}
    rows = [
        {
            "commune": names.get(r["commune"], r["commune"]),
            "secteur": r["secteur"],
            "demandes": r["demandes"],
            "attributions": r["attributions"],
            "tension": tension(r["demandes"], r["attributions"]),
            "demandes_mutation": r.get("demandes_mutation"),
            "attributions_mutation": r.get("attributions_mutation"),
        }
        for r in sorted(frame.iter_rows(named=True), key=lambda r: order.get(r["commune"], len(order)))
        if r["demandes"] or r["attributions"]
    ]
    cols = [
        Col("commune", "Commune", "text"),
        Col("secteur", "Secteur", "text"),
        Col("demandes", "Demandes en attente au 31 décembre"),
        Col("attributions", "Attributions de l'année"),
        Col("tension", "Tension", "ratio", of=("demandes", "attributions")),
        Col("demandes_mutation", "Dont demandes de mutation", part_of="demandes"),
        Col("attributions_mutation", "Dont attributions à des mutations", part_of="attributions"),
    ]
    return IndicatorTable(
        "demande_communes", SECTION, "Demande et tension locative par commune", cols, rows, restricted=True,
        family="commune",
    )  # fmt: skip
