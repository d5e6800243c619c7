"""Benchmark of the bilan: consolidate and render an Alès-size year, end to end.

Builds in memory a campaign of about 1,000 attribution rows spread over the bailleurs of the
embedded convention (in proportion to their stock), plus the réservataires' returns and the
years since the start of the convention for the trend, then times `consolidate`, the Word bilan
and the consolidated workbook. Measure the whole thing, interpreter start included:

    time .venv/bin/python benchmarks/bench_bilan.py
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import datetime as dt  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from cia_workbook.consolidate import consolidate  # noqa: E402
from cia_workbook.convention.settings import load_convention  # noqa: E402
from cia_workbook.intake.model import Campaign, Identity, ReturnFile, Table  # noqa: E402
from cia_workbook.render.bilan import write_bilan_docx  # noqa: E402
from cia_workbook.render.workbook import write_consolidation_xlsx  # noqa: E402

ROWS = 1000


def _table(key: str, rows: list[dict]) -> Table:
    keys = list(rows[0]) if rows else []
    return Table(
        key, key.capitalize(), list(range(4, 4 + len(rows))), {k: [r[k] for r in rows] for k in keys}
    )


def _return(pid: str, kind: str, year: int, tables: dict[str, list[dict]]) -> ReturnFile:
    return ReturnFile(
        path=Path(f"{pid}-{year}.xlsx"),
        sha256=f"{abs(hash((pid, year))):064d}"[:64],
        size=0,
        modified=dt.datetime(year + 1, 2, 1),
        identity=Identity("cia-workbook", "1.0", "bench", pid, kind, year),
        tables={k: _table(k, v) for k, v in tables.items()},
    )


def synthetic_campaign(convention, year: int, rows: int = ROWS, seed: int = 1) -> Campaign:
    rng = random.Random(seed * 10_000 + year)
    geo = convention.geography(year)
    qpvs = [q.code for q in geo.qpvs]
    zones = [z.code for z in convention.local_zones]
    communes = [c.insee for c in convention.epci.communes]
    contingents = ["PROPRE"] * 5 + [p.id for p in convention.reservataires]
    cats = [c.code for c in convention.priority_categories]
    stock = {p.id: p.estimated_stock or 100 for p in convention.bailleurs}
    total = sum(stock.values())
    returns = []
    for pid, n_stock in stock.items():
        out = []
        for i in range(round(rows * n_stock / total)):
            sector = rng.random()
            qpv = rng.choice(qpvs) if sector < 0.33 else "HORS_QPV"
            zone = rng.choice(zones) if zones and 0.33 <= sector < 0.37 else "NON"
            suite = rng.choices(["BAIL_SIGNE", "REFUS", "AUTRE"], [0.8, 0.15, 0.05])[0]
            cal = dt.date(year, rng.randint(1, 12), rng.randint(1, 28))
            out.append(
                {
                    "reference": f"{pid[:3].upper()}-{year}-{i:05d}",
                    "date_cal": cal,
                    "date_bail": cal + dt.timedelta(days=20) if suite == "BAIL_SIGNE" else None,
                    "suite": suite,
                    "commune": rng.choice(communes[:12]),
                    "qpv": qpv,
                    "zone_locale": zone,
                    "contingent": rng.choice(contingents),
                    "quartile": rng.choices(["1", "2", "3", "4", "INCONNU"], [0.25, 0.27, 0.24, 0.21, 0.03])[
                        0
                    ],
                    "categorie": rng.choices(cats, [0.04, 0.03, 0.1, 0.15] + [0.68] * (len(cats) - 4))[0],
                    "typologie": rng.choice(["T1", "T2", "T3", "T4", "T5"]),
                    "taille_menage": rng.randint(1, 6),
                    "ressources": rng.uniform(3000, 40000),
                    "nb_adultes": 1,
                    "nb_14_plus": 1,
                    "nb_moins_14": rng.randint(0, 3),
                    "age_titulaire": rng.randint(18, 90),
                    "emploi": rng.choice(["EMPLOI", "CHOMAGE", "RETRAITE", "AUTRE"]),
                    "mutation": rng.choice(["OUI", "NON", "NON", "NON"]),
                    "logement_recent": "NON",
                }
            )
        patrimoine = [
            {"commune": "30007", "secteur": s, "logements": n_stock // 2, "vacants": 10, "vacants_3_mois": 4}
            for s in ("HORS_QPV", qpvs[0])
        ]
        returns.append(_return(pid, "bailleur", year, {"attributions": out, "patrimoine": patrimoine}))
    for p in convention.reservataires:
        contingent = [
            {"bailleur": b, "logements_mis_a_disposition": 20, "candidats_proposes": 40, "baux_signes": 12,
             "prioritaires_dalo": 1, "prioritaires_npnru": 1, "prioritaires_pdalhpd": 2, "prioritaires_l441": 2,
             "q1_hors_qpv": 3, "q234_qpv": 2, "refus": 2}
            for b in stock
        ]  # fmt: skip
        returns.append(_return(p.id, "reservataire", year, {"contingent": contingent}))
    return Campaign(year, returns, {rf.partner_id: rf for rf in returns}, {}, [])


def main(year: int = 2024) -> None:
    convention = load_convention()
    campaigns = {y: synthetic_campaign(convention, y) for y in convention.years if y <= year}
    t1 = time.perf_counter()
    bilan = consolidate(convention, campaigns, year)
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        write_bilan_docx(convention, bilan, Path(tmp) / f"bilan-cia-{year}.docx")
        t3 = time.perf_counter()
        write_consolidation_xlsx(convention, bilan, campaigns[year], Path(tmp) / f"consolidation-{year}.xlsx")
        t4 = time.perf_counter()
    rows = sum(
        len(rf.tables["attributions"]) for rf in campaigns[year].used.values() if "attributions" in rf.tables
    )
    print(
        f"rows={rows} years={len(campaigns)} imports+setup={t1 - T0:.3f}s consolidate={t2 - t1:.3f}s "
        f"docx={t3 - t2:.3f}s xlsx={t4 - t3:.3f}s total_in_process={t4 - T0:.3f}s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
