"""Synthetic rows of the demo's partners, as codes (the truth, before they are typed as labels):
a bailleur's attributions and stock, a réservataire's declarations on its contingents (from the
bailleurs' rows), a reception point's applicants. Deterministic: each draw comes from a seeded
generator, and the cells added over time from generators of their own, so that every other
figure of the demo stays as it was.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from cia_workbook.convention.settings import Convention, Partner
from cia_workbook.schema.sheets import CONTINGENT_OWN, HORS_QPV, NO_ZONE

# Shares used to draw plausible rows (national orders of magnitude, not Alès figures).
TURNOVER = 0.085  # attributions a year per dwelling
SHARE_QPV = 0.33
SHARE_LOCAL_ZONE = 0.04
SHARE_OUTCOME = {"BAIL_SIGNE": 0.80, "REFUS": 0.15, "AUTRE": 0.05}
SHARE_UNKNOWN_QUARTILE = 0.03
SHARE_OWN_CONTINGENT = 0.55


def _pick(rng: random.Random, weights: dict) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def draw_household(rng: random.Random, convention: Convention, year: int, quartile: str) -> dict[str, Any]:
    """A household composition and resources consistent with its quartile when thresholds exist."""
    adults = rng.choices([1, 2], weights=[0.6, 0.4])[0]
    children = rng.choices([0, 1, 2, 3, 4], weights=[0.5, 0.2, 0.17, 0.09, 0.04])[0]
    teens = rng.choices([0, 1], weights=[0.85, 0.15])[0]
    persons_14 = adults + teens
    scale = convention.uc_scale
    uc = scale.first_adult + scale.other_14_plus * (persons_14 - 1) + scale.child_under_14 * children
    t = convention.thresholds(year)
    if quartile == "INCONNU":
        resources = None
    elif t is not None and t.complete:
        bounds = {"1": (0.35 * t.q1, t.q1), "2": (t.q1, t.q2), "3": (t.q2, t.q3), "4": (t.q3, 1.6 * t.q3)}
        low, high = bounds[quartile]
        resources = round(uc * rng.uniform(low + 1, high - 1))
    else:
        base = {"1": 5500, "2": 9500, "3": 13500, "4": 19000}[quartile]
        resources = round(uc * base * rng.uniform(0.85, 1.15))
    size = persons_14 + children
    typology = "T1" if size == 1 and rng.random() < 0.3 else f"T{min(size + rng.choice([0, 1]), 5) or 1}"
    if size >= 5 and rng.random() < 0.3:
        typology = "T6+"
    return {
        "taille_menage": size,
        "nb_adultes": adults,
        "nb_14_plus": persons_14,
        "nb_moins_14": children,
        "ressources": resources,
        "typologie": typology,
    }


# Share of the DALO households of the bailleurs carrying the urban-renewal rehousing that are
# also rehoused by the NPNRU (their category stays DALO, the higher one).
SHARE_DALO_NPNRU = 0.35


def bailleur_rows(
    rng: random.Random, convention: Convention, partner: Partner, year: int, scale: float, seed: int = 2020
) -> list[dict[str, Any]]:
    """Rows as codes (the truth), before they are turned into what the partner types."""
    # The NPNRU flag is drawn apart, so that every other figure stays what it was without it.
    npnru_rng = random.Random(f"{seed}-{year}-{partner.id}-npnru")
    attention_rng = random.Random(f"{seed}-{year}-{partner.id}-attention")
    # Which of a réservataire's declared contingents: drawn apart, so that declaring contingents
    # leaves every other figure of the demonstration as it was.
    contingent_rng = random.Random(f"{seed}-{year}-{partner.id}-contingents")
    declared = {
        p.id: [c.code for c in convention.contingents if c.partner == p.id] for p in convention.reservataires
    }
    carries_renewal = partner.id in _renewal_bailleurs(convention)
    geo = convention.geography(year)
    communes = convention.epci.communes
    weights = [c.population or 1 for c in communes]
    reservataires = convention.reservataires
    categories = convention.priority_categories
    renewal = [c.code for c in categories if c.urban_renewal]
    priority = [c.code for c in categories if c.priority and not c.urban_renewal]
    none_code = next(c.code for c in categories if not c.priority)
    count = max(3, round((partner.estimated_stock or 300) * TURNOVER * scale * rng.uniform(0.9, 1.1)))
    prefix = "".join(w[0] for w in partner.name.upper().split() if w[0].isalnum())[:3] or "REF"
    rows = []
    for i in range(count):
        draw = rng.random()
        zone = NO_ZONE
        if draw < SHARE_QPV and geo.qpvs:
            qpv = rng.choice(geo.qpvs)
            sector, commune = qpv.code, rng.choice(qpv.communes)
        elif draw < SHARE_QPV + SHARE_LOCAL_ZONE and convention.local_zones:
            local = rng.choice(convention.local_zones)
            sector, commune, zone = HORS_QPV, local.commune, local.code
        else:
            sector, commune = HORS_QPV, rng.choices(communes, weights=weights)[0].insee
        in_qpv = sector != HORS_QPV or zone != NO_ZONE
        if rng.random() < SHARE_UNKNOWN_QUARTILE:
            quartile = "INCONNU"
        elif in_qpv:
            quartile = rng.choices(["1", "2", "3", "4"], weights=[0.30, 0.32, 0.24, 0.14])[0]
        else:
            quartile = rng.choices(["1", "2", "3", "4"], weights=[0.24, 0.30, 0.26, 0.20])[0]
        cat_draw = rng.random()
        if cat_draw < 0.03 and categories:
            category = categories[0].code  # the highest category (DALO in Alès)
        elif cat_draw < 0.06 and renewal and carries_renewal:
            category = rng.choice(renewal)
        elif cat_draw < 0.27 and priority:
            category = rng.choice(priority[1:] or priority)
        else:
            category = none_code
        outcome = _pick(rng, SHARE_OUTCOME)
        start = dt.date(year, 1, 1)
        cal = start + dt.timedelta(days=rng.randrange(0, 365))
        lease = None
        if outcome == "BAIL_SIGNE":
            lease = cal + dt.timedelta(days=rng.randrange(7, 45))
            if lease.year > year:  # signed in January: belongs to next year's lease figures
                outcome, lease = "AUTRE", None
        if i % 40 == 7:  # a CAL decision of last December, lease signed this year
            cal = dt.date(year - 1, 12, rng.randrange(1, 20))
            outcome, lease = "BAIL_SIGNE", dt.date(year, 1, rng.randrange(5, 28))
        contingent = CONTINGENT_OWN
        # A commune holds reservations on its own territory only.
        holders = [p.id for p in reservataires if p.commune in (None, commune)]
        if rng.random() > SHARE_OWN_CONTINGENT and holders:
            codes = declared[rng.choice(holders)]
            # The first declared contingent most often (the State's priority publics: 25 % against 5 %).
            contingent = (
                codes[0]
                if len(codes) == 1 or contingent_rng.random() < 0.8
                else contingent_rng.choice(codes[1:])
            )
        age = rng.randrange(19, 85)
        employment = rng.choices(
            ["EMPLOI", "CHOMAGE", "RETRAITE", "ETUDIANT", "AUTRE", "INCONNU"],
            weights=[0.38, 0.22, 0.15 if age > 60 else 0.02, 0.04 if age < 28 else 0.0, 0.15, 0.04],
        )[0]
        row = {
            "reference": f"{prefix}-{year}-{i + 1:05d}",
            "date_cal": cal,
            "date_bail": lease,
            "suite": outcome,
            "commune": commune,
            "qpv": sector,
            "zone_locale": zone,
            "contingent": contingent,
            "quartile": quartile,
            "categorie": category,
            "age_titulaire": age,
            "emploi": employment,
            "mutation": "OUI" if rng.random() < 0.18 else "NON",
            "logement_recent": "OUI" if (not in_qpv and rng.random() < 0.15) else "NON",
            "reloge_npnru": "OUI"
            if category in renewal
            or (
                renewal
                and carries_renewal
                and categories
                and category == categories[0].code
                and npnru_rng.random() < SHARE_DALO_NPNRU
            )
            else "NON",
        }
        row.update(draw_household(rng, convention, year, quartile))
        row.update(_attention_cells(attention_rng, row))
        rows.append(row)
    return rows


# Issue 17: drawn from a generator of their own, so that every other figure of the demo stays.
SHARE_DISABLED = 0.09  # households with a disabled member, among those the bailleur knows about
SHARE_DISABILITY_UNKNOWN = 0.12
# Motive of a refusal: the convention names location and the residence's image first.
REFUSAL_MOTIVES_QPV = {"LOCALISATION": 0.3, "IMAGE": 0.35, "TYPOLOGIE": 0.1, "LOYER": 0.1, "AUTRE": 0.1,
                       None: 0.05}  # fmt: skip
REFUSAL_MOTIVES_OUT = {"LOCALISATION": 0.35, "IMAGE": 0.08, "TYPOLOGIE": 0.22, "LOYER": 0.2, "AUTRE": 0.1,
                       None: 0.05}  # fmt: skip


def _attention_cells(rng: random.Random, row: dict[str, Any]) -> dict[str, Any]:
    """The disability and refusal-motive cells of a demo row."""
    draw = rng.random()
    elderly = (row["age_titulaire"] or 0) >= 65
    disabled = (
        "INCONNU"
        if draw < SHARE_DISABILITY_UNKNOWN
        else ("OUI" if rng.random() < SHARE_DISABLED * (2 if elderly else 1) else "NON")
    )
    motive = None
    if row["suite"] == "REFUS":
        weights = (
            REFUSAL_MOTIVES_OUT
            if row["qpv"] == HORS_QPV and row["zone_locale"] == NO_ZONE
            else REFUSAL_MOTIVES_QPV
        )
        motive = _pick(rng, weights)
    return {"handicap": disabled, "motif_refus": motive}


def reception_rows(convention: Convention, partner: Partner, year: int, seed: int) -> list[dict[str, Any]]:
    """Applicants received per reception point of the partner and quarter, the share informed about
    housing in QPV rising over the years of the convention (Action 5's information)."""
    rng = random.Random(f"{seed}-{year}-{partner.id}-accueil")
    informed = min(0.2 + 0.08 * (year - convention.info.first_year), 0.75)
    rows = []
    for point in convention.reception_points_of(partner.id):
        base = 60 + rng.randrange(0, 140)
        for quarter in ("T1", "T2", "T3", "T4"):
            received = round(base * rng.uniform(0.75, 1.25) * (0.8 if quarter == "T3" else 1.0))
            rows.append(
                {
                    "lieu": point.code,
                    "trimestre": quarter,
                    "demandeurs": received,
                    "informes_qpv": round(received * min(informed * rng.uniform(0.85, 1.15), 1.0)),
                }
            )
    return rows


def _renewal_bailleurs(convention: Convention) -> set[str]:
    # The bailleurs with the largest stock carry the urban-renewal rehousing in the demo.
    ranked = sorted(convention.bailleurs, key=lambda p: -(p.estimated_stock or 0))
    return {p.id for p in ranked[:2]}


def patrimoine_rows(rng: random.Random, convention: Convention, partner: Partner, year: int) -> list[dict]:
    geo = convention.geography(year)
    stock = partner.estimated_stock or 300
    rows = []
    in_qpv = round(stock * SHARE_QPV)
    for qpv in geo.qpvs:
        share = in_qpv // max(1, len(geo.qpvs))
        if share:
            rows.append(_vacancy(rng, qpv.communes[0], qpv.code, share))
    for zone in convention.local_zones:
        rows.append(_vacancy(rng, zone.commune, zone.code, round(stock * SHARE_LOCAL_ZONE)))
    big = sorted(convention.epci.communes, key=lambda c: -(c.population or 0))[:4]
    rest = stock - sum(r["logements"] for r in rows)
    for k, commune in enumerate(big):
        rows.append(_vacancy(rng, commune.insee, HORS_QPV, rest // (2 ** (k + 1)) or 1))
    return rows


def _vacancy(rng: random.Random, commune: str, sector: str, dwellings: int) -> dict:
    vacant = round(dwellings * rng.uniform(0.02, 0.09))
    return {
        "commune": commune,
        "secteur": sector,
        "logements": dwellings,
        "vacants": vacant,
        "vacants_3_mois": round(vacant * rng.uniform(0.3, 0.6)),
    }


def contingent_rows(convention: Convention, reservataire: Partner, year: int, truth: dict[str, list[dict]]):
    """What a réservataire declares per bailleur (and per contingent, when it declares several):
    the bailleurs' rows on its contingent."""
    categories = convention.priority_categories
    renewal = {c.code for c in categories if c.urban_renewal}
    several = len(reservataire.contingents) >= 2
    codes = [c.code for c in convention.contingents if c.partner == reservataire.id]
    rows = []
    for bailleur, code in ((b, c) for b in convention.bailleurs for c in codes):
        mine = [r for r in truth.get(bailleur.id, []) if r["contingent"] == code]
        leases = [
            r for r in mine if r["suite"] == "BAIL_SIGNE" and r["date_bail"] and r["date_bail"].year == year
        ]
        cal = [r for r in mine if r["date_cal"].year == year]
        row = {
            "bailleur": bailleur.id,
            **({"contingent": code} if several else {}),
            "logements_mis_a_disposition": round(len(cal) * 1.1) + 1,
            "candidats_proposes": round(len(cal) * 2.2),
            "baux_signes": len(leases),
            "q1_hors_qpv": sum(
                1
                for r in leases
                if r["qpv"] == HORS_QPV
                and r["zone_locale"] == NO_ZONE
                and (r["quartile"] == "1" or r["categorie"] in renewal or r.get("reloge_npnru") == "OUI")
            ),
            "q234_qpv": sum(
                1
                for r in cal
                if (r["qpv"] != HORS_QPV or r["zone_locale"] != NO_ZONE) and r["quartile"] in ("2", "3", "4")
            ),
            "refus": sum(1 for r in cal if r["suite"] == "REFUS"),
        }
        for c in categories:
            if c.priority:
                row[f"prioritaires_{c.code.lower()}"] = sum(1 for r in leases if r["categorie"] == c.code)
        rows.append(row)
    return rows
