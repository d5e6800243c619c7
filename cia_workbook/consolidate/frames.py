"""The campaign as polars frames, and the indicators as expressions over their columns.

One frame per table sheet holds the rows of every usable return of a year, with the partner
that returned them (`_partenaire`). A flag column says, for each attribution row, one thing an
indicator asks (`BAIL`: a lease signed in the year, `HORS`: outside QPV and local zones…); an
indicator is then what DOMAIN.md says it is: a universe, a numerator, group keys —

    Indicator("hors_qpv_q1", universe=BAIL & HORS, numerator=Q1U, unknown=UNKNOWN)

evaluated by `rates` (a group_by and sums) into `Rate`s with the convention's targets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from cia_workbook.consolidate.tables import Rate
from cia_workbook.convention.settings import Convention
from cia_workbook.intake.model import ROW, SHEET, Campaign, Table
from cia_workbook.schema.codes import CONTINGENT_OWN, HORS_QPV, NO_ZONE
from cia_workbook.schema.columns import Column, Sheet
from cia_workbook.schema.sheets import ATTRIBUTIONS, CODED_COLUMNS

KNOWN_QUARTILES = ("1", "2", "3", "4")
YOUNG_AGE = 30  # Action 3: "jeunes ménages", holder under 30
PARTNER = "_partenaire"  # the partner id of a row in a campaign frame
LINE = ROW  # the sheet row the partner sees; `SHEET` indexes the sheet titles
FILE, TITLE = "_fichier", "_titre"  # in a campaign frame: the return's file name, the row's sheet title
SOURCE_COLUMNS = (PARTNER, FILE, TITLE)  # categoricals: one value per return (or sheet) over its rows

DTYPES = {
    "text": pl.String,
    "code": pl.String,
    "yesno": pl.String,
    "integer": pl.Int64,
    "decimal": pl.Float64,
    "date": pl.Date,
}


def schema_of(columns: Sequence[Column], key: str) -> dict[str, Any]:
    """The types of a frame of `columns` (of table `key`: see `dtype_of`)."""
    return {c.key: dtype_of(key, c) for c in columns} | {LINE: pl.UInt32, SHEET: pl.UInt8}


def table_frame(table: Table, columns: Sequence[Column]) -> pl.DataFrame:
    """A return's table as the agreed frame: one column per schema column (typed by its kind,
    all null when the return lacks it), `_ligne` and `_feuille`. The reader's frame is already
    so; a table made from lists (tests, the demo) has its columns cast here."""
    return table.frame.select(_agreed(table, columns))


def as_text(name: str) -> pl.Expr:
    """Source column `name` of a campaign frame as text (a categorical there)."""
    return pl.col(name).cast(pl.String)


def as_kind(column: Column) -> pl.Expr:
    """`column` of a campaign frame with its kind's type: a coded column as the text the returns
    give (a categorical there: see `dtype_of`)."""
    return pl.col(column.key).cast(DTYPES[column.kind])


def dtype_of(key: str, column: Column) -> Any:
    """The type of `column` in table `key` of a campaign: its kind's, a categorical for a coded
    column of `CODED_COLUMNS`."""
    return pl.Categorical if column.key in CODED_COLUMNS.get(key, ()) else DTYPES[column.kind]


def _agreed(table: Table, columns: Sequence[Column]) -> list[pl.Expr]:
    present = set(table.frame.columns)
    return [
        (pl.col(c.key) if c.key in present else pl.lit(None))
        .cast(dtype_of(table.sheet_key, c), strict=False)
        .alias(c.key)
        for c in columns
    ] + [pl.col(ROW).cast(pl.UInt32), pl.col(SHEET).cast(pl.UInt8).alias(SHEET)]


def sheet_titles(table: Table) -> list[str]:
    """The titles `_feuille` indexes: the sheet, then each copy read with it."""
    return [p.sheet_title for p in table.placements]


def campaign_frame(campaign: Campaign, key: str, sheet: Sheet) -> pl.DataFrame:
    """Table `key` of every usable return, end to end in the returns' order, each row with its
    source: the partner id (`_partenaire`), the file (`_fichier`), the sheet's title (`_titre`).

    Built once per campaign, table and set of columns (the consolidation's sheet and a
    convention's own one with the same columns share it) and kept until the campaign's returns
    or their tables change (a national campaign is a thousand returns to put end to end, and the
    bilan, the flux reports and the data files each ask for it)."""
    usable = [(pid, rf, rf.tables.get(key)) for pid, rf in campaign.usable().items()]
    # What the frame is made of, held (not ids, which a new object could reuse): the returns
    # used, their table and its frame; a change to any of them builds the frame again.
    parts = [(pid, rf, table, table.frame if table is not None else None) for pid, rf, table in usable]
    memo = _FRAMES.setdefault(id(campaign), (campaign, {}))
    if memo[0] is not campaign:  # a campaign since collected left its id: not its frames
        memo = _FRAMES[id(campaign)] = (campaign, {})
    # The frame is made of the columns' keys and kinds only (`_agreed`).
    made_of = (key, tuple((c.key, c.kind) for c in sheet.columns))
    hit = memo[1].get(made_of)
    if hit is not None and _same(hit[0], parts):
        return hit[1]
    if len(_FRAMES) > 16:
        _FRAMES.clear()
        memo = _FRAMES[id(campaign)] = (campaign, {})
    frame = _campaign_frame(usable, sheet)
    memo[1][made_of] = (parts, frame)
    return frame


def _same(a: list[tuple], b: list[tuple]) -> bool:
    """The same partners with the very same returns, tables and frames, in the same order."""
    if len(a) != len(b):
        return False
    return all(
        x[0] == y[0] and all(p is q for p, q in zip(x[1:], y[1:], strict=True))
        for x, y in zip(a, b, strict=True)
    )


# id(campaign) → (the campaign, held so that its id is not reused; (table key, the columns' keys
# and kinds) → (the parts the frame was made of, the frame)).
_FRAMES: dict[int, tuple[Campaign, dict[tuple, tuple]]] = {}


def _campaign_frame(usable: list, sheet: Sheet) -> pl.DataFrame:
    """The returns' tables end to end, in one query (an eager operation per return costs more
    than the rows of a small one). On polars' in-memory engine: the streaming one, its default
    for a query, costs twice as much per query and gathers the result in one piece, a copy of
    the returns' rows (157 MB more at the peak of a 500,000-row consolidation, 0.6 s slower)."""
    frames = []
    agreed: dict[tuple[str, ...], list[pl.Expr]] = {}  # the returns with the same columns share theirs
    for pid, rf, table in usable:
        if table is None:
            continue
        titles = pl.Series(TITLE, sheet_titles(table), dtype=pl.String)
        present = tuple(table.frame.columns)
        if present not in agreed:
            agreed[present] = _agreed(table, sheet.columns)
        frames.append(
            table.frame.lazy()
            .select(agreed[present])
            .with_columns(
                pl.lit(pid, pl.String).cast(pl.Categorical).alias(PARTNER),
                pl.lit(rf.name, pl.String).cast(pl.Categorical).alias(FILE),
                pl.lit(titles).gather(pl.col(SHEET)).cast(pl.Categorical).alias(TITLE),
            )
        )
    return pl.concat(frames).collect(engine="in-memory") if frames else empty_frame(sheet)


def empty_frame(sheet: Sheet) -> pl.DataFrame:
    return pl.DataFrame(
        schema=schema_of(sheet.columns, sheet.key) | dict.fromkeys(SOURCE_COLUMNS, pl.Categorical)
    )


# -- Flags ------------------------------------------------------------------------------------

_FLAG_NAMES = (
    "cal bail in_year hors inq own known unknown q1 q1u q234 priority urban dalo out_qpv out_zone "
    "refus young_yes young_nr family_yes family_nr employed_yes employed_nr mutation_yes mutation_nr"
).split()
(CAL, BAIL, IN_YEAR, HORS, INQ, OWN, KNOWN, UNKNOWN, Q1, Q1U, Q234, PRIORITY, URBAN, DALO, OUT_QPV, OUT_ZONE,
 REFUS, YOUNG_YES, YOUNG_NR, FAMILY_YES, FAMILY_NR, EMPLOYED_YES, EMPLOYED_NR, MUTATION_YES,
 MUTATION_NR) = map(pl.col, _FLAG_NAMES)  # fmt: skip
ROWS = pl.len()  # every row


def flags(convention: Convention, year: int) -> dict[str, pl.Expr]:
    """The flag columns of attribution rows of `year`, as expressions over the schema's columns.

    cal: CAL decision in the year (universe of the "attributions prononcées"); bail: lease signed
    in the year (universe of the "baux signés"); hors: neither in a QPV nor in a local zone (a row
    in both counts in the QPV), inq its complement; own: the bailleur's own contingent; q1u: 1st
    quartile or rehoused by the NPNRU (counted once); urban: the yes/no column, whatever the
    category (a DALO household rehoused by the NPNRU keeps DALO as its category), or the
    urban-renewal category (returns of the template 1.0, or the column left blank); out_qpv:
    outside every QPV; <x>_nr: not filled in.
    """
    col = pl.col
    priority = [c.code for c in convention.priority_categories if c.priority]
    urban = [c.code for c in convention.priority_categories if c.urban_renewal]
    in_qpv = col("qpv").is_not_null() & ~col("qpv").is_in([HORS_QPV, ""])
    in_zone = col("zone_locale").is_not_null() & ~col("zone_locale").is_in([NO_ZONE, ""])
    cal = col("date_cal").dt.year() == year
    bail = (col("suite") == "BAIL_SIGNE") & (col("date_bail").dt.year() == year)
    q1 = col("quartile") == "1"
    urban_row = (col("reloge_npnru") == "OUI") | col("categorie").is_in(urban)
    hors = ~in_qpv.fill_null(False) & ~in_zone.fill_null(False)
    known = col("quartile").is_in(KNOWN_QUARTILES)
    out = {
        "cal": cal,
        "bail": bail,
        "in_year": cal.fill_null(False) | bail.fill_null(False),
        "hors": hors,
        "inq": ~hors,
        "own": col("contingent") == CONTINGENT_OWN,
        "known": known,
        "unknown": ~known.fill_null(False),
        "q1": q1,
        "q1u": q1.fill_null(False) | urban_row.fill_null(False),
        "q234": col("quartile").is_in(["2", "3", "4"]),
        "priority": col("categorie").is_in(priority),
        "urban": urban_row,
        "dalo": col("categorie") == "DALO",
        "out_qpv": col("qpv").is_null() | (col("qpv") == HORS_QPV),
        "out_zone": col("zone_locale").is_null() | (col("zone_locale") == NO_ZONE),
        "refus": col("suite") == "REFUS",
        "young_yes": col("age_titulaire") < YOUNG_AGE,
        "young_nr": col("age_titulaire").is_null(),
        # "Family": at least one child under 14, the UC scale's own age limit.
        "family_yes": col("nb_moins_14") >= 1,
        "family_nr": col("nb_moins_14").is_null(),
        "employed_yes": col("emploi") == "EMPLOI",
        "employed_nr": col("emploi").is_null() | (col("emploi") == "INCONNU"),
        "mutation_yes": col("mutation") == "OUI",
        "mutation_nr": col("mutation").is_null(),
    }
    return {name: expr.fill_null(False).alias(name) for name, expr in out.items()}


def flagged(convention: Convention, year: int, frame: pl.DataFrame) -> pl.DataFrame:
    """An attribution frame with its flag columns."""
    return frame.with_columns(**flags(convention, year))


def attribution_frame(convention: Convention, campaign: Campaign, year: int) -> pl.DataFrame:
    return flagged(convention, year, campaign_frame(campaign, "attributions", ATTRIBUTIONS))


# -- Counting ---------------------------------------------------------------------------------


def counts(
    frame: pl.DataFrame | pl.LazyFrame,
    measures: Mapping[str, pl.Expr],
    by: str | list[str] | None = None,
    keys: Iterable[Any] = (),
) -> Any:
    """The sum of each measure (a flag expression counts its rows): a dict of them without `by`;
    with `by`, one such dict for each of `keys` (a value of `by`, a tuple for several columns),
    every key present, 0 where no row has it."""
    exprs = [expr.sum().alias(name) for name, expr in measures.items()]
    # One query: a filtered universe (`frame` may be `campaign.lazy().filter(...)`) is never
    # made, only the columns the measures read are (a national campaign's frame is a thousand
    # pieces of some fifty columns: filtering it whole cost 65 ms).
    query = frame.lazy()
    if by is None:
        return {
            k: v or 0 for k, v in query.select(exprs).collect(engine="in-memory").row(0, named=True).items()
        }
    columns = [by] if isinstance(by, str) else by
    found = {}
    for row in query.group_by(columns).agg(exprs).collect(engine="in-memory").iter_rows():
        found[row[0] if isinstance(by, str) else tuple(row[: len(columns)])] = row[len(columns) :]
    zero = (0,) * len(measures)
    return {k: dict(zip(measures, (v or 0 for v in found.get(k, zero)), strict=True)) for k in keys}


@dataclass(frozen=True)
class Indicator:
    """Households of `universe` that are `numerator`; `unknown`: those of the universe whose
    quartile is unknown (shown next to the rate); `objective`: whose target it is judged on."""

    objective: str
    universe: pl.Expr
    numerator: pl.Expr
    unknown: pl.Expr | None = None


# The three objectives of the convention (DOMAIN.md "The objectives").
OBJECTIVES = (
    Indicator("hors_qpv_q1", universe=BAIL & HORS, numerator=Q1U, unknown=UNKNOWN),
    Indicator("qpv_q234", universe=CAL & INQ, numerator=Q234, unknown=UNKNOWN),
    # A bailleur's priority publics are counted on its own contingent (not reserved).
    Indicator("publics_prioritaires", universe=BAIL & OWN, numerator=PRIORITY),
)
# On a réservataire's contingent every row is its: priority publics among all its leases.
ON_CONTINGENT = (*OBJECTIVES[:2], Indicator("publics_prioritaires", universe=BAIL, numerator=PRIORITY))


def rates(
    convention: Convention,
    year: int,
    frame: pl.DataFrame,
    indicators: Sequence[Indicator] = OBJECTIVES,
    by: str | list[str] | None = None,
    keys: Iterable[Any] = (),
) -> Any:
    """Objective → `Rate` of each indicator on `frame` (with `by`: one such dict per key, a
    tuple for several columns)."""
    measures: dict[str, pl.Expr] = {}
    for ind in indicators:
        measures[f"{ind.objective}:den"] = ind.universe
        measures[f"{ind.objective}:num"] = ind.universe & ind.numerator
        measures[f"{ind.objective}:unk"] = (
            ind.universe & ind.unknown if ind.unknown is not None else pl.lit(0)
        )
    gap = convention.campaign.close_gap_points

    def rated(c: dict[str, int]) -> dict[str, Rate]:
        return {
            ind.objective: Rate(
                c[f"{ind.objective}:num"],
                c[f"{ind.objective}:den"],
                c[f"{ind.objective}:unk"],
                target=convention.target(ind.objective, year),
                close_gap=gap,
            )
            for ind in indicators
        }

    if by is None:
        return rated(counts(frame, measures))
    return {k: rated(c) for k, c in counts(frame, measures, by, keys).items()}


def objective_rates(
    convention: Convention, table: Table, year: int, contingent: str | None = None
) -> dict[str, Rate]:
    """The official computation of the three objectives on one return's Attributions table.

    Without `contingent`: a bailleur's view (both quartile objectives on all its rows, priority
    publics on its own contingent). With a réservataire id: the three objectives restricted to
    the rows attributed on that contingent.
    """
    frame = flagged(convention, year, table_frame(table, ATTRIBUTIONS.columns))
    if contingent is None:
        return rates(convention, year, frame)
    return rates(convention, year, frame, ON_CONTINGENT, "contingent", [contingent])[contingent]


# Contingent column → the count its former definition gives, for a réservataire's return made
# on a template older than the column's `since` (schema 1.0: the 1st quartile alone).
FORMER_COUNTS = {"q1_hors_qpv": "q1_seul_hors_qpv"}


def contingent_counts(
    convention: Convention, year: int, tables: list[tuple[str, Table]], reservataires: list[str]
) -> dict[str, dict[str, dict[str, int]]]:
    """Bailleur → réservataire → what the bailleur's rows say about that contingent, per column
    of the réservataire's Contingent sheet.

    Same definitions as the bilan (DOMAIN.md): baux signés in the year on that contingent,
    priority categories among them, 1st quartile outside QPV and local zones, quartiles 2-4 of
    CAL decisions in the year in QPV or local zone. « Dont 1er quartile ou relogés NPNRU hors
    QPV » follows the objective (1st quartile or rehoused by the NPNRU, counted once); returns
    of the template 1.0 declared the 1st quartile alone, counted as `FORMER_COUNTS` says.
    """
    frames = [
        table_frame(t, ATTRIBUTIONS.columns).with_columns(pl.lit(bid).alias(PARTNER)) for bid, t in tables
    ]
    frame = flagged(convention, year, pl.concat(frames) if frames else empty_frame(ATTRIBUTIONS))
    priority = [c.code for c in convention.priority_categories if c.priority]
    measures = {
        "baux_signes": BAIL,
        "q234_qpv": CAL & INQ & Q234,
        "q1_hors_qpv": BAIL & Q1U & OUT_QPV & OUT_ZONE,
        "q1_seul_hors_qpv": BAIL & Q1 & OUT_QPV & OUT_ZONE,
    } | {f"prioritaires_{code.lower()}": BAIL & (pl.col("categorie") == code) for code in priority}
    keys = [(bid, res) for bid, _ in tables for res in reservataires]
    found = counts(frame, measures, [PARTNER, "contingent"], keys)
    out: dict[str, dict[str, dict[str, int]]] = {}
    for (bid, res), c in found.items():
        out.setdefault(bid, {})[res] = c
    return out
