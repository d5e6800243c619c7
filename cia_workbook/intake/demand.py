"""The EPCI's Demande workbook in the intake: how a return is recognised as one, and the rules
of its rows (its sheet is the schema's: schema/demand.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from cia_workbook.intake.rules import Rule, apply
from cia_workbook.schema.demand import DEMAND_KIND, DEMAND_TYPOLOGIES, MEASURES

if TYPE_CHECKING:
    from cia_workbook.intake.cells import Context
    from cia_workbook.intake.model import ReturnFile, Table


def is_demand(rf: ReturnFile) -> bool:
    return rf.identity is not None and rf.identity.kind == DEMAND_KIND


def demand_rules(table: Table, ctx: Context) -> None:
    """A part never above its total: mutations, and the typologies' sum (the infocentre may leave
    some typologies unknown, so the sum may fall short of the total, never exceed it)."""
    frame = table.frame
    out: list[Rule] = []
    for measure in MEASURES:
        part = f"{measure}_mutation"
        if part in frame.columns:
            out.append(
                Rule("DEMANDE_PART_SUPERIEURE", part, pl.col(part) > pl.col(measure),
                     lambda row, p=part, m=measure: {"part": row[p], "total": row[m],
                                                    "what": "de mutations", "measure": _MEASURE_WORDS[m]})
            )  # fmt: skip
        keys = [
            f"{measure}_{t.lower()}" for t in DEMAND_TYPOLOGIES if f"{measure}_{t.lower()}" in frame.columns
        ]
        if keys:
            total = pl.sum_horizontal(pl.col(k).fill_null(0) for k in keys)
            out.append(
                Rule("DEMANDE_PART_SUPERIEURE", keys[0], total > pl.col(measure),
                     lambda row, ks=tuple(keys), m=measure: {"part": sum(row[k] or 0 for k in ks), "total": row[m],
                                                             "what": "par typologie (T1 à T5 et plus)",
                                                             "measure": _MEASURE_WORDS[m]})
            )  # fmt: skip
    apply(out, table, ctx)


_MEASURE_WORDS = {"demandes": "demandes en attente", "attributions": "attributions de l'année"}
