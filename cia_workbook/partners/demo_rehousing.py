"""The demo's NPNRU rehousing programme: every household of the charter's operations over the
convention, drawn once (deterministic for a seed), and the rows each partner reports for a year
(its status on 31 December, its dwellings of origin and destination).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from cia_workbook.convention.settings import Convention
from cia_workbook.partners.demo_rows import draw_household

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
            household = draw_household(rng, convention, first, "1")
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


def rehousing_rows(convention: Convention, year: int, seed: int) -> dict[str, list[dict[str, Any]]]:
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
