"""A table sheet's rows of data, once its header is located (`validate._locate_columns`): the
rows that hold a value in the table's columns, the empty rows between them and the values
outside those columns reported, the cells set for typing (`cells.Part`).

The sheets of every file of a task are judged together, in a few polars queries in all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from cia_workbook.intake import cells
from cia_workbook.intake.cells import Context
from cia_workbook.intake.model import ROW, SHEET, Placement, Table
from cia_workbook.intake.reader import RawSheet
from cia_workbook.intake.sheetxml import get_column_letter
from cia_workbook.partners.excel import shortened
from cia_workbook.schema.columns import Sheet


def _is_blank(value: Any) -> bool:
    return value == "" or value is None or (isinstance(value, str) and not value.strip())


@dataclass
class Located:
    """One table sheet (or copy) with its header located and its rows of data found: its cells
    wait for `cells.convert_parts` (`cells` is None when there is nothing to type)."""

    source: RawSheet
    first: int  # the first data row
    kept: pl.Series  # the sheet rows of data (ROW)
    letters: dict[str, str]
    cells: cells.Part | None

    def table(self, sheet: Sheet) -> Table:
        typed = self.cells.typed if self.cells is not None else pl.DataFrame(height=len(self.kept))
        assert typed is not None
        n = len(self.kept)
        frame = pl.DataFrame(
            [
                typed[c.key] if c.key in typed.columns else pl.Series(c.key, [None] * n, cells.DTYPES.get(c.kind, pl.String))
                for c in sheet.columns
            ]
            + [self.kept, pl.Series(SHEET, [0] * n, pl.UInt8)]
        )  # fmt: skip
        return Table(sheet.key, frame, [Placement(self.source.title, self.letters)])


@dataclass
class Header:
    """A table sheet (or copy) whose header is located (`_locate_columns`); its rows of data are
    found by `find_rows`, with those of the other files of a task."""

    source: RawSheet
    sheet: Sheet
    ctx: Context
    row: int  # the header row
    where: dict[str, int]  # column key → 0-based index in the sheet

    @property
    def first(self) -> int:
        return self.row + 1

    def prefilled(self) -> set[int]:
        """Where the sheet's pre-filled keys are (`Sheet.prefilled`: one row per bailleur on Contingent)."""
        return {self.where[k] for k in self.sheet.prefilled if k in self.where}

    def marks(self) -> list[str]:
        """The sheet's columns whose cells make a row one of data: every column up to the
        table's last (what other columns hold is reported, not taken for a row), but a
        pre-filled key (a row holding only that was not started by the partner)."""
        width = max(self.where.values(), default=-1) + 1
        prefilled = self.prefilled()
        return [c for c in self.source.frame.columns if int(c) < width and int(c) not in prefilled]


_T = "_table"  # in `find_rows`: which header's sheet a row is of


def find_rows(headers: list[Header]) -> list[Located]:
    """The rows of data of each table sheet of `headers` (the empty rows between them, the
    values outside the table's columns reported), its cells set for typing.

    The sheets are put end to end and judged in a few polars queries in all, not a few each:
    polars' cost is per query far more than per row, and a return is a few hundred rows."""
    if not headers:
        return []
    parts = []
    for t, h in enumerate(headers):
        data = h.source.frame.slice(h.first - 1)
        parts.append(data.hstack([
            pl.Series(_T, [t], pl.UInt32).new_from_index(0, data.height),
            pl.Series(ROW, range(h.first, h.first + data.height), pl.UInt32),
        ]))  # fmt: skip
    rows = pl.concat(parts, how="diagonal_relaxed", rechunk=False)
    columns = [c for c in rows.columns if c not in (_T, ROW)]
    marked = rows.select(cells.filled(c) for c in columns)
    # A row is of data when one of its sheet's marks holds a value.
    holders: dict[str, list[int]] = {}
    for t, h in enumerate(headers):
        for c in h.marks():
            holders.setdefault(c, []).append(t)
    table = rows.get_column(_T)
    mask = (
        marked.hstack([table])
        .select(
            pl.any_horizontal(pl.lit(False), *(pl.col(c) & pl.col(_T).is_in(ts) for c, ts in holders.items()))
        )
        .to_series()
    )
    kept = rows.filter(mask)
    # The empty rows between rows of data of a sheet: (sheet, the row of data before, the next).
    gaps: dict[int, list[tuple[int, int]]] = {}
    after = pl.col(ROW).shift(1).over(_T).alias("_after")
    for t, a, b in kept.select(_T, after, ROW).filter(pl.col(ROW) > pl.col("_after") + 1).iter_rows():
        gaps.setdefault(t, []).append((a, b))
    out, at, start = [], 0, 0
    for t, h in enumerate(headers):
        height = len(parts[t])
        filled = {int(c): marked.get_column(c).slice(start, height) for c in h.source.frame.columns}
        n = mask.slice(start, height).sum()  # its rows of data, next in `kept`
        start += height
        out.append(_located(h, filled, kept.slice(at, n), gaps.get(t, [])))
        at += n
    return out


def _located(
    h: Header, filled: dict[int, pl.Series], kept: pl.DataFrame, gaps: list[tuple[int, int]]
) -> Located:
    """One table sheet's rows of data (`kept`: every column of the sheet and ROW; `gaps`: the
    rows of data either side of empty rows, after the first), its unread columns and empty rows
    reported."""
    rsheet, sheet, ctx, where = h.source, h.sheet, h.ctx, h.where
    _unread_columns(rsheet, h.row, filled, set(where.values()), ctx)
    numbers = kept.get_column(ROW)
    if not h.prefilled() and len(numbers):
        runs = ([(h.first - 1, numbers[0])] if numbers[0] > h.first else []) + gaps
        for a, b in runs:
            text = str(a + 1) if a + 1 == b - 1 else f"{a + 1} à {b - 1}"
            cell = f"A{a + 1}" if a + 1 == b - 1 else f"A{a + 1}:A{b - 1}"
            ctx.add("LIGNE_VIDE", rsheet.title, cell, rows=text, count=b - a - 1)
    letters = {c.key: get_column_letter(where.get(c.key, i) + 1) for i, c in enumerate(sheet.columns)}
    present = [c for c in sheet.columns if str(where.get(c.key)) in rsheet.frame.columns]
    for col in sheet.columns:
        if col.key not in where:
            ctx.absent.add((sheet.key, col.key))
    part = None
    if len(kept) and present:
        texts = pl.DataFrame([*(kept.get_column(str(where[c.key])).alias(c.key) for c in present), numbers])
        part = cells.Part(present, texts, rsheet.title, letters, ctx)
    return Located(rsheet, h.first, numbers, letters, part)


def _unread_columns(
    rsheet: RawSheet, header_row: int, filled: dict[int, pl.Series], used: set[int], ctx: Context
) -> None:
    """The columns of a table sheet that are not the schema's (`filled`: which cells under the
    header hold a value, by column): an unknown header over an empty column is only a warning
    (COLONNE_EN_TROP); values under an unknown header or no header at all are not read, and the
    partner is told how many (COLONNE_NON_LUE)."""
    header = rsheet.row_values(header_row)
    first = header_row + 1
    for j in sorted(set(filled) | set(range(len(header)))):
        if j in used:
            continue
        title = header[j] if j < len(header) else ""
        rows = filled[j].arg_true() if j in filled else []
        letter = get_column_letter(j + 1)
        if len(rows):
            top, bottom = first + rows[0], first + rows[-1]
            cell = f"{letter}{top}" if len(rows) == 1 else f"{letter}{top}:{letter}{bottom}"
            named = f"(« {shortened(title, 100)} »)" if not _is_blank(title) else "(sans en-tête)"
            ctx.add("COLONNE_NON_LUE", rsheet.title, cell, letter=letter, header=named, count=len(rows))
        elif not _is_blank(title):
            ctx.add("COLONNE_EN_TROP", rsheet.title, f"{letter}{header_row}", found=str(title))
