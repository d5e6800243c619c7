"""Consolidation stage: validated campaigns in, the bilan's data out (every indicator, no file).

The renderers (`report_docx`, `report_xlsx`) only lay out what this module computes: each
indicator is an `IndicatorTable` of plain numbers (counts, fractions) with the meaning of its
columns, so that the Word bilan, the workbook and the tests read the same figures. Objective
definitions follow DOMAIN.md "The objectives"; the per-return computation is `objective_rates`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from cia_workbook import frformat
from cia_workbook.convention import Convention
from cia_workbook.model import Campaign, ReturnFile, Table
from cia_workbook.schema import CONTINGENT_OWN, HORS_QPV, NO_ZONE, older_than, schema_for

TERRITORY = "territoire"
TERRITORY_LABEL = "Territoire"
KNOWN_QUARTILES = frozenset({"1", "2", "3", "4"})
YOUNG_AGE = 30  # Action 3: "jeunes ménages", holder under 30

MET, CLOSE, NOT_MET, NO_UNIVERSE = "atteint", "proche", "non atteint", "sans objet"

# What a masked cell shows in the public bilan: a primary small count, then a cell hidden
# so that a small count cannot be recomputed (rate, complement, last part of a total).
SMALL = "< {threshold}"
SECRET = "secret statistique"


# -- Rates ---------------------------------------------------------------------------------


@dataclass
class Rate:
    """One objective on one scope: universe, numerator, unknown quartiles, target, status."""

    numerator: int = 0
    denominator: int = 0
    unknown: int = 0  # households of the universe whose quartile is unknown
    target: float | None = None  # percent, as in the convention
    close_gap: float = 5.0  # points below the target still called "proche"

    @property
    def value(self) -> float | None:
        """The rate as a fraction (0.25), None without universe."""
        return self.numerator / self.denominator if self.denominator else None

    @property
    def status(self) -> str:
        if not self.denominator or self.target is None:
            return NO_UNIVERSE
        # Integer comparisons: 1 household out of 4 meets a 25 % target exactly.
        if self.numerator * 100 >= self.target * self.denominator:
            return MET
        if self.numerator * 100 >= (self.target - self.close_gap) * self.denominator:
            return CLOSE
        return NOT_MET

    def __add__(self, other: Rate) -> Rate:
        return replace(
            self,
            numerator=self.numerator + other.numerator,
            denominator=self.denominator + other.denominator,
            unknown=self.unknown + other.unknown,
        )


# -- Rows ----------------------------------------------------------------------------------


# Row sets are Python ints with one bit per row (row i is bit i): AND, OR, shifts and popcount
# run over machine words in C. A set is made from a bytes string of 0/1, one byte a row (what
# bytes.translate gives from a coded column), written as the binary digits of an int with row 0
# last: int(..., 2) reads a power-of-two base in linear time.
_ONE_HOT = [bytes(1 if j == i else 0 for j in range(256)) for i in range(256)]
_DIGITS = bytes.maketrans(b"\0\1", b"01")


def _bits(flags: bytes) -> int:
    return int(flags.translate(_DIGITS)[::-1], 2) if flags else 0


def _span(start: int, length: int) -> int:
    """The row set of rows start to start + length - 1."""
    return ((1 << length) - 1) << start


class _Column:
    """One column over a set of rows: each row's value as one byte, its rank in `values` (the
    distinct values), or the plain list of values when there are more than 256 of them."""

    __slots__ = ("codes", "values", "plain")

    def __init__(self, codes: bytes | None, values: list[Any], plain: list[Any] | None = None):
        self.codes = codes
        self.values = values
        self.plain = plain

    @classmethod
    def of(cls, column: list[Any]) -> _Column:
        rank = {v: i for i, v in enumerate(dict.fromkeys(column))}
        if len(rank) > 256:
            return cls(None, [], column)
        return cls(bytes(map(rank.__getitem__, column)), list(rank))

    def slice(self, start: int, stop: int) -> _Column:
        if self.codes is None:
            return _Column.of(self.plain[start:stop])  # type: ignore[index]
        return _Column(self.codes[start:stop], self.values)

    def flag(self, test) -> int:
        """The rows where `test(value)` holds, `test` called once per distinct value."""
        if self.codes is None:
            answer = {v: 1 if test(v) else 0 for v in dict.fromkeys(self.plain)}  # type: ignore[arg-type]
            return _bits(bytes(map(answer.__getitem__, self.plain)))  # type: ignore[arg-type]
        return _bits(self.codes.translate(bytes(1 if test(v) else 0 for v in self.values).ljust(256, b"\0")))

    def mask(self, value: Any) -> int:
        """The rows holding `value`."""
        if self.codes is None:
            return self.flag(lambda v: v == value)
        ranks = [i for i, v in enumerate(self.values) if v == value]
        if not ranks:
            return 0
        if len(ranks) == 1:
            return _bits(self.codes.translate(_ONE_HOT[ranks[0]]))
        return self.flag(lambda v: v == value)

    def mapped(self, fn) -> _Column:
        """The column with every value replaced by `fn(value)`."""
        if self.codes is None:
            return _Column.of([fn(v) for v in self.plain])  # type: ignore[union-attr]
        new = [fn(v) for v in self.values]
        rank: dict[Any, int] = {}
        table = bytes(rank.setdefault(v, len(rank)) for v in new)
        return _Column(self.codes.translate(table.ljust(256, b"\0")), list(rank))


def _joined(tables: list[Table], key: str) -> _Column:
    """Column `key` of every table, end to end, coded without building the per-row list when the
    table holds the column compactly (distinct values and a byte per row, as cached)."""

    def plain() -> _Column:  # more than 256 distinct values in all: the plain list
        return _Column.of([v for t in tables for v in (t.columns.get(key) or [None] * len(t.rows))])

    ranks: dict[Any, int] = {}
    pieces: list[bytes] = []
    for table in tables:
        keyed = getattr(table.columns, "keyed", None)  # (see cache._Columns.keyed)
        found = keyed(key) if keyed is not None else None
        if found is not None and found[1].typecode == "B":
            values, codes = found[0], found[1].tobytes()
        else:
            column = table.columns.get(key)
            part = _Column.of(column if column is not None else [None] * len(table.rows))
            if part.codes is None:
                return plain()
            values, codes = part.values, part.codes
        local = [ranks.setdefault(v, len(ranks)) for v in values]
        if len(ranks) > 256:
            return plain()
        if local != list(range(len(local))):
            codes = codes.translate(bytes(local).ljust(256, b"\0"))
        pieces.append(codes)
    return _Column(b"".join(pieces), list(ranks))


class _Lazy(dict):
    """A dict whose values are made on first access by `makers[key](self)`: the cross-check of
    one return needs a third of the flags the bilan needs."""

    def __init__(self, makers: dict[str, Callable[[_Lazy], Any]]):
        super().__init__()
        self.makers = makers

    def __missing__(self, key: str) -> Any:
        value = self[key] = self.makers[key](self)
        return value


class _RowData:
    """The columns behind the `_Rows` views of one set of rows: key columns coded, flags as
    row sets, and the row set of each key value, computed once when asked."""

    def __init__(self, n: int, keys: _Lazy, flags: _Lazy, ranges: dict[str, range]):
        self.n = n
        self.keys = keys
        self.flags = flags
        self.ranges = ranges  # bailleur → its rows (each return's rows are contiguous)
        self._masks: dict[str, dict[Any, int]] = {}
        self._parts: dict[str, _RowData] = {}

    def key_masks(self, key: str, wanted: Iterable[Any]) -> dict[Any, int]:
        cache = self._masks.setdefault(key, {})
        out = {}
        for value in dict.fromkeys(wanted):
            if value not in cache:
                if key == "bailleur" and key not in self.keys:
                    r = self.ranges.get(value, range(0))
                    cache[value] = _span(r.start, len(r))
                else:
                    cache[value] = self.keys[key].mask(value)
            out[value] = cache[value]
        return out

    def part(self, pid: str) -> _RowData:
        """The rows of one bailleur as their own small set (counts then cost nothing)."""
        if pid not in self._parts:
            r = self.ranges.get(pid, range(0))
            # Each flag on the rows of `r`, renumbered from 0. (The whole set's flags and keys are
            # captured, not this object, which holds the part: no cycle for the collector.)
            every_flag, every_key = self.flags, self.keys
            flags = _Lazy(
                {k: (lambda _, k=k: (every_flag[k] >> r.start) & _span(0, len(r))) for k in every_flag.makers}
            )
            keys = _Lazy({k: (lambda _, k=k: every_key[k].slice(r.start, r.stop)) for k in every_key.makers})
            self._parts[pid] = _RowData(len(r), keys, flags, {pid: range(len(r))})
        return self._parts[pid]


class _Rows:
    """Attribution rows of a year reduced to what the indicators need: a view (a row set) over a
    `_RowData`.

    Every indicator is a count of rows meeting a few conditions, so each condition is a row set
    and a count is an AND and a popcount: a national campaign's 500,000 rows cost microseconds
    per count, where one Python object per row cost seconds. Keys (bailleur, commune, qpv, zone,
    contingent, category) are grouped on.

    Flags: cal (CAL decision in the year: universe of the "attributions prononcées"), bail (lease
    signed in the year: universe of the "baux signés"), hors (neither in a QPV nor in a local
    zone; a row in both counts in the QPV, ZONE_ET_QPV) and inq (its complement), own (the
    bailleur's own contingent), known/unknown quartile, q1, q1u (1st quartile or NPNRU
    rehousing), q234, priority, urban, dalo, out_qpv (outside every QPV), refus, in_year, and
    <x>_yes / <x>_nr for young, family, employed, mutation (true / not filled in).
    """

    __slots__ = ("data", "mask", "n")

    def __init__(self, data: _RowData, mask: int | None = None):
        self.data = data
        self.mask = mask  # None: every row
        self.n = data.n if mask is None else mask.bit_count()

    def __len__(self) -> int:
        return self.n

    def _and(self, flags: tuple[str, ...]) -> int | None:
        mask = self.mask
        for flag in flags:
            bits = self.data.flags[flag]
            mask = bits if mask is None else mask & bits
        return mask

    def count(self, *flags: str) -> int:
        """Rows where every flag holds."""
        mask = self._and(flags)
        return self.data.n if mask is None else mask.bit_count()

    def where(self, *flags: str) -> _Rows:
        """The rows where every flag holds."""
        return _Rows(self.data, self._and(flags))

    def group(self, key: str, keys: Iterable[Any]) -> dict[Any, _Rows]:
        """Rows by the value of column `key`; every key of `keys` is present."""
        if key == "bailleur" and self.mask is None:
            return {k: _Rows(self.data.part(k)) for k in keys}
        masks = self.data.key_masks(key, keys)
        if self.mask is not None:
            masks = {k: m & self.mask for k, m in masks.items()}
        return {k: _Rows(self.data, m) for k, m in masks.items()}

    def any_of(self, key: str, values: Iterable[Any]) -> _Rows:
        """Rows whose `key` is one of `values`."""
        mask = 0
        for m in self.data.key_masks(key, values).values():
            mask |= m
        return _Rows(self.data, mask if self.mask is None else mask & self.mask)

    def tally(self, key: str, values: Iterable[Any]) -> dict[Any, int]:
        """Rows per value of column `key`, for each of `values`."""
        return {k: len(r) for k, r in self.group(key, values).items()}


def _in_year(value: Any, year: int) -> bool:
    return isinstance(value, dt.date) and value.year == year


def _yes(value: Any) -> bool | None:
    return None if value is None else value == "OUI"


_FLAG_KEYS = ("date_cal", "date_bail", "suite", "commune", "qpv", "zone_locale", "contingent", "quartile",
              "categorie", "age_titulaire", "nb_moins_14", "emploi", "mutation", "reloge_npnru")  # fmt: skip


def _rows_of(convention: Convention, tables: list[tuple[str, Table]], year: int) -> _Rows:
    """The rows of (bailleur id, Attributions table) pairs, in that order, as `_Rows`."""
    ranges: dict[str, range] = {}
    n = 0
    for pid, table in tables:
        ranges[pid] = range(n, n + len(table.rows))
        n += len(table.rows)
    members = [t for _, t in tables]
    raw = _Lazy({key: (lambda _, key=key: _joined(members, key)) for key in _FLAG_KEYS})
    priority = {c.code for c in convention.priority_categories if c.priority}
    urban = {c.code for c in convention.priority_categories if c.urban_renewal}
    every = _span(0, n)

    def flag(key: str, test) -> Callable[[_Lazy], int]:
        return lambda _: raw[key].flag(test)

    # Each flag made when first used (see `_Rows` for what they mean).
    flags = _Lazy(
        {
            # Truthiness as the sector always had it: a row in a QPV is « qpv », else in a zone « zone ».
            "in_qpv": flag("qpv", lambda v: bool(None if v in (None, HORS_QPV) else v)),
            "in_zone": flag("zone_locale", lambda v: bool(None if v in (None, NO_ZONE) else v)),
            "hors": lambda f: every & ~f["in_qpv"] & ~f["in_zone"],
            "cal": flag("date_cal", lambda v: _in_year(v, year)),
            "signed": flag("suite", lambda v: v == "BAIL_SIGNE"),
            "bail_year": flag("date_bail", lambda v: _in_year(v, year)),
            "bail": lambda f: f["signed"] & f["bail_year"],
            "in_year": lambda f: f["cal"] | f["bail"],
            "inq": lambda f: every & ~f["hors"],
            "own": flag("contingent", lambda v: v == CONTINGENT_OWN),
            "known": flag("quartile", lambda v: v in KNOWN_QUARTILES),
            "unknown": lambda f: every & ~f["known"],
            "q1": flag("quartile", lambda v: v == "1"),
            "q1u": lambda f: f["q1"] | f["urban"],
            "q234": flag("quartile", lambda v: v in ("2", "3", "4")),
            "priority": flag("categorie", lambda v: v in priority),
            # Rehoused by the NPNRU: the yes/no column, whatever the category (a DALO household
            # rehoused by the NPNRU keeps DALO as its category), or the urban-renewal category
            # (returns of the template 1.0, which had no such column, or the column left blank).
            "urban": lambda f: f["urban_flag"] | f["urban_category"],
            "urban_flag": flag("reloge_npnru", lambda v: v == "OUI"),
            "urban_category": flag("categorie", lambda v: v in urban),
            "dalo": flag("categorie", lambda v: v == "DALO"),
            "out_qpv": flag("qpv", lambda v: v in (None, HORS_QPV)),
            "out_zone": flag("zone_locale", lambda v: v in (None, NO_ZONE)),
            "refus": flag("suite", lambda v: v == "REFUS"),
            "young_yes": flag("age_titulaire", lambda v: v is not None and v < YOUNG_AGE),
            "young_nr": flag("age_titulaire", lambda v: v is None),
            # "Family": at least one child under 14, the UC scale's own age limit.
            "family_yes": flag("nb_moins_14", lambda v: v is not None and v >= 1),
            "family_nr": flag("nb_moins_14", lambda v: v is None),
            "employed_yes": flag("emploi", lambda v: v == "EMPLOI"),
            "employed_nr": flag("emploi", lambda v: v in (None, "INCONNU")),
            "mutation_yes": flag("mutation", lambda v: _yes(v) is True),
            "mutation_nr": flag("mutation", lambda v: v is None),
        }
    )
    # Keys as the indicators group them: QPV code (None outside), zone code (None outside).
    keys = _Lazy(
        {
            "suite": lambda _: raw["suite"],
            "commune": lambda _: raw["commune"],
            "qpv": lambda _: raw["qpv"].mapped(lambda v: None if v in (None, HORS_QPV) else v),
            "zone": lambda _: raw["zone_locale"].mapped(lambda v: None if v in (None, NO_ZONE) else v),
            "contingent": lambda _: raw["contingent"],
            "quartile": lambda _: raw["quartile"],
            "category": lambda _: raw["categorie"],
        }
    )
    return _Rows(_RowData(n, keys, flags, ranges))


def _objectives(
    convention: Convention, rows: _Rows, year: int, contingent: str | None = None
) -> dict[str, Rate]:
    """The three objectives on rows; `contingent` restricts all three to one réservataire's."""
    gap = convention.campaign.close_gap_points
    out = {
        code: Rate(target=convention.target(code, year), close_gap=gap)
        for code in ("hors_qpv_q1", "qpv_q234", "publics_prioritaires")
    }
    if contingent is not None:
        rows = rows.group("contingent", [contingent])[contingent]
    hq, qpv, pp = out["hors_qpv_q1"], out["qpv_q234"], out["publics_prioritaires"]
    hq.denominator = rows.count("bail", "hors")
    # Counted once even when both of the 1st quartile and rehoused by the NPNRU.
    hq.numerator = rows.count("bail", "hors", "q1u")
    hq.unknown = rows.count("bail", "hors", "unknown")
    qpv.denominator = rows.count("cal", "inq")
    qpv.numerator = rows.count("cal", "inq", "q234")
    qpv.unknown = rows.count("cal", "inq", "unknown")
    # A réservataire's rows are all on its contingent; a bailleur's own contingent is « PROPRE ».
    on = ("bail",) if contingent is not None else ("bail", "own")
    pp.denominator = rows.count(*on)
    pp.numerator = rows.count(*on, "priority")
    return out


def objective_rates(
    convention: Convention, table: Table, year: int, contingent: str | None = None
) -> dict[str, Rate]:
    """The official computation of the three objectives on one return's Attributions table.

    Without `contingent`: a bailleur's view (both quartile objectives on all its rows, priority
    publics on its own contingent). With a réservataire id: the three objectives restricted to
    the rows attributed on that contingent.
    """
    return _objectives(convention, _rows_of(convention, [("", table)], year), year, contingent)


def contingent_rates(
    convention: Convention, table: Table, year: int, contingents: Iterable[str]
) -> dict[str, dict[str, Rate]]:
    """`objective_rates(..., contingent=c)` for each of `contingents`, reading the rows once."""
    contingents = list(contingents)
    groups = _rows_of(convention, [("", table)], year).group("contingent", contingents)
    return {c: _objectives(convention, groups[c], year, c) for c in contingents}


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
    rows = _rows_of(convention, tables, year)
    priority = [c.code for c in convention.priority_categories if c.priority]
    out: dict[str, dict[str, dict[str, int]]] = {}
    for bid, _table in tables:
        mine = out[bid] = {}
        for res, sel in rows.group("bailleur", [bid])[bid].group("contingent", reservataires).items():
            leased = sel.where("bail")
            counts = mine[res] = {
                "baux_signes": len(leased),
                "q234_qpv": sel.count("cal", "inq", "q234"),
                "q1_hors_qpv": leased.count("q1u", "out_qpv", "out_zone"),
                "q1_seul_hors_qpv": leased.count("q1", "out_qpv", "out_zone"),
            }
            tally = leased.tally("category", priority)
            for code in priority:
                counts[f"prioritaires_{code.lower()}"] = tally[code]
    return out


# -- Tables --------------------------------------------------------------------------------

# count: households (under statistical secrecy); number: other quantities (dwellings, gaps,
# errors); rate and target: fractions; date: datetime.date; status: met / close / not met.
Kind = Literal["text", "count", "rate", "target", "status", "number", "date"]


@dataclass(frozen=True)
class Col:
    key: str
    label: str
    kind: Kind = "count"
    # A rate's (or a status's) numerator and denominator columns: hidden with them in public.
    of: tuple[str, ...] = ()
    # A count that is a part of another column of the same row (categories of a total).
    part_of: str | None = None
    visible: bool = True  # False: kept for masking and the workbook, not shown in the bilan


@dataclass
class IndicatorTable:
    """One indicator table: the unit the Word bilan, the workbook and the tests share."""

    key: str  # stable identifier, also the workbook sheet's base name
    section: str  # where the bilan places it
    title: str
    columns: list[Col]
    rows: list[dict[str, Any]]
    note: str = ""
    # Rows are a partition of the last ("total") row: masking one implies masking another.
    total_row: bool = False
    chart: tuple[str, str | None] | None = None  # (rate column, target column)
    chart_title: str = ""
    restricted: bool = False  # detail left out of the public bilan
    # Partners' rates and their universes: in public, a partner whose universe is too small is
    # grouped with others (see `group_small_universes`) instead of masking its row.
    blocks: tuple[Block, ...] = ()
    family: str | None = None  # row key (not a column) naming the group a row may join; default bailleurs
    drop_grouped: bool = False  # in public, leave out the rows wholly grouped (a long list of places)

    @property
    def wide(self) -> bool:
        return len(self.columns) > 7

    def column(self, key: str) -> Col:
        return next(c for c in self.columns if c.key == key)

    def masked(self, threshold: int) -> IndicatorTable:
        """Counts 1..threshold-1 shown « < threshold », rates revealing them hidden."""
        return replace(self, rows=mask_rows(self.columns, self.rows, threshold, self.total_row))

    def public(self, threshold: int) -> IndicatorTable:
        """The public version: small universes grouped (tables with `blocks`), then masked."""
        if not self.blocks:
            return self.masked(threshold)
        return group_small_universes(self, threshold)


@dataclass(frozen=True)
class Block:
    """A universe column and what is computed on it in each row: the public bilan publishes a
    rate when its universe has at least `threshold` households, and groups smaller universes."""

    universe: str
    numerators: tuple[str, ...] = ()  # counts a published rate gives back: not shown in public
    counts: tuple[str, ...] = ()  # other counts of the same rows (summed in a group, masked if small)

    def columns(self, table: IndicatorTable) -> list[str]:
        own = {self.universe, *self.numerators, *self.counts}
        derived = [c.key for c in table.columns if c.of and set(c.of) & own]
        return [self.universe, *self.numerators, *self.counts, *derived]


FAMILY_BAILLEUR, FAMILY_RESERVATAIRE, FAMILY_COMMUNE = "bailleur", "reservataire", "commune"
GROUP_LABELS = {
    FAMILY_BAILLEUR: "Autres bailleurs, regroupés",
    FAMILY_RESERVATAIRE: "Autres réservataires, regroupés",
    FAMILY_COMMUNE: "Autres communes, regroupées",
}
GROUP = "groupe"  # the family of a group row
MEMBERS = "_membres"  # group row: universe column → names of the partners grouped


def group_members(universes: dict[int, int], threshold: int) -> set[int]:
    """The rows to group so that no universe from 1 to threshold - 1 is shown, none can be
    recomputed, and the group itself is no smaller than `threshold`: every small universe,
    then, while the group has a single member or stays small, the smallest other one."""
    group = {i for i, u in universes.items() if 1 <= u < threshold}
    if not group:
        return group
    others = sorted((u, i) for i, u in universes.items() if i not in group and u > 0)
    while others and (len(group) < 2 or sum(universes[i] for i in group) < threshold):
        group.add(others.pop(0)[1])
    return group


def group_small_universes(table: IndicatorTable, threshold: int) -> IndicatorTable:
    """Statistical secrecy by grouping (the public bilan's rule for the rates of partners).

    For each block (a universe and what is computed on it) and each family of rows (bailleurs,
    réservataires), the partners chosen by `group_members` leave their figures to one
    « Autres …, regroupés » line after the family's last row, and their own cells say
    « secret statistique ». The counts a published rate gives back (`Block.numerators`) are
    not shown. Then `mask_rows` as everywhere: a count from 1 to threshold - 1 left in the
    table is shown « < threshold », with the secondary masking it implies.
    """
    rows = [dict(r) for r in table.rows]
    n_body = len(rows) - 1 if table.total_row else len(rows)
    label = table.columns[0].key
    fam = (lambda r: r.get(table.family)) if table.family else (lambda r: FAMILY_BAILLEUR)
    numerators = {k for b in table.blocks for k in b.numerators}
    groups: dict[str, dict[str, Any]] = {}  # family → the group row's sums
    hidden: dict[int, set[str]] = {}
    for block in table.blocks:
        cols = block.columns(table)
        for family in GROUP_LABELS:
            universes = {
                i: rows[i][block.universe]
                for i in range(n_body)
                if fam(rows[i]) == family and isinstance(rows[i].get(block.universe), int)
            }
            members = group_members(universes, threshold)
            if not members:
                continue
            group = groups.setdefault(family, {MEMBERS: {}})
            group[MEMBERS][block.universe] = [str(rows[i][label]) for i in sorted(members)]
            for key in (block.universe, *block.numerators, *block.counts):
                group[key] = sum(rows[i].get(key) or 0 for i in members)
            for i in members:
                hidden.setdefault(i, set()).update(cols)
    if table.total_row:
        # A group holding, in every block, every row of a table whose total is their sum would
        # only repeat the total: the total stays, the group row goes.
        for family in list(groups):
            family_rows = [i for i in range(n_body) if fam(rows[i]) == family]
            if len(family_rows) == n_body and all(
                not rows[i].get(b.universe) or set(b.columns(table)) <= hidden.get(i, set())
                for i in family_rows
                for b in table.blocks
            ):
                del groups[family]
    last_of = {f: max(i for i in range(n_body) if fam(rows[i]) == f) for f in groups}
    out: list[dict[str, Any]] = []
    secret: list[set[str]] = []  # per row of `out`: the cells to show « secret statistique »
    for i, row in enumerate(rows):
        keys = hidden.get(i, set())
        # A grouped cell is emptied (None) so that `mask_rows` leaves it out of its sums.
        out.append({k: (None if k in keys else v) for k, v in row.items()})
        secret.append(keys)
        for family, group in groups.items():
            if last_of[family] == i:
                out.append(_group_row(table, family, group))
                secret.append(set())
    # A published rate stands on its universe alone: its numerator is not shown beside it.
    columns = [replace(c, of=tuple(k for k in c.of if k not in numerators)) for c in table.columns]
    masked = mask_rows(columns, out, threshold, table.total_row)
    every = {k for b in table.blocks for k in b.columns(table)}
    kept = []
    for row, keys in zip(masked, secret, strict=True):
        if table.drop_grouped and keys and keys >= every:
            continue
        for key in keys:
            row[key] = SECRET
        kept.append(row)
    shown = [replace(c, visible=False) if c.key in numerators else c for c in table.columns]
    return replace(table, columns=shown, rows=kept)


def _group_row(table: IndicatorTable, family: str, group: dict[str, Any]) -> dict[str, Any]:
    first = table.columns[0].key
    row: dict[str, Any] = {first: GROUP_LABELS[family], MEMBERS: group[MEMBERS]}
    row[table.family or "famille"] = GROUP
    for c in table.columns:
        if c.key in group:
            row[c.key] = group[c.key]
        elif c.kind == "rate" and len(c.of) == 2 and c.of[1] in group:
            num, den = group.get(c.of[0]), group[c.of[1]]
            row[c.key] = num / den if den and num is not None else None
        elif c.kind == "target":
            # One target for every row of the table (the year's): the group shows it too.
            row[c.key] = next((r.get(c.key) for r in table.rows if r.get(c.key) is not None), None)
        elif c.kind == "status":
            row[c.key] = "" if any(k in group for k in c.of) else None
    return row


def mask_rows(
    columns: list[Col], rows: list[dict[str, Any]], threshold: int, total_row: bool
) -> list[dict[str, Any]]:
    """Statistical secrecy for one table (the rule is stated in the bilan's method section).

    1. every count from 1 to threshold - 1 is shown « < threshold »;
    2. a rate is hidden when its numerator or denominator is masked, and so is its met / close /
       not met status (with the universe shown, "met" could narrow the count down to one value);
    3. secondary masking, so that a masked count cannot be recomputed by difference: in a row,
       when one part of a total is masked, the smallest other part (or the total) is hidden; in
       a table whose rows add up to its total row, likewise down each column.
    """
    counts = [c for c in columns if c.kind == "count"]
    primary = {(i, c.key) for i, row in enumerate(rows) for c in counts if _small(row.get(c.key), threshold)}
    hidden = set(primary)
    changed = True
    while changed:
        changed = False
        for i in range(len(rows)):
            for total in {c.part_of for c in counts if c.part_of}:
                parts = [c.key for c in counts if c.part_of == total]
                group = [(i, k) for k in parts] + [(i, total)]
                changed |= _hide_one_more(group, hidden, lambda cell: rows[cell[0]].get(cell[1]))
        if total_row and len(rows) > 1:
            body = range(len(rows) - 1)
            for c in counts:
                group = [(i, c.key) for i in body] + [(len(rows) - 1, c.key)]
                changed |= _hide_one_more(group, hidden, lambda cell: rows[cell[0]].get(cell[1]))
    out = []
    for i, row in enumerate(rows):
        new = dict(row)
        for c in columns:
            if (i, c.key) in primary:
                new[c.key] = SMALL.format(threshold=threshold)
            elif (i, c.key) in hidden:
                new[c.key] = SECRET
            elif c.kind in ("rate", "status") and any((i, k) in hidden for k in c.of):
                new[c.key] = SECRET
        out.append(new)
    return out


def _small(value: Any, threshold: int) -> bool:
    return isinstance(value, int) and 1 <= value < threshold


def _hide_one_more(group: list[tuple[int, str]], hidden: set, value) -> bool:
    """If exactly one cell of an additive group is hidden, hide the smallest other non-zero one."""
    if sum(cell in hidden for cell in group) != 1:
        return False
    candidates = [cell for cell in group if cell not in hidden and (value(cell) or 0) > 0]
    if not candidates:
        return False
    hidden.add(min(candidates, key=lambda cell: value(cell)))
    return True


# -- The bilan -----------------------------------------------------------------------------


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
    # réservataire id → objective code → Rate computed from the bailleurs' rows
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

# (objective code, column prefix, short label) of the tables with one group of columns per objective.
_OBJECTIVE_COLUMNS = (
    ("hors_qpv_q1", "hq", "1er quartile hors QPV"),
    ("qpv_q234", "qpv", "Quartiles 2-4 en QPV"),
    ("publics_prioritaires", "pp", "Publics prioritaires"),
)

OBJECTIVE_SHORT = {
    "hors_qpv_q1": "1er quartile ou relogés NPNRU, baux signés hors QPV et hors zone locale",
    "qpv_q234": "Quartiles 2 à 4, attributions prononcées en QPV ou en zone locale",
    "publics_prioritaires": "Publics prioritaires, baux signés sur le contingent",
}


@dataclass(frozen=True)
class ZoneWords:
    """The QPV and the convention's local zones, as sentences and headers name them."""

    outside: str  # « hors QPV et hors Quartier des Promelles »
    inside: str  # « en QPV ou dans le quartier des Promelles »
    inside_short: str  # « en QPV ou Quartier des Promelles » (column headers)
    names: str  # « Quartier des Promelles »


def zone_words(convention: Convention) -> ZoneWords:
    zones = convention.local_zones
    names = " et ".join(z.name for z in zones)
    if not zones:
        return ZoneWords("hors QPV", "en QPV", "en QPV", "")
    return ZoneWords(
        "hors QPV" + "".join(f" et hors {z.name}" for z in zones),
        "en QPV ou " + " ou ".join(z.inside for z in zones),
        "en QPV ou " + " ou ".join(z.name for z in zones),
        names,
    )


def objective_names(convention: Convention) -> dict[str, str]:
    """Objective code → its short name, with the local zones named (titles, headers, charts)."""
    z = zone_words(convention)
    return {
        "hors_qpv_q1": f"1er quartile ou relogés NPNRU, baux signés {z.outside}",
        "qpv_q234": f"Quartiles 2 à 4, attributions prononcées {z.inside_short}",
        "publics_prioritaires": "Publics prioritaires, baux signés sur le contingent",
    }


def consolidate(convention: Convention, campaigns: dict[int, Campaign], year: int) -> Bilan:
    """Compute every indicator of the bilan of `year` (and the trend from the other years)."""
    campaign = campaigns[year]
    names = {p.id: p.name for p in convention.partners}
    usable = campaign.usable()
    bailleurs = [p.id for p in convention.bailleurs if p.id in usable]
    rows = _campaign_rows(convention, campaign, year)

    objectives: dict[str, dict[str, Rate]] = {code: {} for code in OBJECTIVE_SHORT}
    by_bailleur = rows.group("bailleur", bailleurs)
    for b in bailleurs:
        for code, rate in _objectives(convention, by_bailleur[b], year).items():
            objectives[code][b] = rate
    territory = _objectives(convention, rows, year)
    for code, rate in territory.items():
        objectives[code][TERRITORY] = rate
    reservataires = {
        p.id: _objectives(convention, rows, year, contingent=p.id) for p in convention.reservataires
    }

    b = _Builder(convention, year, names, rows, bailleurs, campaign)
    tables = [
        _synthesis_table(objectives, names),
        *b.objective_tables(objectives),
        b.priority_by_contingent(),
        b.dalo(),
        b.zoom_qpv(),
        b.zooms(),
        b.qpv_publics(),
        b.refusals(),
        b.vacancy(),
        b.mutations(),
        *b.reservataire_tables(reservataires),
        b.quality(),
        b.communes(),
    ]
    trend = [
        _trend_year(convention, campaigns[y], y, rows if y == year else None)
        for y in sorted(campaigns)
        if y <= year and y in convention.years
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
    dashboard = _dashboard(convention, campaign, objectives, reservataires)
    aside = campaign.set_aside()
    geo = convention.geography(year)
    return Bilan(
        year=year,
        epci=convention.epci.name,
        convention_title=convention.info.title,
        geography=geo.label,
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
        rows_used=len(rows),
        rows_outside_year=len(rows) - rows.count("in_year"),
        partner_names=names,
        rehousing=_rehousing(convention, campaigns, year),
        dashboard=dashboard,
        objective_names=objective_names(convention),
        midterm_year=convention.info.midterm_year,
        test_years=list(convention.info.test_years),
    )


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
        cols = [Col("perimetre", first, "text")]
        for _code, short, label in _OBJECTIVE_COLUMNS:
            cols += [
                Col(f"{short}_num", f"{label} : ménages", visible=False),
                Col(f"{short}_den", f"{label} : univers", visible=False),
                Col(f"{short}_taux", f"{label} : taux", "rate", of=(f"{short}_num", f"{short}_den")),
                Col(f"{short}_cible", f"{label} : cible", "target"),
                Col(f"{short}_statut", f"{label} : objectif", "status", of=(f"{short}_num", f"{short}_den")),
            ]
        return cols

    def row(label: str, family: str, etat: str, rates: dict[str, Rate] | None) -> dict[str, Any]:
        out: dict[str, Any] = {"perimetre": label, "famille": family, "etat": etat}
        for code, short, _label in _OBJECTIVE_COLUMNS:
            rate = rates[code] if rates is not None else None
            out[f"{short}_cible"] = _fraction(convention.target(code, campaign.year))
            if rate is None:
                out |= dict.fromkeys((f"{short}_num", f"{short}_den", f"{short}_taux", f"{short}_statut"))
            else:
                out |= {
                    f"{short}_num": rate.numerator,
                    f"{short}_den": rate.denominator,
                    f"{short}_taux": rate.value,
                    f"{short}_statut": rate.status,
                }
        return out

    blocks = tuple(Block(f"{short}_den", (f"{short}_num",)) for _c, short, _l in _OBJECTIVE_COLUMNS)
    bailleurs = [
        row(
            p.name,
            FAMILY_BAILLEUR,
            state(p.id),
            {code: objectives[code][p.id] for code in objectives}
            if p.id in objectives["hors_qpv_q1"]
            else None,
        )
        for p in convention.bailleurs
    ]
    bailleurs.append(
        row(TERRITORY_LABEL, TERRITORY, USED, {code: objectives[code][TERRITORY] for code in objectives})
    )
    res = [
        row(p.name, FAMILY_RESERVATAIRE, state(p.id), reservataires[p.id]) for p in convention.reservataires
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
            blocks=blocks,
        ),
        IndicatorTable(
            "tableau_de_bord_reservataires",
            "synthese",
            title,
            columns("Réservataire"),
            res,
            blocks=blocks,
            family="famille",
        ),
    ]


def verdicts(table: IndicatorTable) -> dict[str, int]:
    """How many partners' verdicts of each kind a table shows (group and total rows aside)."""
    out = dict.fromkeys((MET, CLOSE, NOT_MET, NO_UNIVERSE), 0)
    body = table.rows[:-1] if table.total_row else table.rows
    for row in body:
        if row.get("famille") in (GROUP, TERRITORY):
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


def _rehousing(convention: Convention, campaigns: dict[int, Campaign], year: int):
    """The charter's figures (every campaign up to `year`), None without a charte de relogement."""
    if convention.rehousing is None:
        return None
    from cia_workbook.relogement import rehousing_bilan

    return rehousing_bilan(convention, campaigns, year)


def _synthesis_table(objectives: dict[str, dict[str, Rate]], names: dict[str, str]) -> IndicatorTable:
    """Per bailleur and objective: rate and met / close / not met (counts kept for masking only)."""
    cols = [Col("perimetre", "Bailleur", "text")]
    for _code, short, label in _OBJECTIVE_COLUMNS:
        cols += [
            Col(f"{short}_num", f"{label} : ménages", visible=False),
            Col(f"{short}_den", f"{label} : univers", visible=False),
            Col(f"{short}_taux", f"{label} : taux", "rate", of=(f"{short}_num", f"{short}_den")),
            Col(f"{short}_statut", f"{label} : objectif", "status", of=(f"{short}_num", f"{short}_den")),
        ]
    rows = []
    for scope in objectives["hors_qpv_q1"]:
        row: dict[str, Any] = {"perimetre": TERRITORY_LABEL if scope == TERRITORY else names[scope]}
        for code, short, _label in _OBJECTIVE_COLUMNS:
            rate = objectives[code][scope]
            row |= {
                f"{short}_num": rate.numerator,
                f"{short}_den": rate.denominator,
                f"{short}_taux": rate.value,
                f"{short}_statut": rate.status,
            }
        rows.append(row)
    return IndicatorTable(
        "synthese",
        "synthese",
        "Objectifs par bailleur : taux et appréciation",
        cols,
        rows,
        total_row=True,
        blocks=tuple(Block(f"{short}_den", (f"{short}_num",)) for _c, short, _l in _OBJECTIVE_COLUMNS),
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


def _campaign_rows(convention: Convention, campaign: Campaign, year: int) -> _Rows:
    tables = [
        (pid, rf.tables["attributions"])
        for pid, rf in campaign.usable().items()
        if "attributions" in rf.tables
    ]
    return _rows_of(convention, tables, year)


def _trend_year(
    convention: Convention, campaign: Campaign, year: int, rows: _Rows | None = None
) -> TrendYear:
    """One year of the trend; `rows` are that year's rows when already reduced (the bilan's year)."""
    if rows is None:
        rows = _campaign_rows(convention, campaign, year)
    expected = len(campaign.used) + len(campaign.missing)
    return TrendYear(
        year=year,
        geography=convention.geography(year).label,
        thresholds_known=convention.thresholds(year) is not None,
        rates=_objectives(convention, rows, year),
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
    cols = [Col("annee", "Année", "text")]
    for _code, short, label in _OBJECTIVE_COLUMNS:
        cols += [
            Col(f"{short}_num", f"{label} : ménages"),
            Col(f"{short}_den", f"{label} : univers"),
            Col(f"{short}_taux", f"{label} : taux", "rate", of=(f"{short}_num", f"{short}_den")),
            Col(f"{short}_cible", f"{label} : cible", "target"),
        ]
    cols += [
        Col("retours", "Retours utilisés", "text"),
        Col("non_utilises", "Retours écartés ou manquants", "text"),
    ]
    rows = []
    for t in trend:
        row: dict[str, Any] = {"annee": str(t.year)}
        for code, short, _label in _OBJECTIVE_COLUMNS:
            rate = t.rates[code]
            row |= {
                f"{short}_num": rate.numerator,
                f"{short}_den": rate.denominator,
                f"{short}_taux": rate.value,
                f"{short}_cible": _fraction(rate.target),
            }
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


def _fraction(percent_value: float | None) -> float | None:
    return None if percent_value is None else percent_value / 100


def _share(num: int, den: int) -> float | None:
    return num / den if den else None


class _Builder:
    """Builds the indicator tables of one year from the reduced rows."""

    def __init__(self, convention, year, names, rows, bailleurs, campaign):
        self.c = convention
        self.year = year
        self.names = names
        self.rows = rows
        self.bailleurs = bailleurs
        self.campaign = campaign
        self.by_bailleur = rows.group("bailleur", bailleurs)
        self.z = zone_words(convention)
        self.objective_names = objective_names(convention)

    def _scopes(self) -> list[tuple[str, str, _Rows]]:
        """(scope key, label, rows) for each bailleur, then the territory."""
        out = [(b, self.names[b], self.by_bailleur[b]) for b in self.bailleurs]
        return out + [(TERRITORY, TERRITORY_LABEL, self.rows)]

    # Objectives ---------------------------------------------------------------------------

    def objective_tables(self, objectives: dict[str, dict[str, Rate]]) -> list[IndicatorTable]:
        tables = []
        for code in OBJECTIVE_SHORT:
            quartile = code != "publics_prioritaires"
            cols = [
                Col("perimetre", "Bailleur", "text"),
                Col("univers", "Baux signés" if code != "qpv_q234" else "Attributions prononcées"),
                Col("menages", "Ménages visés"),
            ]
            if quartile:
                cols.append(Col("inconnu", "Dont quartile inconnu (au dénominateur)"))
            cols += [
                Col("taux", "Taux", "rate", of=("menages", "univers")),
                Col("cible", "Cible", "target"),
                Col("statut", "Objectif", "status", of=("menages", "univers")),
            ]
            rows = []
            for scope, rate in objectives[code].items():
                row = {
                    "perimetre": TERRITORY_LABEL if scope == TERRITORY else self.names[scope],
                    "univers": rate.denominator,
                    "menages": rate.numerator,
                    "taux": rate.value,
                    "cible": _fraction(rate.target),
                    "statut": rate.status,
                }
                if quartile:
                    row["inconnu"] = rate.unknown
                rows.append(row)
            tables.append(
                IndicatorTable(
                    f"objectif_{code}",
                    f"objectif_{code}",
                    self.c.objective(code).label,
                    cols,
                    rows,
                    total_row=True,
                    chart=("taux", "cible"),
                    chart_title=f"{self.objective_names[code]} : taux par bailleur et cible {self.year}",
                    note=_objective_notes(self.z)[code],
                    blocks=(Block("univers", ("menages",), ("inconnu",) if quartile else ()),),
                )
            )
        return tables

    def priority_by_contingent(self) -> IndicatorTable:
        cats = [c for c in self.c.priority_categories if c.priority]
        cols = [Col("contingent", "Contingent", "text"), Col("baux", "Baux signés")]
        cols += [
            Col(f"cat_{c.code}", c.code if len(c.code) <= 8 else c.label, part_of="prioritaires")
            for c in cats
        ]
        cols += [
            Col("prioritaires", "Publics prioritaires"),
            Col("taux", "Taux", "rate", of=("prioritaires", "baux")),
            Col("cible", "Cible", "target"),
            Col("statut", "Objectif", "status", of=("prioritaires", "baux")),
        ]
        target = self.c.target("publics_prioritaires", self.year)
        gap = self.c.campaign.close_gap_points
        scopes = [(f"{self.names[b]} (contingent propre)", b, CONTINGENT_OWN) for b in self.bailleurs]
        scopes += [(p.name, None, p.id) for p in self.c.reservataires]
        family = {
            label: FAMILY_BAILLEUR if bailleur else FAMILY_RESERVATAIRE for label, bailleur, _ in scopes
        }
        rows = []
        leased = self.rows.where("bail")
        by_contingent = leased.group("contingent", [p.id for p in self.c.reservataires])
        for label, bailleur, contingent in scopes:
            sel = self.by_bailleur[bailleur].where("bail", "own") if bailleur else by_contingent[contingent]
            rate = Rate(sel.count("priority"), len(sel), target=target, close_gap=gap)
            row = {
                "contingent": label,
                "famille": family[label],
                "baux": len(sel),
                "prioritaires": rate.numerator,
            }
            tally = sel.tally("category", [c.code for c in cats])
            row |= {f"cat_{c.code}": tally[c.code] for c in cats}
            row |= {"taux": rate.value, "cible": _fraction(target), "statut": rate.status}
            rows.append(row)
        sel = leased
        total = {
            "contingent": "Tous contingents",
            "baux": len(sel),
            "prioritaires": sel.count("priority"),
        }
        tally = sel.tally("category", [c.code for c in cats])
        total |= {f"cat_{c.code}": tally[c.code] for c in cats}
        total |= {"taux": _share(total["prioritaires"], len(sel)), "cible": _fraction(target), "statut": ""}
        rows.append(total)
        legend = " ; ".join(f"{c.code} : {c.label}" for c in cats)
        return IndicatorTable(
            "prioritaires_contingents",
            "objectif_publics_prioritaires",
            "Publics prioritaires par contingent et par catégorie (catégorie la plus haute du ménage)",
            cols,
            rows,
            total_row=True,
            note=f"Catégories dans l'ordre de priorité — {legend}. Un ménage est compté une fois, dans sa catégorie la plus haute.",
            blocks=(Block("baux", ("prioritaires", *(f"cat_{c.code}" for c in cats))),),
            family="famille",
        )

    def dalo(self) -> IndicatorTable:
        cols = [
            Col("perimetre", "Bailleur", "text"),
            Col("dalo", "Ménages DALO relogés (baux signés)"),
            Col("hors_qpv", "Dont hors QPV"),
            Col("part", "Part hors QPV", "rate", of=("hors_qpv", "dalo")),
        ]
        rows = []
        for _, label, sel in self._scopes():
            dalo = sel.count("bail", "dalo")
            out = sel.count("bail", "dalo", "out_qpv")
            rows.append({"perimetre": label, "dalo": dalo, "hors_qpv": out, "part": _share(out, dalo)})
        return IndicatorTable(
            "dalo",
            "dalo",
            "Ménages reconnus DALO relogés et part relogée hors QPV",
            cols,
            rows,
            total_row=True,
            note="Hors QPV : logement situé hors de tout quartier prioritaire de la géographie en vigueur"
            + (f" ({self.z.names} n'est pas un QPV)." if self.z.names else "."),
            blocks=(Block("dalo", ("hors_qpv",)),),
        )

    def zoom_qpv(self) -> IndicatorTable:
        geo = self.c.geography(self.year)
        sectors = [(q.code, f"{q.name} ({q.code})", "qpv") for q in geo.qpvs]
        sectors += [(z.code, z.name, "zone") for z in self.c.local_zones]
        cols = [
            Col("secteur", "Quartier", "text"),
            Col("prononcees", "Attributions prononcées"),
            Col("q234", "Dont quartiles 2 à 4"),
            Col("inconnu", "Dont quartile inconnu"),
            Col("taux", "Taux quartiles 2 à 4", "rate", of=("q234", "prononcees")),
            Col("cible", "Cible", "target"),
            Col("baux", "Baux signés"),
            Col("refus", "Refus"),
        ]
        target = _fraction(self.c.target("qpv_q234", self.year))
        rows = []
        by_qpv = self.rows.group("qpv", [code for code, _, kind in sectors if kind == "qpv"])
        by_zone = self.rows.where("out_qpv").group(
            "zone", [code for code, _, kind in sectors if kind == "zone"]
        )
        for code, label, kind in sectors:
            rows.append(self._sector_row(label, (by_qpv if kind == "qpv" else by_zone)[code], target))
        everywhere = "Ensemble des QPV" + (f" et {self.z.names}" if self.z.names else "")
        rows.append(self._sector_row(everywhere, self.rows.where("inq"), target))
        return IndicatorTable(
            "zoom_qpv",
            "zooms",
            "Attributions prononcées par QPV"
            + (f" et {self.z.names}" if self.z.names else "")
            + f" ({geo.label})",
            cols,
            rows,
            total_row=True,
            chart=("taux", "cible"),
            chart_title="Part des quartiles 2 à 4 dans les attributions prononcées, par quartier",
        )

    @staticmethod
    def _sector_row(label: str, sel: _Rows, target: float | None) -> dict[str, Any]:
        cal = sel.count("cal")
        q234 = sel.count("cal", "q234")
        return {
            "secteur": label,
            "prononcees": cal,
            "q234": q234,
            "inconnu": sel.count("cal", "unknown"),
            "taux": _share(q234, cal),
            "cible": target,
            "baux": sel.count("bail"),
            "refus": sel.count("cal", "refus"),
        }

    def zooms(self) -> IndicatorTable:
        cols = [
            Col("secteur", "Secteur", "text"),
            Col("prononcees", "Attributions prononcées"),
            Col("baux", "Baux signés"),
            Col("qpv_prononcees", f"Prononcées {self.z.inside_short}"),
            Col("q234", "Dont quartiles 2 à 4"),
            Col("taux_q234", "Taux quartiles 2 à 4", "rate", of=("q234", "qpv_prononcees")),
            Col("hors_baux", f"Baux signés {self.z.outside}"),
            Col("q1", "Dont 1er quartile ou NPNRU"),
            Col("taux_q1", "Taux 1er quartile hors QPV", "rate", of=("q1", "hors_baux")),
        ]
        rows = []
        for zoom in self.c.zooms:
            rows.append(self._area_row(zoom.name, self.rows.any_of("commune", zoom.communes), "secteur"))
        return IndicatorTable(
            "zooms",
            "zooms",
            "Zooms par secteur examinés par la commission de coordination",
            cols,
            rows,
            note="Chaque zoom regroupe les communes indiquées dans le fichier de convention ; une commune peut figurer dans plusieurs zooms.",
        )

    def _area_row(self, label: str, sel: _Rows, key: str) -> dict[str, Any]:
        in_q = sel.count("cal", "inq")
        out = sel.count("bail", "hors")
        q234 = sel.count("cal", "inq", "q234")
        q1 = sel.count("bail", "hors", "q1u")
        return {
            key: label,
            "prononcees": sel.count("cal"),
            "baux": sel.count("bail"),
            "qpv_prononcees": in_q,
            "q234": q234,
            "taux_q234": _share(q234, in_q),
            "hors_baux": out,
            "q1": q1,
            "taux_q1": _share(q1, out),
        }

    def communes(self) -> IndicatorTable:
        table = self.zooms()
        cols = [replace(table.columns[0], key="commune", label="Commune")] + table.columns[1:]
        rows = []
        by_commune = self.rows.group("commune", (c.insee for c in self.c.epci.communes))
        for commune in self.c.epci.communes:
            if by_commune[commune.insee]:
                rows.append(
                    self._area_row(f"{commune.name} ({commune.insee})", by_commune[commune.insee], "commune")
                )
        rows.append(self._area_row("Ensemble des communes", self.rows, "commune"))
        for row in rows[:-1]:
            # In public, a commune is grouped when either of its counts is small.
            row["famille"] = FAMILY_COMMUNE
            row["_volume"] = min((v for v in (row["prononcees"], row["baux"]) if v), default=0)
        counts = ("prononcees", "baux", "qpv_prononcees", "q234", "hors_baux", "q1")
        return IndicatorTable(
            "communes",
            "annexes",
            "Attributions par commune",
            cols,
            rows,
            total_row=True,
            note="Seules les communes ayant au moins une attribution ou un bail dans les retours figurent ici.",
            blocks=(Block("_volume", counts=counts),),
            family="famille",
            drop_grouped=True,
        )

    def qpv_publics(self) -> IndicatorTable:
        cols = [Col("secteur", "Secteur", "text"), Col("prononcees", "Attributions prononcées")]
        for key, label, short in (
            ("jeunes", f"Jeunes (titulaire de moins de {YOUNG_AGE} ans)", "Jeunes"),
            ("familles", "Familles (au moins un enfant de moins de 14 ans)", "Familles"),
            ("emploi", "Ménages en emploi", "En emploi"),
        ):
            cols += [
                Col(key, label),
                Col(f"{key}_part", f"{short} : part", "rate", of=(key, "prononcees")),
                Col(f"{key}_nr", f"{short} : non renseigné"),
            ]
        rows = []
        for label, flags in (
            (_capital(self.z.inside), ("cal", "inq")),
            (_capital(self.z.outside), ("cal", "hors")),
            ("Ensemble", ("cal",)),
        ):
            n = self.rows.count(*flags)
            row: dict[str, Any] = {"secteur": label, "prononcees": n}
            for key, attr in (("jeunes", "young"), ("familles", "family"), ("emploi", "employed")):
                yes = self.rows.count(*flags, f"{attr}_yes")
                row |= {
                    key: yes,
                    f"{key}_part": _share(yes, n),
                    f"{key}_nr": self.rows.count(*flags, f"{attr}_nr"),
                }
            rows.append(row)
        return IndicatorTable(
            "publics_qpv",
            "actions",
            "Actions 3 et 5 : profil des ménages des attributions prononcées, en QPV et hors QPV",
            cols,
            rows,
            total_row=True,
            note=(
                f"Jeune ménage : titulaire de moins de {YOUNG_AGE} ans à la date de la CAL. Famille : ménage comptant au moins "
                "un enfant de moins de 14 ans. Ménage en emploi : titulaire salarié, indépendant ou apprenti. "
                "Les ménages non renseignés restent au dénominateur."
            ),
        )

    def refusals(self) -> IndicatorTable:
        cols = [
            Col("perimetre", "Bailleur", "text"),
            Col("qpv_dec", f"Décisions CAL {self.z.inside_short}"),
            Col("qpv_refus", "Refus en QPV"),
            Col("qpv_taux", "Taux de refus en QPV", "rate", of=("qpv_refus", "qpv_dec")),
            Col("hors_dec", "Décisions CAL hors QPV"),
            Col("hors_refus", "Refus hors QPV"),
            Col("hors_taux", "Taux de refus hors QPV", "rate", of=("hors_refus", "hors_dec")),
        ]
        rows = []
        for _, label, sel in self._scopes():
            row: dict[str, Any] = {"perimetre": label}
            for key, flag in (("qpv", "inq"), ("hors", "hors")):
                dec = sel.count("cal", flag)
                refus = sel.count("cal", flag, "refus")
                row |= {f"{key}_dec": dec, f"{key}_refus": refus, f"{key}_taux": _share(refus, dec)}
            rows.append(row)
        return IndicatorTable(
            "refus",
            "actions",
            "Refus des ménages parmi les attributions prononcées, en QPV et hors QPV",
            cols,
            rows,
            total_row=True,
            blocks=(Block("qpv_dec", ("qpv_refus",)), Block("hors_dec", ("hors_refus",))),
        )

    def vacancy(self) -> IndicatorTable:
        cols = [
            Col("perimetre", "Bailleur", "text"),
            Col("logements", "Logements", "count"),
            Col("vacants", "Vacants", "count"),
            Col("taux", "Taux de vacance", "rate", of=("vacants", "logements")),
            Col("vacants_3_mois", "Vacants depuis plus de 3 mois", "count"),
            Col(
                "taux_3_mois", "Taux de vacance de plus de 3 mois", "rate", of=("vacants_3_mois", "logements")
            ),
            Col("qpv_logements", f"Logements {self.z.inside_short}", "count"),
            Col("qpv_vacants", f"Vacants {self.z.inside_short}", "count"),
            Col("qpv_taux", "Taux de vacance en QPV", "rate", of=("qpv_vacants", "qpv_logements")),
        ]
        # Dwellings are not households, but a small count of vacant dwellings in a public table
        # is masked all the same: one simple rule for the reader ("no figure from 1 to 10").
        usable = self.campaign.usable()
        rows = []
        totals = dict.fromkeys(("logements", "vacants", "vacants_3_mois", "qpv_logements", "qpv_vacants"), 0)
        for b in self.bailleurs:
            table = usable[b].tables.get("patrimoine")
            if table is None:
                continue
            vals = dict.fromkeys(totals, 0)
            for secteur, logements, vacants, v3 in zip(
                table.columns.get("secteur", []), table.columns.get("logements", []),
                table.columns.get("vacants", []), table.columns.get("vacants_3_mois", []), strict=False,
            ):  # fmt: skip
                vals["logements"] += logements or 0
                vals["vacants"] += vacants or 0
                vals["vacants_3_mois"] += v3 or 0
                if secteur not in (None, HORS_QPV):
                    vals["qpv_logements"] += logements or 0
                    vals["qpv_vacants"] += vacants or 0
            for k in totals:
                totals[k] += vals[k]
            rows.append(self._vacancy_row(self.names[b], vals))
        rows.append(self._vacancy_row(TERRITORY_LABEL, totals))
        return IndicatorTable(
            "vacance",
            "actions",
            "Vacance au 31 décembre (feuilles Patrimoine des bailleurs)",
            cols,
            rows,
            total_row=True,
            blocks=(
                Block("logements", ("vacants", "vacants_3_mois")),
                Block("qpv_logements", ("qpv_vacants",)),
            ),
        )

    @staticmethod
    def _vacancy_row(label: str, v: dict[str, int]) -> dict[str, Any]:
        return {
            "perimetre": label,
            **v,
            "taux": _share(v["vacants"], v["logements"]),
            "taux_3_mois": _share(v["vacants_3_mois"], v["logements"]),
            "qpv_taux": _share(v["qpv_vacants"], v["qpv_logements"]),
        }

    def mutations(self) -> IndicatorTable:
        cols = [
            Col("perimetre", "Bailleur", "text"),
            Col("baux", "Baux signés"),
            Col("mutations", "Dont mutations internes"),
            Col("taux", "Part des mutations", "rate", of=("mutations", "baux")),
            Col("nr", "Non renseigné"),
        ]
        rows = []
        for _, label, sel in self._scopes():
            baux = sel.count("bail")
            m = sel.count("bail", "mutation_yes")
            rows.append(
                {
                    "perimetre": label,
                    "baux": baux,
                    "mutations": m,
                    "taux": _share(m, baux),
                    "nr": sel.count("bail", "mutation_nr"),
                }
            )
        return IndicatorTable(
            "mutations",
            "actions",
            "Mutations internes parmi les baux signés",
            cols,
            rows,
            total_row=True,
            blocks=(Block("baux", ("mutations",), ("nr",)),),
        )

    # Réservataires ------------------------------------------------------------------------

    def reservataire_tables(self, reservataires: dict[str, dict[str, Rate]]) -> list[IndicatorTable]:
        cols = [Col("reservataire", "Réservataire", "text")]
        for _code, short, label in _OBJECTIVE_COLUMNS:
            cols += [
                Col(f"{short}_num", f"{label} : ménages"),
                Col(f"{short}_den", f"{label} : univers"),
                Col(f"{short}_taux", f"{label} : taux", "rate", of=(f"{short}_num", f"{short}_den")),
                Col(f"{short}_statut", f"{label} : objectif", "status", of=(f"{short}_num", f"{short}_den")),
            ]
        rows = []
        for p in self.c.reservataires:
            rates = reservataires[p.id]
            row: dict[str, Any] = {"reservataire": p.name, "famille": FAMILY_RESERVATAIRE}
            for code, short, _label in _OBJECTIVE_COLUMNS:
                r = rates[code]
                row |= {
                    f"{short}_num": r.numerator,
                    f"{short}_den": r.denominator,
                    f"{short}_taux": r.value,
                    f"{short}_statut": r.status,
                }
            rows.append(row)
        contribution = IndicatorTable(
            "reservataires",
            "reservataires",
            "Contribution des réservataires, calculée sur les lignes des bailleurs attribuées sur leur contingent",
            cols,
            rows,
            note="Calcul à partir des retours valides des bailleurs ; un bailleur sans retour valide manque à ces chiffres.",
            blocks=tuple(Block(f"{short}_den", (f"{short}_num",)) for _c, short, _l in _OBJECTIVE_COLUMNS),
            family="famille",
        )

        # Declared (Contingent sheets) against counted (bailleurs' rows), per réservataire.
        usable = self.campaign.usable()
        measures = (
            ("baux", "Baux signés"),
            ("prioritaires", "Publics prioritaires"),
            ("q1", "1er quartile ou relogés NPNRU hors QPV"),
            ("q234", "Quartiles 2-4 en QPV"),
            ("refus", "Refus"),
        )
        cols = [Col("reservataire", "Réservataire", "text"), Col("retour", "Retour", "text")]
        for key, label in measures:
            cols += [
                Col(f"{key}_declare", f"{label} : déclaré"),
                Col(f"{key}_compte", f"{label} : compté"),
                Col(f"{key}_ecart", f"{label} : écart", "number"),
            ]
        rows = []
        prio_keys = [f"prioritaires_{c.code.lower()}" for c in self.c.priority_categories if c.priority]
        by_contingent = self.rows.group("contingent", [p.id for p in self.c.reservataires])
        q1_since = (
            schema_for(self.c, "reservataire", self.year).sheet("contingent").column("q1_hors_qpv").since
        )
        for p in self.c.reservataires:
            on = by_contingent[p.id]
            rf = usable.get(p.id)
            # A return of an earlier template declared the 1st quartile alone: compared so.
            former = (
                rf is not None
                and rf.identity is not None
                and older_than(rf.identity.schema_version, q1_since)
            )
            counted = {
                "baux": on.count("bail"),
                "prioritaires": on.count("bail", "priority"),
                "q1": on.count("bail", "hors", "q1" if former else "q1u"),
                "q234": on.count("cal", "inq", "q234"),
                "refus": on.count("cal", "refus"),
            }
            row = {"reservataire": p.name}
            table = rf.tables.get("contingent") if rf is not None else None
            if table is None:
                row["retour"] = "sans retour valide"
                declared = None
            else:
                row["retour"] = f"reçu (modèle {rf.identity.schema_version})" if former else "reçu"
                cols_ = table.columns
                # Only the lines about bailleurs whose own return is used can be compared.
                keep = [i for i, b in enumerate(cols_.get("bailleur", [])) if b in self.bailleurs]

                def total(key: str, keep=keep, cols_=cols_) -> int:
                    values = cols_.get(key, [])
                    return sum(values[i] or 0 for i in keep if i < len(values))

                declared = {
                    "baux": total("baux_signes"),
                    "prioritaires": sum(total(k) for k in prio_keys),
                    "q1": total("q1_hors_qpv"),
                    "q234": total("q234_qpv"),
                    "refus": total("refus"),
                }
            for key, _ in measures:
                row[f"{key}_compte"] = counted[key]
                row[f"{key}_declare"] = None if declared is None else declared[key]
                row[f"{key}_ecart"] = None if declared is None else declared[key] - counted[key]
            rows.append(row)
        check = IndicatorTable(
            "reservataires_ecarts",
            "reservataires",
            "Contrôle croisé : ce que déclarent les réservataires et ce que comptent les bailleurs",
            cols,
            rows,
            note=(
                "Déclaré : somme des lignes de la feuille Contingent du réservataire portant sur les bailleurs dont le "
                "retour est utilisé. Compté : lignes des bailleurs sur ce contingent. Écart = déclaré − compté. "
                "Le 1er quartile compte avec les relogés NPNRU (colonne « Relogé NPNRU » des bailleurs), comme "
                "l'objectif et la feuille Contingent ; pour un retour fait sur le modèle 1.0, dont la colonne comptait "
                "le 1er quartile seul, il est compté sans eux."
            ),
            restricted=True,
        )
        return [contribution, check]

    # Data quality -------------------------------------------------------------------------

    def quality(self) -> IndicatorTable:
        cols = [
            Col("perimetre", "Bailleur", "text"),
            Col("lignes", "Lignes utilisées"),
            Col("hors_annee", "Lignes sans décision ni bail dans l'année"),
            Col("inconnu", "Quartile inconnu (décision ou bail dans l'année)"),
            Col("part_inconnu", "Part de quartiles inconnus", "rate", of=("inconnu", "dans_annee")),
            Col("dans_annee", "Lignes de l'année"),
        ]
        rows = []
        for _, label, sel in self._scopes():
            year_rows = sel.count("in_year")
            unknown = sel.count("in_year", "unknown")
            rows.append(
                {
                    "perimetre": label,
                    "lignes": len(sel),
                    "hors_annee": len(sel) - year_rows,
                    "inconnu": unknown,
                    "part_inconnu": _share(unknown, year_rows),
                    "dans_annee": year_rows,
                }
            )
        return IndicatorTable(
            "qualite",
            "qualite",
            "Qualité des données des bailleurs",
            cols,
            rows,
            total_row=True,
            blocks=(Block("dans_annee", ("inconnu",), ("lignes", "hors_annee")),),
        )


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _objective_notes(z: ZoneWords) -> dict[str, str]:
    return {
        "hors_qpv_q1": (
            f"Univers : attributions suivies d'un bail signé dans l'année, logement {z.outside}. "
            "Ménages visés : 1er quartile ou relogés dans le cadre du NPNRU, quelle que soit leur catégorie "
            "prioritaire (comptés une fois). "
            "Les ménages au quartile inconnu restent au dénominateur et ne sont jamais comptés au 1er quartile."
        ),
        "qpv_q234": (
            "Univers : attributions prononcées (décision de CAL dans l'année, quelle qu'en soit la suite), logement "
            f"{z.inside}. Ménages visés : quartiles 2, 3 et 4. Les quartiles inconnus restent au dénominateur."
        ),
        "publics_prioritaires": (
            "Univers : attributions suivies d'un bail signé dans l'année sur le contingent propre du bailleur "
            "(non réservé). Ménages visés : publics prioritaires de l'article L. 441-1 du CCH."
        ),
    }
