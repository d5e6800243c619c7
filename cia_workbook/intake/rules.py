"""Intake rules as column expressions: the rules across the cells of a row, each one polars
expression giving the faulty rows, and the values repeated across rows.

Called by `validate` on each table sheet (and each copy of one) once its cells are typed
(`cells`). Findings are made only for the faulty rows of each rule, with the French messages of
`findings.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from cia_workbook.convention.settings import Convention
from cia_workbook.intake.cells import Context, fr_date, fr_number
from cia_workbook.intake.model import ROW, SHEET, Table
from cia_workbook.schema import sheets as schema
from cia_workbook.schema.columns import Sheet

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
    c = pl.col(key)
    maybe = table.frame.select(pl.arg_where((c.is_not_null() & ~c.str.contains(r"\d")).fill_null(False)))
    maybe = maybe.to_series()
    names = pl.Series(key, [False] * len(table), pl.Boolean)
    if len(maybe):
        found = [bool(text) and looks_like_a_name(text) for text in table.frame[key].gather(maybe).to_list()]
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
             lambda r: {"detail": f"{_n(r['nb_adultes'], 'adulte')} mais {_n(r['nb_14_plus'], 'personne')} de 14 ans ou plus"}),
        Rule("COMPOSITION_INCOHERENTE", "taille_menage", wrong_size,
             lambda r: {"detail": f"taille {r['taille_menage']} mais {_n(r['nb_14_plus'], 'personne')} de 14 ans ou plus "
                                  f"et {_n(r['nb_moins_14'], 'enfant')} de moins de 14 ans"}),
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
    """The rules across the cells of each attribution row, and the ids that look like names."""
    has_zone = "zone_locale" in table.frame.columns
    flagged = ("attributions", "reloge_npnru") not in ctx.absent
    key = (id(ctx.convention), ctx.year, has_zone, flagged)
    hit = _ATTRIBUTION_RULES.get(key)
    if hit is None or hit[0] is not ctx.convention:
        if len(_ATTRIBUTION_RULES) > 64:
            _ATTRIBUTION_RULES.clear()
        rules = _attribution_rules(ctx.convention, ctx.year, has_zone)
        hit = _ATTRIBUTION_RULES[key] = (
            ctx.convention,
            rules + (npnru_rules(ctx.convention) if flagged else []),
        )
    apply([*hit[1], name_rule(table, "reference")], table, ctx)


# The rules of a convention and year, built once (building an expression costs more than
# evaluating it on a return's few hundred rows). Keyed by the convention object (held here, so
# that its id is not reused), the year, whether the sheet has a zone column and the NPNRU flag.
_ATTRIBUTION_RULES: dict[tuple, tuple[Convention, list[Rule]]] = {}


def _attribution_rules(convention: Convention, year: int, has_zone: bool) -> list[Rule]:
    header = {c.key: c.header for c in schema.ATTRIBUTIONS.columns}
    qpvs = {q.code: q for q in convention.geography(year).qpvs}
    zones = {z.code: z for z in convention.local_zones}
    communes = convention.communes_by_insee
    cal, bail, suite = pl.col("date_cal"), pl.col("date_bail"), pl.col("suite")
    commune, qpv = pl.col("commune"), pl.col("qpv")
    # A convention without local zones has no zone column: its rows are in none.
    zone = pl.col("zone_locale") if has_zone else pl.lit(None, pl.String)
    outcomes = {c.code: c.label for c in schema.OUTCOMES.codes}
    in_year = (cal.dt.year() == year).fill_null(False) | (bail.dt.year() == year).fill_null(False)
    pairs = [f"{q.code}|{c}" for q in qpvs.values() for c in q.communes]
    zone_commune = {z.code: z.commune for z in zones.values()}
    # Without local zones the sheet has no zone column (schema._attributions): no expression may name it.
    in_qpv, in_zone = qpv.is_in(list(qpvs)), (zone.is_in(list(zones)) if zones else pl.lit(False))
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
        *composition_rules(),
    ]  # fmt: skip
    if has_zone:  # a convention without local zones has no such column
        rules += [
            Rule("ZONE_HORS_COMMUNE", "zone_locale",
                 commune.is_not_null() & in_zone & (zone.replace_strict(zone_commune, default=None) != commune),
                 lambda r: {"zone": zones[r["zone_locale"]].name, "expected": _commune(communes, zones[r["zone_locale"]].commune),
                            "commune": _commune(communes, r["commune"])}),
            Rule("ZONE_ET_QPV", "zone_locale", in_qpv & in_zone, lambda r: {"qpv": r["qpv"], "zone": zones[r["zone_locale"]].name}),
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
    return rules


def npnru_rules(convention: Convention) -> list[Rule]:
    """The NPNRU rehousing flag against the category (highest first): the flag is the fact the
    outside-QPV objective counts, the category the one priority publics count. (Not for a return
    of an earlier template, without the flag: MODELE_ANCIEN says so.)"""
    categories = convention.priority_categories
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
    c = pl.col(key)
    # Python's whitespace: Unicode's and the four ASCII separators \x1c-\x1f.
    doubled = (
        c.str.replace_all(r"[\s\x1c-\x1f]+", " ").str.strip_chars(" ").str.to_lowercase().is_duplicated()
    )
    doubled = doubled & c.is_not_null()
    ascii_only, any_doubled = table.frame.select(
        c.drop_nulls().str.contains(r"^[\x00-\x7f]*$").all().alias("ascii"), doubled.any().alias("doubled")
    ).row(0)
    if ascii_only and not any_doubled:
        return  # the usual column: every value different
    seen: dict[str, int] = {}
    texts = table.frame[key].to_list()
    rows = (
        range(len(texts))
        if not ascii_only
        else table.frame.select(pl.arg_where(doubled)).to_series().to_list()
    )
    for i in rows:
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


def _n(n: int, word: str) -> str:
    """« 1 adulte », « 2 adultes » (French: 0 and 1 take the singular)."""
    return f"{n} {word}{'s' if abs(n) >= 2 else ''}"


def duplicate_pairs(table: Table, keys: tuple[str, str], code: str, ctx: Context) -> None:
    """`code` for each row whose two coded `keys` (bailleur and contingent of a Contingent sheet
    with several contingents) repeat an earlier row's; a row lacking one of them is told elsewhere."""
    first, second = keys
    frame = table.frame
    if first not in frame.columns or second not in frame.columns:
        return
    seen: dict[tuple[str, str], int] = {}
    for i, pair in enumerate(zip(frame[first].to_list(), frame[second].to_list(), strict=True)):
        if pair[0] is None or pair[1] is None:
            continue
        if pair in seen:
            sheet, cell = table.position(i, first)
            other, _ = table.position(seen[pair], first)
            row = frame[ROW][seen[pair]]
            ctx.add(code, sheet, cell, value=_label(ctx, "bailleur", pair[0]),
                    contingent=_label(ctx, "contingent_declare", pair[1]),
                    other_row=row if other == sheet else f"{row} de la feuille « {other} »")  # fmt: skip
        else:
            seen[pair] = i


def _label(ctx: Context, codelist: str, code: str) -> str:
    codes = ctx.schema.codelists.get(codelist)
    found = codes.by_code.get(code) if codes is not None else None
    return found.label if found is not None else code
