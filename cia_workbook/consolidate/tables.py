"""The unit the renderers share: rates, indicator tables and their masking for the public bilan.

An `IndicatorTable` is a result of the consolidation (one row per partner, sector or year, the
meaning of each column in `Col`); the Word bilan, the annexes and the workbook lay it out. Its
public version is made here: small universes grouped, small counts masked (`public`). The
masking works on the table's rows, not on a frame: it is a fixpoint over a few hundred cells,
and the same rules written as polars expressions (equal on 3,000 random tables) took 97 ms a
table against 0.3 ms, three seconds over the two documents of a bilan.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

MET, CLOSE, NOT_MET, NO_UNIVERSE = "atteint", "proche", "non atteint", "sans objet"
# A contingent the convention does not hold to the objective (the State's civil servants').
NO_TARGET = "sans objectif"

# What a masked cell shows in the public bilan: a primary small count, then a cell hidden
# so that a small count cannot be recomputed (rate, complement, last part of a total).
SMALL = "< {threshold}"
SECRET = "secret statistique"


@dataclass
class Rate:
    """One objective on one scope: universe, numerator, unknown quartiles, target, status."""

    numerator: int = 0
    denominator: int = 0
    unknown: int = 0  # households of the universe whose quartile is unknown
    target: float | None = None  # percent, as in the convention
    close_gap: float = 5.0  # points below the target still called "proche"
    exempt: bool = False  # not held to the target (`NO_TARGET`), its rate shown all the same

    @property
    def value(self) -> float | None:
        """The rate as a fraction (0.25), None without universe."""
        return self.numerator / self.denominator if self.denominator else None

    @property
    def status(self) -> str:
        if self.exempt:
            return NO_TARGET
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


# -- Tables --------------------------------------------------------------------------------

# count: households (under statistical secrecy); number: other quantities (dwellings, gaps,
# errors); rate and target: fractions; date: datetime.date; status: met / close / not met.
# ratio: a quotient shown with one decimal (demands per attribution); delta: a signed difference
# with one decimal (+0,4); both hidden with their `of` in public.
Kind = Literal["text", "count", "rate", "target", "status", "number", "date", "ratio", "delta"]


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
        """The public version: the lines of a group of the convention's table (« Les communes »)
        give way to the group's own line, then small universes grouped (tables with `blocks`),
        then masked: a member's figures could be told from the group's and the other members'."""
        table = self
        if any(r.get(DETAIL) for r in self.rows):
            table = replace(self, rows=[r for r in self.rows if not r.get(DETAIL)])
        if not table.blocks:
            return table.masked(threshold)
        return group_small_universes(table, threshold)


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
# Row keys of the réservataires' tables: a group of the convention's table (« Les communes »,
# the sum of the lines above it), and each of its members' lines (left out of the public bilan).
SUBTOTAL, DETAIL = "_sous_total", "_detail"
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
            elif c.kind in ("rate", "status", "ratio", "delta") and any((i, k) in hidden for k in c.of):
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


def share(num: int | None, den: int | None) -> float | None:
    return num / den if den and num is not None else None


def fraction(percent_value: float | None) -> float | None:
    return None if percent_value is None else percent_value / 100


def with_rates(columns: list[Col], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rows` with each rate column (`of` = numerator, denominator) computed where a row lacks it."""
    rates = [c for c in columns if c.kind == "rate" and len(c.of) == 2]
    for row in rows:
        for c in rates:
            if c.key not in row:
                row[c.key] = share(row.get(c.of[0]), row.get(c.of[1]))
    return rows
