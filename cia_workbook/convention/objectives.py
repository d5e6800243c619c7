"""The convention's objectives and what judges them: the three objectives and their yearly
targets, the quartile thresholds of each year, the consumption-unit scale, the priority
categories; their checks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cia_workbook.convention.base import Model, Percent, Problems, at, dupes, fraction_warning

OBJECTIVE_CODES = ("hors_qpv_q1", "qpv_q234", "publics_prioritaires")


class Objective(Model):
    code: Literal["hors_qpv_q1", "qpv_q234", "publics_prioritaires"]
    label: str = Field(alias="libelle", min_length=1)
    targets: dict[int, Percent] = Field(alias="cibles")


class QuartileThresholds(Model):
    year: int = Field(alias="annee")
    q1: float = Field(gt=0)
    q2: float | None = Field(default=None, gt=0)
    q3: float | None = Field(default=None, gt=0)
    source: str = ""

    @property
    def complete(self) -> bool:
        return self.q2 is not None and self.q3 is not None


class UcScale(Model):
    first_adult: float = Field(default=1.0, alias="premier_adulte", gt=0)
    other_14_plus: float = Field(default=0.5, alias="autre_personne_14_ans_ou_plus", ge=0)
    child_under_14: float = Field(default=0.3, alias="enfant_moins_14_ans", ge=0)


class PriorityCategory(Model):
    code: str = Field(pattern=r"^[A-Z0-9_]+$")
    label: str = Field(alias="libelle", min_length=1)
    priority: bool = Field(alias="prioritaire")
    urban_renewal: bool = Field(default=False, alias="relogement_renouvellement_urbain")


def check_objectives(
    problems: Problems,
    objectives: list[Objective],
    years: range,
    thresholds: list[QuartileThresholds],
    categories: list[PriorityCategory],
) -> None:
    """Each objective once with a target every year, rising thresholds, and a category that is
    not a priority one."""
    codes = [o.code for o in objectives]
    dupes(problems, "objectifs", codes, "code")
    for code in OBJECTIVE_CODES:
        if code not in codes:
            problems.append(("objectifs", f"l'objectif « {code} » manque"))
    for objective in objectives:
        for year in years:
            if year not in objective.targets:
                problems.append(
                    (
                        f"{at('objectifs', objective.code)}.cibles",
                        f"pas de cible pour l'année {year} de la convention",
                    )
                )
    dupes(problems, "seuils_quartiles", [t.year for t in thresholds], "année")
    for t in thresholds:
        values = [v for v in (t.q1, t.q2, t.q3) if v is not None]
        if values != sorted(values):
            problems.append((at("seuils_quartiles", t.year), "les seuils doivent croître : q1 < q2 < q3"))
    dupes(problems, "categories_prioritaires", [c.code for c in categories], "code")
    if not any(not c.priority for c in categories):
        problems.append(
            ("categories_prioritaires", "il faut une catégorie non prioritaire (prioritaire = false)")
        )


def target_warnings(objectives: list[Objective]) -> list[str]:
    """The objectives' targets under 1 %, probably shares written as fractions."""
    return [
        fraction_warning(f"{at('objectifs', objective.code)}.cibles.{year}", target)
        for objective in objectives
        for year, target in sorted(objective.targets.items())
        if 0 < target < 1
    ]
