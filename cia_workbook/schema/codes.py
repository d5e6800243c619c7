"""The code lists of the schema: the coded values partners choose from a dropdown (each a stable
code and its French label), how what they type is matched to a code, and the lists resolved
from the convention for a year (communes, QPVs, contingents, categories, operations)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from cia_workbook.convention.settings import Convention


@dataclass(frozen=True)
class Code:
    """One allowed value of a coded column: the stable code and the French label shown."""

    code: str
    label: str
    # Other spellings read as this code (a réservataire's former single contingent).
    aliases: tuple[str, ...] = ()

    @property
    def display(self) -> str:
        """What the dropdown shows and the partner types."""
        return self.label


@dataclass(frozen=True)
class CodeList:
    name: str
    codes: tuple[Code, ...]

    @property
    def displays(self) -> list[str]:
        return [c.display for c in self.codes]

    @property
    def by_code(self) -> dict[str, Code]:
        return {c.code: c for c in self.codes}

    def lookup(self) -> dict[str, str]:
        """Normalised spelling → code: accepts the code, the label, and the label's code part."""
        return _lookup_table(self)


@lru_cache(maxsize=256)
def _lookup_table(codelist: CodeList) -> dict[str, str]:
    table: dict[str, str] = {}
    for c in codelist.codes:
        for spelling in (c.code, c.label, c.display, *c.aliases):
            table.setdefault(normalize(spelling), c.code)
    return table


def normalize(text: str) -> str:
    """Case-, accent- and space-insensitive form used to match what partners type."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("\u00a0", " ").replace("\u202f", " ").replace("’", "'")
    text = text.replace("–", "-").replace("—", "-")
    return " ".join(text.lower().split())


YES_NO = CodeList("oui_non", (Code("OUI", "Oui"), Code("NON", "Non")))

OUTCOMES = CodeList(
    "suite",
    (
        Code("BAIL_SIGNE", "Bail signé"),
        Code("REFUS", "Refus du ménage"),
        Code("AUTRE", "Autre (en attente, désistement, annulation)"),
    ),
)

QUARTILES = CodeList(
    "quartile",
    (
        Code("1", "1"),
        Code("2", "2"),
        Code("3", "3"),
        Code("4", "4"),
        Code("INCONNU", "Inconnu"),
    ),
)

TYPOLOGIES = CodeList(
    "typologie",
    tuple(Code(t, t) for t in ("T1", "T2", "T3", "T4", "T5", "T6+")),
)

EMPLOYMENT = CodeList(
    "emploi",
    (
        Code("EMPLOI", "En emploi (salarié, indépendant, apprenti)"),
        Code("CHOMAGE", "Demandeur d'emploi"),
        Code("RETRAITE", "Retraité"),
        Code("ETUDIANT", "Étudiant"),
        Code("AUTRE", "Autre situation (inactif, invalidité…)"),
        Code("INCONNU", "Inconnue"),
    ),
)

# Issue 17: the disability of a household member (yes / no / unknown), the motive of a refusal,
# the quarters of the reception points' counts.
YES_NO_UNKNOWN = CodeList(
    "oui_non_inconnu", (Code("OUI", "Oui"), Code("NON", "Non"), Code("INCONNU", "Inconnu"))
)
REFUSAL_MOTIVES = CodeList(
    "motif_refus",
    (
        Code("LOCALISATION", "Localisation"),
        Code("IMAGE", "Image de la résidence"),
        Code("TYPOLOGIE", "Typologie"),
        Code("LOYER", "Loyer ou charges"),
        Code("AUTRE", "Autre motif"),
    ),
)
QUARTERS = CodeList(
    "trimestre",
    tuple(Code(f"T{i}", f"{i}{'er' if i == 1 else 'e'} trimestre") for i in range(1, 5)),
)

HORS_QPV = "HORS_QPV"
CONTINGENT_OWN = "PROPRE"
NO_ZONE = "NON"
PRIVATE_STOCK = "PARC_PRIVE"

# NPNRU rehousing (charte de relogement): the status of a household at the end of the year.
REHOUSING_STATUSES = CodeList(
    "statut_relogement",
    (
        Code("A_RELOGER", "À reloger"),
        Code("PROPOSITION", "Proposition faite"),
        Code("RELOGE_DEFINITIF", "Relogé définitivement"),
        Code("RELOGE_TEMPORAIRE", "Relogé temporairement"),
        Code("PARTI", "Parti hors partenariat"),
        Code("AUTRE", "Autre"),
    ),
)
REHOUSED = "RELOGE_DEFINITIF"
# Statuses with a dwelling to describe: the destination columns and the rehousing date apply.
HOUSED_STATUSES = ("RELOGE_DEFINITIF", "RELOGE_TEMPORAIRE")

BLOCKING_REASONS = CodeList(
    "motif_blocage",
    (
        Code("REFUS_REPETES", "Refus répétés des propositions"),
        Code("OFFRE_INADAPTEE", "Pas d'offre adaptée (taille, typologie, accessibilité)"),
        Code("RESTE_A_CHARGE", "Reste à charge trop élevé"),
        Code("DETTE", "Dette locative ou impayés"),
        Code("SOCIAL_SANTE", "Situation sociale ou de santé à accompagner"),
        Code("ADMINISTRATIF", "Situation administrative (titre de séjour, statut d'occupation)"),
        Code("AUTRE", "Autre motif"),
    ),
)


def codelists_for(convention: Convention, year: int) -> dict[str, CodeList]:
    """Every code list of the workbooks of `year`, resolved from the convention."""
    geo = convention.geography(year)
    communes = CodeList(
        "commune",
        tuple(Code(c.insee, f"{c.name} ({c.insee})") for c in convention.epci.communes),
    )
    qpv = CodeList(
        "qpv",
        tuple(Code(q.code, f"{q.code} – {q.name}") for q in geo.qpvs) + (Code(HORS_QPV, "Hors QPV"),),
    )
    zones = CodeList(
        "zone_locale",
        tuple(Code(z.code, z.name) for z in convention.local_zones) + (Code(NO_ZONE, "Aucune"),),
    )
    # One code per contingent: a réservataire's declared ones (the State's two), else its id.
    contingents = CodeList(
        "contingent",
        (Code(CONTINGENT_OWN, "Contingent propre du bailleur"),)
        + tuple(Code(c.code, c.label, _former(convention, c)) for c in convention.contingents),
    )
    categories = CodeList(
        "categorie",
        tuple(Code(c.code, c.label) for c in convention.priority_categories),
    )
    bailleurs = CodeList("bailleur", tuple(Code(p.id, p.name) for p in convention.bailleurs))
    secteurs = CodeList(
        "secteur",
        qpv.codes[:-1]
        + tuple(Code(z.code, f"Zone locale : {z.name}") for z in convention.local_zones)
        + (Code(HORS_QPV, "Hors QPV et hors zone locale" if convention.local_zones else "Hors QPV"),),
    )
    # A convention without local zones has no zone list (and no zone column).
    lists = [
        YES_NO, OUTCOMES, QUARTILES, TYPOLOGIES, EMPLOYMENT, YES_NO_UNKNOWN, REFUSAL_MOTIVES,
        communes, qpv, *([zones] if convention.local_zones else []), contingents, categories, bailleurs, secteurs,
    ]  # fmt: skip
    if convention.rehousing is not None:
        operations = CodeList(
            "operation_npnru",
            tuple(Code(o.code, f"{o.code} – {o.name}") for o in convention.rehousing.operations),
        )
        housing = CodeList("parc_relogement", bailleurs.codes + (Code(PRIVATE_STOCK, "Parc privé"),))
        lists += [operations, REHOUSING_STATUSES, housing, BLOCKING_REASONS]
    return {cl.name: cl for cl in lists}


def reception_list(points) -> CodeList:
    return CodeList("lieu_accueil", tuple(Code(p.code, p.name) for p in points))


def _former(convention: Convention, contingent) -> tuple[str, ...]:
    """A réservataire's id and name, read as its first declared contingent: what a return made
    before the convention declared its contingents (last year's template) holds, and what that
    contingent then counted as (the State's priority publics, held to the target)."""
    partner = convention.partners_by_id[contingent.partner]
    if not partner.contingents or partner.contingents[0].code != contingent.code:
        return ()
    return (partner.id, partner.name)
