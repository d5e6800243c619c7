"""Second stage of intake: the rules that turn one raw workbook into findings and typed tables.

Input is a `reader.RawWorkbook`, output a `Validation` (identity, typed tables as polars frames,
form answers, findings). Everything the partner wrote is judged against `schema` and the
convention; nothing here knows a file path. Here: the sheets found (renamed, copied, unknown),
each table's header located (moved, renamed or edited columns, rows inserted above); its rows
and unread columns are `rows`', the cells and the rules across them `rules`' column expressions.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import polars as pl

from cia_workbook.convention.settings import Convention
from cia_workbook.intake import cells, rules
from cia_workbook.intake.cells import Context
from cia_workbook.intake.identify import identify
from cia_workbook.intake.model import ROW, SHEET, Identity, Table
from cia_workbook.intake.reader import RawSheet, RawWorkbook
from cia_workbook.intake.rows import Header, Located, find_rows
from cia_workbook.intake.sheetxml import get_column_letter, range_boundaries
from cia_workbook.schema import sheets as schema
from cia_workbook.schema.codes import normalize
from cia_workbook.schema.columns import Sheet, WorkbookSchema
from cia_workbook.schema.findings import Finding

# Headers repeat from file to file: each spelling is normalised once per process.
_normalize = lru_cache(maxsize=16384)(normalize)
HEADER_CUTOFF = 0.85  # how close an edited header must be to be taken for the column
HEADER_SEARCH_ROWS = 10  # rows searched when the header row moved
# Sheets whose cells no rule reads (the notice, the dropdown lists, the partner's own live
# summary, which the consolidation recomputes): the reader may skip them.
SHEETS_NOT_JUDGED = frozenset({schema.LISTS_SHEET, schema.README.title, schema.SYNTHESE.title})
# Table sheet key → (the column that holds one value per row, the finding of a value repeated).
UNIQUE_KEY = {
    "attributions": ("reference", "REFERENCE_DOUBLON"),
    "contingent": ("bailleur", "BAILLEUR_DOUBLON"),
    "relogements": ("identifiant", "REFERENCE_DOUBLON"),
    "demande": ("commune", "COMMUNE_DOUBLON"),
}


@dataclass
class Validation:
    identity: Identity | None
    tables: dict[str, Table] = field(default_factory=dict)
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def validate_workbook(convention: Convention, year: int, raw: RawWorkbook) -> Validation:
    """Judge one readable workbook for the campaign `year`."""
    return validate_workbooks(convention, year, [raw])[0]


def validate_workbooks(convention: Convention, year: int, raws: list[RawWorkbook]) -> list[Validation]:
    """Judge readable workbooks of the campaign `year`, each on its own, their cells typed together.

    Each workbook is identified, its sheets matched and each table's header located; then the
    cells of every table of every workbook that share a sheet schema are typed in one polars pass
    (`cells.convert_parts`: polars' cost is per expression far more than per row, and a return
    is a few hundred rows), as their rows of data were found (`rows.find_rows`); then each table's
    rules run. The findings are those of one workbook at a time."""
    jobs = [_Job(convention, year, raw) for raw in raws]
    found = iter(find_rows([header for job in jobs for header in job.headers()]))
    for job in jobs:
        job.found(found)
    cells.convert_parts([part for job in jobs for part in job.pending])
    return [job.finish() for job in jobs]


class _Job:
    """One workbook between the location of its tables and the rules over their typed rows."""

    def __init__(self, convention: Convention, year: int, raw: RawWorkbook):
        identity, found, usable = identify(convention, year, raw)
        self.raw = raw
        self.result = Validation(identity, findings=found)
        self.tables: list[tuple[Sheet, RawSheet, list[Located]]] = []
        self._headers: list[tuple[Sheet, RawSheet, list[Header]]] = []
        self.forms: list[tuple[Sheet, RawSheet]] = []
        self.pending: list[cells.Part] = []
        if not usable or identity is None:
            self.ctx = None
            return
        wschema = _schema_for(convention, identity.kind, year, identity.partner_id)
        self.ctx = ctx = Context(convention, year, raw.name, wschema, identity.schema_version, raw.format)
        sheets, copies = _match_sheets(raw, wschema, ctx)
        for sheet in wschema.sheets:
            rsheet = sheets.get(sheet.key)
            if rsheet is None or rsheet.unread:  # not read: the reader's finding says why
                continue
            if sheet.layout == "table":
                # The sheet, then its copies: each judged on its own (its header, its cells, its
                # rows), then joined, so that the rules across rows see them all.
                headers = [
                    Header(source, sheet, ctx, *_locate_columns(source, sheet, ctx))
                    for source in [rsheet, *copies.get(sheet.key, [])]
                ]
                self._headers.append((sheet, rsheet, headers))
            elif sheet.layout == "form":
                self.forms.append((sheet, rsheet))

    def headers(self) -> list[Header]:
        """The headers located of every table sheet, whose rows `rows.find_rows` then finds."""
        return [header for _, _, headers in self._headers for header in headers]

    def found(self, located: Iterator[Located]) -> None:
        """The rows of data of `headers()`, in that order: their cells are then to type."""
        for sheet, rsheet, headers in self._headers:
            parts = [next(located) for _ in headers]
            self.pending += [part.cells for part in parts if part.cells is not None]
            self.tables.append((sheet, rsheet, parts))

    def finish(self) -> Validation:
        """The typed tables built, the rules across their rows run, the forms read."""
        result, ctx = self.result, self.ctx
        if ctx is None:
            return result
        tables = {sheet.key: self._table(sheet, rsheet, located) for sheet, rsheet, located in self.tables}
        forms = {sheet.key: _read_form(rsheet, sheet, ctx) for sheet, rsheet in self.forms}
        # In the schema's order of sheets, as they were read one after the other.
        for sheet in ctx.schema.sheets:
            if sheet.key in tables:
                result.tables[sheet.key] = tables[sheet.key]
            elif sheet.key in forms:
                result.forms[sheet.key] = forms[sheet.key]
        result.findings.extend(ctx.findings)
        return result

    def _table(self, sheet: Sheet, rsheet: RawSheet, located: list[Located]) -> Table:
        ctx = self.ctx
        assert ctx is not None
        parts = []
        for i, part in enumerate(located):
            source, table = part.source, part.table(sheet)
            if i and not len(table):
                continue  # a copy without rows left nothing out
            _structure(self.raw, source, table, ctx)
            rules.required_if(table, sheet, ctx)
            _row_rules(table, sheet, ctx)
            if i:
                ctx.add("FEUILLE_COPIE_LUE", source.title, "", title=source.title, table=rsheet.title,
                        rows=len(table))  # fmt: skip
            parts.append(table)
        table = _joined(parts)
        if not len(table) and sheet.required:
            ctx.add("AUCUNE_DONNEE", rsheet.title, f"A{located[0].first}", sheet_title=rsheet.title)
        key = UNIQUE_KEY.get(sheet.key)
        if sheet.key == "contingent" and any(c.key == "contingent" for c in sheet.columns):
            # Several contingents: one row per bailleur and per contingent.
            rules.duplicate_pairs(table, ("bailleur", "contingent"), "BAILLEUR_CONTINGENT_DOUBLON", ctx)
        elif key is not None:
            rules.duplicates(table, key[0], key[1], ctx)
        return table


def _row_rules(table: Table, sheet: Sheet, ctx: Context) -> None:
    """The rules across the cells of each row, on the rows of one sheet."""
    if sheet.key == "attributions":
        rules.attribution_rules(table, ctx)
    elif sheet.key == "relogements":
        from cia_workbook.intake.rehousing_rules import rehousing_rules

        rehousing_rules(table, sheet, ctx)
    elif sheet.key == "lieux_accueil":
        from cia_workbook.intake.reception_rules import reception_rules

        reception_rules(table, ctx)
    elif sheet.key == "demande":
        from cia_workbook.intake.demand import demand_rules

        demand_rules(table, ctx)


def _joined(parts: list[Table]) -> Table:
    """One table of the rows of a sheet and of its copies, in that order."""
    if len(parts) == 1:
        return parts[0]
    frame = pl.concat([p.frame.with_columns(pl.lit(i, pl.UInt8).alias(SHEET)) for i, p in enumerate(parts)])
    return Table(parts[0].sheet_key, frame, [p.placements[0] for p in parts])


_SCHEMAS: dict[tuple, tuple[Convention, WorkbookSchema]] = {}


def _schema_for(convention: Convention, kind: str, year: int, partner: str) -> WorkbookSchema:
    """`schema.schema_for`, built once per kind, year and rehousing sheet rather than per file.

    A national convention's code lists (a thousand bailleurs) cost more to build than a return
    to validate; the schema depends on the partner only through the rehousing sheet and the
    contingents it declares (several: a « Contingent » column and their list).
    """
    points = tuple(p.code for p in convention.reception_points_of(partner))
    found = convention.partners_by_id.get(partner)
    declared = (
        tuple(c.code for c in found.contingents) if found is not None and len(found.contingents) > 1 else ()
    )
    key = (id(convention), kind, year, convention.reports_rehousing(partner), points, declared)
    hit = _SCHEMAS.get(key)
    if hit is None or hit[0] is not convention:
        hit = _SCHEMAS[key] = (convention, schema.schema_for(convention, kind, year, partner))  # type: ignore[arg-type]
    return hit[1]


# -- Sheets and headers --------------------------------------------------------------------


def _match_sheets(
    raw: RawWorkbook, wschema: WorkbookSchema, ctx: Context
) -> tuple[dict[str, RawSheet], dict[str, list[RawSheet]]]:
    """(schema sheet key → the sheet that holds it, by name, then by its headers or labels;
    table sheet key → the copies of that table, read with it).

    Every other sheet that holds data is reported (FEUILLE_NON_LUE): no row is left out in
    silence."""
    wanted = [s for s in wschema.sheets if s.layout in ("table", "form")]
    titles = set(wschema.sheet_titles) | {schema.ID_SHEET, schema.LISTS_SHEET}
    matched: dict[str, RawSheet] = {}
    for sheet in wanted:
        exact = raw.sheet(sheet.title) or next(
            (s for s in raw.sheets if normalize(s.title) == normalize(sheet.title)), None
        )
        if exact is not None:
            matched[sheet.key] = exact
    taken = {id(s) for s in matched.values()}
    spare = [s for s in raw.sheets if id(s) not in taken and s.title not in titles and s.visible]
    for sheet in wanted:
        if sheet.key in matched:
            continue
        best = max(spare, key=lambda s: _shape_score(s, sheet), default=None)
        if best is not None and _shape_score(best, sheet) >= 0.5:
            matched[sheet.key] = best
            spare.remove(best)
            ctx.add("FEUILLE_RENOMMEE", best.title, "", expected=sheet.title, found=best.title)
        elif sheet.required:
            close = difflib.get_close_matches(sheet.title, [s.title for s in spare], n=1, cutoff=0.5)
            hint = f" Une feuille « {close[0]} » existe : s'agit-il d'elle ?" if close else ""
            ctx.add("FEUILLE_ABSENTE", "", "", expected=sheet.title, hint=hint)
    copies: dict[str, list[RawSheet]] = {}
    tables = [s for s in wanted if s.layout == "table" and s.key in matched]
    taken = {id(s) for s in matched.values()}
    for rsheet in raw.sheets:
        if id(rsheet) in taken or rsheet.title in titles or _copy_of_unread(rsheet.title):
            continue
        filled = _filled_rows(rsheet, 0)
        if not filled:
            continue  # an empty sheet leaves nothing out
        same = next((t for t in tables if _header_row_of(rsheet, t) is not None), None)
        if same is not None and rsheet.visible:
            copies.setdefault(same.key, []).append(rsheet)
            continue
        if same is not None:  # the rows left out are those under its header
            header = _header_row_of(rsheet, same) or 0
            filled = _filled_rows(rsheet, header)
            if not filled:
                continue
            hint = (f" Elle a les en-têtes de la feuille « {matched[same.key].title} » : si ses lignes font "
                    "partie de votre réponse, affichez-la (clic droit sur un onglet > Afficher).")  # fmt: skip
        else:
            close = max(tables, key=lambda t: _header_share(rsheet, t), default=None)
            hint = (
                f" Ses en-têtes ressemblent à ceux de la feuille « {matched[close.key].title} »."
                if close is not None and _header_share(rsheet, close) >= 0.5
                else ""
            )
        ctx.add("FEUILLE_NON_LUE", rsheet.title, "", title=rsheet.title, rows=filled, hint=hint,
                hidden="" if rsheet.visible else " masquée")  # fmt: skip
    return matched, copies


# « Lisez-moi (2) », « Synthèse_2 », « Copie de Synthèse »: copies of the sheets no rule reads
# (the notice, the partner's live summary) hold no data either.
_COPY_MARK = re.compile(r"^(copie de |copy of )?(?P<title>.*?)( ?\(\d+\)| ?_\d+| copie| copy| \d+)?$")


def _copy_of_unread(title: str) -> bool:
    m = _COPY_MARK.match(_normalize(title))
    return m is not None and m.group("title") in {_normalize(t) for t in SHEETS_NOT_JUDGED}


def _header_row_of(rsheet: RawSheet, sheet: Sheet) -> int | None:
    """The row (among the first HEADER_SEARCH_ROWS) holding every header of the table `sheet`."""
    for row in range(1, min(HEADER_SEARCH_ROWS, rsheet.height) + 1):
        if _header_hits(rsheet, sheet, row) == len(sheet.columns):
            return row
    return None


def _header_share(rsheet: RawSheet, sheet: Sheet) -> float:
    """The largest share of the table's headers found on one of the first rows of `rsheet`."""
    rows = range(1, min(HEADER_SEARCH_ROWS, rsheet.height) + 1)
    return max((_header_hits(rsheet, sheet, r) for r in rows), default=0) / max(len(sheet.columns), 1)


def _shape_score(rsheet: RawSheet, sheet: Sheet) -> float:
    """Share of the schema's headers (tables) or labels (forms) found where expected."""
    if not sheet.columns:
        return 0.0
    if sheet.layout == "table":
        cells = _row_values(rsheet, sheet.header_row)
        texts = {_normalize(v) for v in cells if v != ""}
        hits = sum(_normalize(c.header) in texts for c in sheet.columns)
    else:
        hits = sum(
            _normalize(str(rsheet.value(sheet.form_row(c.key), 1))) == _normalize(c.header)
            for c in sheet.columns
        )
    return hits / len(sheet.columns)


def _row_values(rsheet: RawSheet, row: int) -> list[str]:
    return rsheet.row_values(row)


def _filled_rows(rsheet: RawSheet, after: int) -> int:
    """How many rows below row `after` hold a value that is not only spaces."""
    frame = rsheet.frame.slice(after)
    if not frame.width:
        return 0
    return int(frame.select(pl.any_horizontal(cells.filled(c) for c in frame.columns).sum()).item())


def _locate_columns(rsheet: RawSheet, sheet: Sheet, ctx: Context) -> tuple[int, dict[str, int]]:
    """(header row, column key → 0-based index) with the moved and missing columns reported
    (the others, by `_unread_columns`)."""
    header_row = sheet.header_row
    if _shape_score(rsheet, sheet) == 0:
        # Rows inserted or deleted above the table: take the row that looks most like the header.
        candidates = range(1, min(HEADER_SEARCH_ROWS, rsheet.height) + 1)
        best = max(candidates, key=lambda r: _header_hits(rsheet, sheet, r), default=header_row)
        if _header_hits(rsheet, sheet, best) > 0:
            header_row = best
    cells = [_normalize(str(v)) if v != "" else "" for v in _row_values(rsheet, header_row)]
    free = {i for i, text in enumerate(cells) if text}
    where: dict[str, int] = {}
    # Exact headers first, wherever they are, then edited headers close enough to the schema's.
    # A former header of a column (`Column.former_headers`) counts as exact.
    for exact in (True, False):
        for col in sheet.columns:
            if col.key in where:
                continue
            target = _normalize(col.header)
            former = {_normalize(h) for h in col.former_headers}
            found = [
                j
                for j in sorted(free)
                if (cells[j] == target or cells[j] in former if exact else _close(cells[j], target))
            ]
            if found:
                where[col.key] = found[0]
                free.discard(found[0])
    # A column is "moved" only when it breaks the schema's order: columns merely shifted by a
    # deleted or inserted column keep their order (the longest increasing run) and say nothing.
    keys = [c.key for c in sheet.columns if c.key in where]
    in_order = _longest_increasing([where[k] for k in keys])
    for i, col in enumerate(sheet.columns):
        older = schema.older_than(ctx.version, col.since)
        former = col.key in where and cells[where[col.key]] in {_normalize(h) for h in col.former_headers}
        if older and (col.key not in where or former):
            # A column added or redefined since the file's template: said once, never an error.
            j = where.get(col.key, i)
            ctx.add("MODELE_ANCIEN", rsheet.title, f"{get_column_letter(j + 1)}{header_row}",
                    found=ctx.version, expected=col.since, column=col.header, meaning=col.before)  # fmt: skip
        if col.key not in where:
            if not older:
                ctx.add("COLONNE_ABSENTE", rsheet.title, f"{get_column_letter(i + 1)}{header_row}",
                        expected=col.header, letter=get_column_letter(i + 1))  # fmt: skip
        elif keys.index(col.key) not in in_order:
            j = where[col.key]
            ctx.add("COLONNE_DEPLACEE", rsheet.title, f"{get_column_letter(j + 1)}{header_row}",
                    expected=col.header, found=get_column_letter(j + 1), letter=get_column_letter(i + 1))  # fmt: skip
    return header_row, where


def _longest_increasing(values: list[int]) -> set[int]:
    """Indexes of one longest strictly increasing subsequence of `values` (n is ~20: O(n²))."""
    if not values:
        return set()
    best = [1] * len(values)
    prev = [-1] * len(values)
    for i in range(len(values)):
        for j in range(i):
            if values[j] < values[i] and best[j] + 1 > best[i]:
                best[i], prev[i] = best[j] + 1, j
    i = max(range(len(values)), key=lambda k: (best[k], -k))
    out = set()
    while i >= 0:
        out.add(i)
        i = prev[i]
    return out


def _header_hits(rsheet: RawSheet, sheet: Sheet, row: int) -> int:
    texts = {_normalize(str(v)) for v in _row_values(rsheet, row) if v != ""}
    return sum(_normalize(c.header) in texts for c in sheet.columns)


def _close(a: str, b: str) -> bool:
    return a == b or (bool(a) and difflib.SequenceMatcher(None, a, b).ratio() >= HEADER_CUTOFF)


# -- Tables --------------------------------------------------------------------------------


def _read_form(rsheet: RawSheet, sheet: Sheet, ctx: Context) -> dict[str, Any]:
    return {
        col.key: cells.cell_value(col, rsheet.value(sheet.form_row(col.key), 2), sheet.form_row(col.key),
                                  rsheet.title, ctx)
        for col in sheet.columns
    }  # fmt: skip


def _structure(raw: RawWorkbook, rsheet: RawSheet, table: Table, ctx: Context) -> None:
    """Formulas and merged cells inside the data area (not in the title or header rows)."""
    if not len(table):
        return
    first, last = table.frame[ROW][0], table.frame[ROW][-1]
    formulas, merged = raw.structure(rsheet.title)
    merged = sorted(set(merged) | set(rsheet.merged))
    for ref, text in formulas.items():
        row = int("".join(ch for ch in ref if ch.isdigit()))
        if first <= row <= last:
            ctx.add("FORMULE_DONNEES", rsheet.title, ref, formula=text)
    for rng in merged:
        try:
            _c1, r1, _c2, r2 = range_boundaries(rng)
        except (ValueError, TypeError):
            continue
        if r2 is not None and r2 >= first and r1 is not None and r1 <= last:
            ctx.add("CELLULES_FUSIONNEES", rsheet.title, rng, range=rng)
