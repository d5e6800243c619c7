"""The partners of the convention: bailleurs sociaux, réservataires (with their contingents,
`contingents.py`) and the NPNRU rehousing operators; their checks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cia_workbook.convention.base import (
    InseeCode,
    Model,
    Problems,
    Slug,
    at,
    check_commune,
    dupes,
    or_list,
)
from cia_workbook.convention.contingents import Contingent, check_contingents

# The kinds of social landlord (organismes de logement social): office public de l'habitat,
# entreprise sociale pour l'habitat (SA d'HLM), coopérative d'HLM, société d'économie mixte
# agréée (or another local public company).
BAILLEUR_CATEGORIES = ("OPH", "ESH", "COOP", "SEM")


class Partner(Model):
    id: Slug = Field(alias="identifiant")
    name: str = Field(alias="nom", min_length=1)
    legal_name: str | None = Field(default=None, alias="raison_sociale")
    # "operateur": a rehousing operator (private-sector MOUS) that returns the NPNRU rehousing
    # sheet only; it takes part in no objective.
    kind: Literal["bailleur", "reservataire", "operateur"] = Field(alias="type")
    category: str = Field(alias="categorie", min_length=1)
    commune: InseeCode | None = None
    estimated_stock: int | None = Field(default=None, alias="parc_estime", ge=0)
    # A réservataire's contingents (`contingents.py`): none declared, one coded by its id.
    contingents: list[Contingent] = Field(default_factory=list)
    # The column of the convention's objectives table it belongs to (contingents.GROUPS).
    group: str | None = Field(default=None, alias="groupe")

    @property
    def is_bailleur(self) -> bool:
        return self.kind == "bailleur"


def check_partners(problems: Problems, partners: list[Partner], insee: set[str]) -> None:
    """Identifiers once each, communes of the EPCI, the bailleurs' categories, the contingents,
    and at least one bailleur."""
    dupes(problems, "partenaires", [p.id for p in partners], "identifiant")
    for partner in partners:
        where = at("partenaires", partner.id)
        if partner.commune is not None:
            check_commune(problems, insee, f"{where}.commune", partner.commune)
        if partner.is_bailleur and partner.category not in BAILLEUR_CATEGORIES:
            problems.append(
                (
                    f"{where}.categorie",
                    f"catégorie de bailleur inconnue « {partner.category} » : "
                    f"écrivez {or_list(BAILLEUR_CATEGORIES)}",
                )
            )
    check_contingents(partners, problems)
    if not any(p.is_bailleur for p in partners):
        problems.append(("partenaires", "il faut au moins un partenaire de type « bailleur »"))
