"""Second stage of intake: the rules that turn one raw workbook into findings and typed tables.

Input is a `reader.RawWorkbook`, output a `Validation` (identity, typed columnar tables, form
answers, findings). Everything the partner wrote is judged against `schema` and the convention;
nothing here knows a file path. Columns are converted one at a time with per-value caches so that
a 500,000-row return costs little more than reading it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal, format_scientific

from cia_workbook import schema
from cia_workbook.convention import Convention
from cia_workbook.excel import MAX_CELL_TEXT, shortened
from cia_workbook.excel import count as _count
from cia_workbook.findings import Finding, finding
from cia_workbook.model import Identity, Part, Table
from cia_workbook.reader import RawSheet, RawWorkbook, get_column_letter, range_boundaries
from cia_workbook.schema import Column, Sheet, WorkbookSchema, normalize

LOCALE = "fr_FR"
# Headers and dropdown values repeat from file to file: each spelling is normalised once per
# process rather than once per file and column.
_normalize = lru_cache(maxsize=16384)(normalize)
HEADER_CUTOFF = 0.85  # how close an edited header must be to be taken for the column
SUGGEST_CUTOFF = 0.6  # how close a misspelt value must be to suggest the allowed one
HEADER_SEARCH_ROWS = 10  # rows searched when the header row moved
# Table sheets whose template pre-fills a key column (one row per bailleur on Contingent):
# a row holding nothing but that key was not started by the partner and is not data.
PREFILLED_KEY = {"contingent": "bailleur"}
# Sheets whose cells no rule reads (the notice, the dropdown lists, the partner's own live
# summary, which the consolidation recomputes): the reader may skip them.
SHEETS_NOT_JUDGED = frozenset({schema.LISTS_SHEET, schema.README.title, schema.SYNTHESE.title})


@dataclass
class Validation:
    identity: Identity | None
    tables: dict[str, Table] = field(default_factory=dict)
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def validate_workbook(convention: Convention, year: int, raw: RawWorkbook) -> Validation:
    """Judge one readable workbook for the campaign `year`."""
    identity, found, usable = identify(convention, year, raw)
    result = Validation(identity, findings=found)
    if not usable or identity is None:
        return result
    wschema = _schema_for(convention, identity.kind, year, identity.partner_id)
    ctx = _Context(convention, year, raw.name, wschema, identity.schema_version)
    sheets, copies = _match_sheets(raw, wschema, ctx)
    for sheet in wschema.sheets:
        rsheet = sheets.get(sheet.key)
        if rsheet is None or rsheet.unread:  # not read: the reader's finding says why
            continue
        if sheet.layout == "table":
            # The sheet, then its copies: each judged on its own (its header, its cells, its
            # rows), then joined, so that the rules across rows see them all.
            parts, first_row = [], sheet.first_data_row
            for i, source in enumerate([rsheet, *copies.get(sheet.key, [])]):
                part, first = _read_table(source, sheet, ctx)
                if not i:
                    first_row = first
                elif not part.rows:
                    continue  # a copy without rows left nothing out
                _structure(raw, source, sheet, part, ctx)
                _conditional_required(part, sheet, ctx)
                _row_rules(convention, year, part, sheet, ctx)
                if i:
                    ctx.add("FEUILLE_COPIE_LUE", source.title, "", title=source.title, table=rsheet.title,
                            rows=len(part.rows))  # fmt: skip
                parts.append(part)
            table = _joined(parts)
            if not table.rows and sheet.required:
                ctx.add("AUCUNE_DONNEE", rsheet.title, f"A{first_row}", sheet_title=rsheet.title)
            key = UNIQUE_KEY.get(sheet.key)
            if key is not None:
                _duplicates(table, key[0], key[1], ctx)
            result.tables[sheet.key] = table
        elif sheet.layout == "form":
            result.forms[sheet.key] = _read_form(rsheet, sheet, ctx)
    result.findings.extend(ctx.findings)
    return result


# Table sheet key → (the column that holds one value per row, the finding of a value repeated).
UNIQUE_KEY = {
    "attributions": ("reference", "REFERENCE_DOUBLON"),
    "contingent": ("bailleur", "BAILLEUR_DOUBLON"),
    "relogements": ("identifiant", "REFERENCE_DOUBLON"),
}


def _row_rules(convention: Convention, year: int, table: Table, sheet: Sheet, ctx: _Context) -> None:
    """The rules across the cells of each row, on the rows of one sheet."""
    if sheet.key == "attributions":
        _attribution_rules(table, sheet, ctx)
    elif sheet.key == "relogements":
        from cia_workbook.relogement_validate import rehousing_rules

        rehousing_rules(convention, year, table, sheet, ctx.add)


def _joined(parts: list[Table]) -> Table:
    """One table of the rows of a sheet and of its copies, in that order."""
    first = parts[0]
    if len(parts) == 1:
        return first
    columns = {key: [v for part in parts for v in part.columns[key]] for key in first.columns}
    rows = [r for part in parts for r in part.rows]
    more = [Part(part.sheet_title, len(part.rows), part.letters) for part in parts[1:]]
    return Table(first.sheet_key, first.sheet_title, rows, columns, first.letters, more)


_SCHEMAS: dict[tuple, tuple[Convention, WorkbookSchema]] = {}


def _schema_for(convention: Convention, kind: str, year: int, partner: str) -> WorkbookSchema:
    """`schema.schema_for`, built once per kind, year and rehousing sheet rather than per file.

    A national convention's code lists (a thousand bailleurs) cost more to build than a return
    to validate; the schema depends on the partner only through the rehousing sheet.
    """
    key = (id(convention), kind, year, convention.reports_rehousing(partner))
    hit = _SCHEMAS.get(key)
    if hit is None or hit[0] is not convention:
        hit = _SCHEMAS[key] = (convention, schema.schema_for(convention, kind, year, partner))  # type: ignore[arg-type]
    return hit[1]


class _Context:
    def __init__(
        self,
        convention: Convention,
        year: int,
        file: str,
        wschema: WorkbookSchema,
        version: str = schema.SCHEMA_VERSION,
    ):
        self.convention = convention
        self.year = year
        self.file = file
        self.schema = wschema
        self.version = version  # the schema version of the template the file was made from
        self.findings: list[Finding] = []
        # (sheet key, column key) of the columns absent from the file (read as empty).
        self.absent: set[tuple[str, str]] = set()

    def add(self, code: str, sheet: str, cell: str, **params: Any) -> None:
        self.findings.append(finding(code, self.file, sheet, cell, **params))


# -- Identity ------------------------------------------------------------------------------


def identify(
    convention: Convention, year: int, raw: RawWorkbook
) -> tuple[Identity | None, list[Finding], bool]:
    """Identity of the workbook from the most trusted source that survived, and its checks.

    Returns (identity, findings, usable): not usable means the contents are not judged, because
    the file is not this year's template of a partner of this convention.
    """
    found: list[Finding] = []
    values: dict[str, str] = {}
    for _source, pairs in raw.id_sources:
        for key, value in pairs.items():
            values.setdefault(key, value)
    reconstructed = not values.get("partenaire") or not values.get("annee")
    if reconstructed:
        fallback = _identity_from_visible_sheet(convention, raw)
        if fallback is None:
            return None, [finding("MODELE_INCONNU", raw.name)], False
        partner, year_found = fallback
        found.append(
            finding("IDENTIFICATION_RECONSTITUEE", raw.name, schema.IDENTIFICATION.title, "",
                    partner=partner.name, year=year_found)
        )  # fmt: skip
        values = {
            "modele": schema.TEMPLATE_MARKER,
            "version_schema": schema.SCHEMA_VERSION,
            "convention": convention.info.id,
            "partenaire": partner.id,
            "type": partner.kind,
            "annee": str(year_found),
        }
    if values.get("modele", schema.TEMPLATE_MARKER) != schema.TEMPLATE_MARKER:
        return None, [*found, finding("MODELE_INCONNU", raw.name)], False
    year_text = values.get("annee", "")
    try:
        year_found = int(float(year_text.replace(",", ".")))
    except ValueError:
        year_found = 0
    partner = convention.partners_by_id.get(values.get("partenaire", ""))
    kind = values.get("type") or (partner.kind if partner else "")
    identity = Identity(
        marker=values.get("modele", schema.TEMPLATE_MARKER),
        schema_version=values.get("version_schema", schema.SCHEMA_VERSION),
        convention_id=values.get("convention", convention.info.id),
        partner_id=values.get("partenaire", ""),
        kind=kind,
        year=year_found,
    )
    if identity.convention_id != convention.info.id:
        found.append(
            finding("MODELE_CONVENTION", raw.name, found=identity.convention_id, expected=convention.info.id)
        )
        return identity, found, False
    if partner is None:
        found.append(finding("MODELE_PARTENAIRE", raw.name, found=identity.partner_id))
        return identity, found, False
    if not _same_version(identity.schema_version, schema.SCHEMA_VERSION):
        found.append(
            finding("MODELE_VERSION", raw.name, found=identity.schema_version, expected=schema.SCHEMA_VERSION)
        )
        return identity, found, False
    if kind != partner.kind:
        found.append(finding("MODELE_TYPE", raw.name, found=kind, expected=partner.kind))
        return identity, found, False
    if year_found != year:
        found.append(finding("MODELE_ANNEE", raw.name, found=year_text or "?", expected=year))
        return identity, found, False
    found += _identity_conflicts(convention, raw, partner, year, reconstructed)
    return identity, found, True


# Where each hidden identification is kept (`reader.RawWorkbook.id_sources`), as a partner
# reads it in a message.
_HIDDEN_PLACE = {
    "feuille": ("feuille cachée « _cia »", "de la"),
    "noms": ("noms définis du classeur", "des"),
    "proprietes": ("propriétés du document", "des"),
}


def _identity_conflicts(
    convention: Convention, raw: RawWorkbook, partner, year: int, reconstructed: bool
) -> list[Finding]:
    """IDENTITE_CONTRADICTOIRE for each place of the workbook that names another partner than
    its identification: another hidden source, the visible Identification sheet, the file name.
    (The folder it was put in is intake's to check: `intake.place_conflicts`.)"""
    out: list[Finding] = []
    where = "feuille Identification" if reconstructed else "identification cachée du modèle"
    if not reconstructed:
        chosen = next((src for src, pairs in raw.id_sources if pairs.get("partenaire")), "")
        for source, pairs in raw.id_sources:
            other = pairs.get("partenaire", partner.id)
            if other != partner.id and other in convention.partners_by_id:
                place, of = _HIDDEN_PLACE.get(source, (source, "de"))
                out.append(identity_conflict(
                    convention, raw.name, partner.id, other, f"l'identification {of} {place}",
                    f"recopiez-les dans le modèle envoyé à {partner.name}",
                    partner_where=_HIDDEN_PLACE.get(chosen, (where,))[0],
                ))  # fmt: skip
        sheet = _identification_sheet(raw)
        cell = schema.IDENTIFICATION.form_cell("partenaire")
        shown = _shown(sheet.cell(cell)) if sheet is not None else ""
        named = partners_named(convention, shown)
        if named and partner.id not in named:
            out.append(identity_conflict(
                convention, raw.name, partner.id, min(named, key=convention.partner_rank),
                f"la feuille Identification (cellule {cell} : « {shortened(shown.strip(), 60)} »)",
                f"remettez « {partner.name} » en cellule {cell} de la feuille Identification",
                sheet=sheet.title, cell=cell, partner_where=where,
            ))  # fmt: skip
    other = partner_of_file_name(convention, raw.name)
    if other is not None and other != partner.id:
        out.append(identity_conflict(
            convention, raw.name, partner.id, other, "le nom du fichier",
            f"renommez le fichier « {schema.template_file_name(partner.id, year)} »",
            partner_where=where,
        ))  # fmt: skip
    return out


def identity_conflict(
    convention: Convention,
    file: str,
    partner: str,
    other: str,
    other_where: str,
    fix: str,
    sheet: str = "",
    cell: str = "",
    partner_where: str = "identification cachée du modèle",
) -> Finding:
    """The finding of a file identified as `partner`'s whose `other_where` names `other`."""
    names = convention.partners_by_id
    return finding("IDENTITE_CONTRADICTOIRE", file, sheet, cell, partner=names[partner].name,
                   partner_where=partner_where, other=names[other].name, other_where=other_where, fix=fix,
                   partner_id=partner, other_id=other)  # fmt: skip


_WORD = re.compile(r"[0-9a-z]+")


def _words(text: str) -> tuple[str, ...]:
    """The words of a text, without case, accents or punctuation (« d'Alès » → d, ales)."""
    return tuple(_WORD.findall(_normalize(text)))


_PARTNER_WORDS: dict[int, tuple[Convention, dict[tuple[str, ...], str]]] = {}


def _partner_words(convention: Convention) -> dict[tuple[str, ...], str]:
    """The words that name one partner each: its id, its name and legal name, with and without
    what they hold in brackets, and what they hold in brackets. Words that several partners
    share (« SA d'HLM ») name none."""
    hit = _PARTNER_WORDS.get(id(convention))
    if hit is None or hit[0] is not convention:
        owners: dict[tuple[str, ...], set[str]] = {}
        for p in convention.partners:
            texts = [p.id, p.name, p.legal_name or ""]
            for text in texts[1:]:
                texts.append(re.sub(r"\([^)]*\)", " ", text))
                texts += re.findall(r"\(([^)]*)\)", text)
            for text in texts:
                if words := _words(text):
                    owners.setdefault(words, set()).add(p.id)
        keys = {words: next(iter(ids)) for words, ids in owners.items() if len(ids) == 1}
        hit = _PARTNER_WORDS[id(convention)] = (convention, keys)
    return hit[1]


def partners_named(convention: Convention, text: str) -> set[str]:
    """Ids of the partners a free text names, as whole words (« Logis Cévenols – agence
    d'Alès » → logis-cevenols); a name found inside another partner's longer name is not
    counted (« Gard » in « Habitat du Gard »)."""
    words = _words(text)
    if not words:
        return set()
    keys = _partner_words(convention)
    found = []
    for n in sorted({len(k) for k in keys}):
        for i in range(len(words) - n + 1):
            pid = keys.get(words[i : i + n])
            if pid is not None:
                found.append((i, i + n, pid))
    return {
        pid
        for start, end, pid in found
        if not any(s <= start and end <= e and (e - s) > (end - start) and p != pid for s, e, p in found)
    }


def partner_of_file_name(convention: Convention, name: str) -> str | None:
    """The partner whose template name a file name keeps (« Copie de cia-2024-sfhe (1).xlsx »
    → sfhe), or None: free words in a file name (« état des lieux ») are not taken for a name."""
    words = _words(name.rsplit(".", 1)[0])
    prefix = _words(schema.TEMPLATE_FILE_PREFIX)
    ids = sorted(((_words(p.id), p.id) for p in convention.partners), key=lambda k: -len(k[0]))
    n = len(prefix)
    for i in range(len(words) - n):
        if words[i : i + n] == prefix and words[i + n].isdigit():
            rest = words[i + n + 1 :]
            for key, pid in ids:
                if rest[: len(key)] == key:
                    return pid
    return None


def _identification_sheet(raw: RawWorkbook) -> RawSheet | None:
    return raw.sheet(schema.IDENTIFICATION.title) or next(
        (s for s in raw.sheets if normalize(s.title) == normalize(schema.IDENTIFICATION.title)), None
    )


def _same_version(found: str, expected: str) -> bool:
    """Whether a file of schema version `found` is read as this schema (`expected`): the same
    version, or an earlier one still readable (`schema.READABLE_VERSIONS`), whose missing
    columns are then said once (MODELE_ANCIEN) instead of being errors."""
    readable = [expected, *schema.READABLE_VERSIONS] if expected == schema.SCHEMA_VERSION else [expected]
    key = schema.version_key(found)
    if key is not None:
        return any(key == schema.version_key(v) for v in readable)
    return any(normalize(found) == normalize(v) for v in readable)


def _identity_from_visible_sheet(convention: Convention, raw: RawWorkbook):
    """Last resort when every hidden identification was lost: partner name and year as shown."""
    sheet = _identification_sheet(raw)
    if sheet is None:
        return None
    name = sheet.cell(schema.IDENTIFICATION.form_cell("partenaire"))
    year = sheet.cell(schema.IDENTIFICATION.form_cell("annee"))
    # The name as pre-filled, or free text naming one partner (« SFHE – agence d'Alès »).
    named = partners_named(convention, str(name))
    partner = convention.partners_by_id[next(iter(named))] if len(named) == 1 else None
    try:
        year_found = int(float(str(year).replace(",", ".")))
    except ValueError:
        return None
    return (partner, year_found) if partner else None


# -- Sheets and headers --------------------------------------------------------------------


def _match_sheets(
    raw: RawWorkbook, wschema: WorkbookSchema, ctx: _Context
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
        filled = sum(1 for cells in rsheet.rows if not all(_is_blank(v) for v in cells))
        if not filled:
            continue  # an empty sheet leaves nothing out
        same = next((t for t in tables if _header_row_of(rsheet, t) is not None), None)
        if same is not None and rsheet.visible:
            copies.setdefault(same.key, []).append(rsheet)
            continue
        if same is not None:  # the rows left out are those under its header
            header = _header_row_of(rsheet, same) or 0
            filled = sum(1 for cells in rsheet.rows[header:] if not all(_is_blank(v) for v in cells))
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
    for row in range(1, min(HEADER_SEARCH_ROWS, len(rsheet.rows)) + 1):
        if _header_hits(rsheet, sheet, row) == len(sheet.columns):
            return row
    return None


def _header_share(rsheet: RawSheet, sheet: Sheet) -> float:
    """The largest share of the table's headers found on one of the first rows of `rsheet`."""
    rows = range(1, min(HEADER_SEARCH_ROWS, len(rsheet.rows)) + 1)
    return max((_header_hits(rsheet, sheet, r) for r in rows), default=0) / max(len(sheet.columns), 1)


def _shape_score(rsheet: RawSheet, sheet: Sheet) -> float:
    """Share of the schema's headers (tables) or labels (forms) found where expected."""
    if not sheet.columns:
        return 0.0
    if sheet.layout == "table":
        cells = _row_values(rsheet, sheet.header_row)
        texts = {_normalize(str(v)) for v in cells if v != ""}
        hits = sum(_normalize(c.header) in texts for c in sheet.columns)
    else:
        hits = sum(
            _normalize(str(rsheet.value(sheet.form_row(c.key), 1))) == _normalize(c.header)
            for c in sheet.columns
        )
    return hits / len(sheet.columns)


def _row_values(rsheet: RawSheet, row: int) -> list[Any]:
    return rsheet.rows[row - 1] if 0 < row <= len(rsheet.rows) else []


def _locate_columns(rsheet: RawSheet, sheet: Sheet, ctx: _Context) -> tuple[int, dict[str, int]]:
    """(header row, column key → 0-based index) with the moved and missing columns reported
    (the others, by `_unread_columns`)."""
    header_row = sheet.header_row
    if _shape_score(rsheet, sheet) == 0:
        # Rows inserted or deleted above the table: take the row that looks most like the header.
        candidates = range(1, min(HEADER_SEARCH_ROWS, len(rsheet.rows)) + 1)
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


def _is_blank(value: Any) -> bool:
    return value == "" or value is None or (isinstance(value, str) and not value.strip())


def _read_table(rsheet: RawSheet, sheet: Sheet, ctx: _Context) -> tuple[Table, int]:
    """(the table of one sheet, its first data row)."""
    header_row, where = _locate_columns(rsheet, sheet, ctx)
    first = header_row + 1
    data = rsheet.rows[first - 1 :]
    # Calamine stops at the last cell with a value; whitespace-only rows at the end go too.
    end = len(data)
    while end and all(_is_blank(v) for v in data[end - 1]):
        end -= 1
    longest = max(map(len, data[:end]), default=0)
    width = max(where.values(), default=-1) + 1
    _unread_columns(rsheet, header_row, data[:end], longest, set(where.values()), ctx)
    # A row is data when a column of the table holds a value (what other columns hold is
    # reported above, not taken for a row).
    if longest > width:
        data = [cells[:width] for cells in data[:end]]
    prefilled = where.get(PREFILLED_KEY.get(sheet.key, ""), -1)
    if prefilled >= 0:
        data = [[] if _only(cells, prefilled) else cells for cells in data]
    end = len(data)
    while end and all(_is_blank(v) for v in data[end - 1]):
        end -= 1
    rows: list[int] = []
    kept: list[list[Any]] = []
    blank_run: list[int] = []
    for offset, cells in enumerate(data[:end]):
        number = first + offset
        # Most rows start with a filled cell: looked at first, before the whole row.
        head = cells[0] if cells else ""
        if (head == "" or head is None or (head.__class__ is str and not head.strip())) and all(
            _is_blank(v) for v in cells
        ):
            if prefilled >= 0:
                continue  # rows of the pre-filled list left unanswered are not "blank rows"
            blank_run.append(number)
            continue
        if blank_run:
            _blank_rows(blank_run, rsheet.title, ctx)
            blank_run = []
        rows.append(number)
        kept.append(cells)
    letters = {c.key: get_column_letter(where.get(c.key, i) + 1) for i, c in enumerate(sheet.columns)}
    table = Table(sheet.key, rsheet.title, rows, {}, letters)
    if not rows:
        return table, first
    # Rows padded to the table's width, then transposed in one C-level pass (zip).
    width = max(where.values(), default=-1) + 1
    padded = [cells if len(cells) >= width else cells + [""] * (width - len(cells)) for cells in kept]
    by_column = list(zip(*padded, strict=False))
    for col in sheet.columns:
        index = where.get(col.key)
        if index is None:
            ctx.absent.add((sheet.key, col.key))
            table.columns[col.key] = [None] * len(rows)
            continue
        values = list(by_column[index])
        table.columns[col.key] = _convert_column(col, values, rows, rsheet.title, letters[col.key], ctx)
    return table, first


def _unread_columns(
    rsheet: RawSheet, header_row: int, data: list[list[Any]], longest: int, used: set[int], ctx: _Context
) -> None:
    """The columns of a table sheet that are not the schema's (`data`: the rows under the header,
    the longest of `longest` cells): an unknown header over an empty column is only a warning
    (COLONNE_EN_TROP); values under an unknown header or no header at all are not read, and the
    partner is told how many (COLONNE_NON_LUE)."""
    header = _row_values(rsheet, header_row)
    width = max(len(header), longest)
    others = [j for j in range(width) if j not in used]
    if not others:
        return
    first = header_row + 1
    for j in others:
        title = header[j] if j < len(header) else ""
        filled = [first + i for i, cells in enumerate(data) if len(cells) > j and not _is_blank(cells[j])]
        letter = get_column_letter(j + 1)
        if filled:
            cell = f"{letter}{filled[0]}" if len(filled) == 1 else f"{letter}{filled[0]}:{letter}{filled[-1]}"
            named = f"(« {shortened(_shown(title), 100)} »)" if not _is_blank(title) else "(sans en-tête)"
            ctx.add("COLONNE_NON_LUE", rsheet.title, cell, letter=letter, header=named, count=len(filled))
        elif not _is_blank(title):
            ctx.add("COLONNE_EN_TROP", rsheet.title, f"{letter}{header_row}", found=str(title))


def _only(cells: list[Any], index: int) -> bool:
    """True when a row holds nothing outside the column `index`."""
    return all(_is_blank(v) for j, v in enumerate(cells) if j != index)


def _blank_rows(run: list[int], title: str, ctx: _Context) -> None:
    text = str(run[0]) if len(run) == 1 else f"{run[0]} à {run[-1]}"
    cell = f"A{run[0]}" if len(run) == 1 else f"A{run[0]}:A{run[-1]}"
    ctx.add("LIGNE_VIDE", title, cell, rows=text, count=len(run))


def _read_form(rsheet: RawSheet, sheet: Sheet, ctx: _Context) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for col in sheet.columns:
        row = sheet.form_row(col.key)
        values = _convert_column(col, [rsheet.value(row, 2)], [row], rsheet.title, "B", ctx)
        answers[col.key] = values[0]
    return answers


def _structure(raw: RawWorkbook, rsheet: RawSheet, sheet: Sheet, table: Table, ctx: _Context) -> None:
    """Formulas and merged cells inside the data area (not in the title or header rows)."""
    if not table.rows:
        return
    first, last = table.rows[0], table.rows[-1]
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


# -- Cell conversion, one column at a time -------------------------------------------------

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007]")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d+)?|[.,]\d+)$")
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]00:00(?::00)?)?$")


def fr_date(value: dt.date) -> str:
    return format_date(value, format="short", locale=LOCALE)


def fr_number(value: float) -> str:
    try:
        return format_decimal(value, locale=LOCALE)
    except decimal.InvalidOperation:
        # Babel's decimal context cannot quantize huge pasted numbers (1e25…): say it plainly.
        return format_scientific(value, locale=LOCALE)


def parse_number(text: str) -> float | None:
    """`1 234,50`, `1 234,50` (thin or non-breaking spaces), `12.5` → float; else None."""
    compact = _SPACES.sub("", text).removesuffix("€")
    if not _NUMBER.match(compact):
        return None
    return float(compact.replace(",", "."))


def parse_date(text: str) -> dt.date | None:
    """`15/03/2024`, `15-03-24`, `15.03.2024`, `2024-03-15` → date; else None."""
    text = text.strip()
    m = _DMY.match(text)
    try:
        if m:
            day, month, year = (int(g) for g in m.groups())
            if year < 100:
                year += 2000
            return dt.date(year, month, day)
        m = _YMD.match(text)
        if m:
            year, month, day = (int(g) for g in m.groups())
            return dt.date(year, month, day)
    except ValueError:
        return None
    return None


def _convert_column(
    col: Column, values: list[Any], rows: list[int], title: str, letter: str, ctx: _Context
) -> list[Any]:
    if len(values) > 1:
        fast = _clean_column(col, values, ctx)
        if fast is not None:
            return fast
    convert = _converter(col, ctx)
    out: list[Any] = [None] * len(values)
    required = col.required
    for i, value in enumerate(values):
        # _is_blank inlined: this loop runs once per cell of the return.
        if value == "" or value is None or (value.__class__ is str and not value.strip()):
            if required:
                ctx.add("CELLULE_OBLIGATOIRE", title, f"{letter}{rows[i]}", column=col.header, when="")
            continue
        if value.__class__ is str and len(value) > MAX_CELL_TEXT:
            ctx.add("TEXTE_TROP_LONG", title, f"{letter}{rows[i]}", length=_count(len(value)),
                    limit=_count(MAX_CELL_TEXT), chars=len(value))  # fmt: skip
        typed, problem = convert(value)
        if problem is not None:
            code, params = problem
            ctx.add(code, title, f"{letter}{rows[i]}", **params)
        out[i] = typed
    return out


def _clean_column(col: Column, values: list[Any], ctx: _Context) -> list[Any] | None:
    """The typed column at once when every cell is filled and right, else None (cell by cell).

    Most returns are clean: whole-column checks (types, bounds, the few distinct codes) then
    cost a fraction of a per-cell loop, and give exactly what the loop gives on such a column.
    """
    kind = col.kind
    # Empty cells of an optional column: the filled ones are checked at once, the empty ones
    # stay None. (An empty cell of a required column is a finding: cell by cell.)
    if "" in values:
        if col.required:
            return None
        filled = [v for v in values if v != ""]
        typed = _clean_column(col, filled, ctx) if filled else []
        if typed is None:
            return None
        rest = iter(typed)
        return [None if v == "" else next(rest) for v in values]
    # Types, distinct values and conversions through map/set/zip: C loops, no call per cell.
    types = set(map(type, values))
    if kind in ("integer", "decimal"):
        if not types <= {float, int}:  # type(True) is bool: booleans take the per-cell path
            return None
        if (col.minimum is not None and min(values) < col.minimum) or (
            col.maximum is not None and max(values) > col.maximum
        ):
            return None
        if kind == "decimal":
            return list(map(float, values))
        try:
            ints = list(map(int, values))
        except (OverflowError, ValueError):  # inf, nan
            return None
        # 2.5 != int(2.5): a fractional number takes the per-cell path (NOMBRE_INVALIDE).
        return ints if ints == values else None
    if kind == "date":
        # Dates typed as dates; equal days share one object (a year has 365 of them).
        if types != {dt.date}:
            return None
        distinct = set(values)
        return list(map(dict(zip(distinct, distinct, strict=True)).__getitem__, values))
    if kind in ("code", "yesno"):
        # Text picked from the dropdown: a few distinct values, each converted once. (Only
        # text: 1 == 1.0 == True would mix numbers and booleans in one key.)
        if types != {str}:
            return None
        distinct = set(values)
        if len(distinct) > 256:
            return None
        convert = _converter(col, ctx)
        codes: dict[str, Any] = {}
        for value in distinct:
            if not value.strip():
                return None
            typed, problem = convert(value)
            if problem is not None:
                return None
            codes[value] = typed
        return list(map(codes.__getitem__, values))
    if kind == "text":
        if types != {str} or max(map(len, values)) > MAX_CELL_TEXT:
            return None
        out = list(map(str.strip, values))
        return out if all(out) else None
    return None


Problem = tuple[str, dict[str, Any]] | None


def _converter(col: Column, ctx: _Context) -> Callable[[Any], tuple[Any, Problem]]:
    if col.kind in ("integer", "decimal"):
        return _number_converter(col)
    if col.kind == "date":
        return _date_converter(col)
    if col.kind in ("code", "yesno"):
        return _code_converter(col, ctx)
    return _text_converter


def _text_converter(value: Any) -> tuple[Any, Problem]:
    if isinstance(value, str):
        return value.strip(), None
    if isinstance(value, bool):
        return ("Oui" if value else "Non"), None
    if isinstance(value, float) and value.is_integer():
        return str(int(value)), None
    if isinstance(value, dt.datetime | dt.date):
        return fr_date(value), None
    return str(value), None


def _number_converter(col: Column) -> Callable[[Any], tuple[Any, Problem]]:
    integer = col.kind == "integer"
    what = " entier" if integer else ""

    def bad(value: Any) -> Problem:
        return "NOMBRE_INVALIDE", {
            "value": _shown(value),
            "what": what,
            "column": col.header,
            "example": col.example,
        }

    def bounded(number: float, warning: Problem) -> tuple[Any, Problem]:
        if integer and not float(number).is_integer():
            return None, bad(number)
        typed = int(number) if integer else float(number)
        if (col.minimum is not None and typed < col.minimum) or (
            col.maximum is not None and typed > col.maximum
        ):
            bounds = f"entre {fr_number(col.minimum or 0)} et {fr_number(col.maximum or 0)}"
            return None, (
                "NOMBRE_HORS_BORNES",
                {"value": fr_number(typed), "column": col.header, "bounds": bounds},
            )
        return typed, warning

    def convert(value: Any) -> tuple[Any, Problem]:
        if isinstance(value, bool) or isinstance(value, dt.date | dt.time | dt.timedelta):
            return None, bad(value)
        if isinstance(value, int | float):
            return bounded(value, None)
        number = parse_number(str(value))
        if number is None:
            return None, bad(value)
        shown = fr_number(int(number) if number.is_integer() else number)
        return bounded(number, ("NOMBRE_TEXTE", {"value": str(value), "column": col.header, "parsed": shown}))

    return convert


def _date_converter(col: Column) -> Callable[[Any], tuple[Any, Problem]]:
    def bad(value: Any) -> Problem:
        return "DATE_INVALIDE", {"value": _shown(value), "column": col.header}

    def convert(value: Any) -> tuple[Any, Problem]:
        if isinstance(value, dt.datetime):
            return value.date(), None
        if isinstance(value, dt.date):
            return value, None
        if isinstance(value, bool) or isinstance(value, dt.time | dt.timedelta):
            return None, bad(value)
        if isinstance(value, int | float):
            # A date pasted without its format: an Excel serial of a plausible year.
            if 36526 <= value <= 73051:
                from openpyxl.utils.datetime import from_excel

                day = from_excel(value).date()
                parsed = format_date(day, format="long", locale=LOCALE)
                return day, ("DATE_NOMBRE", {"value": _shown(value), "column": col.header, "parsed": parsed})
            return None, bad(value)
        day = parse_date(str(value))
        if day is None:
            return None, bad(value)
        parsed = format_date(day, format="long", locale=LOCALE)
        return day, ("DATE_TEXTE", {"value": str(value), "column": col.header, "parsed": parsed})

    return convert


# Answers of the code converters, kept for the next file of the same campaign: the same few
# hundred spellings come back in every return. Keyed by the schema, convention and year objects
# (held here, so that their ids are not reused) and the column.
_CODE_ANSWERS: dict[tuple[int, int, int, str, str], tuple[Any, dict[Any, tuple[Any, Problem]]]] = {}


def _code_converter(col: Column, ctx: _Context) -> Callable[[Any], tuple[Any, Problem]]:
    codelist = ctx.schema.codelists[col.codelist or "oui_non"]
    table = _spellings(codelist)
    key = (id(ctx.schema), id(ctx.convention), ctx.year, col.key, col.header)
    if key not in _CODE_ANSWERS:
        if len(_CODE_ANSWERS) > 256:
            _CODE_ANSWERS.clear()
        _CODE_ANSWERS[key] = ((ctx.schema, ctx.convention), {})
    cache = _CODE_ANSWERS[key][1]
    is_qpv = codelist.name == "qpv"

    def convert(value: Any) -> tuple[Any, Problem]:
        key = (value.__class__, value)  # 1, 1.0 and True are equal keys, not equal answers
        if key in cache:
            return cache[key]
        if isinstance(value, bool):
            text = "Oui" if value else "Non"
        elif isinstance(value, float) and value.is_integer():
            text = str(int(value))
        elif isinstance(value, dt.date):
            text = fr_date(value)
        else:
            text = str(value).strip()
        code = table.get(_normalize(text))
        if code is not None:
            result: tuple[Any, Problem] = (code, None)
        elif is_qpv and (old := _other_geography_qpv(ctx, text)) is not None:
            result = (None, old)
        else:
            result = (None, ("VALEUR_HORS_LISTE",
                             {"value": text, "column": col.header, "hint": _suggest(codelist, text)}))  # fmt: skip
        cache[key] = result
        return result

    return convert


@lru_cache(maxsize=64)
def _spellings(codelist: schema.CodeList) -> dict[str, str]:
    """The schema's lookup plus the bare name of labels like « Alès (30007) » or « QN… – name »."""
    table = dict(codelist.lookup())
    for c in codelist.codes:
        bare = re.sub(r"\s*\([^)]*\)$", "", c.label)
        table.setdefault(normalize(bare), c.code)
    return table


def _suggest(codelist: schema.CodeList, text: str) -> str:
    choices = {normalize(c.display): c.display for c in codelist.codes}
    choices.update({normalize(c.code): c.display for c in codelist.codes})
    close = difflib.get_close_matches(normalize(text), list(choices), n=1, cutoff=SUGGEST_CUTOFF)
    return f" Valeur la plus proche : « {choices[close[0]]} »." if close else ""


_QPV_CODE = re.compile(r"\bQ[PN]\d{3}[0-9A-Z]{3}\b", re.IGNORECASE)


def _other_geography_qpv(ctx: _Context, text: str) -> Problem:
    m = _QPV_CODE.search(text)
    if not m:
        return None
    code = m.group(0).upper()
    geo = ctx.convention.geography(ctx.year)
    for other in ctx.convention.qpv_geographies:
        if other.id == geo.id:
            continue
        old = next((q for q in other.qpvs if q.code == code), None)
        if old is None:
            continue
        # The same quartier in this year's geography, by name or by commune.
        same = next((q for q in geo.qpvs if normalize(q.name) == normalize(old.name)), None) or next(
            (q for q in geo.qpvs if set(q.communes) & set(old.communes)), None
        )
        hint = f" En {ctx.year}, le quartier correspondant est « {same.code} – {same.name} »." if same else ""
        return "QPV_PERIME", {"qpv": code, "year": ctx.year, "geography": geo.label, "hint": hint}
    return None


def _shown(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return fr_date(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- Rules across the cells of a row ------------------------------------------------------


def household_uc(convention: Convention, nb_14_plus: int, nb_moins_14: int) -> float:
    """Consumption units of a household: first adult, other persons of 14+, children under 14."""
    scale = convention.uc_scale
    return (
        scale.first_adult + scale.other_14_plus * max(nb_14_plus - 1, 0) + scale.child_under_14 * nb_moins_14
    )


def quartile_of(convention: Convention, year: int, per_uc: float) -> str | None:
    t = convention.thresholds(year)
    if t is None or not t.complete:
        return None
    for code, limit in (("1", t.q1), ("2", t.q2), ("3", t.q3)):
        if per_uc <= limit:  # type: ignore[operator]
            return code
    return "4"


_DIGIT = re.compile(r"\d")
_CIVILITY = re.compile(r"^(m|mr|mme|mlle|melle|monsieur|madame|mademoiselle)\.?\s+\S", re.IGNORECASE)
_UPPER_FIRST = re.compile(r"^[A-ZÀ-Ý][A-ZÀ-Ý'\-]+\s+[A-ZÀ-Ý][a-zà-ÿ'\-]+$")
_FIRST_UPPER = re.compile(r"^[A-ZÀ-Ý][a-zà-ÿ'\-]+\s+[A-ZÀ-Ý][A-ZÀ-Ý'\-]+$")


def looks_like_a_name(reference: str) -> bool:
    """Conservative: a civility, or « DUPONT Jean » / « Jean DUPONT », and never any digit."""
    text = reference.strip()
    # The regex answers at C speed for the usual reference with digits; isdigit also counts
    # digits the regex does not (superscripts), so it still decides when the regex finds none.
    if _DIGIT.search(text) or any(ch.isdigit() for ch in text):
        return False
    return bool(_CIVILITY.match(text) or _UPPER_FIRST.match(text) or _FIRST_UPPER.match(text))


def _conditional_required(table: Table, sheet: Sheet, ctx: _Context) -> None:
    """Cells the schema requires only when another column holds given codes (`Column.required_if`)."""
    failed = {f.cell for f in ctx.findings if f.sheet == table.sheet_title}
    n = len(table.rows)
    for column in sheet.columns:
        if not column.required_if or column.key not in table.letters:
            continue
        other, codes = column.required_if
        values = table.columns.get(column.key) or [None] * n
        conditions = table.columns.get(other) or [None] * n
        letter = table.letters[column.key]
        for row, value, condition in zip(table.rows, values, conditions, strict=True):
            if value is None and condition in codes and f"{letter}{row}" not in failed:
                ctx.add("CELLULE_OBLIGATOIRE", table.sheet_title, f"{letter}{row}",
                        column=column.header, when=" " + column.required_when)  # fmt: skip


def _attribution_rules(table: Table, sheet: Sheet, ctx: _Context) -> None:
    title = table.sheet_title
    cols = table.columns
    n = len(table.rows)

    def column(key: str) -> list[Any]:
        return cols.get(key) or [None] * n

    letter = table.letters
    header = {c.key: c.header for c in sheet.columns}
    date_cal, date_bail, suite = column("date_cal"), column("date_bail"), column("suite")
    commune, qpv, zone = column("commune"), column("qpv"), column("zone_locale")
    quartile, ressources = column("quartile"), column("ressources")
    nb14, nbm14, adults, size = (
        column("nb_14_plus"),
        column("nb_moins_14"),
        column("nb_adultes"),
        column("taille_menage"),
    )
    year = ctx.year
    qpvs = {q.code: q for q in ctx.convention.geography(year).qpvs}
    zones = {z.code: z for z in ctx.convention.local_zones}
    communes = ctx.convention.communes_by_insee
    check_quartile = (t := ctx.convention.thresholds(year)) is not None and t.complete
    # household_uc and quartile_of inlined (same arithmetic, same order): this loop runs once
    # per row of a national campaign, and most rows raise nothing.
    scale = ctx.convention.uc_scale
    first_adult, other_14, child = scale.first_adult, scale.other_14_plus, scale.child_under_14
    q1, q2, q3 = (t.q1, t.q2, t.q3) if check_quartile else (0, 0, 0)  # type: ignore[union-attr]
    for row, cal, bail, outcome, where, q, z, a, n14v, m14, sz, declared, res in zip(
        table.rows, date_cal, date_bail, suite, commune, qpv, zone, adults, nb14, nbm14, size, quartile,
        ressources, strict=True,
    ):  # fmt: skip
        if bail is not None:
            if outcome in ("REFUS", "AUTRE"):
                label = next(c.label for c in schema.OUTCOMES.codes if c.code == outcome)
                ctx.add("BAIL_SANS_SUITE", title, f"{letter['date_bail']}{row}", suite=label)
            if cal is not None and bail < cal:
                ctx.add("BAIL_AVANT_CAL", title, f"{letter['date_bail']}{row}",
                        bail=fr_date(bail), cal=fr_date(cal))  # fmt: skip
        if (cal is not None or bail is not None) and not (
            (cal is not None and cal.year == year) or (bail is not None and bail.year == year)
        ):
            key = "date_cal" if cal is not None else "date_bail"
            ctx.add("DATE_HORS_ANNEE", title, f"{letter[key]}{row}",
                    year=year, column=header[key], value=fr_date(cal if cal is not None else bail))  # fmt: skip
        in_qpv = q is not None and q in qpvs
        in_zone = z is not None and z in zones
        if where is not None:
            if in_qpv and where not in qpvs[q].communes:
                ctx.add("QPV_HORS_COMMUNE", title, f"{letter['qpv']}{row}",
                        qpv=q, commune=_commune(communes, where))  # fmt: skip
            if in_zone and zones[z].commune != where:
                ctx.add("ZONE_HORS_COMMUNE", title, f"{letter['zone_locale']}{row}", zone=zones[z].name,
                        expected=_commune(communes, zones[z].commune), commune=_commune(communes, where))  # fmt: skip
        if in_qpv and in_zone:
            ctx.add("ZONE_ET_QPV", title, f"{letter['zone_locale']}{row}", qpv=q, zone=zones[z].name)
        n14 = n14v if n14v is not None else a
        if a is not None and n14v is not None and a > n14v:
            ctx.add("COMPOSITION_INCOHERENTE", title, f"{letter['nb_adultes']}{row}",
                    detail=f"{a} adulte(s) mais {n14v} personne(s) de 14 ans ou plus")  # fmt: skip
        elif sz is not None and n14v is not None and m14 is not None and sz != n14v + m14:
            ctx.add("COMPOSITION_INCOHERENTE", title, f"{letter['taille_menage']}{row}",
                    detail=f"taille {sz} mais {n14v} personne(s) de 14 ans ou plus et {m14} enfant(s) de moins de 14 ans")  # fmt: skip
        elif n14v == 0:
            ctx.add("COMPOSITION_INCOHERENTE", title, f"{letter['nb_14_plus']}{row}",
                    detail="aucune personne de 14 ans ou plus")  # fmt: skip
        if check_quartile and declared in ("1", "2", "3", "4") and res is not None and n14:
            uc = first_adult + other_14 * max(n14 - 1, 0) + child * (m14 or 0)
            per_uc = res / uc
            computed = "1" if per_uc <= q1 else "2" if per_uc <= q2 else "3" if per_uc <= q3 else "4"
            if computed != declared:
                ctx.add("QUARTILE_INCOHERENT", title, f"{letter['quartile']}{row}",
                        declared=declared, resources=fr_number(res), uc=fr_number(round(uc, 2)),
                        per_uc=fr_number(round(per_uc)), computed=computed, year=year)  # fmt: skip
    _npnru_rules(table, sheet, ctx)
    references = column("reference")
    for i in _without_digits(references):
        ref = references[i]
        if ref and looks_like_a_name(ref):
            ctx.add("REFERENCE_NOMINATIVE", title, f"{letter['reference']}{table.rows[i]}", value=ref)


def _npnru_rules(table: Table, sheet: Sheet, ctx: _Context) -> None:
    """The NPNRU rehousing flag against the category (highest first): the flag is the fact the
    outside-QPV objective counts, the category the one priority publics count."""
    if ("attributions", "reloge_npnru") in ctx.absent:  # an earlier template: said by MODELE_ANCIEN
        return
    categories = ctx.convention.priority_categories
    renewal = next((i for i, c in enumerate(categories) if c.urban_renewal), None)
    if renewal is None:
        return
    rank = {c.code: i for i, c in enumerate(categories)}
    labels = {c.code: c.label for c in categories}
    priority = {c.code for c in categories if c.priority}
    expected = categories[renewal].label
    title, letter = table.sheet_title, table.letters["reloge_npnru"]
    header = sheet.column("reloge_npnru").header
    flags = table.columns.get("reloge_npnru") or []
    cats = table.columns.get("categorie") or []
    code = categories[renewal].code
    if "OUI" not in flags and code not in cats:  # the usual return: nothing to look at row by row
        return
    for row, flag, cat in zip(table.rows, flags, cats, strict=True):
        if cat is None:
            continue
        cell, params = f"{letter}{row}", {"column": header, "category": labels.get(cat, cat)}
        if cat == code:
            if flag == "NON":
                ctx.add("RELOGE_NPNRU_CONTRADICTOIRE", title, cell, **params)
            elif flag is None:
                ctx.add("RELOGE_NPNRU_DEDUIT", title, cell, **params)
        elif flag == "OUI":
            if cat not in priority:
                ctx.add("RELOGE_NPNRU_SANS_CATEGORIE", title, cell, expected=expected, **params)
            elif rank.get(cat, -1) > renewal:
                ctx.add("RELOGE_NPNRU_CATEGORIE_BASSE", title, cell, expected=expected, **params)


_NO_DIGIT_LINE = re.compile(r"^[^\d\n]*$", re.MULTILINE)


def _without_digits(values: list[Any]) -> list[int]:
    """Indexes of the values that may lack a digit (a name never has one): found in one pass
    over the joined column; every index when a value holds a line break or is not text."""
    if not values:
        return []
    if not all(v.__class__ is str for v in values if v is not None):
        return list(range(len(values)))
    texts = ["" if v is None else v for v in values]
    joined = "\n".join(texts)
    if joined.count("\n") != max(len(texts) - 1, 0):
        return list(range(len(values)))
    # Each line's index counted from the previous one's (one pass, no table of every line).
    out, line, seen = [], 0, 0
    for m in _NO_DIGIT_LINE.finditer(joined):
        line += joined.count("\n", seen, m.start())
        seen = m.start()
        out.append(line)
    return out


def _commune(communes: dict, insee: str) -> str:
    c = communes.get(insee)
    return f"{c.name} ({insee})" if c else insee


_NOT_A_SPACE = re.compile(r"[^\S ]")  # whitespace other than the plain space


def _untidy(joined: str) -> bool:
    """True when a value of the \\x00-joined column starts or ends with a space, holds two in a
    row, or any whitespace other than the plain space (one character class, then substring
    tests: an alternation of the four tried at every position took 0.4 ms a return)."""
    return bool(
        _NOT_A_SPACE.search(joined)
        or "  " in joined
        or "\x00 " in joined
        or " \x00" in joined
        or joined.startswith(" ")
        or joined.endswith(" ")
    )


def _duplicates(table: Table, key: str, code: str, ctx: _Context) -> None:
    """`code` for each value of column `key` seen on an earlier row, of the sheet or of a copy."""
    values = table.columns.get(key) or []
    # The usual column: texts without odd spaces, all different once case is folded; then no
    # two are equal under the comparison below either, and nothing is looked at one by one.
    filled = [v for v in values if v is not None]
    if all(v.__class__ is str for v in filled):
        joined = "\x00".join(filled)
        if "\x00" not in "".join(filled) and not _untidy(joined):
            if len(set(joined.casefold().split("\x00"))) == len(filled):
                return
    seen: dict[str, int] = {}
    for i, value in enumerate(values):
        if value is None:
            continue
        # Case- and space-insensitive; cheaper than `normalize` on 500,000 references.
        norm = " ".join(str(value).split()).casefold()
        if norm in seen:
            sheet, cell = table.position(i, key)
            other, _ = table.position(seen[norm], key)
            row = table.rows[seen[norm]]
            ctx.add(code, sheet, cell, value=str(value),
                    other_row=row if other == sheet else f"{row} de la feuille « {other} »")  # fmt: skip
        else:
            seen[norm] = i
