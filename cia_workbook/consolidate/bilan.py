"""Consolidation stage: validated campaigns in, the bilan's data out (every indicator, no file).

The renderers (`report_docx`, `report_xlsx`) only lay out what is computed here: each
indicator is an `IndicatorTable` of plain numbers (counts, fractions) with the meaning of its
columns, so that the Word bilan, the workbook and the tests read the same figures. Objective
definitions follow DOMAIN.md "The objectives" (`frames.OBJECTIVES`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from cia_workbook.consolidate import attributions as a
from cia_workbook.consolidate.attributions import (
    OBJECTIVE_BLOCKS,
    OBJECTIVE_COLUMNS,
    TERRITORY,
    TERRITORY_LABEL,
    Year,
    objective_columns,
    objective_names,
    rate_cells,
)
from cia_workbook.consolidate.demand import demand_bilan
from cia_workbook.consolidate.frames import IN_YEAR, PARTNER, attribution_frame, counts, rates
from cia_workbook.consolidate.rehousing import rehousing_bilan
from cia_workbook.consolidate.reservataires import (
    contingent_rates,
    line_keys,
    line_rates,
    priority_by_contingent,
    reservataire_tables,
)
from cia_workbook.consolidate.tables import (
    CLOSE,
    DETAIL,
    FAMILY_BAILLEUR,
    FAMILY_RESERVATAIRE,
    GROUP,
    MET,
    NO_UNIVERSE,
    NOT_MET,
    SUBTOTAL,
    Col,
    IndicatorTable,
    Rate,
    fraction,
)
from cia_workbook.convention.settings import Convention
from cia_workbook.intake.model import Campaign, ReturnFile
from cia_workbook.render import frformat


@dataclass
class RegisterEntry:
    """A return used in the consolidation, as the bilan lists it."""

    partner_id: str
    partner: str
    kind: str
    file: str
    version: int  # 1 + number of earlier versions received and superseded
    date: dt.date
    sha256: str
    rows: int
    warnings: int


@dataclass
class ExcludedEntry:
    partner_id: str
    partner: str
    file: str
    errors: int
    sha256: str
    rows: int = 0  # table rows of the return, counted nowhere
    # The kinds of error, in words, with their number (« Valeur hors liste (2) »).
    problems: list[str] = field(default_factory=list)
    date: dt.date | None = None


@dataclass
class TrendYear:
    year: int
    geography: str
    thresholds_known: bool
    rates: dict[str, Rate]
    returns_used: int
    returns_expected: int
    # Names of the partners whose return of that year is not in its rates.
    excluded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


@dataclass
class Bilan:
    """Everything the reports show for one year, computed once."""

    year: int
    epci: str
    convention_title: str
    geography: str
    thresholds: Any  # convention.QuartileThresholds | None
    targets: dict[str, float | None]
    test_year: bool
    # objective code → scope (bailleur id or TERRITORY) → Rate
    objectives: dict[str, dict[str, Rate]]
    # contingent code (a réservataire's id when it declares none) → objective code → Rate
    # computed from the bailleurs' rows
    reservataires: dict[str, dict[str, Rate]]
    tables: list[IndicatorTable]
    register: list[RegisterEntry]
    excluded: list[ExcludedEntry]
    missing: list[str]  # partner names without any return
    cross_findings: list[str]  # CONTINGENT_ECART findings, as sentences (no code, no file)
    trend: list[TrendYear]
    rows_used: int
    rows_outside_year: int
    partner_names: dict[str, str] = field(default_factory=dict)
    # The NPNRU rehousing figures (relogement.RehousingBilan) when the convention has a charter.
    rehousing: Any = None
    # Page 1 of the bilan: every bailleur (then the territory), every réservataire, per objective.
    dashboard: list[IndicatorTable] = field(default_factory=list)
    objective_names: dict[str, str] = field(default_factory=dict)
    midterm_year: int | None = None
    test_years: list[int] = field(default_factory=list)
    # Files used for no one: their places name two partners (IDENTITE_CONTRADICTOIRE).
    set_aside: list[str] = field(default_factory=list)
    # Demand and tension (consolidate.demand.DemandBilan) when an action reports them.
    demand: Any = None

    def table(self, key: str) -> IndicatorTable:
        return next(t for t in self.tables if t.key == key)

    def section(self, section: str) -> list[IndicatorTable]:
        return [t for t in self.tables if t.section == section]

    def summary_lines(self) -> list[str]:
        """The terminal summary (French): per bailleur, the three rates against their targets."""
        heads = ["Bailleur", "1er quartile hors QPV", "Quartiles 2-4 en QPV", "Publics prioritaires"]
        codes = ["hors_qpv_q1", "qpv_q234", "publics_prioritaires"]
        scopes = [s for s in self.objectives["hors_qpv_q1"] if s != TERRITORY] + [TERRITORY]
        body = []
        for scope in scopes:
            name = TERRITORY_LABEL if scope == TERRITORY else self.partner_names.get(scope, scope)
            cells = [name]
            for code in codes:
                rate = self.objectives[code][scope]
                cells.append(f"{frformat.percent(rate.value)} {_STATUS_MARK[rate.status]}")
            body.append(cells)
        widths = [max(len(r[i]) for r in [heads, *body]) for i in range(len(heads))]

        def line(cells: list[str]) -> str:
            return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

        targets = "  ".join(
            f"{label} {frformat.target(self.targets[code])}"
            for label, code in zip(heads[1:], codes, strict=True)
        )
        out = [f"Bilan {self.year} — {self.epci}", f"Cibles {self.year} : {targets}", line(heads)]
        out.append("  ".join("-" * w for w in widths))
        out.extend(line(cells) for cells in body)
        out.append("(✓ atteint, ≈ proche, ✗ non atteint, – sans objet)")
        if self.rehousing is not None:
            out.append(self.rehousing.headline())
        out.append(
            f"Retours utilisés : {len(self.register)} ; exclus pour erreurs : {len(self.excluded)} ; "
            f"partenaires sans retour : {len(self.missing)}."
        )
        if self.set_aside:
            out.append(
                "Fichiers écartés, à examiner avant de publier (identification contradictoire : "
                f"voir « cia-workbook validate ») : {', '.join(self.set_aside)}."
            )
        return out

    def summary_text(self) -> str:
        return "\n".join(self.summary_lines())


_STATUS_MARK = {MET: "✓", CLOSE: "≈", NOT_MET: "✗", NO_UNIVERSE: "–"}


OBJECTIVE_SHORT = {
    "hors_qpv_q1": "1er quartile ou relogés NPNRU, baux signés hors QPV et hors zone locale",
    "qpv_q234": "Quartiles 2 à 4, attributions prononcées en QPV ou en zone locale",
    "publics_prioritaires": "Publics prioritaires, baux signés sur le contingent",
}


def consolidate(convention: Convention, campaigns: dict[int, Campaign], year: int) -> Bilan:
    """Compute every indicator of the bilan of `year` (and the trend from the other years)."""
    campaign = campaigns[year]
    names = {p.id: p.name for p in convention.partners}
    usable = campaign.usable()
    bailleurs = [p.id for p in convention.bailleurs if p.id in usable]
    frame = attribution_frame(convention, campaign, year)

    by_bailleur = rates(convention, year, frame, by=PARTNER, keys=bailleurs)
    scopes = {**by_bailleur, TERRITORY: rates(convention, year, frame)}
    objectives = {code: {scope: r[code] for scope, r in scopes.items()} for code in OBJECTIVE_SHORT}
    reservataires = contingent_rates(convention, year, frame)

    y = Year(convention, year, campaign, frame, bailleurs, names)
    tables = [_synthesis_table(objectives, names), *_year_tables(y, objectives, reservataires)]
    tables += _issue17_tables(y, campaigns)
    trend = [
        _trend_year(convention, campaigns[t], t, scopes[TERRITORY] if t == year else None)
        for t in sorted(campaigns)
        if t <= year and t in convention.years
    ]
    tables.append(_trend_table(convention, trend))

    register = []
    for pid, rf in sorted(usable.items(), key=lambda kv: convention.partner_rank(kv[0])):
        register.append(
            RegisterEntry(
                partner_id=pid,
                partner=names.get(pid, pid),
                kind=convention.partners_by_id[pid].kind if pid in convention.partners_by_id else "",
                file=rf.name,
                version=1 + len(campaign.superseded.get(pid, [])),
                date=_return_date(rf),
                sha256=rf.sha256,
                rows=_table_rows(rf),
                warnings=sum(not f.is_error for f in rf.findings),
            )
        )
    excluded = [
        ExcludedEntry(
            pid,
            names.get(pid, pid),
            rf.name,
            sum(f.is_error for f in rf.findings),
            rf.sha256,
            _table_rows(rf),
            _problems(rf),
            _return_date(rf),
        )
        for pid, rf in sorted(campaign.excluded().items(), key=lambda kv: convention.partner_rank(kv[0]))
    ]
    tables += _register_tables(register, excluded)
    demand = demand_bilan(convention, campaigns, year) if convention.collects_demand else None
    if demand is not None:
        tables += demand.tables
    aside = campaign.set_aside()
    return Bilan(
        year=year,
        epci=convention.epci.name,
        convention_title=convention.info.title,
        geography=convention.geography(year).label,
        thresholds=convention.thresholds(year),
        targets={code: convention.target(code, year) for code in OBJECTIVE_SHORT},
        test_year=year in convention.info.test_years,
        objectives=objectives,
        reservataires=reservataires,
        tables=tables,
        register=register,
        excluded=excluded,
        missing=[names.get(pid, pid) + _set_aside_note(aside.get(pid, [])) for pid in campaign.missing],
        set_aside=sorted({name for files in aside.values() for name in files}),
        cross_findings=[f.message for f in campaign.cross_findings],
        trend=trend,
        rows_used=len(frame),
        rows_outside_year=len(frame) - counts(frame, {"n": IN_YEAR})["n"],
        partner_names=names,
        rehousing=rehousing_bilan(convention, campaigns, year) if convention.rehousing is not None else None,
        dashboard=_dashboard(convention, campaign, objectives, reservataires),
        objective_names=objective_names(convention),
        midterm_year=convention.info.midterm_year,
        test_years=list(convention.info.test_years),
        demand=demand,
    )


def _year_tables(
    y: Year, objectives: dict[str, dict[str, Rate]], reservataires: dict[str, dict[str, Rate]]
) -> list[IndicatorTable]:
    """Every table of the year's attributions, in the bilan's order (synthesis and trend aside)."""
    return [
        *a.objective_tables(y, objectives),
        priority_by_contingent(y),
        a.dalo(y),
        a.zoom_qpv(y),
        a.zooms(y),
        a.qpv_publics(y),
        a.refusals(y),
        a.vacancy(y),
        a.mutations(y),
        *reservataire_tables(y, reservataires),
        a.quality(y),
        a.communes(y),
    ]


def _issue17_tables(y: Year, campaigns: dict[int, Campaign]) -> list[IndicatorTable]:
    """The attention groups ([attention_particuliere]), the reception points ([[lieux_accueil]]),
    the refusal motives and the social mix over the years (when an action reports them)."""
    from cia_workbook.consolidate.attention import attention_tables, social_mix_tables
    from cia_workbook.consolidate.reception import reception_tables, refusal_motives

    c = y.convention
    out = attention_tables(c, y.frame)
    if c.action_reporting("motifs_refus") is not None:
        out.append(refusal_motives(c, y.frame, y.z.inside_short))
    out += reception_tables(c, campaigns, y.year)
    if c.action_reporting("mixite_qpv") is not None:
        inside = y.z.inside_short[:1].upper() + y.z.inside_short[1:]
        out += social_mix_tables(c, campaigns, y.year, y.frame, inside, "Hors QPV")
    return out


# A partner's place in the year's consolidation (row key « etat » of the dashboard).
USED, EXCLUDED, MISSING = "utilise", "exclu", "manquant"


def _dashboard(
    convention: Convention,
    campaign: Campaign,
    objectives: dict[str, dict[str, Rate]],
    reservataires: dict[str, dict[str, Rate]],
) -> list[IndicatorTable]:
    """Page 1: each bailleur and the territory, then each réservataire, × the three objectives.

    A bailleur whose return is excluded or missing keeps its row, without figures (its
    attributions are counted nowhere); a réservataire's rates come from the bailleurs' rows on
    its contingent, so they exist even when its own return (the Contingent sheet) does not.
    Row keys besides the columns: « famille » (bailleur, reservataire, territoire), « etat ».
    """
    usable, excluded = campaign.usable(), campaign.excluded()

    def state(pid: str) -> str:
        return USED if pid in usable else EXCLUDED if pid in excluded else MISSING

    def columns(first: str) -> list[Col]:
        return objective_columns(Col("perimetre", first, "text"), shown=False, target=True)

    def row(label: str, family: str, etat: str, rates: dict[str, Rate] | None) -> dict[str, Any]:
        out: dict[str, Any] = {"perimetre": label, "famille": family, "etat": etat}
        for code, short, _label in OBJECTIVE_COLUMNS:
            out[f"{short}_cible"] = fraction(convention.target(code, campaign.year))
        if rates is None:
            return out | {
                f"{s}_{k}": None for _c, s, _l in OBJECTIVE_COLUMNS for k in ("num", "den", "taux", "statut")
            }
        return out | rate_cells(rates)

    def of(pid: str) -> dict[str, Rate] | None:
        return (
            {code: objectives[code][pid] for code in objectives} if pid in objectives["hors_qpv_q1"] else None
        )

    bailleurs = [row(p.name, FAMILY_BAILLEUR, state(p.id), of(p.id)) for p in convention.bailleurs]
    bailleurs.append(row(TERRITORY_LABEL, TERRITORY, USED, of(TERRITORY)))
    # The réservataires' lines in the order of the convention's table (contingents, groups).
    res = [
        row(line.label, FAMILY_RESERVATAIRE, state(line.partner) if line.partner else USED, rated)
        | line_keys(line)
        for line, rated in zip(
            convention.reservataire_lines, line_rates(convention, reservataires), strict=True
        )
    ]
    title = "Les objectifs de la convention par partenaire"
    return [
        IndicatorTable(
            "tableau_de_bord",
            "synthese",
            title,
            columns("Bailleur"),
            bailleurs,
            total_row=True,
            blocks=OBJECTIVE_BLOCKS,
        ),
        IndicatorTable(
            "tableau_de_bord_reservataires",
            "synthese",
            title,
            columns("Réservataire"),
            res,
            blocks=OBJECTIVE_BLOCKS,
            family="famille",
        ),
    ]


def verdicts(table: IndicatorTable) -> dict[str, int]:
    """How many partners' verdicts of each kind a table shows (group and total rows aside)."""
    out = dict.fromkeys((MET, CLOSE, NOT_MET, NO_UNIVERSE), 0)
    body = table.rows[:-1] if table.total_row else table.rows
    # A group of the convention's table sums the lines above it: counted in their stead only
    # where they are left out (the public bilan).
    details = any(row.get(DETAIL) for row in body)
    for row in body:
        if row.get("famille") in (GROUP, TERRITORY) or (details and row.get(SUBTOTAL)):
            continue
        for c in table.columns:
            if c.kind == "status" and row.get(c.key) in out:
                out[row[c.key]] += 1
    return out


def _set_aside_note(files: list[str]) -> str:
    """What a partner counted as without a return may have sent: files of two partners' names."""
    if not files:
        return ""
    return f" (fichier{'s' if len(files) > 1 else ''} {', '.join(files)} écarté{'s' if len(files) > 1 else ''} : identification contradictoire)"


def _synthesis_table(objectives: dict[str, dict[str, Rate]], names: dict[str, str]) -> IndicatorTable:
    """Per bailleur and objective: rate and met / close / not met (counts kept for masking only)."""
    cols = objective_columns(Col("perimetre", "Bailleur", "text"), shown=False)
    rows = [
        {
            "perimetre": TERRITORY_LABEL if scope == TERRITORY else names[scope],
            **rate_cells({code: objectives[code][scope] for code in objectives}),
        }
        for scope in objectives["hors_qpv_q1"]
    ]
    return IndicatorTable(
        "synthese",
        "synthese",
        "Objectifs par bailleur : taux et appréciation",
        cols,
        rows,
        total_row=True,
        blocks=OBJECTIVE_BLOCKS,
    )


def _register_tables(register: list[RegisterEntry], excluded: list[ExcludedEntry]) -> list[IndicatorTable]:
    used = IndicatorTable(
        "registre",
        "qualite",
        "Retours utilisés",
        [
            Col("partenaire", "Partenaire", "text"),
            Col("fichier", "Fichier", "text"),
            Col("version", "Version", "text"),
            Col("date", "Date", "date"),
            Col("lignes", "Lignes"),
            Col("avertissements", "Avertissements", "text"),
            Col("sha256", "Empreinte SHA-256", "text"),
        ],
        [
            {
                "partenaire": e.partner,
                "fichier": e.file,
                # A version number reads as text ("v2"): it is not a count of households.
                "version": f"v{e.version}",
                "date": e.date,
                "lignes": e.rows,
                # Counts of findings, not of households: written with their unit.
                "avertissements": _findings_text(e.warnings, "avertissement", "aucun"),
                "sha256": e.sha256,
            }
            for e in register
        ],
        note="Version : rang du fichier retenu parmi les envois du partenaire (les versions antérieures sont écartées). "
        "Date : date de réponse indiquée dans l'onglet Identification, à défaut date du fichier.",
    )
    out = IndicatorTable(
        "exclus",
        "qualite",
        "Retours exclus pour erreurs",
        [
            Col("partenaire", "Partenaire", "text"),
            Col("fichier", "Fichier", "text"),
            Col("erreurs", "Erreurs", "text"),
            Col("lignes", "Lignes non comptées"),
            Col("sha256", "Empreinte SHA-256", "text"),
        ],
        [
            {
                "partenaire": e.partner,
                "fichier": e.file,
                "erreurs": _findings_text(e.errors, "erreur", "aucune"),
                "lignes": e.rows,
                "sha256": e.sha256,
            }
            for e in excluded
        ],
        note="Un retour exclu n'entre dans aucun chiffre : le partenaire doit corriger les erreurs signalées et renvoyer son fichier.",
    )
    return [used, out]


def _problems(rf: ReturnFile) -> list[str]:
    """The kinds of error of a return, in words, most frequent first: « Cellule obligatoire (2) »."""
    titles: dict[str, int] = {}
    for f in rf.findings:
        if f.is_error:
            titles[f.type.title] = titles.get(f.type.title, 0) + 1
    return [f"{t} ({n})" if n > 1 else t for t, n in sorted(titles.items(), key=lambda kv: -kv[1])]


def _table_rows(rf: ReturnFile) -> int:
    """Rows of the return's main table: Attributions for a bailleur, Contingent for a réservataire."""
    table = rf.tables.get("attributions") or rf.tables.get("contingent")
    return len(table) if table is not None else 0


def _findings_text(n: int, word: str, none: str) -> str:
    """« 3 erreurs », « 1 avertissement », « aucun » (a finding count, not a household count)."""
    if not n:
        return none
    return f"{frformat.integer(n)} {word}{'s' if n > 1 else ''}"


def _return_date(rf: ReturnFile) -> dt.date:
    answered = (rf.forms.get("identification") or {}).get("date_reponse")
    if isinstance(answered, dt.date):
        return answered
    return rf.modified.date()


def _trend_year(
    convention: Convention, campaign: Campaign, year: int, territory: dict[str, Rate] | None
) -> TrendYear:
    """One year of the trend; `territory`: that year's rates when already computed (the bilan's year)."""
    if territory is None:
        territory = rates(convention, year, attribution_frame(convention, campaign, year))
    expected = len(campaign.used) + len(campaign.missing)
    return TrendYear(
        year=year,
        geography=convention.geography(year).label,
        thresholds_known=convention.thresholds(year) is not None,
        rates=territory,
        returns_used=len(campaign.usable()),
        returns_expected=expected,
        excluded=[_name(convention, pid) for pid in sorted(campaign.excluded(), key=convention.partner_rank)],
        missing=[_name(convention, pid) for pid in campaign.missing],
    )


def _name(convention: Convention, pid: str) -> str:
    partner = convention.partners_by_id.get(pid)
    return partner.name if partner else pid


def _gaps_text(t: TrendYear) -> str:
    """« écarté : A, B ; manquant : C », or « aucun »: what a year's rates lack."""
    parts = [
        f"{label} : {', '.join(names)}"
        for label, names in (("écarté", t.excluded), ("manquant", t.missing))
        if names
    ]
    return " ; ".join(parts) or "aucun"


def _trend_table(convention: Convention, trend: list[TrendYear]) -> IndicatorTable:
    cols = objective_columns(Col("annee", "Année", "text"), target=True, status=False)
    cols += [
        Col("retours", "Retours utilisés", "text"),
        Col("non_utilises", "Retours écartés ou manquants", "text"),
    ]
    rows = []
    for t in trend:
        row: dict[str, Any] = {"annee": str(t.year), **rate_cells(t.rates)}
        row |= {f"{short}_cible": fraction(t.rates[code].target) for code, short, _label in OBJECTIVE_COLUMNS}
        row["retours"] = f"{frformat.integer(t.returns_used)} sur {frformat.integer(t.returns_expected)}"
        row["non_utilises"] = _gaps_text(t)
        rows.append(row)
    return IndicatorTable(
        "evolution",
        "evolution",
        f"Évolution depuis {convention.info.first_year} (territoire)",
        cols,
        rows,
        note="Chaque année est jugée sur sa propre cible et sur la géographie prioritaire en vigueur cette année-là, "
        "avec les seuls retours utilisés de cette année : un retour écarté ou manquant cette année-là n'est pas dans "
        "ses taux (dernières colonnes).",
    )
