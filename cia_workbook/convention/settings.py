"""The convention as data: the pydantic model of a CIA, loaded from a TOML file.

Everything specific to a territory (communes, QPVs, partners, targets, thresholds) lives in
the convention file; this module only knows its shape. The file's keys are French because the
housing officer edits it; the attributes are English because the code reads them.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, model_validator

from cia_workbook.convention.contingents import (
    Contingent,
    ContingentLine,
    TableLine,
    check_contingents,
    contingent_lines,
    table_lines,
)

CONVENTION_FILENAME = "convention.toml"
OBJECTIVE_CODES = ("hors_qpv_q1", "qpv_q234", "publics_prioritaires")
# The kinds of social landlord (organismes de logement social): office public de l'habitat,
# entreprise sociale pour l'habitat (SA d'HLM), coopérative d'HLM, société d'économie mixte
# agréée (or another local public company).
BAILLEUR_CATEGORIES = ("OPH", "ESH", "COOP", "SEM")
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
# What an action of the convention can report in the bilan (key → its name in a message): the
# three objectives, the tables the consolidation computes for the actions, and the charter's
# rehousing figures (which need a charte de relogement).
ACTION_INDICATORS = {
    "hors_qpv_q1": "objectif 1 (1er quartile hors QPV)",
    "qpv_q234": "objectif 2 (quartiles 2 à 4 en QPV)",
    "publics_prioritaires": "objectif 3 (publics prioritaires)",
    "dalo": "ménages reconnus DALO relogés hors QPV",
    "publics_qpv": "profil des ménages (jeunes, familles, emploi) en QPV et hors QPV",
    "refus": "refus des ménages en QPV et hors QPV",
    "vacance": "vacance du parc des bailleurs au 31 décembre",
    "mutations": "mutations internes",
    "criteres_relogement": "critères de qualité des relogements fixés par la charte",
    "bilan_relogements": "bilan annuel des relogements validé par la commission de coordination",
    "dossiers_bloques": "dossiers bloqués examinés par la commission de coordination",
    # Issue 17, items 1 and 4 (consolidate/attention.py, consolidate/reception.py).
    "publics_attention": "publics appelant une attention particulière (sans emploi, familles nombreuses, handicap, âgés)",
    "lieux_accueil": "demandeurs reçus dans les lieux d'accueil et informés sur le parc en QPV",
    "motifs_refus": "taux de refus en QPV et hors QPV par motif",
    "mixite_qpv": "indicateurs de mixité sociale en QPV (âge, composition des ménages, emploi) depuis le début",
    # The EPCI's own Demande workbook (demand.py): its template is written only when an action
    # reports one of these.
    "tension": "tension locative (demandes en attente par attribution) par commune et par secteur",
    "typologies": "écart entre les typologies demandées et attribuées",
}
DEMAND_INDICATORS = ("tension", "typologies")
REHOUSING_INDICATORS = ("criteres_relogement", "bilan_relogements", "dossiers_bloques")
# The partners who answer an Actions sheet (an operator's workbook has none).
ACTION_PARTNER_KINDS = ("bailleur", "reservataire")

InseeCode = Annotated[str, Field(pattern=r"^(\d{5}|2[AB]\d{3})$")]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
Percent = Annotated[float, Field(ge=0, le=100)]


class ConventionError(Exception):
    """A convention file that cannot be used; the message is French and names the key."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class ConventionInfo(_Model):
    id: Slug = Field(alias="identifiant")
    title: str = Field(alias="titre")
    first_year: int = Field(alias="premiere_annee", ge=2000, le=2100)
    last_year: int = Field(alias="derniere_annee", ge=2000, le=2100)
    approval_date: dt.date | None = Field(default=None, alias="date_approbation")
    test_years: list[int] = Field(default_factory=list, alias="annees_test")
    midterm_year: int | None = Field(default=None, alias="annee_mi_parcours")


class Commune(_Model):
    insee: InseeCode
    name: str = Field(alias="nom", min_length=1)
    # Written `population_2017` in the Alès file, `population` (the year said in [[sources]])
    # in a file written by `init --epci`; only used to proportion the demonstration data.
    population: int | None = Field(
        default=None, validation_alias=AliasChoices("population_2017", "population"), ge=0
    )


class Epci(_Model):
    name: str = Field(alias="nom", min_length=1)
    siren: str | None = Field(default=None, pattern=r"^\d{9}$")
    departement: str | None = None
    communes: list[Commune] = Field(min_length=1)


class Campaign(_Model):
    deadline: str = Field(default="03-31", alias="date_limite_retour", pattern=r"^\d\d-\d\d$")
    contact_service: str = Field(default="", alias="service_contact")
    # Where partners send their files: required to write the templates (`templates.require_contact`),
    # optional here so that a convention file without it still loads for the other commands.
    contact_email: str = Field(
        default="", alias="courriel_contact", pattern=r"^\s*([^@\s]+@[^@\s]+\.[^@\s]+)?\s*$"
    )
    close_gap_points: float = Field(default=5.0, alias="ecart_proche_points", ge=0, le=100)
    secrecy_threshold: int = Field(default=11, alias="seuil_secret_statistique", ge=1)

    def deadline_for(self, year: int) -> dt.date:
        """The return deadline for the campaign of `year` (in year + 1)."""
        month, day = (int(p) for p in self.deadline.split("-"))
        return dt.date(year + 1, month, day)


class Report(_Model):
    """How the bilan is written (French key `bilan`)."""

    # A verdict on fewer households than this is marked « à interpréter avec prudence ».
    caution_universe: int = Field(default=20, alias="seuil_prudence", ge=0)
    # Commitments of the convention the bilan recalls under « Le cadre de l'évaluation », as
    # the convention words them (for example where DALO households are to be rehoused).
    reminders: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list, alias="rappels")


class Qpv(_Model):
    code: str = Field(pattern=r"^Q[PN]\d{3}[0-9A-Z]{3}$")
    name: str = Field(alias="nom", min_length=1)
    communes: list[InseeCode] = Field(min_length=1)


class QpvGeography(_Model):
    id: str = Field(alias="identifiant", min_length=1)
    label: str = Field(alias="libelle", min_length=1)
    first_year: int = Field(alias="premiere_annee")
    last_year: int | None = Field(default=None, alias="derniere_annee")
    qpvs: list[Qpv] = Field(alias="qpv")

    def applies_to(self, year: int) -> bool:
        return self.first_year <= year and (self.last_year is None or year <= self.last_year)


class LocalZone(_Model):
    code: str = Field(pattern=r"^[A-Z0-9_]+$")
    name: str = Field(alias="nom", min_length=1)
    commune: InseeCode
    # How a sentence says "in the zone" (« dans le quartier des Promelles »); by default built
    # from the name.
    in_words: str | None = Field(default=None, alias="dans", min_length=1)

    @property
    def inside(self) -> str:
        return self.in_words or f"dans la zone « {self.name} »"


class Zoom(_Model):
    name: str = Field(alias="nom", min_length=1)
    communes: list[InseeCode] = Field(min_length=1)


class Sector(_Model):
    """A sector of the territory whose demand and tension the bilan follows (Action 4 of Alès:
    the urban core, the peri-urban ring, the south); a commune in no sector is « autres communes »."""

    name: str = Field(alias="nom", min_length=1)
    communes: list[InseeCode] = Field(min_length=1)


class Partner(_Model):
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


class Objective(_Model):
    code: Literal["hors_qpv_q1", "qpv_q234", "publics_prioritaires"]
    label: str = Field(alias="libelle", min_length=1)
    targets: dict[int, Percent] = Field(alias="cibles")


class QuartileThresholds(_Model):
    year: int = Field(alias="annee")
    q1: float = Field(gt=0)
    q2: float | None = Field(default=None, gt=0)
    q3: float | None = Field(default=None, gt=0)
    source: str = ""

    @property
    def complete(self) -> bool:
        return self.q2 is not None and self.q3 is not None


class UcScale(_Model):
    first_adult: float = Field(default=1.0, alias="premier_adulte", gt=0)
    other_14_plus: float = Field(default=0.5, alias="autre_personne_14_ans_ou_plus", ge=0)
    child_under_14: float = Field(default=0.3, alias="enfant_moins_14_ans", ge=0)


class PriorityCategory(_Model):
    code: str = Field(pattern=r"^[A-Z0-9_]+$")
    label: str = Field(alias="libelle", min_length=1)
    priority: bool = Field(alias="prioritaire")
    urban_renewal: bool = Field(default=False, alias="relogement_renouvellement_urbain")


RehousingSector = Literal["social", "prive"]
RestToPayMode = Literal["stable", "par_m2", "par_uc"]
CRITERION_CODES = ("hors_qpv", "hors_quartier", "logement_recent", "reste_a_charge")


class RehousingOperation(_Model):
    """One NPNRU operation whose households are rehoused (a building demolished, a private block)."""

    code: str = Field(pattern=r"^[A-Z0-9_\-]+$")
    name: str = Field(alias="nom", min_length=1)
    sector: RehousingSector = Field(alias="parc")
    # The bailleur whose dwellings are demolished; none for the private stock.
    bailleur: str | None = None
    commune: InseeCode
    households: int = Field(alias="menages_a_reloger", ge=0)


class RestToPayRule(_Model):
    """When is the "reste à charge" (rent + charges - housing benefit) under control?

    stable: the monthly amount after does not exceed the amount before by more than `tolerance`
    euros; par_m2: the amount per m² of living space does not rise by more than `tolerance` €/m²;
    par_uc: the rise divided by the household's consumption units stays within `tolerance` €.
    """

    mode: RestToPayMode = "stable"
    tolerance: float = Field(default=0.0, alias="tolerance", ge=0)


class RehousingCharter(_Model):
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


ActionPartnerKind = Literal["bailleur", "reservataire"]


class ActionQuestion(_Model):
    """A question of the partners' Actions sheet: one line of the form, its answer in column B."""

    # Stable: the answer is filed under it (and a later template must keep the line's place).
    key: str = Field(alias="cle", pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(alias="libelle", min_length=1)
    kind: Literal["oui_non", "texte", "entier"] = Field(alias="type")
    # Who is asked, among the action's partner kinds (by default, all of them).
    asked: list[ActionPartnerKind] = Field(default_factory=list, alias="pour")
    example: str = Field(default="", alias="exemple")
    required: bool = Field(default=False, alias="obligatoire")


class Action(_Model):
    """An action of the convention (a « fiche-action »): what partners are asked about it in
    their Actions sheet, and which indicators the bilan reports for it."""

    number: int = Field(alias="numero", ge=1)
    title: str = Field(alias="titre", min_length=1)
    partner_kinds: list[ActionPartnerKind] = Field(default_factory=list, alias="partenaires")
    questions: list[ActionQuestion] = Field(default_factory=list)
    indicators: list[str] = Field(default_factory=list, alias="indicateurs")
    # The sentence that introduces the indicators in the bilan (the convention's « Indicateurs
    # de résultat », as the officer words them).
    indicators_text: str = Field(default="", alias="phrase_indicateurs")

    @property
    def name(self) -> str:
        return f"Action {self.number}"

    def asked(self, question: ActionQuestion) -> list[str]:
        return list(question.asked or self.partner_kinds)


class AttentionGroups(_Model):
    """« Une attention particulière sera accordée aux personnes sans emploi, aux familles
    nombreuses et aux personnes en situation de handicap et/ou âgées » (French key
    `attention_particuliere`): the thresholds that make a large family and an elderly holder."""

    large_family_children: int = Field(default=3, alias="enfants_famille_nombreuse", ge=1, le=20)
    elderly_age: int = Field(default=65, alias="age_personne_agee", ge=40, le=120)


class ReceptionPoint(_Model):
    """A place where applicants are received and informed (lieu d'accueil, French key
    `lieux_accueil`), run by a partner whose workbook gets the « Lieux d'accueil » sheet."""

    code: str = Field(pattern=r"^[A-Z0-9_]+$")
    name: str = Field(alias="nom", min_length=1)
    commune: InseeCode
    partner: str = Field(alias="partenaire", min_length=1)


class Source(_Model):
    """Where a part of the file comes from, for the bilan's method section (French key
    `sources`): the reference data that `init --epci` used, the signed text, an arrêté."""

    subject: str = Field(alias="objet", min_length=1)
    origin: str = Field(alias="origine", min_length=1)
    date: dt.date | None = None
    licence: str | None = Field(default=None, min_length=1)
    url: str | None = Field(default=None, alias="adresse", min_length=1)


class Convention(_Model):
    file_version: int = Field(alias="version_fichier")
    info: ConventionInfo = Field(alias="convention")
    epci: Epci
    campaign: Campaign = Field(default_factory=Campaign, alias="campagne")
    report: Report = Field(default_factory=Report, alias="bilan")
    qpv_geographies: list[QpvGeography] = Field(alias="geographies_qpv", min_length=1)
    local_zones: list[LocalZone] = Field(default_factory=list, alias="zones_locales")
    zooms: list[Zoom] = Field(default_factory=list)
    sectors: list[Sector] = Field(default_factory=list, alias="secteurs")
    partners: list[Partner] = Field(alias="partenaires", min_length=1)
    objectives: list[Objective] = Field(alias="objectifs")
    quartile_thresholds: list[QuartileThresholds] = Field(default_factory=list, alias="seuils_quartiles")
    uc_scale: UcScale = Field(default_factory=UcScale, alias="unites_consommation")
    priority_categories: list[PriorityCategory] = Field(alias="categories_prioritaires", min_length=2)
    rehousing: RehousingCharter | None = Field(default=None, alias="charte_relogement")
    actions: list[Action] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    attention: AttentionGroups | None = Field(default=None, alias="attention_particuliere")
    reception_points: list[ReceptionPoint] = Field(default_factory=list, alias="lieux_accueil")

    # Cross-field checks: each raises with the key path, so the message can name it; an item
    # of a list is named by its identifying key (ITEM_KEYS), never by its position.
    @model_validator(mode="after")
    def _check_references(self) -> Convention:
        problems: list[tuple[str, str]] = []
        info = self.info
        if info.last_year < info.first_year:
            problems.append(("convention.derniere_annee", "doit être postérieure ou égale à premiere_annee"))
        insee = {c.insee for c in self.epci.communes}

        def commune_of_epci(key: str, commune: str) -> None:
            if commune not in insee:
                problems.append((key, f"la commune {commune} n'est pas une commune de l'EPCI"))

        _dupes(problems, "epci.communes", [c.insee for c in self.epci.communes], "code INSEE")
        _dupes(problems, "geographies_qpv", [g.id for g in self.qpv_geographies], "identifiant")
        for geo in self.qpv_geographies:
            where = _at("geographies_qpv", geo.id)
            _dupes(problems, f"{where}.qpv", [q.code for q in geo.qpvs], "code QPV")
            for qpv in geo.qpvs:
                for commune in qpv.communes:
                    commune_of_epci(f"{where}.{_at('qpv', qpv.code)}.communes", commune)
        for year in range(info.first_year, info.last_year + 1):
            geos = [g.id for g in self.qpv_geographies if g.applies_to(year)]
            if len(geos) != 1:
                what = "aucune géographie" if not geos else f"plusieurs géographies ({', '.join(geos)})"
                problems.append(
                    ("geographies_qpv", f"l'année {year} de la convention a {what} ; il en faut une")
                )
        _dupes(problems, "zones_locales", [z.code for z in self.local_zones], "code")
        for zone in self.local_zones:
            commune_of_epci(f"{_at('zones_locales', zone.code)}.commune", zone.commune)
        for zoom in self.zooms:
            for commune in zoom.communes:
                commune_of_epci(f"{_at('zooms', zoom.name)}.communes", commune)
        _dupes(problems, "secteurs", [s.name for s in self.sectors], "nom")
        _dupes(problems, "secteurs.communes", [c for s in self.sectors for c in s.communes], "commune")
        for sector in self.sectors:
            for commune in sector.communes:
                commune_of_epci(f"{_at('secteurs', sector.name)}.communes", commune)
        _dupes(problems, "partenaires", [p.id for p in self.partners], "identifiant")
        for partner in self.partners:
            where = _at("partenaires", partner.id)
            if partner.commune is not None:
                commune_of_epci(f"{where}.commune", partner.commune)
            if partner.is_bailleur and partner.category not in BAILLEUR_CATEGORIES:
                problems.append(
                    (
                        f"{where}.categorie",
                        f"catégorie de bailleur inconnue « {partner.category} » : "
                        f"écrivez {_or_list(BAILLEUR_CATEGORIES)}",
                    )
                )
        check_contingents(self.partners, problems, _at)
        if not any(p.is_bailleur for p in self.partners):
            problems.append(("partenaires", "il faut au moins un partenaire de type « bailleur »"))
        codes = [o.code for o in self.objectives]
        _dupes(problems, "objectifs", codes, "code")
        for code in OBJECTIVE_CODES:
            if code not in codes:
                problems.append(("objectifs", f"l'objectif « {code} » manque"))
        for objective in self.objectives:
            for year in range(info.first_year, info.last_year + 1):
                if year not in objective.targets:
                    problems.append(
                        (
                            f"{_at('objectifs', objective.code)}.cibles",
                            f"pas de cible pour l'année {year} de la convention",
                        )
                    )
        _dupes(problems, "seuils_quartiles", [t.year for t in self.quartile_thresholds], "année")
        for t in self.quartile_thresholds:
            values = [v for v in (t.q1, t.q2, t.q3) if v is not None]
            if values != sorted(values):
                problems.append(
                    (_at("seuils_quartiles", t.year), "les seuils doivent croître : q1 < q2 < q3")
                )
        cats = [c.code for c in self.priority_categories]
        _dupes(problems, "categories_prioritaires", cats, "code")
        if not any(not c.priority for c in self.priority_categories):
            problems.append(
                ("categories_prioritaires", "il faut une catégorie non prioritaire (prioritaire = false)")
            )
        _check_actions(self, problems)
        _check_reception_points(self, problems)
        if self.rehousing is not None:
            _check_charter(self, problems)
        elif self.operators:
            problems.append(
                ("charte_relogement", "un partenaire de type « operateur » suppose une charte de relogement")
            )
        if problems:
            raise ValueError("\n".join(f"[{key}] {msg}" for key, msg in problems))
        return self

    @cached_property
    def warnings(self) -> list[str]:
        """What the file says that is allowed but probably not meant, in French, by key: a
        target under 1 is most likely a share written as a fraction (0.5 for 50 %)."""
        out = []
        for objective in self.objectives:
            for year, target in sorted(objective.targets.items()):
                if 0 < target < 1:
                    out.append(_fraction_warning(f"{_at('objectifs', objective.code)}.cibles.{year}", target))
        if self.rehousing is not None:
            for code, target in self.rehousing.targets.items():
                if 0 < target < 1:
                    out.append(_fraction_warning(f"charte_relogement.cibles.{code}", target))
        return out

    # -- Lookups used by every stage -------------------------------------------------------

    @cached_property
    def communes_by_insee(self) -> dict[str, Commune]:
        return {c.insee: c for c in self.epci.communes}

    @cached_property
    def partners_by_id(self) -> dict[str, Partner]:
        return {p.id: p for p in self.partners}

    def partner_rank(self, partner_id: str) -> int:
        """A partner's place in the convention (the order of every list of partners); an
        unknown id comes after them all."""
        return self.partner_ranks.get(partner_id, len(self.partner_ranks))

    @cached_property
    def partner_ranks(self) -> dict[str, int]:
        return {p.id: i for i, p in enumerate(self.partners)}

    @property
    def bailleurs(self) -> list[Partner]:
        return [p for p in self.partners if p.kind == "bailleur"]

    @property
    def reservataires(self) -> list[Partner]:
        return [p for p in self.partners if p.kind == "reservataire"]

    @cached_property
    def contingents(self) -> list[ContingentLine]:
        """Every réservataire's contingents (the bailleurs' « Contingent » codes), in file order."""
        return contingent_lines(self)

    @cached_property
    def contingents_by_code(self) -> dict[str, ContingentLine]:
        return {c.code: c for c in self.contingents}

    @cached_property
    def reservataire_lines(self) -> list[TableLine]:
        """The réservataires' lines of the bilan, in the order of the convention's table."""
        return table_lines(self)

    @property
    def operators(self) -> list[Partner]:
        return [p for p in self.partners if p.kind == "operateur"]

    def action_questions(self, kind: str) -> list[tuple[Action, ActionQuestion]]:
        """The questions of a partner kind's Actions sheet, in the convention's order."""
        return [(a, q) for a in self.actions for q in a.questions if kind in a.asked(q)]

    def action_reporting(self, indicator: str) -> Action | None:
        """The first action whose indicators include `indicator` (ACTION_INDICATORS), if any."""
        return next((a for a in self.actions if indicator in a.indicators), None)

    def reception_points_of(self, partner_id: str) -> list[ReceptionPoint]:
        """The reception points a partner runs: its workbook has a « Lieux d'accueil » sheet when any."""
        return [p for p in self.reception_points if p.partner == partner_id]

    @property
    def collects_demand(self) -> bool:
        """Whether the EPCI fills its own Demande workbook: an action reports demand or tension."""
        return any(key in a.indicators for a in self.actions for key in DEMAND_INDICATORS)

    def reports_rehousing(self, partner_id: str) -> bool:
        """Whether the partner's workbook holds the NPNRU rehousing sheet (the charter says who)."""
        return self.rehousing is not None and partner_id in self.rehousing.partners

    @property
    def years(self) -> range:
        return range(self.info.first_year, self.info.last_year + 1)

    def objective(self, code: str) -> Objective:
        return next(o for o in self.objectives if o.code == code)

    def target(self, code: str, year: int) -> float | None:
        """The target of an objective for a year, in percent; None outside the convention."""
        return self.objective(code).targets.get(year)

    def geography(self, year: int) -> QpvGeography:
        for geo in self.qpv_geographies:
            if geo.applies_to(year):
                return geo
        raise ConventionError(
            f"Aucune géographie prioritaire ne s'applique à l'année {year} dans le fichier de "
            "convention (clé geographies_qpv) : ajoutez-en une qui couvre cette année."
        )

    def thresholds(self, year: int) -> QuartileThresholds | None:
        return next((t for t in self.quartile_thresholds if t.year == year), None)

    @cached_property
    def category_order(self) -> list[str]:
        return [c.code for c in self.priority_categories]

    def check_year(self, year: int) -> None:
        """Refuse a year the convention cannot judge: outside its period (no target is set for
        it), or without a QPV geography."""
        first, last = self.info.first_year, self.info.last_year
        if not first <= year <= last:
            if year > last:
                how = (
                    f"si la convention est prolongée, portez derniere_annee à {year} dans [convention] "
                    f"et ajoutez la cible de {year} à chaque objectif (clés cibles)"
                )
            else:
                how = "vérifiez l'année demandée (--year), ou premiere_annee dans [convention]"
            raise ConventionError(
                f"L'année {year} est hors de la période de la convention ({first}-{last}) : aucune cible "
                f"n'y est fixée. Pour l'évaluer, {how}."
            )
        self.geography(year)

    def year_warnings(self, years) -> list[str]:
        """What a command working on `years` should say first: the years without (complete)
        quartile thresholds, whose declared quartiles cannot be checked."""
        missing = [y for y in sorted(set(years)) if self.thresholds(y) is None]
        partial = [y for y in sorted(set(years)) if (t := self.thresholds(y)) is not None and not t.complete]
        out = []
        if missing:
            out.append(
                f"{_plural(missing, 'Année')} {_and_list(missing)} sans seuils de quartile dans la convention "
                "(clé seuils_quartiles) : le quartile déclaré par les partenaires n'est pas contrôlé et le "
                "bilan dit « seuils inconnus ». Ajoutez les seuils de l'arrêté de l'année dès sa parution."
            )
        if partial:
            out.append(
                f"{_plural(partial, 'Année')} {_and_list(partial)} : seuils de quartile incomplets (q2 ou q3 "
                "absents dans seuils_quartiles) : seul le 1er quartile est contrôlé."
            )
        return out


def _check_actions(c: Convention, problems: list[tuple[str, str]]) -> None:
    _dupes(problems, "actions", [a.number for a in c.actions], "numéro")
    # One Actions sheet per partner kind: a key names one line of it.
    _dupes(problems, "actions", [q.key for a in c.actions for q in a.questions], "clé de question")
    for action in c.actions:
        where = _at("actions", action.number)
        for question in action.questions:
            at = f"{where}.{_at('questions', question.key)}"
            if not action.asked(question):
                problems.append(
                    (
                        f"{at}.pour",
                        'à qui la question est-elle posée ? Écrivez pour = ["bailleur"] ou '
                        '["reservataire"] (ou partenaires dans l\'action)',
                    )
                )
            elif question.asked and action.partner_kinds:
                for kind in question.asked:
                    if kind not in action.partner_kinds:
                        problems.append(
                            (f"{at}.pour", f"« {kind} » n'est pas dans les partenaires de l'action")
                        )
        for key in action.indicators:
            if key not in ACTION_INDICATORS:
                problems.append(
                    (
                        f"{where}.indicateurs",
                        f"indicateur inconnu « {key} » (indicateurs : {', '.join(ACTION_INDICATORS)})",
                    )
                )
            elif key in REHOUSING_INDICATORS and c.rehousing is None:
                problems.append(
                    (f"{where}.indicateurs", f"l'indicateur « {key} » suppose une charte de relogement")
                )
        _dupes(problems, f"{where}.indicateurs", action.indicators, "indicateur")


def _check_reception_points(c: Convention, problems: list[tuple[str, str]]) -> None:
    _dupes(problems, "lieux_accueil", [p.code for p in c.reception_points], "code")
    insee = {m.insee for m in c.epci.communes}
    partners = {p.id: p for p in c.partners}
    for point in c.reception_points:
        where = _at("lieux_accueil", point.code)
        if point.commune not in insee:
            problems.append(
                (f"{where}.commune", f"la commune {point.commune} n'est pas une commune de l'EPCI")
            )
        partner = partners.get(point.partner)
        if partner is None:
            problems.append(
                (f"{where}.partenaire", f"« {point.partner} » n'est pas un partenaire de la convention")
            )
        elif partner.kind == "operateur":
            problems.append(
                (
                    f"{where}.partenaire",
                    f"« {point.partner} » est un opérateur : un lieu d'accueil est tenu par un bailleur ou un réservataire",
                )
            )
    for action in c.actions:
        if "lieux_accueil" in action.indicators and not c.reception_points:
            problems.append(
                (
                    f"{_at('actions', action.number)}.indicateurs",
                    "l'indicateur « lieux_accueil » suppose au moins un [[lieux_accueil]]",
                )
            )
        if "publics_attention" in action.indicators and c.attention is None:
            problems.append(
                (
                    f"{_at('actions', action.number)}.indicateurs",
                    "l'indicateur « publics_attention » suppose une section [attention_particuliere]",
                )
            )


def _check_charter(c: Convention, problems: list[tuple[str, str]]) -> None:
    charter = c.rehousing
    assert charter is not None
    key = "charte_relogement"
    ids = {p.id: p for p in c.partners}
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
    _dupes(problems, f"{key}.partenaires", charter.partners, "partenaire")
    for p in c.partners:
        if p.kind == "operateur" and p.id not in charter.partners:
            problems.append((key + ".partenaires", f"l'opérateur « {p.id} » doit figurer dans la liste"))
    _dupes(problems, f"{key}.operations", [o.code for o in charter.operations], "code")
    insee = {cm.insee for cm in c.epci.communes}
    for op in charter.operations:
        where = _at(f"{key}.operations", op.code)
        if op.commune not in insee:
            problems.append((f"{where}.commune", f"la commune {op.commune} n'est pas une commune de l'EPCI"))
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
    if charter.first_year is not None and charter.first_year > c.info.last_year:
        problems.append((f"{key}.premiere_annee", "doit précéder la fin de la convention"))


def _at(list_key: str, value: object) -> str:
    """An item of a list named by its identifying key: « partenaires[identifiant = sfhe] »."""
    return f"{list_key}[{ITEM_KEYS[list_key.rsplit('.', 1)[-1]]} = {value}]"


def _and_list(values) -> str:
    values = [str(v) for v in values]
    return ", ".join(values[:-1]) + " et " + values[-1] if len(values) > 1 else values[0]


def _plural(values, word: str) -> str:
    return word + ("s" if len(values) > 1 else "")


def _or_list(values) -> str:
    values = list(values)
    return ", ".join(values[:-1]) + " ou " + values[-1] if len(values) > 1 else values[0]


def _fraction_warning(key: str, target: float) -> str:
    shown = f"{target:g}".replace(".", ",")
    meant = f"{target * 100:g}".replace(".", ",")
    return (
        f"[{key}] {shown} % : vouliez-vous dire {meant} % ? Les cibles s'écrivent en pour cent "
        f"({meant} pour {meant} %)."
    )


def _dupes(problems: list[tuple[str, str]], key: str, values: list, what: str) -> None:
    seen: set = set()
    for value in values:
        if value in seen:
            problems.append((key, f"{what} « {value} » en double"))
        seen.add(value)


# -- Loading -------------------------------------------------------------------------------

_PYDANTIC_FR = {
    "missing": "clé obligatoire absente",
    "extra_forbidden": "clé inconnue (faute de frappe ?)",
    "int_parsing": "nombre entier attendu",
    "int_type": "nombre entier attendu",
    "float_parsing": "nombre attendu",
    "float_type": "nombre attendu",
    "string_type": "texte entre guillemets attendu",
    "bool_type": "true ou false attendu",
    "bool_parsing": "true ou false attendu",
    "list_type": "liste entre crochets attendue",
    "dict_type": "table attendue",
    "model_type": "table attendue",
    "date_type": "date attendue (AAAA-MM-JJ)",
    "date_parsing": "date attendue (AAAA-MM-JJ)",
    "date_from_datetime_parsing": "date attendue (AAAA-MM-JJ)",
    "literal_error": "valeur non autorisée",
    "string_pattern_mismatch": "format incorrect",
    "string_too_short": "ne doit pas être vide",
    "too_short": "liste trop courte",
    "greater_than": "valeur trop petite",
    "greater_than_equal": "valeur trop petite",
    "less_than_equal": "valeur trop grande",
}


def _format_loc(loc: tuple, data: object) -> str:
    """A pydantic location as the file's key path, each item of a list named by its identifying
    key (« partenaires[identifiant = sfhe].commune »), or by its 1-based rank when it has none."""
    out = ""
    node = data
    parent = ""
    for part in loc:
        if isinstance(part, int) and isinstance(node, list):
            item = node[part] if part < len(node) else None
            key = ITEM_KEYS.get(parent)
            if isinstance(item, dict) and key and isinstance(item.get(key), str | int):
                out += f"[{key} = {item[key]}]"
            else:
                out += f"[n° {part + 1}]"
            node = item
        else:
            out += ("." if out else "") + str(part)
            node = node.get(part) if isinstance(node, dict) else None
            parent = str(part)
    return out or "(racine)"


def _explain(err: dict) -> str:
    kind = err["type"]
    base = _PYDANTIC_FR.get(kind, "valeur incorrecte")
    ctx = err.get("ctx") or {}
    if kind == "literal_error" and "expected" in ctx:
        base += f" : valeurs possibles {ctx['expected']}"
    elif kind in ("greater_than", "greater_than_equal") and ctx:
        base += f" : minimum {ctx.get('gt', ctx.get('ge'))}"
    elif kind == "less_than_equal" and ctx:
        base += f" : maximum {ctx.get('le')}"
    if "input" in err and kind not in ("missing",) and not isinstance(err["input"], dict | list):
        base += f" (valeur lue : {err['input']!r})"
    return base


def parse_convention(data: dict, source: str) -> Convention:
    """Build a Convention from parsed TOML, or raise ConventionError in French."""
    try:
        return Convention.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            if err["type"] == "value_error":
                # Cross-field problems come already worded, prefixed by their key.
                msg = str(err.get("ctx", {}).get("error", err["msg"]))
                lines.extend(f"  - {part}" for part in msg.split("\n"))
            elif err["type"] == "missing" and err["loc"] == ("partenaires",):
                lines.append(
                    "  - [partenaires] aucun partenaire : ajoutez au moins un bailleur, un bloc "
                    '[[partenaires]] avec identifiant, nom, type = "bailleur" et categorie '
                    f"({_or_list(BAILLEUR_CATEGORIES)})"
                )
            else:
                lines.append(f"  - [{_format_loc(err['loc'], data)}] {_explain(err)}")
        raise ConventionError(
            f"Le fichier de convention {source} contient des erreurs :\n"
            + "\n".join(lines)
            + "\nCorrigez ces clés puis relancez la commande."
        ) from None


# tomllib's messages (Python 3.11 to 3.13), each with what to do, in French.
_TOML_FR = (
    (r"Expected '=' after a key", "il manque le signe « = » après le nom de la clé"),
    (
        r"Invalid value",
        'valeur illisible : un texte s\'écrit entre guillemets droits ("…"), '
        "un nombre sans espace ni unité, une date AAAA-MM-JJ, true ou false",
    ),
    (r"Unterminated string", "texte sans guillemet fermant : fermez-le sur la même ligne"),
    (
        r"Illegal character",
        "caractère interdit dans un texte (tabulation, retour à la ligne) : "
        "retirez-le ou écrivez le texte sur une seule ligne",
    ),
    (
        r"Unclosed array",
        "liste non fermée : ajoutez le crochet « ] » et séparez les éléments par des virgules",
    ),
    (
        r"Unclosed inline table",
        "accolade non fermée : ajoutez « } » en fin de ligne et séparez les paires par des virgules",
    ),
    (r"Expected ']' at the end of a table", "il manque le crochet fermant « ] » du titre de section"),
    (r"Expected ']]' at the end of an array", "il manque les crochets fermants « ]] » du titre de section"),
    (
        r"Cannot declare .* twice|Cannot overwrite a value|Duplicate inline table key",
        "clé ou section écrite deux fois : gardez-en une seule",
    ),
    (r"Cannot (mutate|redefine)", "section déjà définie plus haut : regroupez ses clés sous un seul titre"),
    (r"Invalid date or datetime", "date incorrecte : écrivez-la AAAA-MM-JJ (par exemple 2025-03-31)"),
    (
        r"Invalid initial character for a key part|Invalid statement|Found invalid character",
        "ligne illisible : une ligne est soit un titre [section], soit « clé = valeur », soit un "
        "commentaire commençant par #",
    ),
    (
        r"Unescaped '\\'|Invalid hex value|Escaped character",
        "barre oblique inverse « \\ » dans un texte : doublez-la (\\\\) ou mettez le texte entre apostrophes",
    ),
)


def _toml_error(exc: tomllib.TOMLDecodeError) -> str:
    """« ligne 12, colonne 9 : il manque le signe = … » from tomllib's English message."""
    message = str(exc)
    where = re.search(r"\(at line (\d+), column (\d+)\)$", message)
    if where:
        place = f"à la ligne {where.group(1)}, colonne {where.group(2)}"
    elif message.endswith("(at end of document)"):
        place = "à la fin du fichier"
    else:
        place = "à un endroit que le lecteur TOML ne précise pas"
    what = next(
        (fr for pattern, fr in _TOML_FR if re.search(pattern, message)),
        "syntaxe incorrecte : vérifiez les guillemets, les crochets et les signes « = »",
    )
    return f"{place} : {what}"


def load_convention(path: Path | None = None) -> Convention:
    """Load a convention file; `None` loads the embedded Alès default."""
    if path is None:
        text = embedded_convention_text()
        source = "intégré à cia-workbook"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ConventionError(
                f"Le fichier de convention {path} n'est pas un texte UTF-8 : "
                "enregistrez-le en UTF-8 puis relancez la commande."
            ) from None
        except OSError as exc:
            raise ConventionError(
                f"Le fichier de convention {path} ne peut pas être lu ({exc.strerror})."
            ) from None
        source = str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConventionError(
            f"Le fichier de convention {source} n'est pas un TOML valide {_toml_error(exc)}. "
            "Corrigez cet endroit (ou la ligne juste au-dessus) puis relancez la commande."
        ) from None
    return parse_convention(data, source)


def embedded_convention_text() -> str:
    return resources.files("cia_workbook.data").joinpath(CONVENTION_FILENAME).read_text("utf-8")


def convention_for_dir(workdir: Path) -> tuple[Convention, Path | None]:
    """The convention of a working folder, or the embedded default when it has none."""
    path = Path(workdir) / CONVENTION_FILENAME
    if path.is_file():
        return load_convention(path), path
    return load_convention(None), None
