"""Intake rules as column expressions: the cells of a table sheet typed by the schema, and the rules
across the cells of a row, each one polars expression giving the faulty rows.

Called by `validate` on each table sheet (and each copy of one) once its header is located. A
column's cells arrive as text (see `reader.RawSheet`); a clean column is typed whole by polars,
and only the cells that are not clean (text in a number column, a date typed as text, a value
off the list) are looked at one by one, each to say what is wrong with it. Findings are made only
for the faulty rows of each rule, with the French messages of `findings.py`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import polars as pl
from babel.dates import format_date
from babel.numbers import format_decimal, format_scientific

from cia_workbook import schema
from cia_workbook.convention import Convention
from cia_workbook.excel import MAX_CELL_TEXT
from cia_workbook.excel import count as _count
from cia_workbook.findings import Finding, finding
from cia_workbook.model import ROW, SHEET, Table
from cia_workbook.reader import DATE_CELL, NUMBER_CELL
from cia_workbook.schema import Column, Sheet, WorkbookSchema, normalize

LOCALE = "fr_FR"
SUGGEST_CUTOFF = 0.6  # how close a misspelt value must be to suggest the allowed one
# Dropdown values repeat from file to file: each spelling is normalised once per process.
_normalize = lru_cache(maxsize=16384)(normalize)
# A date cell before this day is a time of day or a duration (calamine counts them from its epoch).
FIRST_DAY = dt.date(1900, 1, 2)
_DTYPES = {"integer": pl.Int64, "decimal": pl.Float64, "date": pl.Date}

Problem = tuple[str, dict[str, Any]] | None


class Context:
    """What the rules of one file need, and the findings they give."""

    def __init__(
        self,
        convention: Convention,
        year: int,
        file: str,
        wschema: WorkbookSchema,
        version: str = schema.SCHEMA_VERSION,
        fmt: str = "xlsx",
    ):
        self.convention = convention
        self.year = year
        self.file = file
        self.schema = wschema
        self.version = version  # the schema version of the template the file was made from
        self.fmt = fmt  # "xlsx" | "ods": how a date cell reads as text
        self.findings: list[Finding] = []
        # (sheet key, column key) of the columns absent from the file (read as empty).
        self.absent: set[tuple[str, str]] = set()

    def add(self, code: str, sheet: str, cell: str, **params: Any) -> None:
        self.findings.append(finding(code, self.file, sheet, cell, **params))


# -- French forms ------------------------------------------------------------------------------


def fr_date(value: dt.date) -> str:
    return format_date(value, format="short", locale=LOCALE)


def fr_number(value: float) -> str:
    try:
        return format_decimal(value, locale=LOCALE)
    except decimal.InvalidOperation:
        # Babel's decimal context cannot quantize huge pasted numbers (1e25…): say it plainly.
        return format_scientific(value, locale=LOCALE)


_SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007]")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d+)?|[.,]\d+)$")
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]00:00(?::00)?)?$")


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


def _shown(text: str, fmt: str) -> str:
    """A cell's text as the partner sees it: a date cell as a French date, a boolean as True/False."""
    if re.match(DATE_CELL[fmt], text):
        return fr_date(dt.datetime.fromisoformat(text).date())
    if text in ("true", "false"):
        return text.capitalize()
    return text


# -- Cells, one column at a time -----------------------------------------------------------------


def blank(c: pl.Expr) -> pl.Expr:
    """Empty cells and cells holding only spaces."""
    return (c.is_null() | (c.str.strip_chars() == "")).fill_null(True)


def convert(
    columns: list[Column], texts: pl.DataFrame, title: str, letters: dict[str, str], ctx: Context
) -> pl.DataFrame:
    """The typed columns of a table's cells (`texts`: a text column per key, and `ROW`), with a
    finding for each cell that is empty but required, too long, or not what its column holds.

    One pass of polars gives, for every column at once, its values typed where its cells are
    clean, and which cells are empty, too long or not clean; only the latter are looked at one
    by one, to say what is wrong with each (coded columns: each distinct spelling once)."""
    coded = [c for c in columns if c.kind in ("code", "yesno")]
    flags = texts.select(
        *(e for c in columns if c.kind not in ("code", "yesno") for e in _clean(c, ctx.fmt)),
        *(blank(pl.col(c.key)).alias(f"{c.key}\0vide") for c in columns),
        *(pl.col(c.key).drop_nulls().unique().implode().alias(f"{c.key}\0sortes") for c in coded),
        (
            pl.any_horizontal(pl.col(c.key).str.len_chars() > MAX_CELL_TEXT for c in columns)
            if columns
            else pl.lit(False)
        ).alias("\0long"),
    ).with_columns(pl.col(f"{c.key}\0sortes").first() for c in coded)
    rows = texts[ROW]
    out = []
    for col in columns:
        letter, empty = letters[col.key], flags[f"{col.key}\0vide"]
        if col.required and empty.any():
            for row in rows.filter(empty).to_list():
                ctx.add("CELLULE_OBLIGATOIRE", title, f"{letter}{row}", column=col.header, when="")
        if flags["\0long"].any():
            long = texts[col.key].str.len_chars() > MAX_CELL_TEXT
            for row, text in zip(
                rows.filter(long).to_list(), texts[col.key].filter(long).to_list(), strict=True
            ):
                ctx.add("TEXTE_TROP_LONG", title, f"{letter}{row}", length=_count(len(text)),
                        limit=_count(MAX_CELL_TEXT), chars=len(text))  # fmt: skip
        if col.kind in ("code", "yesno"):
            out.append(_codes(col, texts[col.key], flags[f"{col.key}\0sortes"][0], rows, title, letter, ctx))
            continue
        values, odd = flags[col.key], (~empty & ~flags[f"{col.key}\0propre"]).arg_true()
        if len(odd):  # each cell not clean told what is wrong with it, or read with a warning
            check = (
                _number_cell
                if col.kind in ("integer", "decimal")
                else _date_cell
                if col.kind == "date"
                else None
            )
            typed = []
            for i, text in zip(odd.to_list(), texts[col.key].gather(odd).to_list(), strict=True):
                value, problem = check(col, text, ctx.fmt) if check else (_shown(text, ctx.fmt).strip(), None)
                if problem is not None:
                    ctx.add(problem[0], title, f"{letter}{rows[i]}", **problem[1])
                typed.append(value)
            values = values.scatter(odd, pl.Series(typed, dtype=values.dtype, strict=False))
        out.append(values)
    return pl.DataFrame(out, height=texts.height)


def cell_value(col: Column, text: str, row: int, title: str, ctx: Context) -> Any:
    """The typed answer of one form field (its text in column B of `row`), as a table's cell."""
    if not text.strip():
        if col.required:
            ctx.add("CELLULE_OBLIGATOIRE", title, f"B{row}", column=col.header, when="")
        return None
    if len(text) > MAX_CELL_TEXT:
        ctx.add("TEXTE_TROP_LONG", title, f"B{row}", length=_count(len(text)), limit=_count(MAX_CELL_TEXT),
                chars=len(text))  # fmt: skip
    if col.kind in ("code", "yesno"):
        value, problem = _code_lookup(col, ctx)(_code_text(text, ctx.fmt))
    elif col.kind in ("integer", "decimal"):
        value, problem = _number_cell(col, text, ctx.fmt)
    elif col.kind == "date":
        if (
            re.match(DATE_CELL[ctx.fmt], text)
            and (day := dt.datetime.fromisoformat(text).date()) >= FIRST_DAY
        ):
            value, problem = day, None
        else:
            value, problem = _date_cell(col, text, ctx.fmt)
    else:
        value, problem = _shown(text, ctx.fmt).strip(), None
    if problem is not None:
        ctx.add(problem[0], title, f"B{row}", **problem[1])
    return value


def _clean(col: Column, fmt: str) -> list[pl.Expr]:
    """The column typed where its cells are clean, null elsewhere (named after its key), and
    which cells are clean (« key\\0propre »)."""
    c, key = pl.col(col.key), col.key
    if col.kind in ("integer", "decimal"):
        numbers = c.cast(pl.Float64, strict=False)
        good = c.str.contains(NUMBER_CELL)
        if col.minimum is not None:
            good = good & (numbers >= col.minimum)
        if col.maximum is not None:
            good = good & (numbers <= col.maximum)
        if col.kind == "integer":
            good = good & (numbers == numbers.floor())
    elif col.kind == "date":
        numbers = c.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
        good = c.str.contains(DATE_CELL[fmt]) & (numbers >= FIRST_DAY)
    else:  # text: taken as typed, without its surrounding spaces; a date cell as a French date
        numbers = pl.when(~blank(c)).then(c.str.strip_chars())
        good = ~c.str.contains(DATE_CELL[fmt])
    good = good.fill_null(False)
    typed = pl.when(good).then(numbers)
    return [
        (typed.cast(_DTYPES[col.kind]) if col.kind in _DTYPES else typed).alias(key),
        good.alias(f"{key}\0propre"),
    ]


def _number_cell(col: Column, text: str, fmt: str) -> tuple[Any, Problem]:
    integer = col.kind == "integer"

    def bad(value: str) -> Problem:
        return "NOMBRE_INVALIDE", {"value": value, "what": " entier" if integer else "", "column": col.header,
                                   "example": col.example}  # fmt: skip

    def bounded(number: float, warning: Problem) -> tuple[Any, Problem]:
        if integer and not float(number).is_integer():
            return None, bad(repr(number))
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

    if re.match(DATE_CELL[fmt], text) or text in ("true", "false"):
        return None, bad(_shown(text, fmt))
    if re.match(NUMBER_CELL, text):
        return bounded(float(text), None)
    number = parse_number(text)
    if number is None:
        return None, bad(text)
    shown = fr_number(int(number) if number.is_integer() else number)
    return bounded(number, ("NOMBRE_TEXTE", {"value": text, "column": col.header, "parsed": shown}))


def _date_cell(col: Column, text: str, fmt: str) -> tuple[Any, Problem]:
    def bad(value: str) -> Problem:
        return "DATE_INVALIDE", {"value": value, "column": col.header}

    if re.match(DATE_CELL[fmt], text) or text in ("true", "false"):
        return None, bad(text.capitalize() if text in ("true", "false") else text)  # a time, a duration
    if re.match(NUMBER_CELL, text):
        # A date pasted without its format: an Excel serial of a plausible year.
        number = float(text)
        shown = str(int(number)) if number.is_integer() else text
        if 36526 <= number <= 73051:
            day = dt.date(1899, 12, 30) + dt.timedelta(days=math.floor(number))
            parsed = format_date(day, format="long", locale=LOCALE)
            return day, ("DATE_NOMBRE", {"value": shown, "column": col.header, "parsed": parsed})
        return None, bad(shown)
    day = parse_date(text)
    if day is None:
        return None, bad(text)
    parsed = format_date(day, format="long", locale=LOCALE)
    return day, ("DATE_TEXTE", {"value": text, "column": col.header, "parsed": parsed})


def _code_text(text: str, fmt: str) -> str:
    """What a cell of a coded column says: a date cell as a French date, a boolean as Oui/Non."""
    if text in ("true", "false"):
        return "Oui" if text == "true" else "Non"
    return _shown(text, fmt).strip()


def _codes(
    col: Column, texts: pl.Series, distinct: pl.Series, rows: pl.Series, title: str, letter: str, ctx: Context
) -> pl.Series:
    """A coded column: each distinct spelling looked up once, then every cell mapped at once."""
    lookup = _code_lookup(col, ctx)
    answers = {text: lookup(_code_text(text, ctx.fmt)) for text in distinct.to_list() if text.strip()}
    codes = {text: code for text, (code, _) in answers.items() if code is not None}
    wrong = {text: problem for text, (_, problem) in answers.items() if problem is not None}
    if wrong:
        faulty = texts.is_in(list(wrong)).fill_null(False)
        for row, text in zip(rows.filter(faulty).to_list(), texts.filter(faulty).to_list(), strict=True):
            ctx.add(wrong[text][0], title, f"{letter}{row}", **wrong[text][1])
    return texts.replace_strict(codes, default=None, return_dtype=pl.String)


# Answers of the code look-ups, kept for the next file of the same campaign: the same few hundred
# spellings come back in every return. Keyed by the schema, convention and year objects (held
# here, so that their ids are not reused) and the column.
_CODE_ANSWERS: dict[tuple[int, int, int, str, str], tuple[Any, dict[str, tuple[Any, Problem]]]] = {}


def _code_lookup(col: Column, ctx: Context) -> Callable[[str], tuple[Any, Problem]]:
    codelist = ctx.schema.codelists[col.codelist or "oui_non"]
    table = _spellings(codelist)
    key = (id(ctx.schema), id(ctx.convention), ctx.year, col.key, col.header)
    if key not in _CODE_ANSWERS:
        if len(_CODE_ANSWERS) > 256:
            _CODE_ANSWERS.clear()
        _CODE_ANSWERS[key] = ((ctx.schema, ctx.convention), {})
    cache = _CODE_ANSWERS[key][1]
    is_qpv = codelist.name == "qpv"

    def look_up(text: str) -> tuple[Any, Problem]:
        if text in cache:
            return cache[text]
        spelled = text
        code = table.get(_normalize(spelled))
        if code is not None:
            result: tuple[Any, Problem] = (code, None)
        elif is_qpv and (old := _other_geography_qpv(ctx, spelled)) is not None:
            result = (None, old)
        else:
            result = (None, ("VALEUR_HORS_LISTE",
                             {"value": spelled, "column": col.header, "hint": _suggest(codelist, spelled)}))  # fmt: skip
        cache[text] = result
        return result

    return look_up


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


def _other_geography_qpv(ctx: Context, text: str) -> Problem:
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


# -- Rules across the cells of a row --------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A rule of the catalogue over a table: the rows where `when` holds are faulty; the finding
    `code` is put on the cell of column `cell` (or of the column `cell` names for that row), with
    the message parameters `params` gives for the row's values."""

    code: str
    cell: str | Callable[[dict[str, Any]], str]
    when: pl.Expr
    params: Callable[[dict[str, Any]], dict[str, Any]] = lambda row: {}


def apply(rules: list[Rule], table: Table, ctx: Context) -> None:
    """Every rule evaluated over the table at once; a finding per faulty row."""
    if not rules or not len(table):
        return
    flags = table.frame.select(r.when.fill_null(False).alias(str(i)) for i, r in enumerate(rules))
    for i, rule in enumerate(rules):
        hits = flags[str(i)]
        if not hits.any():
            continue
        for row in table.frame.filter(hits).iter_rows(named=True):
            key = rule.cell if isinstance(rule.cell, str) else rule.cell(row)
            place = table.placements[row[SHEET]]
            ctx.add(rule.code, place.sheet_title, f"{place.letters[key]}{row[ROW]}", **rule.params(row))


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


_CIVILITY = re.compile(r"^(m|mr|mme|mlle|melle|monsieur|madame|mademoiselle)\.?\s+\S", re.IGNORECASE)
_UPPER_FIRST = re.compile(r"^[A-ZÀ-Ý][A-ZÀ-Ý'\-]+\s+[A-ZÀ-Ý][a-zà-ÿ'\-]+$")
_FIRST_UPPER = re.compile(r"^[A-ZÀ-Ý][a-zà-ÿ'\-]+\s+[A-ZÀ-Ý][A-ZÀ-Ý'\-]+$")


def looks_like_a_name(reference: str) -> bool:
    """Conservative: a civility, or « DUPONT Jean » / « Jean DUPONT », and never any digit."""
    text = reference.strip()
    if any(ch.isdigit() for ch in text):
        return False
    return bool(_CIVILITY.match(text) or _UPPER_FIRST.match(text) or _FIRST_UPPER.match(text))


def name_rule(table: Table, key: str) -> Rule:
    """REFERENCE_NOMINATIVE: an id that looks like a person's name (only ids without a digit,
    which no name has, are looked at one by one)."""
    ids = table.frame[key]
    maybe = (ids.is_not_null() & ~ids.str.contains(r"\d")).fill_null(False).arg_true()
    names = pl.Series(key, [False] * len(ids), pl.Boolean)
    if len(maybe):
        found = [bool(text) and looks_like_a_name(text) for text in ids.gather(maybe).to_list()]
        names = names.scatter(maybe, pl.Series(found, dtype=pl.Boolean))
    return Rule("REFERENCE_NOMINATIVE", key, pl.lit(names), lambda r: {"value": r[key]})


def composition_rules() -> list[Rule]:
    """COMPOSITION_INCOHERENTE, the first of three checks that fails."""
    adults, n14, under, size = (
        pl.col("nb_adultes"),
        pl.col("nb_14_plus"),
        pl.col("nb_moins_14"),
        pl.col("taille_menage"),
    )
    more_adults = (adults > n14).fill_null(False)
    wrong_size = ~more_adults & (size != n14 + under).fill_null(False)
    return [
        Rule("COMPOSITION_INCOHERENTE", "nb_adultes", more_adults,
             lambda r: {"detail": f"{r['nb_adultes']} adulte(s) mais {r['nb_14_plus']} personne(s) de 14 ans ou plus"}),
        Rule("COMPOSITION_INCOHERENTE", "taille_menage", wrong_size,
             lambda r: {"detail": f"taille {r['taille_menage']} mais {r['nb_14_plus']} personne(s) de 14 ans ou plus "
                                  f"et {r['nb_moins_14']} enfant(s) de moins de 14 ans"}),
    ]  # fmt: skip


def required_if(table: Table, sheet: Sheet, ctx: Context) -> None:
    """Cells the schema requires only when another column holds given codes (`Column.required_if`);
    a cell already told wrong is not told empty as well."""
    failed = {f.cell for f in ctx.findings if f.sheet == table.sheet_title}
    rules = [
        Rule("CELLULE_OBLIGATOIRE", c.key, pl.col(c.key).is_null() & pl.col(c.required_if[0]).is_in(c.required_if[1]),
             lambda r, c=c: {"column": c.header, "when": " " + c.required_when})
        for c in sheet.columns
        if c.required_if and c.key in table.letters
    ]  # fmt: skip
    before = len(ctx.findings)
    apply(rules, table, ctx)
    ctx.findings[before:] = [f for f in ctx.findings[before:] if f.cell not in failed]


def attribution_rules(table: Table, ctx: Context) -> None:
    year, convention = ctx.year, ctx.convention
    header = {c.key: c.header for c in schema.ATTRIBUTIONS.columns}
    qpvs = {q.code: q for q in convention.geography(year).qpvs}
    zones = {z.code: z for z in convention.local_zones}
    communes = convention.communes_by_insee
    cal, bail, suite = pl.col("date_cal"), pl.col("date_bail"), pl.col("suite")
    commune, qpv, zone = pl.col("commune"), pl.col("qpv"), pl.col("zone_locale")
    outcomes = {c.code: c.label for c in schema.OUTCOMES.codes}
    in_year = (cal.dt.year() == year).fill_null(False) | (bail.dt.year() == year).fill_null(False)
    pairs = [f"{q.code}|{c}" for q in qpvs.values() for c in q.communes]
    zone_commune = {z.code: z.commune for z in zones.values()}
    in_qpv, in_zone = qpv.is_in(list(qpvs)), zone.is_in(list(zones))
    rules = [
        Rule("BAIL_SANS_SUITE", "date_bail", bail.is_not_null() & suite.is_in(["REFUS", "AUTRE"]),
             lambda r: {"suite": outcomes[r["suite"]]}),
        Rule("BAIL_AVANT_CAL", "date_bail", bail < cal, lambda r: {"bail": fr_date(r["date_bail"]), "cal": fr_date(r["date_cal"])}),
        Rule("DATE_HORS_ANNEE", lambda r: "date_cal" if r["date_cal"] is not None else "date_bail",
             (cal.is_not_null() | bail.is_not_null()) & ~in_year,
             lambda r: {"year": year, "column": header["date_cal" if r["date_cal"] is not None else "date_bail"],
                        "value": fr_date(r["date_cal"] if r["date_cal"] is not None else r["date_bail"])}),
        Rule("QPV_HORS_COMMUNE", "qpv", commune.is_not_null() & in_qpv & ~pl.concat_str(qpv, pl.lit("|"), commune).is_in(pairs),
             lambda r: {"qpv": r["qpv"], "commune": _commune(communes, r["commune"])}),
        Rule("ZONE_HORS_COMMUNE", "zone_locale",
             commune.is_not_null() & in_zone & (zone.replace_strict(zone_commune, default=None) != commune),
             lambda r: {"zone": zones[r["zone_locale"]].name, "expected": _commune(communes, zones[r["zone_locale"]].commune),
                        "commune": _commune(communes, r["commune"])}),
        Rule("ZONE_ET_QPV", "zone_locale", in_qpv & in_zone, lambda r: {"qpv": r["qpv"], "zone": zones[r["zone_locale"]].name}),
        *composition_rules(),
    ]  # fmt: skip
    adults, n14, under, size = (
        pl.col("nb_adultes"),
        pl.col("nb_14_plus"),
        pl.col("nb_moins_14"),
        pl.col("taille_menage"),
    )
    nobody = ~(adults > n14).fill_null(False) & ~(size != n14 + under).fill_null(False) & (n14 == 0)
    rules.append(
        Rule(
            "COMPOSITION_INCOHERENTE",
            "nb_14_plus",
            nobody,
            lambda r: {"detail": "aucune personne de 14 ans ou plus"},
        )
    )
    t = convention.thresholds(year)
    if t is not None and t.complete:
        scale = convention.uc_scale
        persons = pl.coalesce(n14, adults)
        uc = (
            scale.first_adult
            + scale.other_14_plus * (persons - 1).clip(lower_bound=0)
            + scale.child_under_14 * under.fill_null(0)
        )
        per_uc = pl.col("ressources") / uc
        computed = (
            pl.when(per_uc <= t.q1)
            .then(pl.lit("1"))
            .when(per_uc <= t.q2)
            .then(pl.lit("2"))
            .when(per_uc <= t.q3)
            .then(pl.lit("3"))
            .otherwise(pl.lit("4"))
        )
        declared = pl.col("quartile")

        def quartile(r: dict[str, Any]) -> dict[str, Any]:
            n = r["nb_14_plus"] if r["nb_14_plus"] is not None else r["nb_adultes"]
            uc_ = household_uc(convention, n, r["nb_moins_14"] or 0)
            per = r["ressources"] / uc_
            return {
                "declared": r["quartile"],
                "resources": fr_number(r["ressources"]),
                "uc": fr_number(round(uc_, 2)),
                "per_uc": fr_number(round(per)),
                "computed": quartile_of(convention, year, per),
                "year": year,
            }

        rules.append(Rule("QUARTILE_INCOHERENT", "quartile",
                          declared.is_in(["1", "2", "3", "4"]) & pl.col("ressources").is_not_null()
                          & (persons.fill_null(0) != 0) & (computed != declared), quartile))  # fmt: skip
    rules += npnru_rules(table, ctx)
    rules.append(name_rule(table, "reference"))
    apply(rules, table, ctx)


def npnru_rules(table: Table, ctx: Context) -> list[Rule]:
    """The NPNRU rehousing flag against the category (highest first): the flag is the fact the
    outside-QPV objective counts, the category the one priority publics count."""
    if ("attributions", "reloge_npnru") in ctx.absent:  # an earlier template: said by MODELE_ANCIEN
        return []
    categories = ctx.convention.priority_categories
    renewal = next((i for i, c in enumerate(categories) if c.urban_renewal), None)
    if renewal is None:
        return []
    labels = {c.code: c.label for c in categories}
    code, expected = categories[renewal].code, categories[renewal].label
    header = schema.ATTRIBUTIONS.column("reloge_npnru").header
    lower = [c.code for i, c in enumerate(categories) if c.priority and i > renewal]
    priority = [c.code for c in categories if c.priority]
    flag, cat = pl.col("reloge_npnru"), pl.col("categorie")

    def params(r: dict[str, Any], more: bool = False) -> dict[str, Any]:
        out = {"column": header, "category": labels.get(r["categorie"], r["categorie"])}
        return {**out, "expected": expected} if more else out

    return [
        Rule("RELOGE_NPNRU_CONTRADICTOIRE", "reloge_npnru", (cat == code) & (flag == "NON"), params),
        Rule("RELOGE_NPNRU_DEDUIT", "reloge_npnru", (cat == code) & flag.is_null(), params),
        Rule("RELOGE_NPNRU_SANS_CATEGORIE", "reloge_npnru", cat.is_not_null() & (cat != code) & (flag == "OUI") & ~cat.is_in(priority),
             lambda r: params(r, True)),
        Rule("RELOGE_NPNRU_CATEGORIE_BASSE", "reloge_npnru", (cat != code) & (flag == "OUI") & cat.is_in(lower),
             lambda r: params(r, True)),
    ]  # fmt: skip


def _commune(communes: dict, insee: str) -> str:
    c = communes.get(insee)
    return f"{c.name} ({insee})" if c else insee


def duplicates(table: Table, key: str, code: str, ctx: Context) -> None:
    """`code` for each value of column `key` seen on an earlier row, of the sheet or of a copy
    (case- and space-insensitive)."""
    values = table.frame[key]
    # Python's whitespace: Unicode's and the four ASCII separators \x1c-\x1f.
    norm = values.str.replace_all(r"[\s\x1c-\x1f]+", " ").str.strip_chars(" ").str.to_lowercase()
    ascii_only = values.drop_nulls().str.contains(r"^[\x00-\x7f]*$").all()
    if ascii_only and not norm.drop_nulls().is_duplicated().any():
        return  # the usual column: every value different
    seen: dict[str, int] = {}
    texts = values.to_list()
    for i in range(len(texts)) if not ascii_only else norm.is_duplicated().arg_true().to_list():
        value = texts[i]
        if value is None:
            continue
        folded = " ".join(str(value).split()).casefold()
        if folded in seen:
            sheet, cell = table.position(i, key)
            other, _ = table.position(seen[folded], key)
            row = table.frame[ROW][seen[folded]]
            ctx.add(code, sheet, cell, value=str(value),
                    other_row=row if other == sheet else f"{row} de la feuille « {other} »")  # fmt: skip
        else:
            seen[folded] = i
