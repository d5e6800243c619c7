"""The EPCI's own « Demande » workbook: its sheet and its identity (the rules of its rows are
the intake's: intake/demand.py).

The officer fills it from the SNE infocentre's tables (demands pending at 31 December and
attributions of the year, per commune, optionally by typology and of which mutations). It is a
workbook of its own rather than a partner's: the EPCI is no partner of the convention (no
objective, no dashboard line, nobody to chase), but it is written by the same template writer,
read and validated by the same stages (`schema_for` of kind « demande », `sheets.demand_schema`),
and kept apart from the partners' returns by the intake (`Campaign.demand`).
"""

from __future__ import annotations

from cia_workbook.convention.partners import Partner
from cia_workbook.convention.settings import Convention
from cia_workbook.schema.columns import Column, Sheet
from cia_workbook.schema.identity import template_file_name

DEMAND_KIND = "demande"
# The identification's « partenaire » of the workbook, and the end of its file name.
DEMAND_ID = "demande"
# The SNE infocentre's typologies: the last one is « T5 et plus ».
DEMAND_TYPOLOGIES = ("T1", "T2", "T3", "T4", "T5")
TYPOLOGY_LABELS = {"T1": "T1", "T2": "T2", "T3": "T3", "T4": "T4", "T5": "T5 et plus"}
MEASURES = ("demandes", "attributions")


def demand_file_name(year: int) -> str:
    """cia-2024-demande.xlsx: named like the partners' templates, so that it sorts with them."""
    return template_file_name(DEMAND_ID, year)


def demand_partner(convention: Convention) -> Partner:
    """The EPCI as the author of the Demande workbook, for the template writer's titles and footers
    (never one of the convention's partners)."""

    return Partner.model_construct(
        id=DEMAND_ID, name=f"{convention.epci.name} (demande)", kind=DEMAND_KIND, category="EPCI"
    )


def _count(key: str, header: str, definition: str, example: str, required: bool = False) -> Column:
    return Column(key, header, "integer", definition, example, required=required, minimum=0, maximum=1_000_000,
                  width=11)  # fmt: skip


def _columns() -> tuple[Column, ...]:
    cols = [
        Column("commune", "Commune", "code", "Commune demandée en premier choix (pré-remplie : une ligne par commune).",
               "", required=True, codelist="commune", width=26),
        _count("demandes", "Demandes en attente au 31 décembre", "Demandes de logement social actives au 31 décembre "
               "(SNE, infocentre : demandes en cours au 31/12), commune demandée en premier choix.", "240", True),
        _count("attributions", "Attributions de l'année", "Demandes satisfaites (attributions) de l'année sur la "
               "commune (SNE, infocentre : demandes satisfaites).", "60", True),
        _count("demandes_mutation", "Dont demandes de mutation", "Parmi les demandes en attente, celles de ménages "
               "déjà locataires du parc social.", "80"),
        _count("attributions_mutation", "Dont attributions à des mutations", "Parmi les attributions de l'année, celles "
               "à des ménages déjà locataires du parc social.", "15"),
    ]  # fmt: skip
    for measure, what in (("demandes", "demandes en attente"), ("attributions", "attributions de l'année")):
        for t in DEMAND_TYPOLOGIES:
            label = TYPOLOGY_LABELS[t]
            cols.append(
                _count(f"{measure}_{t.lower()}", f"{measure.capitalize()} {label}",
                       f"Parmi les {what}, celles portant sur un {label} (typologie demandée, ou attribuée). "
                       "Facultatif : laissez les typologies vides si l'infocentre ne les donne pas.", "")
            )  # fmt: skip
    return tuple(cols)


def demand_sheet(convention: Convention) -> Sheet:
    return Sheet(
        "demande",
        "Demande",
        "table",
        "Une ligne par commune : la demande de logement social en attente au 31 décembre et les attributions "
        "de l'année, à recopier des tableaux de l'infocentre du SNE (commune demandée en premier choix).",
        columns=_columns(),
        header_row=3,
        rows=max(len(convention.epci.communes), 1),
        prefilled=("commune",),
    )
