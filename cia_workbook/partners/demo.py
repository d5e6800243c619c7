"""Synthetic partner returns for the demo and the benchmarks: plausible and deterministic.

The generator reads the one schema (columns, code lists) and the convention (partners,
geography, thresholds, categories); it produces what a partner would type in its workbook
(dropdown labels, dates, numbers), then `fill_workbook` writes it into a real template with
openpyxl, as a partner does in Excel. A few typical mistakes are injected on purpose so that
the demo shows the validation at work.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cia_workbook.convention.settings import Convention, Partner
from cia_workbook.fileio import atomic_path
from cia_workbook.partners.template_sheets import FilledReturn
from cia_workbook.schema.sheets import (
    CONTINGENT_OWN,
    FORM_FIRST_ROW,
    HORS_QPV,
    NO_ZONE,
    WorkbookSchema,
    schema_for,
)

# Shares used to draw plausible rows (national orders of magnitude, not Alès figures).
TURNOVER = 0.085  # attributions a year per dwelling
SHARE_QPV = 0.33
SHARE_LOCAL_ZONE = 0.04
SHARE_OUTCOME = {"BAIL_SIGNE": 0.80, "REFUS": 0.15, "AUTRE": 0.05}
SHARE_UNKNOWN_QUARTILE = 0.03
SHARE_OWN_CONTINGENT = 0.55
# Who answers for each partner in the demo: invented people, e-mail addresses under the reserved
# top-level domain « .example » and telephone numbers from the range ARCEP sets aside for
# fiction (04 65 71 xx xx), so that no real person or line is ever named.
RESPONDENTS = ("Claire Martin", "Julien Roux", "Sophie Bernard", "Karim Haddad", "Élodie Fabre",
               "Thomas Garcia", "Nadia Benali", "Pierre Vidal", "Laure Chabert", "Mehdi Saïdi",
               "Anne Pélissier", "Yann Le Goff", "Isabelle Nguyen", "Romain Castan", "Hélène Bouvier")  # fmt: skip
RESPONDENT_ROLES = {"bailleur": "responsable des attributions", "reservataire": "responsable du contingent",
                    "operateur": "responsable du relogement"}  # fmt: skip


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _household(rng: random.Random, convention: Convention, year: int, quartile: str) -> dict[str, Any]:
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


def _bailleur_rows(
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
        row.update(_household(rng, convention, year, quartile))
        row.update(_attention_cells(attention_rng, row))
        rows.append(row)
    return rows


# Issue 17: drawn from a generator of their own, so that every other figure of the demo stays.
SHARE_DISABLED = 0.09  # households with a disabled member, among those the bailleur knows about
SHARE_DISABILITY_UNKNOWN = 0.12
# Motive of a refusal: the convention names location and the residence's image first.
REFUSAL_MOTIVES_QPV = {
    "LOCALISATION": 0.3,
    "IMAGE": 0.35,
    "TYPOLOGIE": 0.1,
    "LOYER": 0.1,
    "AUTRE": 0.1,
    None: 0.05,
}
REFUSAL_MOTIVES_OUT = {
    "LOCALISATION": 0.35,
    "IMAGE": 0.08,
    "TYPOLOGIE": 0.22,
    "LOYER": 0.2,
    "AUTRE": 0.1,
    None: 0.05,
}


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
        motive = rng.choices(list(weights), weights=list(weights.values()))[0]
    return {"handicap": disabled, "motif_refus": motive}


def _reception_rows(convention: Convention, partner: Partner, year: int, seed: int) -> list[dict[str, Any]]:
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


def _patrimoine_rows(rng: random.Random, convention: Convention, partner: Partner, year: int) -> list[dict]:
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


def _contingent_rows(convention: Convention, reservataire: Partner, year: int, truth: dict[str, list[dict]]):
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


def generate_campaign(
    convention: Convention, year: int, seed: int = 2020, scale: float = 1.0, mistakes: bool = True
) -> list[FilledReturn]:
    """Every partner's filled return for `year` (as typed), deterministic for a seed."""
    rng = random.Random(f"{seed}-{year}")
    truth = {p.id: _bailleur_rows(rng, convention, p, year, scale, seed) for p in convention.bailleurs}
    returns: list[FilledReturn] = []
    rehousing = _rehousing_rows(convention, year, seed) if convention.rehousing is not None else {}
    for index, partner in enumerate(convention.partners):
        schema = schema_for(convention, partner.kind, year, partner.id)
        filled = FilledReturn(partner, year)
        filled.forms["identification"] = {
            "partenaire": partner.name,
            "annee": year,
            **_respondent(partner, index),
            "date_reponse": dt.date(year + 1, 2, 1 + rng.randrange(0, 27)),
            "commentaires": "Données de démonstration (synthétiques).",
        }
        if partner.is_bailleur:
            filled.tables["attributions"] = [dict(r) for r in truth[partner.id]]
            filled.tables["patrimoine"] = _patrimoine_rows(rng, convention, partner, year)
        elif partner.kind == "reservataire":
            filled.tables["contingent"] = _contingent_rows(convention, partner, year, truth)
        answers = _action_answers(convention, partner)
        if answers:
            filled.forms["actions"] = answers
        if convention.reports_rehousing(partner.id):
            filled.tables["relogements"] = rehousing.get(partner.id, [])
        if convention.reception_points_of(partner.id):
            filled.tables["lieux_accueil"] = _reception_rows(convention, partner, year, seed)
        _to_display(filled, schema)
        returns.append(filled)
    if mistakes:
        _inject_mistakes(rng, returns, convention, year)
    return returns


def _action_answers(convention: Convention, partner: Partner) -> dict[str, Any]:
    """The demo's answers to the convention's Actions questions: « Oui » and « Non » in turn for
    the yes/no questions, free texts left blank (partners seldom write them), counts drawn small."""
    answers: dict[str, Any] = {}
    yes_no = 0
    for _action, question in convention.action_questions(partner.kind):
        if question.kind == "oui_non":
            answers[question.key] = "OUI" if yes_no % 2 == 0 else "NON"
            yes_no += 1
        elif question.kind == "entier":
            answers[question.key] = len(question.key) % 7
    return answers


def _respondent(partner: Partner, index: int) -> dict[str, str]:
    """The demo's invented respondent of a partner: name and role, e-mail, telephone."""
    import unicodedata

    name = RESPONDENTS[index % len(RESPONDENTS)]
    first, last = name.split(" ", 1)
    ascii_ = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode()
    return {
        "repondant": f"{name}, {RESPONDENT_ROLES.get(partner.kind, 'correspondant CIA')}",
        "courriel": f"{ascii_.lower().replace(' ', '-')}@{partner.id}.example",
        "telephone": f"04 65 71 {10 + index % 90:02d} {(37 * index) % 100:02d}",
    }


# -- NPNRU rehousing -------------------------------------------------------------------------

# Orders of magnitude for the synthetic follow-up (not Alès figures): most households are
# rehoused 6 to 30 months after the announcement, a few leave the partnership or stay blocked.
SHARE_IDENTIFIED = 0.92  # households of the programme already known by the last year
SHARE_LEFT = 0.05
SHARE_BLOCKED = 0.10
SHARE_TEMPORARY = 0.08


@dataclass
class _Rehousing:
    """One synthetic household of the programme, with the dates that decide its status each year."""

    id: str
    operation: Any  # convention.RehousingOperation
    household: dict[str, Any]
    entered: dt.date
    proposals: list[dt.date]
    rehoused: dt.date | None
    temporary: dt.date | None
    left: dt.date | None
    blocked: str | None  # blocking reason code while not rehoused
    origin: dict[str, Any]
    destination: dict[str, Any]


def _rehousing_programme(convention: Convention, seed: int) -> list[_Rehousing]:
    """Every household of the charter's operations over the convention, the same whatever the year."""
    charter = convention.rehousing
    assert charter is not None
    rng = random.Random(f"{seed}-relogement")
    first = charter.first_year or convention.info.first_year
    last = convention.info.last_year
    communes = sorted(convention.epci.communes, key=lambda c: -(c.population or 0))[:8]
    bailleurs = convention.bailleurs
    out = []
    for op in charter.operations:
        social = op.sector == "social"
        for n in range(round(op.households * SHARE_IDENTIFIED)):
            # Social demolitions were announced early; private blocks come in as they are acquired.
            span = (last - first) * 365 * (0.45 if social else 0.8)
            entered = dt.date(first, 1, 15) + dt.timedelta(days=rng.randrange(0, int(span) + 1))
            household = _household(rng, convention, first, "1")
            size = household["taille_menage"]
            surface = round(rng.uniform(22, 28) + 14 * size)
            rent = round(surface * rng.uniform(4.6, 6.2) * (1.0 if social else 1.35))
            charges = round(surface * rng.uniform(1.0, 1.6))
            apl = round(min(rent * rng.uniform(0.35, 0.8), rent + charges - 20))
            origin = {
                "parc": op.bailleur if social else "PARC_PRIVE",
                "commune": op.commune,
                "qpv": "OUI"
                if any(op.commune in q.communes for q in convention.geography(first).qpvs)
                else "NON",
                "typologie": household["typologie"],
                "surface": surface,
                "loyer": rent,
                "charges": charges,
                "apl": apl,
            }
            delay = rng.randrange(180, 900)
            rehoused = entered + dt.timedelta(days=delay)
            left = temporary = None
            blocked = None
            draw = rng.random()
            if draw < SHARE_LEFT:
                left, rehoused = entered + dt.timedelta(days=rng.randrange(90, 500)), None
            elif draw < SHARE_LEFT + SHARE_BLOCKED:
                blocked = rng.choice(
                    ["REFUS_REPETES", "OFFRE_INADAPTEE", "RESTE_A_CHARGE", "DETTE", "SOCIAL_SANTE"]
                )
                rehoused = entered + dt.timedelta(days=rng.randrange(900, 1800))
            elif draw < SHARE_LEFT + SHARE_BLOCKED + SHARE_TEMPORARY:
                temporary = entered + dt.timedelta(days=rng.randrange(60, delay - 30))
            end = rehoused or left or entered + dt.timedelta(days=400)
            count = rng.choices([1, 2, 3, 4], weights=[0.5, 0.3, 0.15, 0.05])[0] + (2 if blocked else 0)
            proposals = sorted(
                entered + dt.timedelta(days=rng.randrange(30, max(31, (end - entered).days)))
                for _ in range(count)
            )
            ranked = [b for b in bailleurs if b.id in convention.rehousing.partners] or bailleurs
            dest_parc = rng.choices(
                [b.id for b in ranked] + [b.id for b in bailleurs if b not in ranked] + ["PARC_PRIVE"],
                weights=[4] * len(ranked) + [1] * (len(bailleurs) - len(ranked)) + [0.5],
            )[0]
            commune = rng.choices(communes, weights=[c.population or 1 for c in communes])[0].insee
            with_qpv = any(
                commune in q.communes for q in convention.geography(rehoused.year if rehoused else last).qpvs
            )
            in_qpv = with_qpv and rng.random() < 0.4
            d_surface = round(surface * rng.uniform(0.85, 1.15))
            d_rent = (
                round(rent * rng.uniform(0.95, 1.25)) if social else round(d_surface * rng.uniform(5.0, 6.6))
            )
            d_charges = round(d_surface * rng.uniform(0.9, 1.5))
            d_apl = round(min(d_rent * rng.uniform(0.4, 0.85), d_rent + d_charges - 20))
            destination = {
                "parc": dest_parc,
                "commune": commune,
                "qpv": "OUI" if in_qpv else "NON",
                "meme_quartier": "OUI" if in_qpv and commune == op.commune and rng.random() < 0.5 else "NON",
                "recent": "OUI" if rng.random() < 0.28 else "NON",
                "typologie": household["typologie"],
                "surface": d_surface,
                "loyer": d_rent,
                "charges": d_charges,
                "apl": d_apl,
            }
            out.append(
                _Rehousing(
                    f"{op.code}-{n + 1:03d}",
                    op,
                    household,
                    entered,
                    proposals,
                    rehoused,
                    temporary,
                    left,
                    blocked,
                    origin,
                    destination,
                )  # fmt: skip
            )
    return out


def _rehousing_rows(convention: Convention, year: int, seed: int) -> dict[str, list[dict[str, Any]]]:
    """Partner id → the rows of its rehousing sheet for `year`, as codes.

    The operation's bailleur (or the operator, for the private stock) follows each household; a
    household rehoused in another charter partner's stock is followed by that partner from then on.
    """
    charter = convention.rehousing
    assert charter is not None
    end = dt.date(year, 12, 31)
    operator = next((p.id for p in convention.operators if p.id in charter.partners), None)
    rows: dict[str, list[dict[str, Any]]] = {pid: [] for pid in charter.partners}
    for h in _rehousing_programme(convention, seed):
        if h.entered > end:
            continue
        done = [d for d in h.proposals if d <= end]
        if h.left is not None and h.left <= end:
            status = "PARTI"
        elif h.rehoused is not None and h.rehoused <= end:
            status = "RELOGE_DEFINITIF"
        elif h.temporary is not None and h.temporary <= end:
            status = "RELOGE_TEMPORAIRE"
        elif done:
            status = "PROPOSITION"
        else:
            status = "A_RELOGER"
        housed = status in ("RELOGE_DEFINITIF", "RELOGE_TEMPORAIRE")
        blocked = (
            h.blocked is not None
            and status not in ("RELOGE_DEFINITIF", "PARTI")
            and (end - h.entered).days > 365
        )
        row: dict[str, Any] = {
            "identifiant": h.id,
            "operation": h.operation.code,
            **{k: h.household[k] for k in ("taille_menage", "nb_adultes", "nb_14_plus", "nb_moins_14")},
            "statut": status,
            "date_entree": h.entered,
            "date_relogement": (h.rehoused if status == "RELOGE_DEFINITIF" else h.temporary)
            if housed
            else None,
            **{f"origine_{k}": v for k, v in h.origin.items()},
            "propositions": len(done),
            "refus": max(len(done) - (1 if housed else 0), 0) if done else 0,
            "bloque": "OUI" if blocked else "NON",
            "motif_blocage": h.blocked if blocked else None,
        }
        if housed:
            row.update({f"destination_{k}": v for k, v in h.destination.items()})
        follower = h.operation.bailleur if h.operation.sector == "social" else operator
        if housed and h.destination["parc"] in charter.partners:
            follower = h.destination["parc"]
        if follower in rows:
            rows[follower].append(row)
    return rows


def _to_display(filled: FilledReturn, schema: WorkbookSchema) -> None:
    """Turn codes into the labels a partner picks in the dropdowns."""
    for sheet in schema.sheets:
        if sheet.layout == "table":
            rows = filled.tables.get(sheet.key, [])
            for column in sheet.columns:
                if column.codelist:
                    labels = schema.codelists[column.codelist].by_code
                    for row in rows:
                        value = row.get(column.key)
                        if value is not None and value in labels:
                            row[column.key] = labels[value].display
        elif sheet.layout == "form":
            answers = filled.forms.get(sheet.key, {})
            for column in sheet.columns:
                if column.codelist and answers.get(column.key) is not None:
                    labels = schema.codelists[column.codelist].by_code
                    value = answers[column.key]
                    answers[column.key] = labels[value].display if value in labels else value


def _inject_mistakes(
    rng: random.Random, returns: list[FilledReturn], convention: Convention, year: int
) -> None:
    """The mistakes partners typically make, each on a different partner so every verdict shows."""
    bailleurs = [r for r in returns if r.partner.is_bailleur and r.tables["attributions"]]
    if len(bailleurs) >= 3:
        # 1. A date typed as text and a resource amount pasted with a decimal comma (warnings).
        rows = bailleurs[1].tables["attributions"]
        rows[2]["date_cal"] = rows[2]["date_cal"].strftime("%d/%m/%Y")
        if rows[3].get("ressources") is not None:
            rows[3]["ressources"] = f"{rows[3]['ressources']:,}".replace(",", "\u00a0") + ",50"
        bailleurs[1].mistakes.append(
            "une date saisie comme texte et un montant avec virgule (avertissements)"
        )
        # 2. A missing quartile and a misspelt QPV code (errors: the return is excluded).
        rows = bailleurs[2].tables["attributions"]
        rows[4]["quartile"] = None
        rows[5]["qpv"] = "Hors QVP"
        bailleurs[2].mistakes.append("un quartile manquant et « Hors QVP » mal orthographié (erreurs)")
    # 3. The last réservataire does not answer (missing partner).
    reservataires = [r for r in returns if r.partner.kind == "reservataire"]
    if reservataires:
        reservataires[-1].mistakes.append("ne renvoie pas son fichier (partenaire manquant)")
    # 4. A réservataire counts one lease more than the bailleur's rows (cross-check difference).
    if reservataires and reservataires[0].tables.get("contingent"):
        declared = reservataires[0].tables["contingent"][0]
        declared["baux_signes"] += 1
        reservataires[0].mistakes.append(
            f"déclare un bail signé de plus que les lignes de {declared['bailleur']} (écart signalé à la commission)"
        )


def is_missing(filled: FilledReturn) -> bool:
    return any("ne renvoie pas" in m for m in filled.mistakes)


def has_errors(filled: FilledReturn) -> bool:
    """The return into which `_inject_mistakes` put errors (the one that is excluded)."""
    return any("(erreurs)" in m for m in filled.mistakes)


# Days between an excluded return and the corrected version its partner sends back.
CORRECTION_DELAY = 12
CORRECTED_SUFFIX = "-corrige"


@dataclass
class Submission:
    """One file a partner sends: its answers and the end of its file name (a corrected version
    is named as a partner names it, « …-corrige.xlsx »)."""

    filled: FilledReturn
    suffix: str = ""


def demo_submissions(
    convention: Convention, year: int, seed: int = 2020, story: bool = False
) -> list[Submission]:
    """The files the partners send for `year` in the demo, in the order they arrive.

    Every year has the typical mistakes of `generate_campaign` (warnings, a missing partner, a
    cross-check difference). With `story` (the demo's last year), the real life of a campaign:
    the partner whose return has errors sends a corrected version later (a later answer date,
    a new file name), which replaces the first; and a rehousing partner's return keeps an error
    and stays excluded, so that the annexes say which households have no state of the year. In
    the other years the partner with errors sends its return right the first time.
    """
    sent = generate_campaign(convention, year, seed=seed)
    clean = {f.partner.id: f for f in generate_campaign(convention, year, seed=seed, mistakes=False)}
    flawed = next((f.partner.id for f in sent if has_errors(f)), None)
    out: list[Submission] = []
    for filled in sent:
        if is_missing(filled):
            continue
        if filled.partner.id == flawed:
            if not story:
                out.append(Submission(clean[flawed]))
                continue
            out.append(Submission(filled))
            corrected = clean[flawed]
            form = corrected.forms["identification"]
            form["date_reponse"] = filled.forms["identification"]["date_reponse"] + dt.timedelta(
                days=CORRECTION_DELAY
            )
            form["commentaires"] = (
                "Version corrigée après le contrôle de l'agglomération (données de démonstration)."
            )
            corrected.mistakes = [
                f"renvoie le {form['date_reponse'].strftime('%d/%m/%Y')} une version corrigée, nommée "
                f"« …{CORRECTED_SUFFIX}.xlsx », qui remplace la première"
            ]
            out.append(Submission(corrected, CORRECTED_SUFFIX))
            continue
        if story and filled.partner.id == _stays_excluded(convention, flawed):
            _rehousing_error(filled, year)
        out.append(Submission(filled))
    return out


def _stays_excluded(convention: Convention, flawed: str | None) -> str | None:
    """The rehousing partner whose return stays excluded in the demo's last year: the operator
    of the private stock, else the last charter partner that is not `flawed`."""
    charter = convention.rehousing
    if charter is None:
        return None
    partners = [p for p in charter.partners if p != flawed]
    operators = [p for p in partners if convention.partners_by_id[p].kind == "operateur"]
    return (operators or partners or [None])[-1]


def _rehousing_error(filled: FilledReturn, year: int) -> None:
    """A rehousing date typed in the next year (an error: the sheet describes 31 December)."""
    rows = filled.tables.get("relogements") or []
    row = next((r for r in rows if r.get("date_relogement") is not None), rows[0] if rows else None)
    if row is None:
        return
    row["date_relogement"] = dt.date(year + 1, 1, 15)
    filled.mistakes.append(
        f"saisit une date de relogement de {year + 1} pour le ménage {row['identifiant']} (erreur) et ne renvoie pas "
        f"de version corrigée : son retour est écarté, ses ménages sont « en situation non actualisée » dans les annexes"
    )


def write_filled_return(convention: Convention, filled: FilledReturn, target: Path) -> Path:
    """The partner's template written with its answers already in it (xlsxwriter, one pass).

    Same cells as `fill_workbook`, at a fraction of the cost: used to generate campaigns of
    thousands of returns (benchmarks). The demo keeps `fill_workbook`, which fills a copy of
    the template the way a partner does.
    """
    from cia_workbook.partners.templates import write_template

    return write_template(convention, filled.partner, filled.year, target, filled=filled)


def fill_workbook(template: Path, target: Path, filled: FilledReturn, schema: WorkbookSchema) -> Path:
    """Write a partner's answers into a copy of its template with openpyxl, as in Excel."""
    import openpyxl

    wb = openpyxl.load_workbook(template)
    for sheet in schema.sheets:
        if sheet.layout == "table" and sheet.key in filled.tables:
            ws = wb[sheet.title]
            for r, row in enumerate(filled.tables[sheet.key]):
                for c, column in enumerate(sheet.columns, start=1):
                    value = row.get(column.key)
                    if value is not None:
                        ws.cell(row=sheet.first_data_row + r, column=c, value=value)
        elif sheet.layout == "form" and sheet.key in filled.forms:
            ws = wb[sheet.title]
            for i, column in enumerate(sheet.columns):
                value = filled.forms[sheet.key].get(column.key)
                if value not in (None, ""):
                    ws.cell(row=FORM_FIRST_ROW + i, column=2, value=value)
    with atomic_path(target) as tmp:
        wb.save(tmp)
    return target
