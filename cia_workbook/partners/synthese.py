"""The objectives of a bailleur's Synthèse sheet as live COUNTIFS formulas over its
Attributions sheet, giving the same counts as `consolidate.objective_rates` (a test checks it
on a file recalculated by LibreOffice).

They follow DOMAIN.md: (a) hors_qpv_q1 — signed leases of the year outside QPV and
outside any local zone (a convention without zones has no zone column, nor term), numerator first quartile or rehoused by the NPNRU (the « Relogé NPNRU »
column whatever the category, or the urban-renewal category), counted once;
(b) qpv_q234 — CAL decisions of the year in a QPV or a local zone, numerator quartiles 2-4;
(c) publics_prioritaires — signed leases of the year on the bailleur's own contingent,
numerator priority categories. Unknown quartiles stay in the universe and never count as Q1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from xlsxwriter.utility import xl_col_to_name

from cia_workbook.convention.settings import Convention
from cia_workbook.schema import sheets as schema
from cia_workbook.schema.columns import WorkbookSchema

KNOWN_QUARTILES = ("1", "2", "3", "4")


# -- Formulas ------------------------------------------------------------------------------

# A count is a signed sum of COUNTIFS terms, each a conjunction of conditions on columns;
# "A or B" becomes A + B - (A and B), exclusions become subtractions. A condition on a list
# (every QPV, every local zone) uses the list's range on the hidden list sheet as an array
# criterion, summed by SUMPRODUCT, so that the formula does not grow with the list. A term
# holds at most one array criterion (two would pair up element by element): `_and` spells the
# second one out value by value. No blank criteria and no inline arrays: Excel and LibreOffice
# compute these the same way.


@dataclass(frozen=True)
class _Cond:
    rng: str
    criterion: str  # a quoted literal, an expression, or a range on the list sheet
    values: tuple[str, ...] = ()  # set for an array criterion: the values it stands for

    @property
    def is_array(self) -> bool:
        return bool(self.values)


Term = tuple[int, tuple[_Cond, ...]]


def _text(value: str) -> str:
    """A COUNTIFS criterion matching `value` exactly (wildcards escaped, quotes doubled)."""
    escaped = value.replace("~", "~~").replace("*", "~*").replace("?", "~?")
    return '"' + escaped.replace('"', '""') + '"'


def _spell_out(term: Term) -> list[Term]:
    sign, conds = term
    arrays = [i for i, c in enumerate(conds) if c.is_array]
    if len(arrays) <= 1:
        return [term]
    i = arrays[-1]
    cond = conds[i]
    out: list[Term] = []
    for value in cond.values:
        literal = _Cond(cond.rng, _text(value))
        out += _spell_out((sign, conds[:i] + (literal,) + conds[i + 1 :]))
    return out


def _and(terms: list[Term], extra: list[Term]) -> list[Term]:
    out: list[Term] = []
    for s1, c1 in terms:
        for s2, c2 in extra:
            out += _spell_out((s1 * s2, c1 + c2))
    return out


def _one_of(rng: str, values: Iterable[str], array: str | None = None) -> list[Term]:
    """Rows whose column equals one of `values` (disjoint, so counts add up)."""
    values = tuple(values)
    if array and len(values) > 1:
        return [(1, (_Cond(rng, array, values),))]
    return [(1, (_Cond(rng, _text(v)),)) for v in values]


def _or(a: list[Term], b: list[Term]) -> list[Term]:
    return a + b + [(-s, c) for s, c in _and(a, b)]


def _minus(a: list[Term], b: list[Term]) -> list[Term]:
    return a + [(-s, c) for s, c in b]


def _formula(terms: list[Term]) -> str:
    parts = []
    for sign, conds in terms:
        call = "COUNTIFS(" + ",".join(f"{c.rng},{c.criterion}" for c in conds) + ")"
        if any(c.is_array for c in conds):
            call = f"SUMPRODUCT({call})"
        parts.append(("-" if sign < 0 else "+") + call)
    text = "".join(parts).lstrip("+")
    return "=" + (text or "0")


# The Attributions columns the formulas read, as workbook names ("att_qpv"…): the formulas stay
# short and readable, and the names follow rows inserted inside the table.
FORMULA_COLUMNS = (
    "suite",
    "date_cal",
    "date_bail",
    "qpv",
    "zone_locale",
    "contingent",
    "quartile",
    "categorie",
    "reloge_npnru",
)


def range_name(key: str) -> str:
    return f"att_{key}"


def range_names(wb_schema: WorkbookSchema) -> dict[str, str]:
    """Workbook name → whole data column of the Attributions sheet, for the formulas (the zone
    column only where the convention has local zones)."""
    sheet = wb_schema.sheet("attributions")
    letters = {c.key: xl_col_to_name(i) for i, c in enumerate(sheet.columns)}
    return {
        range_name(key): f"='{sheet.title}'!${letters[key]}${sheet.first_data_row}:${letters[key]}$1048576"
        for key in FORMULA_COLUMNS
        if key in letters
    }


@dataclass(frozen=True)
class ObjectiveFormulas:
    numerator: str
    universe: str
    unknown_quartile: str | None


def objective_formulas(
    wb_schema: WorkbookSchema, convention: Convention, year: int
) -> dict[str, ObjectiveFormulas]:
    """COUNTIFS formulas over the Attributions sheet for the three objectives of `year`."""

    lists = wb_schema.codelists

    def rng(key: str) -> str:
        return range_name(key)

    def label(listname: str, code: str) -> str:
        return lists[listname].by_code[code].display

    def array(listname: str, count: int) -> str:
        """The first `count` values of a list on the hidden list sheet, as a range."""
        col = xl_col_to_name(list(lists).index(listname))
        return f"'{schema.LISTS_SHEET}'!${col}$2:${col}${count + 1}"

    start, end = f'">="&DATE({year},1,1)', f'"<="&DATE({year},12,31)'
    lease_year: list[Term] = [
        (
            1,
            (
                _Cond(rng("suite"), _text(label("suite", "BAIL_SIGNE"))),
                _Cond(rng("date_bail"), start),
                _Cond(rng("date_bail"), end),
            ),
        )
    ]
    cal_year: list[Term] = [(1, (_Cond(rng("date_cal"), start), _Cond(rng("date_cal"), end)))]
    # The QPV and zone lists start with the real QPVs / zones and end with "Hors QPV" / "Aucune".
    geo_qpvs = convention.geography(year).qpvs
    qpvs = _one_of(rng("qpv"), [label("qpv", q.code) for q in geo_qpvs], array("qpv", len(geo_qpvs)))
    zones: list[Term] = []
    if convention.local_zones:
        zone_labels = [label("zone_locale", z.code) for z in convention.local_zones]
        zones = _one_of(rng("zone_locale"), zone_labels, array("zone_locale", len(zone_labels)))
    hors_qpv = _one_of(rng("qpv"), [label("qpv", schema.HORS_QPV)])
    quartiles = {q: _one_of(rng("quartile"), [label("quartile", q)]) for q in KNOWN_QUARTILES}
    categories = convention.priority_categories
    renewal = _one_of(rng("categorie"), [label("categorie", c.code) for c in categories if c.urban_renewal])
    priority = _one_of(rng("categorie"), [label("categorie", c.code) for c in categories if c.priority])
    own = _one_of(rng("contingent"), [label("contingent", schema.CONTINGENT_OWN)])
    rehoused = _or(renewal, _one_of(rng("reloge_npnru"), [label("oui_non", "OUI")]))

    def unknown(universe: list[Term]) -> str:
        known = [t for q in KNOWN_QUARTILES for t in _and(universe, quartiles[q])]
        return _formula(_minus(universe, known))

    # (a) outside QPV and outside every local zone: "Hors QPV" minus the rows in a zone.
    outside = _and(lease_year, hors_qpv)
    outside = _minus(outside, _and(outside, zones))
    a_num = _and(outside, _or(quartiles["1"], rehoused))
    # (b) in a QPV or in a local zone (a row in both counts once).
    inside = _and(cal_year, _or(qpvs, zones))
    b_num = _and(inside, quartiles["2"] + quartiles["3"] + quartiles["4"])
    # (c) the bailleur's own contingent.
    c_universe = _and(lease_year, own)
    c_num = _and(c_universe, priority)
    return {
        "hors_qpv_q1": ObjectiveFormulas(_formula(a_num), _formula(outside), unknown(outside)),
        "qpv_q234": ObjectiveFormulas(_formula(b_num), _formula(inside), unknown(inside)),
        "publics_prioritaires": ObjectiveFormulas(_formula(c_num), _formula(c_universe), None),
    }
