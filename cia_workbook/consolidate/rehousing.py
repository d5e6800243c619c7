"""Consolidation stage of the NPNRU rehousing: validated campaigns in, the charter's figures out.

Every year found in forms/ is read; a household keeps its pseudonymous id from year to year, so
its history is kept and its latest status is the one of the latest year where it appears. The
charter's criteria (convention file, `charte_relogement`) are computed on the households rehoused
definitively, in the year and cumulated since the start of the programme; progress compares the
households followed with the programme's total. The Word annexes (`report_annexes`) and the
bilan only lay these figures out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from cia_workbook.consolidate.frames import LINE, table_frame
from cia_workbook.consolidate.tables import Rate
from cia_workbook.convention.charter import CRITERION_CODES, RehousingCharter
from cia_workbook.convention.settings import Convention
from cia_workbook.intake.model import Campaign
from cia_workbook.intake.rehousing_rules import household_key, rest_to_pay
from cia_workbook.render import frformat
from cia_workbook.render.typography import plural
from cia_workbook.schema.codes import PRIVATE_STOCK, REHOUSED, REHOUSING_STATUSES
from cia_workbook.schema.rehousing import RELOGEMENTS

CRITERIA = {
    "hors_qpv": "Relogés hors QPV",
    "hors_quartier": "Relogés hors du quartier d'origine",
    "logement_recent": "Relogés dans un logement neuf ou conventionné depuis moins de 5 ans",
    "reste_a_charge": "Relogés avec un reste à charge maîtrisé",
}
# Statuses still in the process (the household waits for, or lives in, a temporary dwelling).
IN_PROGRESS = ("A_RELOGER", "PROPOSITION", "RELOGE_TEMPORAIRE")
# Statuses with nothing left to do for the partnership: a blocked flag no longer blocks anything.
CLOSED = ("RELOGE_DEFINITIF", "PARTI")
STATUS_LABELS = {c.code: c.label for c in REHOUSING_STATUSES.codes}


@dataclass
class Household:
    """One household as last reported, with the years and partners that reported it."""

    id: str
    year: int  # latest year where it appears
    partner: str  # partner id that reported it that year
    file: str
    row: int
    record: dict[str, Any]
    history: list[tuple[int, str, str | None]] = field(default_factory=list)  # (year, partner, status)
    answered: dt.date | None = None  # answer date of the return the record comes from
    # Set by `rehousing_bilan` for a household whose state of the bilan's year is unknown (no
    # usable return of that year mentions it): why, as a `ReturnState` of that year.
    stale: ReturnState | None = None

    def get(self, key: str) -> Any:
        return self.record.get(key)

    @property
    def status(self) -> str | None:
        return self.record.get("statut")

    @property
    def operation(self) -> str | None:
        return self.record.get("operation")

    @property
    def rehoused_on(self) -> dt.date | None:
        value = self.record.get("date_relogement")
        return value if isinstance(value, dt.date) else None

    @property
    def entered_on(self) -> dt.date | None:
        value = self.record.get("date_entree")
        return value if isinstance(value, dt.date) else None

    @property
    def rehoused(self) -> bool:
        return self.status == REHOUSED

    @property
    def blocked(self) -> bool:
        return self.record.get("bloque") == "OUI" and self.status not in CLOSED

    def rest_to_pay(self, side: str) -> float | None:
        """Monthly reste à charge in the dwelling of origin ("origine") or of rehousing ("destination")."""
        r = self.record
        return rest_to_pay(r.get(f"{side}_loyer"), r.get(f"{side}_charges"), r.get(f"{side}_apl"))


# What became of a charter partner's return of a year: used, excluded for errors, missing, used
# but without the rehousing sheet; a household last reported by a partner whose return is not
# used has no state of that year.
RETURN_STATES = ("utilise", "ecarte", "manquant", "sans_feuille")


@dataclass(frozen=True)
class ReturnState:
    """A charter partner's return of one year, as the rehousing figures rest on it."""

    year: int
    partner: str  # partner id
    state: str  # one of RETURN_STATES, or "absent": used, but the household is not in it
    file: str | None = None
    answered: dt.date | None = None
    errors: int = 0

    def what(self) -> str:
        """« retour 2024 écarté », « absent du retour 2024 »…, without the partner's name."""
        return {
            "utilise": f"retour {self.year} utilisé",
            "ecarte": f"retour {self.year} écarté",
            "manquant": f"retour {self.year} manquant",
            "sans_feuille": f"retour {self.year} sans feuille « Relogements NPNRU »",
            "absent": f"absent du retour {self.year}",
        }[self.state]

    def reason(self, names: Mapping[str, str]) -> str:
        """Why a household has no state of the year, in French (« retour 2024 écarté (…) »)."""
        name = names.get(self.partner, self.partner)
        return {
            "ecarte": f"retour {self.year} écarté ({name})",
            "manquant": f"retour {self.year} manquant ({name})",
            "sans_feuille": f"retour {self.year} de {name} sans feuille « Relogements NPNRU »",
            "absent": f"absent du retour {self.year} de {name}",
        }[self.state]


def return_states(convention: Convention, campaigns: Mapping[int, Campaign], year: int) -> list[ReturnState]:
    """The return of `year` of each partner of the charter, in the charter's order."""
    charter = convention.rehousing
    campaign = campaigns.get(year)
    out = []
    for pid in charter.partners if charter is not None else ():
        rf = campaign.used.get(pid) if campaign is not None else None
        if rf is None:
            out.append(ReturnState(year, pid, "manquant"))
            continue
        errors = sum(f.is_error for f in rf.findings)
        state = "ecarte" if errors else "utilise" if "relogements" in rf.tables else "sans_feuille"
        out.append(ReturnState(year, pid, state, rf.name, _answered(rf), errors))
    return out


def _answered(rf: Any) -> dt.date | None:
    value = (rf.forms.get("identification") or {}).get("date_reponse")
    return value if isinstance(value, dt.date) else None


@dataclass(frozen=True)
class Duplicate:
    """The same id returned by two partners for one year: one row kept, the other named."""

    id: str
    year: int
    kept: str  # partner id
    dropped: str  # partner id


def collect_households(
    convention: Convention, campaigns: Mapping[int, Campaign], year: int
) -> tuple[list[Household], list[Duplicate]]:
    """Every household followed up to `year`, latest record first by year, from usable returns only.

    Ids are compared without case or surrounding spaces. Within one year, a household returned by
    two partners is kept from the first in the convention's order of partners.
    """
    order = {p.id: i for i, p in enumerate(convention.partners)}
    households: dict[str, Household] = {}
    duplicates: list[Duplicate] = []
    for y in sorted(k for k in campaigns if k <= year):
        seen: dict[str, str] = {}
        usable = campaigns[y].usable()
        for pid in sorted(usable, key=lambda p: order.get(p, len(order))):
            rf = usable[pid]
            table = rf.tables.get("relogements")
            if table is None:
                continue
            frame = table_frame(table, RELOGEMENTS.columns).filter(pl.col("identifiant").str.len_chars() > 0)
            for record in frame.to_dicts():
                ident, row = record["identifiant"], record.pop(LINE)
                key = household_key(ident)
                if key in seen:
                    if seen[key] != pid:
                        duplicates.append(Duplicate(str(ident), y, seen[key], pid))
                    continue
                seen[key] = pid
                history = households[key].history if key in households else []
                history.append((y, pid, record.get("statut")))
                households[key] = Household(
                    str(ident), y, pid, rf.name, row, record, history, answered=_answered(rf)
                )
    return list(households.values()), duplicates


def excluded_households(convention: Convention, campaign: Campaign | None) -> dict[str, str]:
    """Household key → partner id, for the households of the year's excluded rehousing rows.

    Nothing of those rows is counted; their ids only say which households a partner reported in
    a return that could not be used, so that their earlier state is not taken for the year's.
    """
    out: dict[str, str] = {}
    if campaign is None or convention.rehousing is None:
        return out
    excluded = campaign.excluded()
    for pid in convention.rehousing.partners:
        table = excluded[pid].tables.get("relogements") if pid in excluded else None
        if table is not None:
            idents = table_frame(table, RELOGEMENTS.columns)["identifiant"]
            for ident in idents.filter(idents.str.len_chars() > 0):
                out.setdefault(household_key(ident), pid)
    return out


# -- Criteria -------------------------------------------------------------------------------


def rest_to_pay_controlled(convention: Convention, h: Household) -> bool | None:
    """Whether the household's reste à charge is under control by the charter's rule; None if unknown."""
    charter = convention.rehousing
    assert charter is not None
    rule = charter.rest_to_pay
    before, after = h.rest_to_pay("origine"), h.rest_to_pay("destination")
    if before is None or after is None:
        return None
    if rule.mode == "stable":
        return after - before <= rule.tolerance + 1e-9
    if rule.mode == "par_m2":
        s_before, s_after = h.get("origine_surface"), h.get("destination_surface")
        if not s_before or not s_after:
            return None
        return after / s_after - before / s_before <= rule.tolerance + 1e-9
    n14, under14 = h.get("nb_14_plus"), h.get("nb_moins_14")
    if n14 is None:
        n14 = h.get("nb_adultes")
    if not n14:
        return None
    scale = convention.uc_scale
    uc = scale.first_adult + scale.other_14_plus * max(n14 - 1, 0) + scale.child_under_14 * (under14 or 0)
    return (after - before) / uc <= rule.tolerance + 1e-9


def criterion_value(convention: Convention, code: str, h: Household) -> bool | None:
    """A rehoused household against one criterion: True, False, or None when the return left it blank."""
    if code == "reste_a_charge":
        return rest_to_pay_controlled(convention, h)
    key, good = {
        "hors_qpv": ("destination_qpv", "NON"),
        "hors_quartier": ("destination_meme_quartier", "NON"),
        "logement_recent": ("destination_recent", "OUI"),
    }[code]
    value = h.get(key)
    return None if value is None else value == good


def criteria(convention: Convention, households: list[Household]) -> dict[str, Rate]:
    """The four charter criteria on rehoused households; blanks stay in the universe, never count as met."""
    charter = convention.rehousing
    assert charter is not None
    gap = convention.campaign.close_gap_points
    out = {code: Rate(target=charter.targets.get(code), close_gap=gap) for code in CRITERION_CODES}
    for h in households:
        for code, rate in out.items():
            value = criterion_value(convention, code, h)
            rate.denominator += 1
            rate.numerator += value is True
            rate.unknown += value is None
    return out


# -- Progress -------------------------------------------------------------------------------


@dataclass
class Progress:
    """Where the households of one operation (or of the programme) stand at the end of the year."""

    label: str
    planned: int  # households to rehouse over the programme (convention file)
    followed: int = 0  # households present in the returns
    by_status: dict[str, int] = field(default_factory=dict)
    rehoused_in_year: int = 0
    blocked: int = 0
    # Households with no state of the year (their partner's return is excluded, missing…):
    # counted apart, never in a status, in progress or blocked.
    stale: int = 0

    @property
    def rehoused(self) -> int:
        return self.by_status.get(REHOUSED, 0)

    @property
    def in_progress(self) -> int:
        return sum(self.by_status.get(s, 0) for s in IN_PROGRESS)

    @property
    def not_yet_followed(self) -> int:
        return max(self.planned - self.followed, 0)

    @property
    def rate(self) -> float | None:
        return self.rehoused / self.planned if self.planned else None


def _progress(label: str, planned: int, households: list[Household], year: int) -> Progress:
    p = Progress(label, planned, followed=len(households))
    p.by_status = {c.code: 0 for c in REHOUSING_STATUSES.codes}
    for h in households:
        if h.stale is not None:
            p.stale += 1
            continue
        if h.status in p.by_status:
            p.by_status[h.status] += 1
        p.rehoused_in_year += h.rehoused and h.rehoused_on is not None and h.rehoused_on.year == year
        p.blocked += h.blocked
    return p


# -- The rehousing bilan --------------------------------------------------------------------


@dataclass
class RestToPay:
    """Average monthly reste à charge before and after, over households with both amounts known."""

    households: int
    before: float | None
    after: float | None


@dataclass
class RehousingBilan:
    year: int
    first_year: int
    epci: str
    convention_title: str
    charter: RehousingCharter
    households: list[Household]  # every household followed, as last reported
    year_criteria: dict[str, Rate]
    cumulative_criteria: dict[str, Rate]
    operations: list[Progress]  # one per operation of the charter, in its order
    total: Progress
    sectors: dict[str, Progress]  # "social" / "prive"
    year_rest_to_pay: RestToPay
    cumulative_rest_to_pay: RestToPay
    blocked: list[Household]
    duplicates: list[Duplicate]
    # Households still in progress when last reported, before `year` (no usable return of `year`
    # mentions them): their state is not the year's; each says why (`Household.stale`).
    stale: list[Household]
    unknown_operation: list[Household]
    partner_names: dict[str, str]
    operation_names: dict[str, str]
    returns_expected: list[str]  # partner ids of the charter
    returns_used: list[str]  # of those, partner ids whose return of `year` entered the figures
    commune_names: dict[str, str] = field(default_factory=dict)  # INSEE code → name
    year_returns: list[ReturnState] = field(default_factory=list)  # each charter partner's of `year`
    # Earlier years' returns of charter partners that were excluded or missing.
    earlier_gaps: list[ReturnState] = field(default_factory=list)
    # Partner id → rows of its excluded return of `year` about households no used return knows:
    # counted nowhere at all.
    unknown_in_excluded: dict[str, int] = field(default_factory=dict)
    # The coordination commission's decisions and indicators (consolidate.commission
    # .CommissionWork), set when its workbooks are read back.
    commission: Any = None

    @property
    def not_reported(self) -> list[Household]:
        """Former name of `stale`."""
        return self.stale

    def stale_details(self, count: Callable[[int], str] = frformat.integer) -> str:
        """« Un Toit pour Tous : retour 2024 écarté, 9 ménages ; … », `count` writing the numbers
        (a masked count, « < 11 », takes the plural)."""
        return " ; ".join(
            f"{self.partner_names.get(rs.partner, rs.partner)} : {rs.what()}, {households(n, count)}"
            for rs, n in self.stale_by_return()
        )

    def stale_by_return(self) -> list[tuple[ReturnState, int]]:
        """(the return of the year that is not there, households left without a state), in the
        charter's order of partners."""
        counts: dict[tuple[str, str], int] = {}
        for h in self.stale:
            assert h.stale is not None
            counts[(h.stale.partner, h.stale.state)] = counts.get((h.stale.partner, h.stale.state), 0) + 1
        states = {(rs.partner, rs.state): rs for rs in self.year_returns}
        out = []
        for (pid, state), n in counts.items():
            rs = states.get((pid, state)) or ReturnState(self.year, pid, state)
            out.append((rs, n))
        order = {pid: i for i, pid in enumerate(self.returns_expected)}
        return sorted(out, key=lambda item: (order.get(item[0].partner, len(order)), item[0].state))

    @property
    def rehoused_in_year(self) -> list[Household]:
        return [
            h for h in self.households if h.rehoused and h.rehoused_on and h.rehoused_on.year == self.year
        ]

    @property
    def rehoused_since_start(self) -> list[Household]:
        return [h for h in self.households if h.rehoused]

    def headline(self) -> str:
        """One French sentence for the terminal and the bilan."""
        t = self.total
        text = (
            f"Relogements NPNRU {self.year} : {households(t.rehoused_in_year)} "
            f"{plural(t.rehoused_in_year, 'relogé', 'relogés')} définitivement dans l'année, "
            f"{frformat.integer(t.rehoused)} depuis {self.first_year} sur {frformat.integer(t.planned)} à reloger ; "
            f"{frformat.integer(t.in_progress)} en cours, "
            f"{frformat.integer(t.blocked)} {plural(t.blocked, 'dossier bloqué')}"
        )
        if self.stale:
            text += f" ; {households(len(self.stale))} en situation non actualisée ({self.stale_details()})"
        return text + "."


def households(n: int, count: Callable[[int], str] = frformat.integer) -> str:
    """« 1 ménage », « 21 ménages », « < 11 ménages » (`count` writes the figure, masked or not)."""
    number = count(n)
    return f"{number} {plural(n if number == frformat.integer(n) else 2, 'ménage')}"


def _mean_rest_to_pay(households: list[Household]) -> RestToPay:
    pairs = [(h.rest_to_pay("origine"), h.rest_to_pay("destination")) for h in households]
    pairs = [(b, a) for b, a in pairs if b is not None and a is not None]
    if not pairs:
        return RestToPay(0, None, None)
    return RestToPay(len(pairs), sum(b for b, _ in pairs) / len(pairs), sum(a for _, a in pairs) / len(pairs))


def rehousing_bilan(convention: Convention, campaigns: Mapping[int, Campaign], year: int) -> RehousingBilan:
    """The charter's figures for `year` from every campaign up to it (pure: no file is read)."""
    charter = convention.rehousing
    if charter is None:
        raise ValueError("La convention n'a pas de charte de relogement (clé charte_relogement).")
    first_year = charter.first_year or convention.info.first_year
    households, duplicates = collect_households(convention, campaigns, year)
    households.sort(key=lambda h: (h.operation or "", h.id.casefold()))
    # A household still in progress when last reported before `year` has no state of `year`:
    # it is shown apart with why, never as blocked or in progress of the year.
    year_returns = return_states(convention, campaigns, year)
    by_partner = {rs.partner: rs for rs in year_returns}
    in_excluded = excluded_households(convention, campaigns.get(year))
    for h in households:
        if h.year >= year or h.status in CLOSED:
            continue
        key = household_key(h.id)
        if key in in_excluded:
            h.stale = by_partner.get(in_excluded[key]) or ReturnState(year, in_excluded[key], "ecarte")
        else:
            rs = by_partner.get(h.partner)
            h.stale = (
                rs if rs is not None and rs.state != "utilise" else ReturnState(year, h.partner, "absent")
            )
    known_keys = {household_key(h.id) for h in households}
    unknown_in_excluded: dict[str, int] = {}
    for key, pid in in_excluded.items():
        if key not in known_keys:
            unknown_in_excluded[pid] = unknown_in_excluded.get(pid, 0) + 1
    earlier_gaps = [
        rs
        for y in sorted(k for k in campaigns if first_year <= k < year)
        for rs in return_states(convention, campaigns, y)
        if rs.state in ("ecarte", "manquant")
    ]
    ops = {o.code: o for o in charter.operations}
    by_op = {code: [h for h in households if h.operation == code] for code in ops}
    operations = [_progress(o.name, o.households, by_op[o.code], year) for o in charter.operations]
    sectors = {
        sector: _progress(
            label,
            charter.households_in(sector),
            [h for h in households if h.operation in ops and ops[h.operation].sector == sector],
            year,
        )
        for sector, label in (("social", "Parc social"), ("prive", "Parc privé"))
    }
    known = [h for h in households if h.operation in ops]
    total = _progress("Ensemble du programme", charter.households, known, year)
    in_year = [h for h in known if h.rehoused and h.rehoused_on is not None and h.rehoused_on.year == year]
    since = [
        h for h in known if h.rehoused and (h.rehoused_on is None or first_year <= h.rehoused_on.year <= year)
    ]
    blocked = sorted(
        (h for h in known if h.blocked and h.stale is None), key=lambda h: (h.entered_on or dt.date.max, h.id)
    )
    campaign = campaigns.get(year)
    used = campaign.usable() if campaign is not None else {}
    return RehousingBilan(
        year=year,
        first_year=first_year,
        epci=convention.epci.name,
        convention_title=convention.info.title,
        charter=charter,
        households=households,
        year_criteria=criteria(convention, in_year),
        cumulative_criteria=criteria(convention, since),
        operations=operations,
        total=total,
        sectors=sectors,
        year_rest_to_pay=_mean_rest_to_pay(in_year),
        cumulative_rest_to_pay=_mean_rest_to_pay(since),
        blocked=blocked,
        duplicates=duplicates,
        stale=[h for h in households if h.stale is not None],
        unknown_operation=[h for h in households if h.operation not in ops],
        partner_names={p.id: p.name for p in convention.partners},
        operation_names={o.code: o.name for o in charter.operations},
        returns_expected=list(charter.partners),
        returns_used=[pid for pid in charter.partners if pid in used and "relogements" in used[pid].tables],
        commune_names={c.insee: c.name for c in convention.epci.communes},
        year_returns=year_returns,
        earlier_gaps=earlier_gaps,
        unknown_in_excluded=unknown_in_excluded,
    )


def rule_text(convention: Convention) -> str:
    """The charter's reste-à-charge rule in French, for the annexes and the bilan."""
    charter = convention.rehousing
    assert charter is not None
    rule = charter.rest_to_pay
    tolerance = frformat.decimal(rule.tolerance, 0 if float(rule.tolerance).is_integer() else 2)
    if rule.mode == "stable":
        return (
            f"reste à charge mensuel (loyer + charges − aide au logement) après relogement au plus égal à celui "
            f"d'avant, hausse tolérée de {tolerance}\u00a0€ par mois"
        )
    if rule.mode == "par_m2":
        return f"hausse du reste à charge mensuel par m² de surface habitable au plus égale à {tolerance}\u00a0€/m²"
    return f"hausse du reste à charge mensuel par unité de consommation au plus égale à {tolerance}\u00a0€"


def origin_label(h: Household, names: Mapping[str, str]) -> str:
    value = h.get("origine_parc")
    return "Parc privé" if value == PRIVATE_STOCK else names.get(value, value or "–")


def destination_label(h: Household, names: Mapping[str, str]) -> str:
    value = h.get("destination_parc")
    if value is None:
        return "–"
    return "Parc privé" if value == PRIVATE_STOCK else names.get(value, value)
