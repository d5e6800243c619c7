"""Intake's cells: the cells of a table sheet typed by the schema as column expressions.

Called by `validate` on each table sheet (and each copy of one) once its header is located, and
on each form field. A column's cells arrive as text (see `reader.RawSheet`); a clean column is
typed whole by polars, and only the cells that are not clean (text in a number column, a date
typed as text, a value off the list) are looked at one by one, each to say what is wrong with it
(the French messages of `findings.py`).
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

from cia_workbook.convention.settings import Convention
from cia_workbook.intake.model import ROW
from cia_workbook.intake.reader import DATE_CELL, NUMBER_CELL
from cia_workbook.partners.excel import MAX_CELL_TEXT
from cia_workbook.partners.excel import count as _count
from cia_workbook.schema import sheets as schema
from cia_workbook.schema.codes import normalize
from cia_workbook.schema.columns import Column, WorkbookSchema
from cia_workbook.schema.findings import Finding, finding

LOCALE = "fr_FR"
SUGGEST_CUTOFF = 0.6  # how close a misspelt value must be to suggest the allowed one
# Dropdown values repeat from file to file: each spelling is normalised once per process.
_normalize = lru_cache(maxsize=16384)(normalize)
# A date cell before this day is a time of day or a duration (calamine counts them from its epoch).
FIRST_DAY = dt.date(1900, 1, 2)
DTYPES = {"integer": pl.Int64, "decimal": pl.Float64, "date": pl.Date}

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


@lru_cache(maxsize=1024)
def filled(name: str) -> pl.Expr:
    """The cells of column `name` that hold a value (not only spaces), built once per column name:
    a return is a few hundred rows, and building an expression costs more than evaluating it."""
    return ~blank(pl.col(name))


@dataclass
class Part:
    """The cells of one table sheet (or copy) to type: `texts` holds a text column per key of
    `columns` and `ROW`; `title` and `letters` place its findings, told to `ctx` (its file's).
    `typed` is set by `convert_parts`."""

    columns: list[Column]
    texts: pl.DataFrame
    title: str
    letters: dict[str, str]
    ctx: Context
    typed: pl.DataFrame | None = None


def convert(
    columns: list[Column], texts: pl.DataFrame, title: str, letters: dict[str, str], ctx: Context
) -> pl.DataFrame:
    """The typed columns of one table's cells (see `convert_parts`)."""
    part = Part(columns, texts, title, letters, ctx)
    convert_parts([part])
    return part.typed  # type: ignore[return-value]


def convert_parts(parts: list[Part]) -> None:
    """The typed columns of each part's cells (`Part.typed`), with a finding for each cell that
    is empty but required, too long, or not what its column holds, told to the part's file.

    Parts of the same columns, template format and schema (the same sheet of several returns)
    are typed together: one pass of polars gives, for every column at once, its values typed
    where its cells are clean, and whether any cell is empty, too long or not clean; only the
    columns where some are look at those one by one, to say what is wrong with each (coded
    columns: each distinct spelling once)."""
    groups: dict[tuple, list[Part]] = {}
    for part in parts:
        key = (id(part.ctx.schema), part.ctx.fmt, tuple(c.key for c in part.columns))
        groups.setdefault(key, []).append(part)
    for group in groups.values():
        _convert_group(group)


def _convert_group(parts: list[Part]) -> None:
    columns, ctx = parts[0].columns, parts[0].ctx  # what the group shares: schema, year, format
    texts = pl.concat([p.texts for p in parts]) if len(parts) > 1 else parts[0].texts
    owner = pl.concat(
        [pl.repeat(i, p.texts.height, dtype=pl.UInt32, eager=True) for i, p in enumerate(parts)]
    )
    typed, summary = _passes(tuple(columns), ctx.fmt)
    frame = texts.select(typed)
    said = frame.select(summary).row(0, named=True)
    rows = texts[ROW]

    def tell(mask: pl.Series, key: str, code: str, **params: Any) -> None:
        for row, i in zip(rows.filter(mask).to_list(), owner.filter(mask).to_list(), strict=True):
            part = parts[i]
            part.ctx.add(code, part.title, f"{part.letters[key]}{row}", **params)

    mapped = {}
    for col in columns:
        key = col.key
        if col.required and said[f"{key}\0vide"]:
            tell(frame[f"{key}\0vide"], key, "CELLULE_OBLIGATOIRE", column=col.header, when="")
        if said["\0long"]:
            long = texts[key].str.len_chars() > MAX_CELL_TEXT
            for row, i, text in zip(rows.filter(long).to_list(), owner.filter(long).to_list(),
                                    texts[key].filter(long).to_list(), strict=True):  # fmt: skip
                part = parts[i]
                part.ctx.add("TEXTE_TROP_LONG", part.title, f"{part.letters[key]}{row}", length=_count(len(text)),
                             limit=_count(MAX_CELL_TEXT), chars=len(text))  # fmt: skip
        if col.kind in ("code", "yesno"):
            mapped[key], wrong = _codes(col, said[f"{key}\0sortes"], ctx)
            if wrong:
                faulty = texts[key].is_in(list(wrong)).fill_null(False)
                for row, i, text in zip(rows.filter(faulty).to_list(), owner.filter(faulty).to_list(),
                                        texts[key].filter(faulty).to_list(), strict=True):  # fmt: skip
                    part = parts[i]
                    part.ctx.add(wrong[text][0], part.title, f"{part.letters[key]}{row}", **wrong[text][1])
        elif said[f"{key}\0autre"]:  # each cell not clean told what is wrong with it, or read with a warning
            odd = frame[f"{key}\0autre"].arg_true()
            check = {"integer": _number_cell, "decimal": _number_cell, "date": _date_cell}.get(col.kind)
            values = []
            for i, text in zip(odd.to_list(), texts[key].gather(odd).to_list(), strict=True):
                value, problem = check(col, text, ctx.fmt) if check else _text_cell(text, ctx.fmt)
                if problem is not None:
                    part = parts[owner[i]]
                    part.ctx.add(problem[0], part.title, f"{part.letters[key]}{rows[i]}", **problem[1])
                values.append(value)
            frame = frame.with_columns(
                frame[key].scatter(odd, pl.Series(values, dtype=frame[key].dtype, strict=False))
            )
    frame = frame.with_columns(
        pl.col(k).replace_strict(m, default=None, return_dtype=pl.String) for k, m in mapped.items()
    ).select(c.key for c in columns)  # fmt: skip
    offset = 0
    for part in parts:
        part.typed = frame.slice(offset, part.texts.height)
        offset += part.texts.height


@lru_cache(maxsize=64)
def _passes(columns: tuple[Column, ...], fmt: str) -> tuple[list[pl.Expr], list[pl.Expr]]:
    """The expressions of a table's columns, built once per sheet: each column typed where its
    cells are clean (« key »), which of its cells are empty (« key\\0vide ») or not clean
    (« key\\0autre »); then, over those, whether any is, the distinct spellings of each coded
    column and whether any cell is too long."""
    coded = [c for c in columns if c.kind in ("code", "yesno")]
    typed = [pl.col(c.key) for c in coded]
    for c in columns:
        empty = blank(pl.col(c.key))
        typed.append(empty.alias(f"{c.key}\0vide"))
        if c.kind not in ("code", "yesno"):
            value, good = _clean(c, fmt)
            typed += [value.alias(c.key), (~empty & ~good).alias(f"{c.key}\0autre")]
    summary = [pl.col(f"{c.key}\0vide").any() for c in columns]
    summary += [pl.col(f"{c.key}\0autre").any() for c in columns if c.kind not in ("code", "yesno")]
    summary += [pl.col(c.key).drop_nulls().unique().implode().alias(f"{c.key}\0sortes") for c in coded]
    long = [pl.col(c.key).str.len_chars() > MAX_CELL_TEXT for c in columns]
    typed.append(pl.any_horizontal(long).fill_null(False).alias("\0long"))
    summary.append(pl.col("\0long").any())
    return typed, summary


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
        value, problem = _text_cell(text, ctx.fmt)
    if problem is not None:
        ctx.add(problem[0], title, f"B{row}", **problem[1])
    return value


# Characters XML 1.0 forbids (a copy-paste from another program leaves some): a Word document
# cannot hold them, and they are invisible in a spreadsheet.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text_cell(text: str, fmt: str) -> tuple[str, Problem]:
    """A text cell as read: as the partner sees it, without surrounding spaces or control
    characters (the partner is told when there were any)."""
    shown, removed = CONTROL_CHARACTERS.subn("", _shown(text, fmt))
    return shown.strip(), ("CARACTERE_INVISIBLE", {"count": _count(removed)}) if removed else None


def _clean(col: Column, fmt: str) -> tuple[pl.Expr, pl.Expr]:
    """(the column typed where its cells are clean, null elsewhere; which cells are clean)."""
    c = pl.col(col.key)
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
        good = ~c.str.contains(DATE_CELL[fmt]) & ~c.str.contains(CONTROL_CHARACTERS.pattern)
    good = good.fill_null(False)
    typed = pl.when(good).then(numbers)
    return (typed.cast(DTYPES[col.kind]) if col.kind in DTYPES else typed), good


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


def _codes(col: Column, distinct: list[str], ctx: Context) -> tuple[dict[str, str], dict[str, Problem]]:
    """A coded column's spellings → codes, each distinct spelling looked up once (the cells are
    then mapped at once), and the spellings that are wrong → the finding of each cell."""
    lookup = _code_lookup(col, ctx)
    answers = {text: lookup(_code_text(text, ctx.fmt)) for text in distinct if text.strip()}
    codes = {text: code for text, (code, _) in answers.items() if code is not None}
    wrong = {text: problem for text, (_, problem) in answers.items() if problem is not None}
    return codes, wrong


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
    former = _former_spellings(codelist)

    def look_up(text: str) -> tuple[Any, Problem]:
        if text in cache:
            return cache[text]
        spelled = text
        code = table.get(_normalize(spelled))
        if code is not None and _normalize(spelled) in former:  # read, and said how
            label = codelist.by_code[code].label
            result: tuple[Any, Problem] = (
                code,
                ("VALEUR_ANCIENNE", {"value": spelled, "column": col.header, "read_as": label}),
            )
        elif code is not None:
            result = (code, None)
        elif is_qpv and (old := _other_geography_qpv(ctx, spelled)) is not None:
            result = (None, old)
        else:
            result = (None, ("VALEUR_HORS_LISTE",
                             {"value": spelled, "column": col.header, "hint": _suggest(codelist, spelled)}))  # fmt: skip
        cache[text] = result
        return result

    return look_up


@lru_cache(maxsize=64)
def _former_spellings(codelist: schema.CodeList) -> frozenset[str]:
    """The spellings a code list still reads only for older templates (`Code.aliases`, e.g. a
    réservataire's single contingent before it declared several), that no current code or label has."""
    current = {_normalize(x) for c in codelist.codes for x in (c.code, c.label, c.display)}
    return frozenset(_normalize(a) for c in codelist.codes for a in c.aliases) - current


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
