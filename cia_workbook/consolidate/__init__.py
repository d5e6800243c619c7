"""Consolidation: validated campaigns in, the bilan's figures out, as tables the renderers lay out.

`frames` puts each year's usable returns into one polars frame per table and states the
indicators as expressions over its columns (a universe, a numerator, group keys); `attributions`
and `reservataires` build the year's indicator tables from them; `rehousing` follows the NPNRU
households and the charter's criteria, `rehousing_tables` puts them in tables; `tables` holds
what the renderers read (`IndicatorTable`, `Rate`) and the masking of the public version;
`bilan` puts a year together (`consolidate`). No file is read or written here.
"""

from cia_workbook.consolidate.attributions import (
    TERRITORY,
    TERRITORY_LABEL,
    ZoneWords,
    objective_names,
    zone_words,
)
from cia_workbook.consolidate.bilan import (
    EXCLUDED,
    MISSING,
    OBJECTIVE_SHORT,
    USED,
    Bilan,
    ExcludedEntry,
    RegisterEntry,
    TrendYear,
    consolidate,
    verdicts,
)
from cia_workbook.consolidate.frames import (
    FORMER_COUNTS,
    KNOWN_QUARTILES,
    OBJECTIVES,
    YOUNG_AGE,
    Indicator,
    contingent_counts,
    objective_rates,
)
from cia_workbook.consolidate.tables import (
    CLOSE,
    DETAIL,
    FAMILY_BAILLEUR,
    FAMILY_COMMUNE,
    FAMILY_RESERVATAIRE,
    GROUP,
    GROUP_LABELS,
    MEMBERS,
    MET,
    NO_TARGET,
    NO_UNIVERSE,
    NOT_MET,
    SECRET,
    SMALL,
    SUBTOTAL,
    Block,
    Col,
    IndicatorTable,
    Rate,
    group_members,
    group_small_universes,
    mask_rows,
)

__all__ = [
    "CLOSE", "DETAIL", "EXCLUDED", "FAMILY_BAILLEUR", "FAMILY_COMMUNE", "FAMILY_RESERVATAIRE", "FORMER_COUNTS", "GROUP",
    "GROUP_LABELS", "KNOWN_QUARTILES", "MEMBERS", "MET", "MISSING", "NOT_MET", "NO_TARGET", "NO_UNIVERSE", "OBJECTIVES",
    "OBJECTIVE_SHORT", "SECRET", "SMALL", "SUBTOTAL", "TERRITORY", "TERRITORY_LABEL", "USED", "YOUNG_AGE", "Bilan", "Block",
    "Col", "ExcludedEntry", "Indicator", "IndicatorTable", "Rate", "RegisterEntry", "TrendYear", "ZoneWords",
    "consolidate", "contingent_counts", "group_members", "group_small_universes", "mask_rows", "objective_names",
    "objective_rates", "verdicts", "zone_words",
]  # fmt: skip
