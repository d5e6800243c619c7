"""Intake rules of the « Lieux d'accueil » sheet (issue 17, Action 5): one typed table in, findings out.

Called by `validate.validate_workbook` once the sheet's cells are converted (lists, bounds and
required cells are judged there); here what spans cells or rows: the applicants informed about
housing in QPV are a part of those received, and a reception point has one row per quarter.
"""

from __future__ import annotations

import polars as pl

from cia_workbook.intake.cells import Context
from cia_workbook.intake.model import ROW, Table
from cia_workbook.intake.rules import Rule, apply
from cia_workbook.schema.codes import QUARTERS


def reception_rules(table: Table, ctx: Context) -> None:
    c = pl.col
    found = [
        Rule("ACCUEIL_INFORMES", "informes_qpv", c("informes_qpv") > c("demandeurs"),
             lambda r: {"informed": int(r["informes_qpv"]), "received": int(r["demandeurs"])}),
    ]  # fmt: skip
    apply(found, table, ctx)
    _duplicates(table, ctx)


def _duplicates(table: Table, ctx: Context) -> None:
    """ACCUEIL_DOUBLON on each row repeating the point and quarter of an earlier row."""
    frame = table.frame
    if not len(frame):
        return
    keyed = frame.with_row_index("_i").filter(
        pl.col("lieu").is_not_null() & pl.col("trimestre").is_not_null()
    )
    names = ctx.schema.codelists["lieu_accueil"].by_code
    seen: dict[tuple[str, str], int] = {}
    for i, point, quarter, row in keyed.select("_i", "lieu", "trimestre", ROW).iter_rows():
        key = (point, quarter)
        if key in seen:
            sheet, cell = table.position(i, "lieu")
            ctx.add(
                "ACCUEIL_DOUBLON",
                sheet,
                cell,
                point=names[point].label if point in names else point,
                quarter=QUARTERS.by_code[quarter].label if quarter in QUARTERS.by_code else quarter,
                other_row=seen[key],
            )
        else:
            seen[key] = row
