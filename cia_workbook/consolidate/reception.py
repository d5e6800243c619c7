"""Action 5's own figures (issue 17, item 4): the reception points and the motives of refusals.

Reception points are declared in the convention (`[[lieux_accueil]]`), each run by a partner
whose return holds a « Lieux d'accueil » sheet: applicants received per quarter, and among them
those informed about housing in QPV. The refusal motives come from the optional « Motif du
refus » column of the bailleurs' Attributions rows whose outcome is « Refus du ménage ».
"""

from __future__ import annotations

from typing import Any

import polars as pl

from cia_workbook.consolidate.frames import CAL, HORS, INQ, REFUS, ROWS, campaign_frame, counts
from cia_workbook.consolidate.tables import Col, IndicatorTable, with_rates
from cia_workbook.convention.settings import Convention
from cia_workbook.intake.model import Campaign
from cia_workbook.render import frformat
from cia_workbook.schema.codes import QUARTERS, REFUSAL_MOTIVES
from cia_workbook.schema.sheets import LIEUX_ACCUEIL

NOT_FILLED = "Motif non renseigné"


def _reception_frame(campaign: Campaign) -> pl.DataFrame:
    return campaign_frame(campaign, "lieux_accueil", LIEUX_ACCUEIL)


def reported_points(convention: Convention, campaign: Campaign) -> tuple[list[str], list[str]]:
    """(codes of the points whose partner's return is used, names of the points without one)."""
    usable = campaign.usable()
    shown = [p.code for p in convention.reception_points if p.partner in usable]
    lacking = [p.name for p in convention.reception_points if p.partner not in usable]
    return shown, lacking


def reception_tables(
    convention: Convention, campaigns: dict[int, Campaign], year: int
) -> list[IndicatorTable]:
    """The year's applicants per point and quarter, then every year's since the first."""
    if not convention.reception_points:
        return []
    campaign = campaigns[year]
    frame = _reception_frame(campaign)
    quarters = [q.code for q in QUARTERS.codes]
    measures: dict[str, pl.Expr] = {
        q: pl.col("demandeurs").filter(pl.col("trimestre") == q) for q in quarters
    } | {"demandeurs": pl.col("demandeurs"), "informes": pl.col("informes_qpv")}
    per_point = counts(frame, measures, "lieu", [p.code for p in convention.reception_points])
    shown, lacking = reported_points(convention, campaign)
    names = convention.partners_by_id
    rows: list[dict[str, Any]] = []
    for p in convention.reception_points:
        label = f"{p.name} ({names[p.partner].name})"
        if p.code in shown:
            rows.append({"lieu": label, **per_point[p.code]})
        else:  # no return used: nothing known, never zero
            rows.append({"lieu": label, **dict.fromkeys(measures)})
    rows.append({"lieu": "Ensemble des lieux d'accueil", **counts(frame, measures)})
    cols = [Col("lieu", "Lieu d'accueil", "text")]
    cols += [Col(q.code, q.label[0].upper() + q.label[1:], part_of="demandeurs") for q in QUARTERS.codes]
    cols += [
        Col("demandeurs", "Demandeurs reçus dans l'année"),
        Col("informes", "Dont informés sur le parc en QPV"),
        Col("part", "Part informée", "rate", of=("informes", "demandeurs")),
    ]
    note = (
        "Demandeurs reçus : chaque demandeur compté une fois par trimestre et par lieu (feuille « Lieux d'accueil » "
        "du partenaire qui tient le lieu)."
    )
    if lacking:
        note += (
            f" Sans retour utilisé cette année (« – ») : {', '.join(lacking)} ; l'ensemble ne les compte pas."
        )
    year_table = IndicatorTable(
        "lieux_accueil",
        "mixite",
        f"Demandeurs reçus dans les lieux d'accueil en {year}, par trimestre",
        cols,
        with_rates(cols, rows),
        note=note,
        total_row=True,
    )
    trend_cols = [
        Col("annee", "Année", "text"),
        Col("lieux", "Lieux d'accueil ayant répondu", "text"),
        Col("demandeurs", "Demandeurs reçus"),
        Col("informes", "Dont informés sur le parc en QPV"),
        Col("part", "Part informée", "rate", of=("informes", "demandeurs")),
    ]
    trend = []
    for t in sorted(campaigns):
        if t > year or t not in convention.years:
            continue
        answered, _ = reported_points(convention, campaigns[t])
        n = counts(
            _reception_frame(campaigns[t]),
            {"demandeurs": measures["demandeurs"], "informes": measures["informes"]},
        )
        trend.append(
            {"annee": str(t), "lieux": f"{len(answered)} sur {len(convention.reception_points)}", **n}
        )
    trend_table = IndicatorTable(
        "lieux_accueil_evolution",
        "mixite",
        f"Demandeurs reçus dans les lieux d'accueil depuis {trend[0]['annee'] if trend else year}",
        trend_cols,
        with_rates(trend_cols, trend),
        note="Chaque année avec les seuls lieux dont le partenaire a un retour utilisé cette année-là.",
    )
    return [year_table, trend_table]


def refusal_motives(convention: Convention, frame: pl.DataFrame, inside: str) -> IndicatorTable:
    """Refusal rate per motive, in QPV (and local zones) and outside: refusals of the motive
    among all the CAL decisions of the year of that sector."""
    decided = frame.filter(CAL)
    motives = [(m.code, m.label) for m in REFUSAL_MOTIVES.codes]
    motive = pl.col("motif_refus")
    known = [code for code, _ in motives]
    by: dict[str, pl.Expr] = {code: motive == code for code in known}
    by["NR"] = motive.is_null() | ~motive.is_in(known)
    measures: dict[str, pl.Expr] = {"qpv_dec": INQ, "hors_dec": HORS}
    for code, expr in by.items():
        measures[f"qpv_{code}"] = INQ & REFUS & expr.fill_null(False)
        measures[f"hors_{code}"] = HORS & REFUS & expr.fill_null(False)
    n = counts(decided, measures)
    rows = []
    for code, label in [*motives, ("NR", NOT_FILLED)]:
        rows.append(
            {
                "motif": label,
                "qpv": n[f"qpv_{code}"],
                "hors": n[f"hors_{code}"],
                "qpv_dec": n["qpv_dec"],
                "hors_dec": n["hors_dec"],
            }
        )
    total = counts(
        decided, {"qpv": INQ & REFUS, "hors": HORS & REFUS, "qpv_dec": INQ, "hors_dec": HORS, "_": ROWS}
    )
    total.pop("_")
    rows.append({"motif": "Ensemble des refus", **total})
    cols = [
        Col("motif", "Motif du refus", "text"),
        Col("qpv_dec", f"Décisions CAL {inside}", visible=False),
        Col("qpv", f"Refus {inside}"),
        Col("qpv_taux", f"Taux de refus {inside}", "rate", of=("qpv", "qpv_dec")),
        Col("hors_dec", "Décisions CAL hors QPV", visible=False),
        Col("hors", "Refus hors QPV"),
        Col("hors_taux", "Taux de refus hors QPV", "rate", of=("hors", "hors_dec")),
    ]
    return IndicatorTable(
        "refus_motifs",
        "mixite",
        "Taux de refus des ménages par motif, en QPV et hors QPV",
        cols,
        with_rates(cols, rows),
        note=(
            f"Univers : attributions prononcées dans l'année ({frformat.integer(n['qpv_dec'])} {inside}, "
            f"{frformat.integer(n['hors_dec'])} hors QPV). "
            "Taux de refus d'un motif : refus de ce motif parmi toutes les décisions de CAL du secteur. Motif : "
            "colonne « Motif du refus » des lignes dont la suite est « Refus du ménage »."
        ),
        total_row=True,
    )
