"""The convention as data: the pydantic model of a CIA, loaded from a TOML file.

Everything specific to a territory (communes, QPVs, partners, targets, thresholds) lives in
the convention file; this module only knows its shape. The file's keys are French because the
housing officer edits it; the attributes are English because the code reads them. Each topic has
its module, its models and checks (geography, partners, objectives, actions, charter);
`Convention` puts them together and is what every stage reads.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, model_validator

# ACTION_INDICATORS, CRITERION_CODES, OBJECTIVE_CODES: re-exported, imported from here.
from cia_workbook.convention.actions import ACTION_INDICATORS as ACTION_INDICATORS
from cia_workbook.convention.actions import (
    DEMAND_INDICATORS,
    Action,
    ActionQuestion,
    AttentionGroups,
    ReceptionPoint,
    check_actions,
    check_reception_points,
)
from cia_workbook.convention.base import ConventionError, Model, Slug, and_list, plural
from cia_workbook.convention.charter import CRITERION_CODES as CRITERION_CODES
from cia_workbook.convention.charter import RehousingCharter, check_charter
from cia_workbook.convention.charter import target_warnings as charter_warnings
from cia_workbook.convention.contingents import ContingentLine, TableLine, contingent_lines, table_lines
from cia_workbook.convention.errors import toml_error, validation_lines
from cia_workbook.convention.geography import (
    Commune,
    Epci,
    LocalZone,
    QpvGeography,
    Sector,
    Zoom,
    check_geography,
)
from cia_workbook.convention.objectives import OBJECTIVE_CODES as OBJECTIVE_CODES
from cia_workbook.convention.objectives import (
    Objective,
    PriorityCategory,
    QuartileThresholds,
    UcScale,
    check_objectives,
    target_warnings,
)
from cia_workbook.convention.partners import Partner, check_partners

CONVENTION_FILENAME = "convention.toml"


class ConventionInfo(Model):
    id: Slug = Field(alias="identifiant")
    title: str = Field(alias="titre")
    first_year: int = Field(alias="premiere_annee", ge=2000, le=2100)
    last_year: int = Field(alias="derniere_annee", ge=2000, le=2100)
    approval_date: dt.date | None = Field(default=None, alias="date_approbation")
    test_years: list[int] = Field(default_factory=list, alias="annees_test")
    midterm_year: int | None = Field(default=None, alias="annee_mi_parcours")


class Campaign(Model):
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


class Report(Model):
    """How the bilan is written (French key `bilan`)."""

    # A verdict on fewer households than this is marked « à interpréter avec prudence ».
    caution_universe: int = Field(default=20, alias="seuil_prudence", ge=0)
    # Commitments of the convention the bilan recalls under « Le cadre de l'évaluation », as
    # the convention words them (for example where DALO households are to be rehoused).
    reminders: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list, alias="rappels")


class Source(Model):
    """Where a part of the file comes from, for the bilan's method section (French key
    `sources`): the reference data that `init --epci` used, the signed text, an arrêté."""

    subject: str = Field(alias="objet", min_length=1)
    origin: str = Field(alias="origine", min_length=1)
    date: dt.date | None = None
    licence: str | None = Field(default=None, min_length=1)
    url: str | None = Field(default=None, alias="adresse", min_length=1)


class Convention(Model):
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

    # Cross-field checks, topic by topic: each problem has its key path, so the message can
    # name it; an item of a list is named by its identifying key (base.ITEM_KEYS), never by its
    # position.
    @model_validator(mode="after")
    def _check_references(self) -> Convention:
        problems: list[tuple[str, str]] = []
        if self.info.last_year < self.info.first_year:
            problems.append(("convention.derniere_annee", "doit être postérieure ou égale à premiere_annee"))
        insee = {c.insee for c in self.epci.communes}
        check_geography(
            problems, self.epci, self.qpv_geographies, self.years, self.local_zones, self.zooms, self.sectors
        )
        check_partners(problems, self.partners, insee)
        check_objectives(
            problems, self.objectives, self.years, self.quartile_thresholds, self.priority_categories
        )
        check_actions(problems, self.actions, self.rehousing is not None)
        check_reception_points(
            problems, self.reception_points, insee, self.partners, self.actions, self.attention
        )
        check_charter(problems, self.rehousing, self.partners, insee, self.info.last_year)
        if problems:
            raise ValueError("\n".join(f"[{key}] {msg}" for key, msg in problems))
        return self

    @cached_property
    def warnings(self) -> list[str]:
        """What the file says that is allowed but probably not meant, in French, by key: a
        target under 1 is most likely a share written as a fraction (0.5 for 50 %)."""
        return target_warnings(self.objectives) + charter_warnings(self.rehousing)

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
                f"{plural(missing, 'Année')} {and_list(missing)} sans seuils de quartile dans la convention "
                "(clé seuils_quartiles) : le quartile déclaré par les partenaires n'est pas contrôlé et le "
                "bilan dit « seuils inconnus ». Ajoutez les seuils de l'arrêté de l'année dès sa parution."
            )
        if partial:
            out.append(
                f"{plural(partial, 'Année')} {and_list(partial)} : seuils de quartile incomplets (q2 ou q3 "
                "absents dans seuils_quartiles) : seul le 1er quartile est contrôlé."
            )
        return out


def parse_convention(data: dict, source: str) -> Convention:
    """Build a Convention from parsed TOML, or raise ConventionError in French."""
    try:
        return Convention.model_validate(data)
    except ValidationError as exc:
        raise ConventionError(
            f"Le fichier de convention {source} contient des erreurs :\n"
            + "\n".join(validation_lines(exc, data))
            + "\nCorrigez ces clés puis relancez la commande."
        ) from None


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
            f"Le fichier de convention {source} n'est pas un TOML valide {toml_error(exc)}. "
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
