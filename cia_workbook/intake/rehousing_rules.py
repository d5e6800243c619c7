"""Intake rules of the NPNRU rehousing sheet: one typed `Relogements NPNRU` table in, findings out.

Called by `validate.validate_workbook` once the sheet's cells are converted (types, lists and
bounds are already judged there); this module checks what spans several cells of a household
row: status against the filled fields, dates in order, plausible amounts, origin against the
operation, a pseudonymous id, each one column expression (`rules.Rule`). Messages come from the
one catalogue (`findings.py`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl

from cia_workbook.convention.settings import Convention
from cia_workbook.intake.cells import Context, fr_date, fr_number
from cia_workbook.intake.model import ReturnFile, Table
from cia_workbook.intake.rules import Rule, apply, composition_rules, name_rule
from cia_workbook.schema.codes import PRIVATE_STOCK, REHOUSING_STATUSES
from cia_workbook.schema.columns import Sheet
from cia_workbook.schema.findings import Finding, finding

# A household not yet rehoused has no dwelling to describe (DOMAIN.md, rehousing follow-up).
_NOT_YET = ("A_RELOGER", "PROPOSITION")
_DESTINATION = (
    "date_relogement", "destination_parc", "destination_commune", "destination_qpv",
    "destination_meme_quartier", "destination_recent", "destination_typologie", "destination_surface",
    "destination_loyer", "destination_charges", "destination_apl",
)  # fmt: skip


def rest_to_pay(rent: float | None, charges: float | None, benefit: float | None) -> float | None:
    """Monthly « reste à charge »: rent + charges − housing benefit; None when rent or charges are unknown.

    A blank housing benefit is taken as none: partners leave it empty more often than they type 0.
    """
    if rent is None or charges is None:
        return None
    return rent + charges - (benefit or 0)


def rehousing_rules(table: Table, sheet: Sheet, ctx: Context) -> None:
    """Judge every household row of one return's rehousing table for the campaign `ctx.year`."""
    convention, year = ctx.convention, ctx.year
    headers = {c.key: c.header for c in sheet.columns}
    labels = REHOUSING_STATUSES.by_code
    operations = {o.code: o for o in convention.rehousing.operations} if convention.rehousing else {}
    partners = convention.partners_by_id
    with_qpv = sorted({c for q in convention.geography(year).qpvs for c in q.communes})
    communes = convention.communes_by_insee
    end = dt.date(year, 12, 31)
    c = pl.col
    status = c("statut")
    # Cells required by the status or the blocking (Column.required_if) are checked by the
    # validator for every sheet; here only what the schema cannot say.
    first_filled = pl.coalesce(*(pl.when(c(k).is_not_null()).then(pl.lit(k)) for k in _DESTINATION)).alias(
        "_rempli"
    )
    found = [
        Rule("RELOGEMENT_STATUT_INCOHERENT", lambda r: _first_destination(r), status.is_in(_NOT_YET) & first_filled.is_not_null(),
             lambda r: {"status": labels[r["statut"]].label, "column": headers[_first_destination(r)],
                        "why": "un ménage pas encore relogé n'a ni logement de destination ni date de relogement."}),
        Rule("RELOGEMENT_DATES", "date_relogement", c("date_relogement") < c("date_entree"),
             lambda r: {"rehoused": fr_date(r["date_relogement"]), "entered": fr_date(r["date_entree"])}),
        *(Rule("RELOGEMENT_DATE_FUTURE", key, c(key) > end,
               lambda r, key=key: {"column": headers[key], "value": fr_date(r[key]), "year": year})
          for key in ("date_entree", "date_relogement")),
        Rule("RELOGEMENT_REFUS", "refus", c("refus") > c("propositions"),
             lambda r: {"refusals": r["refus"], "proposals": r["propositions"]}),
    ]  # fmt: skip
    for side, where in (("origine", "Logement d'origine"), ("destination", "Logement de relogement")):
        rent, charges, apl = c(f"{side}_loyer"), c(f"{side}_charges"), c(f"{side}_apl")
        found += [
            Rule("RELOGEMENT_AIDE_EXCESSIVE", f"{side}_apl", apl > rent + charges.fill_null(0),
                 lambda r, side=side, where=where: {"where": where, "apl": _euros(fr_number, r[f"{side}_apl"]),
                                                    "cost": _euros(fr_number, r[f"{side}_loyer"] + (r[f"{side}_charges"] or 0))}),
            Rule("RELOGEMENT_QPV_COMMUNE", f"{side}_qpv",
                 (c(f"{side}_qpv") == "OUI") & c(f"{side}_commune").is_not_null() & ~c(f"{side}_commune").is_in(with_qpv),
                 lambda r, side=side, where=where: {"where": where, "commune": _commune(communes, r[f"{side}_commune"]),
                                                    "year": year}),
        ]  # fmt: skip
    found.append(
        Rule("RELOGEMENT_BLOQUE_RELOGE", "bloque", (c("bloque") == "OUI") & (status == "RELOGE_DEFINITIF"))
    )
    expected = {o.code: PRIVATE_STOCK if o.sector == "prive" else o.bailleur for o in operations.values()}
    if expected:

        def origin(r: dict[str, Any]) -> dict[str, Any]:
            op, found_ = operations[r["operation"]], r["origine_parc"]
            wanted = "le parc privé" if op.sector == "prive" else f"le parc de {partners[op.bailleur].name}"
            shown = "Parc privé" if found_ == PRIVATE_STOCK else partners[found_].name
            return {"operation": op.name, "expected": wanted, "found": shown}

        found.append(Rule("RELOGEMENT_ORIGINE", "origine_parc",
                          c("origine_parc").is_not_null() & c("operation").is_in(list(expected))
                          & (c("operation").replace_strict(expected, default=None) != c("origine_parc")), origin))  # fmt: skip
    found += composition_rules()
    found.append(name_rule(table, "identifiant"))
    apply(found, table, ctx)


def _first_destination(row: dict[str, Any]) -> str:
    return next(k for k in _DESTINATION if row[k] is not None)


def _commune(communes: dict, insee: str) -> str:
    c = communes.get(insee)
    return f"{c.name} ({insee})" if c else insee


def _euros(fmt: Callable[[float], str], value: float) -> str:
    return f"{fmt(value)}\u00a0€"


def household_key(ident: Any) -> str:
    """How ids are compared between partners and years: without case or surrounding spaces."""
    return " ".join(str(ident).split()).casefold()


def duplicates_between_partners(
    convention: Convention, year: int, usable: dict[str, ReturnFile]
) -> list[Finding]:
    """A household returned by two partners in one year: the first partner in the convention's
    order keeps it (the consolidation does the same), the later one is told."""
    seen: dict[str, str] = {}
    found: list[Finding] = []
    for pid in sorted(usable, key=convention.partner_rank):
        rf = usable[pid]
        table = rf.tables.get("relogements")
        if table is None:
            continue
        for i, ident in enumerate(table.frame["identifiant"].to_list()):
            if not ident:
                continue
            key = household_key(ident)
            if key in seen and seen[key] != pid:
                names = convention.partners_by_id
                found.append(
                    finding(
                        "RELOGEMENT_DOUBLON_PARTENAIRES",
                        rf.name,
                        *table.position(i, "identifiant"),
                        value=str(ident),
                        other=names[seen[key]].name,
                        year=year,
                        kept=names[seen[key]].name,
                    )  # fmt: skip
                )
            else:
                seen.setdefault(key, pid)
    return found
