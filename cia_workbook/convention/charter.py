"""The charte de relogement annexed to the CIA (NPNRU, Actions 1 and 2): the operations whose
households are rehoused, who follows them, the targets of the quality criteria (CRITERION_CODES)
and the rule of the « reste à charge »; its checks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cia_workbook.convention.base import (
    InseeCode,
    Model,
    Percent,
    Problems,
    at,
    check_commune,
    dupes,
    fraction_warning,
)
from cia_workbook.convention.partners import Partner

RehousingSector = Literal["social", "prive"]
RestToPayMode = Literal["stable", "par_m2", "par_uc"]
CRITERION_CODES = ("hors_qpv", "hors_quartier", "logement_recent", "reste_a_charge")


class RehousingOperation(Model):
    """One NPNRU operation whose households are rehoused (a building demolished, a private block)."""

    code: str = Field(pattern=r"^[A-Z0-9_\-]+$")
    name: str = Field(alias="nom", min_length=1)
    sector: RehousingSector = Field(alias="parc")
    # The bailleur whose dwellings are demolished; none for the private stock.
    bailleur: str | None = None
    commune: InseeCode
    households: int = Field(alias="menages_a_reloger", ge=0)


class RestToPayRule(Model):
    """When is the "reste à charge" (rent + charges - housing benefit) under control?

    stable: the monthly amount after does not exceed the amount before by more than `tolerance`
    euros; par_m2: the amount per m² of living space does not rise by more than `tolerance` €/m²;
    par_uc: the rise divided by the household's consumption units stays within `tolerance` €.
    """

    mode: RestToPayMode = "stable"
    tolerance: float = Field(default=0.0, alias="tolerance", ge=0)


class RehousingCharter(Model):
    """The charte de relogement annexed to the CIA (Actions 1 and 2): who reports, targets."""

    first_year: int | None = Field(default=None, alias="premiere_annee", ge=2000, le=2100)
    partners: list[str] = Field(default_factory=list, alias="partenaires")
    operations: list[RehousingOperation] = Field(min_length=1)
    # Criterion code → target in percent of the households rehoused definitively.
    targets: dict[str, Percent] = Field(alias="cibles")
    rest_to_pay: RestToPayRule = Field(default_factory=RestToPayRule, alias="reste_a_charge")

    @property
    def households(self) -> int:
        return sum(o.households for o in self.operations)

    def households_in(self, sector: str) -> int:
        return sum(o.households for o in self.operations if o.sector == sector)


def check_charter(
    problems: Problems,
    charter: RehousingCharter | None,
    partners: list[Partner],
    insee: set[str],
    last_year: int,
) -> None:
    """The charter's partners (bailleurs and operators, every operator among them), its
    operations, a target for each criterion; an operator without a charter."""
    key = "charte_relogement"
    if charter is None:
        if any(p.kind == "operateur" for p in partners):
            problems.append((key, "un partenaire de type « operateur » suppose une charte de relogement"))
        return
    ids = {p.id: p for p in partners}
    for pid in charter.partners:
        if pid not in ids:
            problems.append((f"{key}.partenaires", f"« {pid} » n'est pas un partenaire de la convention"))
        elif ids[pid].kind == "reservataire":
            problems.append(
                (
                    f"{key}.partenaires",
                    f"« {pid} » est un réservataire : seuls les bailleurs et les opérateurs suivent des relogements",
                )
            )
    dupes(problems, f"{key}.partenaires", charter.partners, "partenaire")
    for p in partners:
        if p.kind == "operateur" and p.id not in charter.partners:
            problems.append((key + ".partenaires", f"l'opérateur « {p.id} » doit figurer dans la liste"))
    dupes(problems, f"{key}.operations", [o.code for o in charter.operations], "code")
    for op in charter.operations:
        where = at(f"{key}.operations", op.code)
        check_commune(problems, insee, f"{where}.commune", op.commune)
        if op.bailleur is not None and (op.bailleur not in ids or not ids[op.bailleur].is_bailleur):
            problems.append(
                (f"{where}.bailleur", f"« {op.bailleur} » n'est pas un bailleur de la convention")
            )
        elif op.bailleur is not None and op.bailleur not in charter.partners:
            # Its households would be followed by nobody: only the charter's partners return
            # the rehousing sheet.
            problems.append(
                (
                    f"{where}.bailleur",
                    f"« {op.bailleur} » conduit cette opération mais n'est pas dans {key}.partenaires : "
                    "ajoutez-le à cette liste pour que son classeur ait la feuille « Relogements NPNRU » "
                    "(sinon ses ménages ne sont suivis par personne)",
                )
            )
        if op.sector == "social" and op.bailleur is None:
            problems.append((f"{where}.bailleur", "une opération du parc social indique son bailleur"))
    for code in CRITERION_CODES:
        if code not in charter.targets:
            problems.append((f"{key}.cibles", f"la cible du critère « {code} » manque"))
    for code in charter.targets:
        if code not in CRITERION_CODES:
            problems.append(
                (f"{key}.cibles", f"critère inconnu « {code} » (critères : {', '.join(CRITERION_CODES)})")
            )
    if charter.first_year is not None and charter.first_year > last_year:
        problems.append((f"{key}.premiere_annee", "doit précéder la fin de la convention"))


def target_warnings(charter: RehousingCharter | None) -> list[str]:
    """The criteria's targets under 1 %, probably shares written as fractions."""
    if charter is None:
        return []
    return [
        fraction_warning(f"charte_relogement.cibles.{code}", target)
        for code, target in charter.targets.items()
        if 0 < target < 1
    ]
