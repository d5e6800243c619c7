"""Consolidation stage of the mid-term re-evaluation (the convention's `annee_mi_parcours`): the
bilans of every year since the start in, the tables the commission re-evaluates on out (pure).

Each objective per bailleur and réservataire over the years, with the gap to the target of the
mid-term year; what it would have taken (per partner and year, ceil(target × universe) −
numerator: the leases or attributions that would have had to go to the objective's households);
the actions' indicators over the same years; and the targets in force, pre-filled as proposals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cia_workbook.consolidate.attributions import TERRITORY, TERRITORY_LABEL, zone_words
from cia_workbook.consolidate.bilan import OBJECTIVE_SHORT, Bilan, consolidate
from cia_workbook.consolidate.rehousing import CRITERIA
from cia_workbook.consolidate.tables import Col, IndicatorTable, Rate
from cia_workbook.convention.settings import Convention
from cia_workbook.intake.model import Campaign
from cia_workbook.render import frformat


def wanted(convention: Convention, code: str) -> tuple[str, str]:
    """An objective's universe and the households of its numerator, for « what it would have taken »."""
    z = zone_words(convention)
    return {
        "hors_qpv_q1": (f"baux signés {z.outside}", "à des ménages du 1er quartile ou relogés NPNRU"),
        "qpv_q234": (f"attributions prononcées {z.inside}", "à des ménages des quartiles 2 à 4"),
        "publics_prioritaires": ("baux signés sur le contingent", "à des publics prioritaires"),
    }[code]


def shortfall(rate: Rate | None) -> int | None:
    """How many more households the numerator needed to reach the target: ceil(target × universe)
    − numerator, never below 0; None without universe or target."""
    if rate is None or not rate.denominator or rate.target is None or rate.exempt:
        return None
    needed = math.ceil(rate.target * rate.denominator / 100 - 1e-9)
    return max(needed - rate.numerator, 0)


@dataclass
class MidTerm:
    year: int
    first_year: int
    years: list[int]  # years with returns, from the first to the mid-term year
    missing_years: list[int]  # years of the period without any return
    epci: str
    convention_title: str
    test_years: list[int]
    next_year: int  # the year whose targets are proposed for amendment
    bilans: dict[int, Bilan]
    objective_names: dict[str, str]
    tables: list[IndicatorTable]

    def table(self, key: str) -> IndicatorTable:
        return next(t for t in self.tables if t.key == key)


def midterm(convention: Convention, campaigns: Mapping[int, Campaign], year: int) -> MidTerm:
    first = convention.info.first_year
    period = [y for y in convention.years if first <= y <= year]
    years = [y for y in period if y in campaigns]
    bilans = {y: consolidate(convention, dict(campaigns), y) for y in years}
    names = {p.id: p.name for p in convention.partners} | {c.code: c.label for c in convention.contingents}
    next_year = year + 1 if year + 1 in convention.years else year
    last = bilans[year] if year in bilans else bilans[years[-1]]
    tables: list[IndicatorTable] = []
    for code in OBJECTIVE_SHORT:
        tables.append(_rates_table(convention, bilans, years, year, code, names, last.objective_names))
        tables.append(_shortfall_table(convention, bilans, years, code, names))
    for action in convention.actions:
        if action.indicators:
            tables.append(_action_table(convention, bilans, years, action))
    tables.append(_targets_table(convention, next_year, last.objective_names))
    return MidTerm(
        year=year,
        first_year=first,
        years=years,
        missing_years=[y for y in period if y not in campaigns],
        epci=convention.epci.name,
        convention_title=convention.info.title,
        test_years=list(convention.info.test_years),
        next_year=next_year,
        bilans=bilans,
        objective_names=last.objective_names,
        tables=tables,
    )


def _scopes(convention: Convention, bilans: Mapping[int, Bilan]) -> list[tuple[str, str, str]]:
    """(id, family, how the rate is read) of every bailleur with a rate some year, the territory,
    then every réservataire."""
    seen = {pid for b in bilans.values() for pid in b.objectives["hors_qpv_q1"]}
    out = [(p.id, "bailleur", "objectives") for p in convention.bailleurs if p.id in seen]
    out.append((TERRITORY, "territoire", "objectives"))
    # The réservataires' rates are per contingent (the bilan's `reservataires` is keyed by code).
    out += [(c.code, "reservataire", "reservataires") for c in convention.contingents]
    return out


def _rate(b: Bilan | None, pid: str, where: str, code: str) -> Rate | None:
    if b is None:
        return None
    if where == "objectives":
        return b.objectives[code].get(pid)
    return (b.reservataires.get(pid) or {}).get(code)


def _label(pid: str, names: Mapping[str, str]) -> str:
    return TERRITORY_LABEL if pid == TERRITORY else names.get(pid, pid)


def _rates_table(convention, bilans, years, year, code, names, objective_names) -> IndicatorTable:
    target = convention.target(code, year)
    cols = [Col("partenaire", "Partenaire", "text")]
    cols += [Col(f"taux_{y}", str(y), "rate") for y in years]
    cols += [
        Col("cible", f"Cible {year}", "target"),
        Col("ecart", f"Écart à la cible {year}", "text"),
    ]
    rows = []
    for pid, family, where in _scopes(convention, bilans):
        rates = {y: _rate(bilans.get(y), pid, where, code) for y in years}
        row: dict[str, Any] = {"partenaire": _label(pid, names), "famille": family}
        for y in years:
            rate = rates[y]
            row[f"taux_{y}"] = rate.value if rate is not None else None
        last = rates.get(year)
        value = last.value if last is not None else None
        if last is not None and last.exempt:  # a contingent not held to this objective
            row["cible"], row["ecart"] = None, "sans objectif"
        else:
            row["cible"] = None if target is None else target / 100
            row["ecart"] = (
                "–" if value is None or target is None else frformat.points(round(value * 100 - target, 1))
            )
        rows.append(row)
    tests = [y for y in years if y in convention.info.test_years]
    return IndicatorTable(
        f"mi_parcours_{code}",
        "objectifs",
        f"{objective_names.get(code, OBJECTIVE_SHORT[code])} : taux par année",
        cols,
        rows,
        note="Taux de chaque année rapporté à son univers (définitions du bilan annuel) ; réservataires : taux "
        "calculés sur les lignes des bailleurs pour leur contingent. Écart : en points, taux "
        f"{year} moins la cible {year}." + (f" Années test : {', '.join(map(str, tests))}." if tests else ""),
    )


def _shortfall_table(convention, bilans, years, code, names) -> IndicatorTable:
    universe, wanted_ = wanted(convention, code)
    cols = [Col("partenaire", "Partenaire", "text")]
    cols += [Col(f"manque_{y}", str(y), "text") for y in years]
    cols.append(Col("total", f"{years[0]}–{years[-1]}", "text"))
    rows = []
    for pid, family, where in _scopes(convention, bilans):
        row: dict[str, Any] = {"partenaire": _label(pid, names), "famille": family}
        total = universe_total = 0
        known = False
        for y in years:
            rate = _rate(bilans.get(y), pid, where, code)
            missing = shortfall(rate)
            if missing is None:
                row[f"manque_{y}"] = "–"
                continue
            known = True
            total += missing
            universe_total += rate.denominator  # type: ignore[union-attr]
            row[f"manque_{y}"] = f"{frformat.integer(missing)} sur {frformat.integer(rate.denominator)}"  # type: ignore[union-attr]
        row["total"] = f"{frformat.integer(total)} sur {frformat.integer(universe_total)}" if known else "–"
        rows.append(row)
    return IndicatorTable(
        f"mi_parcours_manque_{code}",
        "objectifs",
        f"Ce qu'il aurait fallu : {universe} qui auraient dû aller {wanted_}, en plus de ceux comptés",
        cols,
        rows,
        note="« 2 sur 10 » : sur 10 "
        + universe
        + ", 2 de plus auraient dû aller "
        + wanted_
        + " pour atteindre la cible de l'année (cible × univers arrondi à l'unité supérieure, moins le "
        "numérateur) ; 0 : cible atteinte ; – : pas d'univers cette année-là, ou contingent sans objectif.",
    )


def figures(convention: Convention, b: Bilan, key: str) -> list[tuple[str, str]]:
    """An action's indicator in one year as (line label, figure), for the table over the years."""
    z = zone_words(convention)
    pct = frformat.percent
    if key in OBJECTIVE_SHORT:
        return [(b.objective_names.get(key, OBJECTIVE_SHORT[key]), pct(b.objectives[key][TERRITORY].value))]
    if key == "dalo":
        t = b.table("dalo").rows[-1]
        return [("Ménages DALO relogés hors QPV", pct(t["hors_qpv"] / t["dalo"] if t["dalo"] else None))]
    if key == "publics_qpv":
        inside = b.table("publics_qpv").rows[0]
        return [
            (f"Jeunes ménages {z.inside_short}", pct(inside["jeunes_part"])),
            (f"Familles avec enfant {z.inside_short}", pct(inside["familles_part"])),
            (f"Ménages en emploi {z.inside_short}", pct(inside["emploi_part"])),
        ]
    if key == "refus":
        t = b.table("refus").rows[-1]
        return [
            (f"Taux de refus {z.inside_short}", pct(t["qpv_taux"])),
            ("Taux de refus hors QPV", pct(t["hors_taux"])),
        ]
    if key == "vacance":
        rows = b.table("vacance").rows
        return [("Taux de vacance au 31 décembre", pct(rows[-1]["taux"]) if rows else "–")]
    if key == "mutations":
        return [("Mutations internes (part des baux signés)", pct(b.table("mutations").rows[-1]["taux"]))]
    r = b.rehousing
    if r is None:
        return []
    if key == "criteres_relogement":
        return [
            (f"{CRITERIA[code]} (dans l'année)", pct(rate.value)) for code, rate in r.year_criteria.items()
        ]
    if key == "bilan_relogements":
        return [
            (
                "Ménages relogés définitivement dans l'année (NPNRU)",
                frformat.integer(r.total.rehoused_in_year),
            )
        ]
    if key == "dossiers_bloques":
        return [("Dossiers bloqués au 31 décembre", frformat.integer(r.total.blocked))]
    return []


def _action_table(convention, bilans, years, action) -> IndicatorTable:
    lines: dict[str, dict[int, str]] = {}
    for y in years:
        for key in action.indicators:
            for label, value in figures(convention, bilans[y], key):
                lines.setdefault(label, {})[y] = value
    cols = [Col("indicateur", "Indicateur", "text")] + [Col(f"a_{y}", str(y), "text") for y in years]
    rows = [
        {"indicateur": label, **{f"a_{y}": by_year.get(y, "–") for y in years}}
        for label, by_year in lines.items()
    ]
    return IndicatorTable(
        f"mi_parcours_action_{action.number}",
        "actions",
        f"{action.name} – {action.title}",
        cols,
        rows,
        note=action.indicators_text,
    )


def _targets_table(
    convention: Convention, next_year: int, objective_names: Mapping[str, str]
) -> IndicatorTable:
    """The targets in force for `next_year`, twice: as they are, and as the commission proposes
    them (pre-filled with the same, to amend)."""
    cols = [Col("partenaire", "Partenaire", "text")]
    for i, code in enumerate(OBJECTIVE_SHORT, start=1):
        cols += [
            Col(f"actuelle_{code}", f"Objectif {i} : cible {next_year}", "target"),
            Col(f"proposee_{code}", f"Objectif {i} : cible proposée", "target"),
        ]
    rows = []
    for p in [*convention.bailleurs, *convention.reservataires]:
        row: dict[str, Any] = {"partenaire": p.name, "famille": p.kind}
        for code in OBJECTIVE_SHORT:
            t = convention.target(code, next_year)
            row[f"actuelle_{code}"] = row[f"proposee_{code}"] = None if t is None else t / 100
        rows.append(row)
    named = " ; ".join(
        f"objectif {i} : {objective_names.get(c, OBJECTIVE_SHORT[c])}"
        for i, c in enumerate(OBJECTIVE_SHORT, 1)
    )
    return IndicatorTable(
        "mi_parcours_cibles",
        "cibles",
        f"Cibles proposées par bailleur et par réservataire à partir de {next_year}",
        cols,
        rows,
        note=f"{named}. Les cibles proposées reprennent les cibles en vigueur : la commission les modifie dans ce "
        "tableau ; une cible retenue entre ensuite dans le fichier de convention (cibles par année).",
    )
