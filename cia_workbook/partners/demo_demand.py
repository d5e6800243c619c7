"""Synthetic Demande workbook of the EPCI for the demo: plausible, deterministic for a seed.

The demand follows the communes' population; the tension rises over the years in the sectors
the convention declares after the first (for Alès the peri-urban ring and the south, as Action 4
observes), and the typologies asked for lean on T2 while those that free up lean on T4.
"""

from __future__ import annotations

import datetime as dt
import random

from cia_workbook.convention.settings import Convention
from cia_workbook.partners.demo import generate_campaign, to_display
from cia_workbook.partners.template_sheets import FilledReturn
from cia_workbook.schema.demand import demand_partner
from cia_workbook.schema.sheets import demand_schema

DEMAND_SHARES = {"T1": 0.12, "T2": 0.34, "T3": 0.31, "T4": 0.17, "T5": 0.06}
ATTRIBUTION_SHARES = {"T1": 0.08, "T2": 0.22, "T3": 0.35, "T4": 0.28, "T5": 0.07}


def _split(rng: random.Random, total: int, shares: dict[str, float]) -> dict[str, int]:
    """`total` cut by `shares`, a little noise, the remainder on the largest share."""
    parts = {t: int(total * s * rng.uniform(0.85, 1.15)) for t, s in shares.items()}
    excess = sum(parts.values()) - total
    big = max(shares, key=shares.__getitem__)
    parts[big] = max(parts[big] - excess, 0)
    return parts


def attributions_per_commune(convention: Convention, year: int, seed: int = 2020) -> dict[str, int]:
    """The demo's attributions of `year` per commune (INSEE code): the bailleurs' rows whose CAL
    decision falls in the year, so that the Demande workbook agrees with the partners' returns."""
    from collections import Counter

    from cia_workbook.schema.codes import codelists_for

    insee = {c.display: c.code for c in codelists_for(convention, year)["commune"].codes}
    counted: Counter[str] = Counter()
    for filled in generate_campaign(convention, year, seed=seed, mistakes=False):
        for row in filled.tables.get("attributions", []):
            cal = row.get("date_cal")
            if isinstance(cal, dt.date) and cal.year == year and row.get("commune") in insee:
                counted[insee[row["commune"]]] += 1
    return dict(counted)


def generate_demand(
    convention: Convention, year: int, seed: int = 2020, attributed: dict[str, int] | None = None
) -> FilledReturn:
    """The officer's Demande workbook for `year`, as typed from the SNE infocentre; with
    `attributed`, each commune's attributions are those and its demand follows from its tension."""
    rng = random.Random(f"{seed}-demande-{year}")
    elapsed = year - convention.info.first_year
    rising = {c for s in convention.sectors[1:] for c in s.communes}
    rows = []
    for commune in convention.epci.communes:
        population = commune.population or 500
        base = population * 0.011 * rng.uniform(0.8, 1.2)
        growth = 1 + (0.06 if commune.insee in rising else 0.01) * elapsed
        demandes = round(base * growth)
        tension = (2.4 if commune.insee in rising else 3.2) * (
            1 + (0.05 if commune.insee in rising else -0.01) * elapsed
        )
        attributions = round(demandes / max(tension * rng.uniform(0.85, 1.15), 1.0))
        if attributed is not None and attributed.get(commune.insee):
            attributions = attributed[commune.insee]
            demandes = round(attributions * tension * rng.uniform(0.85, 1.15))
        elif attributed is not None:  # no attribution there this year: the demand waits
            attributions = 0
        row = {
            "commune": commune.insee,
            "demandes": demandes,
            "attributions": attributions,
            "demandes_mutation": round(demandes * rng.uniform(0.25, 0.35)),
            "attributions_mutation": round(attributions * rng.uniform(0.15, 0.25)),
        }
        for measure, total, shares in (("demandes", demandes, DEMAND_SHARES),
                                       ("attributions", attributions, ATTRIBUTION_SHARES)):  # fmt: skip
            for t, n in _split(rng, total, shares).items():
                row[f"{measure}_{t.lower()}"] = n
        rows.append(row)
    partner = demand_partner(convention)
    filled = FilledReturn(partner, year)
    filled.forms["identification"] = {
        "partenaire": partner.name,
        "annee": year,
        "repondant": "Chargée de mission habitat",
        "courriel": convention.campaign.contact_email or "",
        "date_reponse": dt.date(year + 1, 1, 20),
        "commentaires": "Infocentre du SNE, tableaux de la demande et des attributions par commune (données de démonstration).",
    }
    filled.tables["demande"] = rows
    to_display(filled, demand_schema(convention, year))
    return filled
