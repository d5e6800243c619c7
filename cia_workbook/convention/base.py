"""What every part of the convention model shares: the pydantic base (French keys as aliases of
English attributes), the field types, and how a check names a key and words its message.

A check appends (key path, French message) to a list of problems; `settings.Convention` raises
them all at once, so that the officer corrects the file in one go.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

InseeCode = Annotated[str, Field(pattern=r"^(\d{5}|2[AB]\d{3})$")]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
Percent = Annotated[float, Field(ge=0, le=100)]
Problems = list[tuple[str, str]]

# The key that names an item of each list of the file: a message says
# « partenaires[identifiant = sfhe] », the way the officer finds it in the file, not a position.
ITEM_KEYS = {
    "partenaires": "identifiant",
    "geographies_qpv": "identifiant",
    "qpv": "code",
    "zones_locales": "code",
    "zooms": "nom",
    "secteurs": "nom",
    "objectifs": "code",
    "seuils_quartiles": "annee",
    "operations": "code",
    "categories_prioritaires": "code",
    "communes": "insee",
    "sources": "objet",
    "actions": "numero",
    "questions": "cle",
    "lieux_accueil": "code",
    "contingents": "code",
}


class ConventionError(Exception):
    """A convention file that cannot be used; the message is French and names the key."""


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


def at(list_key: str, value: object) -> str:
    """An item of a list named by its identifying key: « partenaires[identifiant = sfhe] »."""
    return f"{list_key}[{ITEM_KEYS[list_key.rsplit('.', 1)[-1]]} = {value}]"


def dupes(problems: Problems, key: str, values: Iterable, what: str) -> None:
    seen: set = set()
    for value in values:
        if value in seen:
            problems.append((key, f"{what} « {value} » en double"))
        seen.add(value)


def check_commune(problems: Problems, insee: set[str], key: str, commune: str) -> None:
    """A commune the file names must be one of the EPCI's."""
    if commune not in insee:
        problems.append((key, f"la commune {commune} n'est pas une commune de l'EPCI"))


def and_list(values) -> str:
    """« 2022, 2023 et 2024 »."""
    values = [str(v) for v in values]
    return ", ".join(values[:-1]) + " et " + values[-1] if len(values) > 1 else values[0]


def or_list(values) -> str:
    values = list(values)
    return ", ".join(values[:-1]) + " ou " + values[-1] if len(values) > 1 else values[0]


def plural(values, word: str) -> str:
    return word + ("s" if len(values) > 1 else "")


def fraction_warning(key: str, target: float) -> str:
    """A target under 1 is most likely a share written as a fraction (0.5 for 50 %)."""
    shown = f"{target:g}".replace(".", ",")
    meant = f"{target * 100:g}".replace(".", ",")
    return (
        f"[{key}] {shown} % : vouliez-vous dire {meant} % ? Les cibles s'écrivent en pour cent "
        f"({meant} pour {meant} %)."
    )
