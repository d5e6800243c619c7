"""The réservataires' contingents and the lines of the convention's objectives table.

Part of the convention (read with it, no stage of its own): a réservataire may declare its
contingents (the State's two: priority publics, civil servants), each a code of the bailleurs'
« Contingent » column; without a declaration it has one, coded by its id. The convention's table
has one column per kind of réservataire (Action Logement, Préfecture, les communes, Département,
autres réservataires): `table_lines` gives the bilan's lines in that order, a group of the table
(« Les communes ») as the sum of its members' lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pydantic import Field

from cia_workbook.convention.base import Model, Problems, Slug, at

# The groups a réservataire may join (key `groupe`) → the line of the convention's table.
GROUPS = {"communes": "Les communes", "autres": "Autres réservataires"}
# The category a group's members must have (None: any).
GROUP_CATEGORY = {"communes": "commune", "autres": None}
# The réservataires' columns of the convention's table, left to right, by partner category;
# a group takes the place of its category, any other category comes last (« autres »).
TABLE_ORDER = {"action_logement": 0, "etat": 1, "commune": 2, "communes": 2, "departement": 3}
LAST = 4
# Codes of the bailleurs' « Contingent » column that no declared contingent may take.
RESERVED_CODES = ("PROPRE",)


class Contingent(Model):
    """One contingent a réservataire declares (French keys, as in convention.toml)."""

    code: Slug
    label: str = Field(alias="libelle", min_length=1)
    # False: not held to the priority-publics target (the civil servants' contingent of the
    # State): its rate is shown « sans objectif ».
    priority_target: bool = Field(default=True, alias="objectif_prioritaires")


@dataclass(frozen=True)
class ContingentLine:
    """A contingent as the bailleurs code it and the bilan names it."""

    code: str
    label: str
    partner: str  # the réservataire's id
    priority_target: bool = True


@dataclass(frozen=True)
class TableLine:
    """A line of the réservataires' tables: one contingent, or a group of the convention's table
    (`subtotal`: the sum of the lines of its members, listed just above it)."""

    label: str
    codes: tuple[str, ...]  # the contingents summed on the line
    priority_codes: tuple[str, ...]  # those of them held to the priority-publics target
    partner: str | None = None  # the réservataire of a contingent's line
    group: str | None = None  # the group of a member's line, or of the group's line
    subtotal: bool = False


class Holder(Protocol):
    """What these functions read of a partner (partners.Partner)."""

    id: str
    name: str
    kind: str
    category: str
    group: str | None
    contingents: list[Contingent]


class Holders(Protocol):
    """What these functions read of a convention (settings.Convention)."""

    @property
    def reservataires(self) -> list[Holder]: ...


def contingents_of(partner: Holder) -> list[ContingentLine]:
    """A réservataire's contingents: those it declares, else one coded by its id."""
    if not partner.contingents:
        return [ContingentLine(partner.id, partner.name, partner.id)]
    return [ContingentLine(c.code, c.label, partner.id, c.priority_target) for c in partner.contingents]


def contingent_lines(convention: Holders) -> list[ContingentLine]:
    """Every réservataire's contingents, in the convention's order (the bailleurs' code list)."""
    return [line for p in convention.reservataires for line in contingents_of(p)]


def _place(partner: Holder) -> int:
    return TABLE_ORDER.get(partner.group or partner.category, LAST)


def table_lines(convention: Holders) -> list[TableLine]:
    """The réservataires' lines in the order of the convention's table: each contingent of a
    réservataire on its own line; a group's members, then the group's line."""
    # Stable: the file's order within a column; a column's grouped members first, together.
    ordered = sorted(convention.reservataires, key=lambda p: (_place(p), p.group is None))
    out: list[TableLine] = []
    for i, partner in enumerate(ordered):
        for c in contingents_of(partner):
            out.append(
                TableLine(
                    c.label, (c.code,), (c.code,) if c.priority_target else (), partner.id, partner.group
                )
            )
        following = ordered[i + 1] if i + 1 < len(ordered) else None
        if partner.group is not None and (following is None or following.group != partner.group):
            members = [line for line in out if line.group == partner.group and not line.subtotal]
            out.append(
                TableLine(
                    GROUPS[partner.group],
                    tuple(code for line in members for code in line.codes),
                    tuple(code for line in members for code in line.priority_codes),
                    group=partner.group,
                    subtotal=True,
                )
            )
    return out


def check_contingents(partners: list[Holder], problems: Problems) -> None:
    """The convention's mistakes about contingents and groups, each (key, French message)."""
    ids = {p.id for p in partners}
    seen: dict[str, str] = {}  # contingent code → the partner that declares it
    for partner in partners:
        where = at("partenaires", partner.id)
        if partner.contingents and partner.kind != "reservataire":
            problems.append(
                (
                    f"{where}.contingents",
                    f"« {partner.id} » n'est pas un réservataire (type « {partner.kind} ») : seuls les "
                    "réservataires déclarent des contingents",
                )
            )
        for c in partner.contingents:
            key = f"{where}.contingents"
            if c.code in seen:
                other = "" if seen[c.code] == partner.id else f" (déjà déclaré par « {seen[c.code]} »)"
                problems.append((key, f"code de contingent « {c.code} » en double{other}"))
            elif c.code.upper() in RESERVED_CODES:
                problems.append(
                    (
                        key,
                        f"le code « {c.code} » est réservé au contingent propre des bailleurs : choisissez-en un autre",
                    )
                )
            elif c.code in ids and c.code != partner.id:
                problems.append(
                    (
                        key,
                        f"le code « {c.code} » est l'identifiant d'un autre partenaire : choisissez-en un autre",
                    )
                )
            seen.setdefault(c.code, partner.id)
        labels = [c.label for c in partner.contingents]
        for label in {x for x in labels if labels.count(x) > 1}:
            problems.append((f"{where}.contingents", f"libellé de contingent « {label} » en double"))
        if partner.group is None:
            continue
        if partner.kind != "reservataire":
            problems.append(
                (
                    f"{where}.groupe",
                    f"« {partner.id} » n'est pas un réservataire : seuls les réservataires ont un groupe",
                )
            )
        elif partner.group not in GROUPS:
            known = " ou ".join(f"« {g} » ({label})" for g, label in GROUPS.items())
            problems.append((f"{where}.groupe", f"groupe inconnu « {partner.group} » : écrivez {known}"))
        elif GROUP_CATEGORY[partner.group] not in (None, partner.category):
            problems.append(
                (
                    f"{where}.groupe",
                    f"le groupe « {partner.group} » ({GROUPS[partner.group]}) réunit les réservataires de "
                    f"catégorie « {GROUP_CATEGORY[partner.group]} » ; « {partner.id} » est de catégorie "
                    f"« {partner.category} »",
                )
            )
