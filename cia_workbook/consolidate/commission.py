"""Consolidation stage of the coordination commission's work (action 2): its decisions on the
blocked NPNRU cases in, the history of each case and the commission's indicators out.

The commission examines, in its sessions of year N+1, the cases blocked at 31 December N (the
workbook `commission-<N>.xlsx` written with the annexes of N, read back by `commission_read`).
Its decisions are shown in the annexes of N+1. Indicators, as of 31 December of the bilan's
year: cases examined (a case with at least one decision), cases rehoused after examination
(examined, now rehoused definitively, on or after its first examination), median months from
the first examination to the rehousing.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from cia_workbook.consolidate.frames import table_frame
from cia_workbook.consolidate.rehousing import STATUS_LABELS, Household, RehousingBilan
from cia_workbook.consolidate.tables import Col, IndicatorTable
from cia_workbook.intake.model import Campaign
from cia_workbook.intake.rehousing_rules import household_key
from cia_workbook.render import frformat
from cia_workbook.schema.codes import Code, CodeList
from cia_workbook.schema.rehousing import RELOGEMENTS

DECISIONS = CodeList(
    "decision_commission",
    (
        Code("PROPOSITION_INTER_BAILLEURS", "Proposition inter-bailleurs"),
        Code("ACCOMPAGNEMENT_SOCIAL", "Accompagnement social"),
        Code("HABITAT_SPECIFIQUE", "Habitat spécifique"),
        Code("AUTRE", "Autre"),
    ),
)
DECISION_LABELS = {c.code: c.label for c in DECISIONS.codes}


@dataclass(frozen=True)
class Decision:
    """One decision of a session on one case, as the commission's workbook records it."""

    case: str  # the household's identifier as the workbook writes it
    session: dt.date
    code: str  # one of DECISIONS
    text: str = ""
    book_year: int = 0  # the workbook's year: the case was blocked at 31 December of that year
    file: str = ""
    row: int = 0

    @property
    def key(self) -> str:
        return household_key(self.case)

    def sentence(self) -> str:
        """« 12/03/2025 : accompagnement social (précisions) »."""
        label = DECISION_LABELS[self.code]
        label = label[0].lower() + label[1:]
        return f"{_short(self.session)} : {label}" + (f" ({self.text})" if self.text else "")


def _short(value: dt.date) -> str:
    return f"{value:%d/%m/%Y}"


@dataclass(frozen=True)
class YearState:
    """What a usable return of one year said of a household."""

    year: int
    partner: str
    status: str | None
    blocked: bool


def case_states(campaigns: Mapping[int, Campaign], year: int) -> dict[str, list[YearState]]:
    """Household key → its state in each year up to `year`, from the usable returns (the first
    partner of a year to report it, as `rehousing.collect_households` keeps it)."""
    out: dict[str, list[YearState]] = {}
    for y in sorted(k for k in campaigns if k <= year):
        seen: set[str] = set()
        for pid, rf in campaigns[y].usable().items():
            table = rf.tables.get("relogements")
            if table is None:
                continue
            frame = table_frame(table, RELOGEMENTS.columns).filter(pl.col("identifiant").str.len_chars() > 0)
            for ident, status, blocked in frame.select("identifiant", "statut", "bloque").iter_rows():
                key = household_key(ident)
                if key in seen:
                    continue
                seen.add(key)
                out.setdefault(key, []).append(YearState(y, pid, status, blocked == "OUI"))
    return out


def states_text(states: list[YearState]) -> str:
    """« 2022 : à reloger ; 2023 : proposition faite, bloqué »."""
    parts = []
    for s in states:
        label = STATUS_LABELS.get(s.status, "statut non renseigné")
        parts.append(f"{s.year} : {label[0].lower() + label[1:]}" + (", bloqué" if s.blocked else ""))
    return " ; ".join(parts)


def months_between(start: dt.date, end: dt.date) -> int:
    """Calendar months from `start` to `end` (as the annexes count months in the scheme)."""
    return max((end.year - start.year) * 12 + end.month - start.month, 0)


@dataclass
class Figures:
    """The commission's indicators over a set of sessions (one year's, or all up to the bilan's)."""

    label: str
    examined: int = 0
    rehoused_after: int = 0
    months: list[int] = field(default_factory=list)

    @property
    def median_months(self) -> float | None:
        return statistics.median(self.months) if self.months else None


@dataclass
class CommissionWork:
    """The commission's decisions up to the bilan's year and what became of the cases."""

    year: int
    decisions: list[Decision]  # valid decisions of sessions up to 31 December of `year`
    by_year: list[Figures]  # one per year with sessions, in order
    total: Figures
    households: dict[str, Household]  # key → household as last reported
    lines: list[str] = field(default_factory=list)  # what the reading of the workbooks told, for the officer

    def of(self, case: str) -> list[Decision]:
        key = household_key(case)
        return [d for d in self.decisions if d.key == key]

    def suite(self, case: str) -> str:
        """What the commission decided on a case, in session order (the annex's last column)."""
        return " ; ".join(d.sentence() for d in self.of(case))


def _figures(label: str, decisions: list[Decision], households: Mapping[str, Household]) -> Figures:
    first: dict[str, dt.date] = {}
    for d in decisions:
        first[d.key] = min(first.get(d.key, d.session), d.session)
    f = Figures(label, examined=len(first))
    for key, session in first.items():
        h = households.get(key)
        if h is not None and h.rehoused and h.rehoused_on is not None and h.rehoused_on >= session:
            f.rehoused_after += 1
            f.months.append(months_between(session, h.rehoused_on))
    return f


def commission_work(rbilan: RehousingBilan, decisions: list[Decision]) -> CommissionWork:
    """The commission's indicators at 31 December of `rbilan.year` (pure)."""
    year = rbilan.year
    kept = sorted((d for d in decisions if d.session.year <= year), key=lambda d: (d.session, d.key))
    households = {household_key(h.id): h for h in rbilan.households}
    years = sorted({d.session.year for d in kept})
    by_year = [
        _figures(f"Séances de {y}", [d for d in kept if d.session.year == y], households) for y in years
    ]
    total = _figures(f"Depuis {years[0]}" if years else "Ensemble", kept, households)
    return CommissionWork(year, kept, by_year, total, households)


# -- Tables (laid out by the annexes) --------------------------------------------------------


def figures_table(work: CommissionWork) -> IndicatorTable:
    cols = [
        Col("seances", "Séances", "text"),
        Col("examines", "Dossiers examinés"),
        Col("reloges", f"Dont relogés définitivement depuis l'examen (au 31/12/{work.year})"),
        Col("delai", "Délai médian de l'examen au relogement (mois)", "text"),
    ]

    def row(f: Figures) -> dict[str, Any]:
        median = f.median_months
        return {
            "seances": f.label,
            "examines": f.examined,
            "reloges": f.rehoused_after,
            "delai": "–"
            if median is None
            else frformat.decimal(median, 0 if float(median).is_integer() else 1),
        }

    rows = [row(f) for f in work.by_year]
    if len(work.by_year) > 1:
        rows.append(row(work.total))
    return IndicatorTable(
        "commission_travail",
        "relogement",
        f"Dossiers examinés par la commission de coordination et suites, au 31 décembre {work.year}",
        cols,
        rows,
        note="Dossier examiné : au moins une décision de séance reportée au classeur de la commission. Relogé depuis "
        "l'examen : relogé définitivement, dans le dernier retour qui le mentionne, à une date égale ou postérieure à "
        "son premier examen (sur la ligne « Depuis… », le premier examen de toutes les séances). Délai : mois "
        "calendaires du premier examen au relogement, médiane des dossiers relogés.",
    )


def decisions_table(work: CommissionWork, names: Mapping[str, str]) -> IndicatorTable:
    """Every decision, case by case, with where the case stands now (restricted)."""
    cols = [
        Col("id", "Identifiant", "text"),
        Col("suivi", "Suivi par", "text"),
        Col("seance", "Séance", "text"),
        Col("decision", "Décision", "text"),
        Col("precisions", "Précisions", "text"),
        Col("situation", f"Situation au 31/12/{work.year}", "text"),
    ]
    rows = []
    for d in sorted(work.decisions, key=lambda d: (d.key, d.session)):
        h = work.households.get(d.key)
        if h is None:
            situation, suivi = "–", "–"
        else:
            situation = STATUS_LABELS.get(h.status, "–")
            if h.rehoused and h.rehoused_on is not None:
                situation += f" le {_short(h.rehoused_on)}"
            elif h.blocked:
                situation += ", bloqué"
            suivi = names.get(h.partner, h.partner)
        rows.append(
            {
                "id": h.id if h is not None else d.case,
                "suivi": suivi,
                "seance": _short(d.session),
                "decision": DECISION_LABELS[d.code],
                "precisions": d.text or "",
                "situation": situation,
            }
        )
    return IndicatorTable(
        "commission_decisions",
        "relogement",
        f"Décisions de la commission de coordination sur les dossiers bloqués, jusqu'au 31 décembre {work.year}",
        cols,
        rows,
        restricted=True,
        note="Une ligne par décision de séance, reportée au classeur de la commission ; situation : dernier retour "
        "utilisé qui mentionne le ménage.",
    )
