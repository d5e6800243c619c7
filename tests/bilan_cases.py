"""A known campaign for the bilan tests, and every indicator recomputed independently from its rows.

The rows cover every priority category, every QPV of both geographies (2023: QP codes of the
2015 geography, 2024: QN codes of the 2024 one), the Promelles local zone, a row both in a QPV
and in the zone, CAL decisions and leases falling in different years, and missing values. The
expected figures are plain loops over the rows, written from DOMAIN.md, not from the code.
"""

from __future__ import annotations

import datetime as dt
import itertools

from bilan_helpers import campaign, return_file

from cia_workbook.consolidate import consolidate
from cia_workbook.convention.settings import load_convention

CONVENTION = load_convention()
BAILLEURS = ["logis-cevenols", "habitat-du-gard", "un-toit-pour-tous"]
RESERVATAIRE = "action-logement"
CATEGORIES = ["DALO", "NPNRU", "PDALHPD", "L441", "AUCUNE"]
PRIORITY = {"DALO", "NPNRU", "PDALHPD", "L441"}
QUARTILES = ["1", "2", "3", "4", "INCONNU"]
SUITES = ["BAIL_SIGNE", "REFUS", "AUTRE"]
CONTINGENTS = ["PROPRE", RESERVATAIRE, "commune-anduze"]
EMPLOI = ["EMPLOI", "CHOMAGE", "RETRAITE", "INCONNU", None]
NAMES = {p.id: p.name for p in CONVENTION.partners}


def sectors(year: int) -> list[tuple[str, str | None, str]]:
    """(qpv, zone_locale, commune) of the dwellings: every QPV, the zone, both, outside."""
    geo = CONVENTION.geography(year)
    out = [(q.code, "NON", q.communes[-1]) for q in geo.qpvs]
    out += [
        ("HORS_QPV", "PROMELLES", "30007"),
        (geo.qpvs[0].code, "PROMELLES", "30007"),  # both: counted once, in the QPV
        ("HORS_QPV", "NON", "30007"),
        ("HORS_QPV", "NON", "30010"),
        ("HORS_QPV", None, "30307"),
        ("HORS_QPV", "NON", "30132"),
    ]
    return out


def attribution_rows(year: int) -> list[dict]:
    rows = []
    combos = itertools.product(CATEGORIES, sectors(year), QUARTILES, SUITES, CONTINGENTS)
    for i, (cat, (qpv, zone, commune), quartile, suite, contingent) in enumerate(combos):
        if i % 11 == 0:  # neither decision nor lease in the year
            cal, bail = dt.date(year - 1, 5, 2), dt.date(year - 1, 6, 1)
        elif i % 7 == 0:  # decided last December, lease signed in January
            cal, bail = dt.date(year - 1, 12, 15), dt.date(year, 1, 10)
        elif i % 7 == 1:  # decided in December, lease signed next January
            cal, bail = dt.date(year, 12, 12), dt.date(year + 1, 1, 8)
        else:
            cal, bail = dt.date(year, 1 + i % 12, 1 + i % 27), dt.date(year, 1 + i % 12, 28)
        rows.append(
            {
                "reference": f"R{year}-{i:05d}",
                "date_cal": cal,
                "date_bail": bail if suite == "BAIL_SIGNE" else None,
                "suite": suite,
                "commune": commune,
                "qpv": qpv,
                "zone_locale": zone,
                "contingent": contingent,
                "quartile": quartile,
                "categorie": cat,
                "typologie": "T3",
                "taille_menage": 3,
                "ressources": 12000.0 + i,
                "nb_adultes": 2,
                "nb_14_plus": 2,
                "nb_moins_14": None if i % 17 == 0 else i % 3,
                "age_titulaire": None if i % 13 == 0 else 20 + (i * 7) % 60,
                "emploi": EMPLOI[i % len(EMPLOI)],
                "mutation": [None, "OUI", "NON", "NON"][i % 4],
                "logement_recent": "NON",
                # Rehoused by the NPNRU: some DALO households too (their category stays DALO).
                "reloge_npnru": "OUI"
                if cat == "NPNRU" or (cat == "DALO" and i % 3 == 0)
                else [None, "NON"][i % 2],
            }
        )
    return rows


def npnru(r: dict) -> bool:
    """Rehoused by the NPNRU, whatever the category (DOMAIN.md: the objective counts the fact)."""
    return r["categorie"] == "NPNRU" or r.get("reloge_npnru") == "OUI"


PATRIMOINE = {
    "logis-cevenols": [
        {"commune": "30007", "secteur": "HORS_QPV", "logements": 3000, "vacants": 90, "vacants_3_mois": 30},
        {"commune": "30007", "secteur": "PROMELLES", "logements": 400, "vacants": 25, "vacants_3_mois": 11},
    ],
    "habitat-du-gard": [
        {"commune": "30010", "secteur": "HORS_QPV", "logements": 500, "vacants": 12, "vacants_3_mois": 3},
    ],
    "un-toit-pour-tous": [],
}


def build_campaign(year: int):
    """Three bailleurs split the rows; one réservataire declares figures; SEMIGA is excluded."""
    rows = attribution_rows(year)
    by_bailleur = {b: rows[i :: len(BAILLEURS)] for i, b in enumerate(BAILLEURS)}
    returns = [
        return_file(b, "bailleur", year, {"attributions": by_bailleur[b], "patrimoine": PATRIMOINE[b]})
        for b in BAILLEURS
    ]
    declared = [
        {
            "bailleur": b,
            "logements_mis_a_disposition": 50,
            "candidats_proposes": 90,
            "baux_signes": 40 + k,
            "prioritaires_dalo": 5,
            "prioritaires_npnru": 4,
            "prioritaires_pdalhpd": 6,
            "prioritaires_l441": 7,
            "q1_hors_qpv": 9,
            "q234_qpv": 8,
            "refus": 12,
        }
        for k, b in enumerate(BAILLEURS)
    ]
    returns.append(return_file(RESERVATAIRE, "reservataire", year, {"contingent": declared}))
    returns.append(
        return_file("semiga", "bailleur", year, {"attributions": attribution_rows(year)[:5]}, errors=3)
    )
    used = {rf.partner_id for rf in returns}
    missing = [p.id for p in CONVENTION.partners if p.id not in used]
    return campaign(year, returns, missing=missing), by_bailleur, declared


def bilan_case(year: int):
    """(bilan, expected tables, campaigns, rows by bailleur of `year`), campaigns from 2023 to `year`."""
    campaigns, data = {}, {}
    for y in range(2023, year + 1):
        campaigns[y], by_bailleur, declared = build_campaign(y)
        data[y] = (by_bailleur, declared)
    trend = {y: [r for b in BAILLEURS for r in data[y][0][b]] for y in data}
    expected = expected_tables(year, *data[year], trend)
    return consolidate(CONVENTION, campaigns, year), expected, campaigns, data[year][0]


# -- Independent expectations ------------------------------------------------------------


def in_year(d, year):
    return d is not None and d.year == year


def lease(r, year):
    return r["suite"] == "BAIL_SIGNE" and in_year(r["date_bail"], year)


def decided(r, year):
    return in_year(r["date_cal"], year)


def qpv_or_zone(r):
    return r["qpv"] != "HORS_QPV" or r["zone_locale"] not in (None, "NON")


def ratio(a, b):
    return a / b if b else None


def objective_counts(rows, year, contingent=None):
    """{objective: (numerator, denominator, unknown quartiles)} from DOMAIN.md's definitions."""
    own = contingent or "PROPRE"
    on = [r for r in rows if contingent is None or r["contingent"] == contingent]
    hq = [r for r in on if lease(r, year) and not qpv_or_zone(r)]
    qz = [r for r in on if decided(r, year) and qpv_or_zone(r)]
    pp = [r for r in on if lease(r, year) and r["contingent"] == own]
    return {
        "hors_qpv_q1": (
            len([r for r in hq if r["quartile"] == "1" or npnru(r)]),
            len(hq),
            len([r for r in hq if r["quartile"] == "INCONNU"]),
        ),
        "qpv_q234": (
            len([r for r in qz if r["quartile"] in ("2", "3", "4")]),
            len(qz),
            len([r for r in qz if r["quartile"] == "INCONNU"]),
        ),
        "publics_prioritaires": (len([r for r in pp if r["categorie"] in PRIORITY]), len(pp), 0),
    }


def status(num, den, target, gap=5.0):
    if not den:
        return "sans objet"
    pct = 100 * num / den
    if pct >= target - 1e-9:
        return "atteint"
    if pct >= target - gap - 1e-9:
        return "proche"
    return "non atteint"


def expected_tables(year: int, by_bailleur: dict[str, list[dict]], declared: list[dict], trend: dict) -> dict:
    """{table key: {first-column label: {column key: value}}} for every indicator table."""
    everything = [r for b in BAILLEURS for r in by_bailleur[b]]
    scopes = [(NAMES[b], by_bailleur[b]) for b in BAILLEURS] + [("Territoire", everything)]
    targets = {
        code: CONVENTION.target(code, year) for code in ("hors_qpv_q1", "qpv_q234", "publics_prioritaires")
    }
    out: dict[str, dict] = {}

    for code, target in targets.items():
        table = {}
        for label, rows in scopes:
            num, den, unknown = objective_counts(rows, year)[code]
            table[label] = {
                "univers": den,
                "menages": num,
                "taux": ratio(num, den),
                "cible": target / 100,
                "statut": status(num, den, target),
            }
            if code != "publics_prioritaires":
                table[label]["inconnu"] = unknown
        out[f"objectif_{code}"] = table

    synth = {}
    for label, rows in scopes:
        counts = objective_counts(rows, year)
        synth[label] = {}
        for code, short in (("hors_qpv_q1", "hq"), ("qpv_q234", "qpv"), ("publics_prioritaires", "pp")):
            num, den, _ = counts[code]
            synth[label] |= {
                f"{short}_taux": ratio(num, den),
                f"{short}_statut": status(num, den, targets[code]),
            }
    out["synthese"] = synth

    contingents = {}
    tgt = targets["publics_prioritaires"]
    groups = [
        (f"{NAMES[b]} (contingent propre)", [r for r in by_bailleur[b] if r["contingent"] == "PROPRE"])
        for b in BAILLEURS
    ]
    # The réservataires' lines of the convention's table: the State's two contingents (the civil
    # servants' not held to the target), the communes then « Les communes », their sum.
    held = {c.code for c in CONVENTION.contingents if c.priority_target}
    exempt = set()
    for line in CONVENTION.reservataire_lines:
        codes = [c for c in line.codes if c in held] or list(line.codes)
        if not any(c in held for c in line.codes):
            exempt.add(line.label)
        groups.append((line.label, [r for r in everything if r["contingent"] in codes]))
    for label, rows in groups:
        leases = [r for r in rows if lease(r, year)]
        prio = [r for r in leases if r["categorie"] in PRIORITY]
        contingents[label] = {
            "baux": len(leases),
            "prioritaires": len(prio),
            "taux": ratio(len(prio), len(leases)),
        }
        contingents[label] |= {f"cat_{c}": len([r for r in leases if r["categorie"] == c]) for c in PRIORITY}
        contingents[label]["statut"] = (
            "sans objectif" if label in exempt else status(len(prio), len(leases), tgt)
        )
    leases = [r for r in everything if lease(r, year)]
    contingents["Tous contingents"] = {
        "baux": len(leases),
        "prioritaires": len([r for r in leases if r["categorie"] in PRIORITY]),
    }
    out["prioritaires_contingents"] = contingents

    dalo = {}
    for label, rows in scopes:
        d = [r for r in rows if lease(r, year) and r["categorie"] == "DALO"]
        outside = len([r for r in d if r["qpv"] == "HORS_QPV"])
        dalo[label] = {"dalo": len(d), "hors_qpv": outside, "part": ratio(outside, len(d))}
    out["dalo"] = dalo

    geo = CONVENTION.geography(year)
    zoom = {}
    areas = [(f"{q.name} ({q.code})", lambda r, q=q: r["qpv"] == q.code) for q in geo.qpvs]
    areas += [
        (
            "Quartier des Promelles",
            lambda r: r["qpv"] == "HORS_QPV" and r["zone_locale"] == "PROMELLES",
        )
    ]
    areas += [("Ensemble des QPV et Quartier des Promelles", qpv_or_zone)]
    for label, pred in areas:
        rows = [r for r in everything if pred(r)]
        dec = [r for r in rows if decided(r, year)]
        q234 = len([r for r in dec if r["quartile"] in ("2", "3", "4")])
        zoom[label] = {
            "prononcees": len(dec),
            "q234": q234,
            "inconnu": len([r for r in dec if r["quartile"] == "INCONNU"]),
            "taux": ratio(q234, len(dec)),
            "baux": len([r for r in rows if lease(r, year)]),
            "refus": len([r for r in dec if r["suite"] == "REFUS"]),
        }
    out["zoom_qpv"] = zoom

    def area(rows):
        inside = [r for r in rows if decided(r, year) and qpv_or_zone(r)]
        outside = [r for r in rows if lease(r, year) and not qpv_or_zone(r)]
        q234 = len([r for r in inside if r["quartile"] in ("2", "3", "4")])
        q1 = len([r for r in outside if r["quartile"] == "1" or npnru(r)])
        return {
            "prononcees": len([r for r in rows if decided(r, year)]),
            "baux": len([r for r in rows if lease(r, year)]),
            "qpv_prononcees": len(inside),
            "q234": q234,
            "taux_q234": ratio(q234, len(inside)),
            "hors_baux": len(outside),
            "q1": q1,
            "taux_q1": ratio(q1, len(outside)),
        }

    out["zooms"] = {
        z.name: area([r for r in everything if r["commune"] in z.communes]) for z in CONVENTION.zooms
    }
    communes = {}
    for c in CONVENTION.epci.communes:
        rows = [r for r in everything if r["commune"] == c.insee]
        if rows:
            communes[f"{c.name} ({c.insee})"] = area(rows)
    communes["Ensemble des communes"] = area(everything)
    out["communes"] = communes

    profile = {}
    for label, pred in (
        ("En QPV ou dans le quartier des Promelles", qpv_or_zone),
        ("Hors QPV et hors Quartier des Promelles", lambda r: not qpv_or_zone(r)),
        ("Ensemble", lambda r: True),
    ):
        dec = [r for r in everything if decided(r, year) and pred(r)]
        young = len([r for r in dec if r["age_titulaire"] is not None and r["age_titulaire"] < 30])
        family = len([r for r in dec if r["nb_moins_14"] is not None and r["nb_moins_14"] >= 1])
        employed = len([r for r in dec if r["emploi"] == "EMPLOI"])
        profile[label] = {
            "prononcees": len(dec),
            "jeunes": young,
            "jeunes_part": ratio(young, len(dec)),
            "jeunes_nr": len([r for r in dec if r["age_titulaire"] is None]),
            "familles": family,
            "familles_nr": len([r for r in dec if r["nb_moins_14"] is None]),
            "emploi": employed,
            "emploi_nr": len([r for r in dec if r["emploi"] in (None, "INCONNU")]),
        }
    out["publics_qpv"] = profile

    refus, mutations, quality = {}, {}, {}
    for label, rows in scopes:
        q = [r for r in rows if decided(r, year) and qpv_or_zone(r)]
        h = [r for r in rows if decided(r, year) and not qpv_or_zone(r)]
        qr = len([r for r in q if r["suite"] == "REFUS"])
        hr = len([r for r in h if r["suite"] == "REFUS"])
        refus[label] = {
            "qpv_dec": len(q),
            "qpv_refus": qr,
            "qpv_taux": ratio(qr, len(q)),
            "hors_dec": len(h),
            "hors_refus": hr,
            "hors_taux": ratio(hr, len(h)),
        }
        leases = [r for r in rows if lease(r, year)]
        m = len([r for r in leases if r["mutation"] == "OUI"])
        mutations[label] = {
            "baux": len(leases),
            "mutations": m,
            "taux": ratio(m, len(leases)),
            "nr": len([r for r in leases if r["mutation"] is None]),
        }
        in_year_rows = [r for r in rows if decided(r, year) or lease(r, year)]
        unknown = len([r for r in in_year_rows if r["quartile"] == "INCONNU"])
        quality[label] = {
            "lignes": len(rows),
            "hors_annee": len(rows) - len(in_year_rows),
            "inconnu": unknown,
            "dans_annee": len(in_year_rows),
        }
    out["refus"], out["mutations"], out["qualite"] = refus, mutations, quality

    vac, total = (
        {},
        dict.fromkeys(("logements", "vacants", "vacants_3_mois", "qpv_logements", "qpv_vacants"), 0),
    )
    for b in BAILLEURS:
        rows = PATRIMOINE[b]
        v = {
            "logements": sum(r["logements"] for r in rows),
            "vacants": sum(r["vacants"] for r in rows),
            "vacants_3_mois": sum(r["vacants_3_mois"] for r in rows),
            "qpv_logements": sum(r["logements"] for r in rows if r["secteur"] != "HORS_QPV"),
            "qpv_vacants": sum(r["vacants"] for r in rows if r["secteur"] != "HORS_QPV"),
        }
        for k in total:
            total[k] += v[k]
        vac[NAMES[b]] = v | {
            "taux": ratio(v["vacants"], v["logements"]),
            "taux_3_mois": ratio(v["vacants_3_mois"], v["logements"]),
        }
    vac["Territoire"] = total | {
        "taux": ratio(total["vacants"], total["logements"]),
        "qpv_taux": ratio(total["qpv_vacants"], total["qpv_logements"]),
    }
    out["vacance"] = vac

    res = {}
    for line in CONVENTION.reservataire_lines:
        on = [r for r in everything if r["contingent"] in line.codes]
        counts = objective_counts([dict(r, contingent="X") for r in on], year, contingent="X")
        held_on = [dict(r, contingent="X") for r in on if r["contingent"] in held]
        exempt_line = not any(c in held for c in line.codes)
        if not exempt_line:
            counts["publics_prioritaires"] = objective_counts(held_on, year, contingent="X")[
                "publics_prioritaires"
            ]
        res[line.label] = {}
        for code, short in (("hors_qpv_q1", "hq"), ("qpv_q234", "qpv"), ("publics_prioritaires", "pp")):
            num, den, _ = counts[code]
            res[line.label] |= {
                f"{short}_num": num,
                f"{short}_den": den,
                f"{short}_taux": ratio(num, den),
                f"{short}_statut": "sans objectif"
                if exempt_line and code == "publics_prioritaires"
                else status(num, den, targets[code]),
            }
    out["reservataires"] = res

    checks = {}
    for c in CONVENTION.contingents:  # one line per contingent
        on = [r for r in everything if r["contingent"] == c.code]
        checks[c.label] = {
            "retour": "sans retour valide",
            "baux_compte": len([r for r in on if lease(r, year)]),
        }
        checks[c.label] |= {"baux_declare": None, "baux_ecart": None}
    on = [r for r in everything if r["contingent"] == RESERVATAIRE]
    counted = {
        "baux": len([r for r in on if lease(r, year)]),
        "prioritaires": len([r for r in on if lease(r, year) and r["categorie"] in PRIORITY]),
        "q1": len(
            [r for r in on if lease(r, year) and not qpv_or_zone(r) and (r["quartile"] == "1" or npnru(r))]
        ),
        "q234": len(
            [r for r in on if decided(r, year) and qpv_or_zone(r) and r["quartile"] in ("2", "3", "4")]
        ),
        "refus": len([r for r in on if decided(r, year) and r["suite"] == "REFUS"]),
    }
    said = {
        "baux": sum(d["baux_signes"] for d in declared),
        "prioritaires": sum(d[f"prioritaires_{c.lower()}"] for d in declared for c in PRIORITY),
        "q1": sum(d["q1_hors_qpv"] for d in declared),
        "q234": sum(d["q234_qpv"] for d in declared),
        "refus": sum(d["refus"] for d in declared),
    }
    out["reservataires_ecarts"] = checks | {
        NAMES[RESERVATAIRE]: {"retour": "reçu"}
        | {f"{k}_declare": said[k] for k in said}
        | {f"{k}_compte": counted[k] for k in counted}
        | {f"{k}_ecart": said[k] - counted[k] for k in said}
    }

    evolution = {}
    for y, rows in sorted(trend.items()):
        counts = objective_counts(rows, y)
        evolution[str(y)] = {}
        for code, short in (("hors_qpv_q1", "hq"), ("qpv_q234", "qpv"), ("publics_prioritaires", "pp")):
            num, den, _ = counts[code]
            evolution[str(y)] |= {
                f"{short}_num": num,
                f"{short}_den": den,
                f"{short}_taux": ratio(num, den),
                f"{short}_cible": CONVENTION.target(code, y) / 100,
            }
    out["evolution"] = evolution
    return out
