"""The convention as data: the pydantic model of a CIA, loaded from a TOML file.

Everything specific to a territory (communes, QPVs, partners, targets, thresholds) lives in
the convention file; this module only knows its shape. The file's keys are French because the
housing officer edits it; the attributes are English because the code reads them.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

CONVENTION_FILENAME = "convention.toml"
OBJECTIVE_CODES = ("hors_qpv_q1", "qpv_q234", "publics_prioritaires")

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
    population: int | None = Field(default=None, alias="population_2017", ge=0)


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


class Convention(_Model):
    file_version: int = Field(alias="version_fichier")
    info: ConventionInfo = Field(alias="convention")
    epci: Epci
    campaign: Campaign = Field(default_factory=Campaign, alias="campagne")
    report: Report = Field(default_factory=Report, alias="bilan")
    qpv_geographies: list[QpvGeography] = Field(alias="geographies_qpv", min_length=1)
    local_zones: list[LocalZone] = Field(default_factory=list, alias="zones_locales")
    zooms: list[Zoom] = Field(default_factory=list)
    partners: list[Partner] = Field(alias="partenaires", min_length=1)
    objectives: list[Objective] = Field(alias="objectifs")
    quartile_thresholds: list[QuartileThresholds] = Field(default_factory=list, alias="seuils_quartiles")
    uc_scale: UcScale = Field(default_factory=UcScale, alias="unites_consommation")
    priority_categories: list[PriorityCategory] = Field(alias="categories_prioritaires", min_length=2)
    rehousing: RehousingCharter | None = Field(default=None, alias="charte_relogement")

    # Cross-field checks: each raises with the key path, so the message can name it.
    @model_validator(mode="after")
    def _check_references(self) -> Convention:
        problems: list[tuple[str, str]] = []
        info = self.info
        if info.last_year < info.first_year:
            problems.append(("convention.derniere_annee", "doit être postérieure ou égale à premiere_annee"))
        insee = {c.insee for c in self.epci.communes}
        _dupes(problems, "epci.communes", [c.insee for c in self.epci.communes], "code INSEE")
        for gi, geo in enumerate(self.qpv_geographies):
            for qi, qpv in enumerate(geo.qpvs):
                for commune in qpv.communes:
                    if commune not in insee:
                        problems.append(
                            (
                                f"geographies_qpv[{gi}].qpv[{qi}].communes",
                                f"la commune {commune} n'est pas une commune de l'EPCI",
                            )
                        )
        for year in range(info.first_year, info.last_year + 1):
            geos = [g.id for g in self.qpv_geographies if g.applies_to(year)]
            if len(geos) != 1:
                what = "aucune géographie" if not geos else f"plusieurs géographies ({', '.join(geos)})"
                problems.append(
                    ("geographies_qpv", f"l'année {year} de la convention a {what} ; il en faut une")
                )
        for zi, zone in enumerate(self.local_zones):
            if zone.commune not in insee:
                problems.append(
                    (
                        f"zones_locales[{zi}].commune",
                        f"la commune {zone.commune} n'est pas une commune de l'EPCI",
                    )
                )
        for zi, zoom in enumerate(self.zooms):
            for commune in zoom.communes:
                if commune not in insee:
                    problems.append(
                        (f"zooms[{zi}].communes", f"la commune {commune} n'est pas une commune de l'EPCI")
                    )
        _dupes(problems, "partenaires", [p.id for p in self.partners], "identifiant")
        for pi, partner in enumerate(self.partners):
            if partner.commune is not None and partner.commune not in insee:
                problems.append(
                    (
                        f"partenaires[{pi}].commune",
                        f"la commune {partner.commune} n'est pas une commune de l'EPCI",
                    )
                )
        if not any(p.is_bailleur for p in self.partners):
            problems.append(("partenaires", "il faut au moins un partenaire de type « bailleur »"))
        codes = [o.code for o in self.objectives]
        _dupes(problems, "objectifs", codes, "code")
        for code in OBJECTIVE_CODES:
            if code not in codes:
                problems.append(("objectifs", f"l'objectif « {code} » manque"))
        for oi, objective in enumerate(self.objectives):
            for year in range(info.first_year, info.last_year + 1):
                if year not in objective.targets:
                    problems.append(
                        (f"objectifs[{oi}].cibles", f"pas de cible pour l'année {year} de la convention")
                    )
        _dupes(problems, "seuils_quartiles", [t.year for t in self.quartile_thresholds], "année")
        for ti, t in enumerate(self.quartile_thresholds):
            values = [v for v in (t.q1, t.q2, t.q3) if v is not None]
            if values != sorted(values):
                problems.append((f"seuils_quartiles[{ti}]", "les seuils doivent croître : q1 < q2 < q3"))
        cats = [c.code for c in self.priority_categories]
        _dupes(problems, "categories_prioritaires", cats, "code")
        if not any(not c.priority for c in self.priority_categories):
            problems.append(
                ("categories_prioritaires", "il faut une catégorie non prioritaire (prioritaire = false)")
            )
        if self.rehousing is not None:
            _check_charter(self, problems)
        elif self.operators:
            problems.append(
                ("charte_relogement", "un partenaire de type « operateur » suppose une charte de relogement")
            )
        if problems:
            raise ValueError(" ; ".join(f"[{key}] {msg}" for key, msg in problems))
        return self

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

    @property
    def operators(self) -> list[Partner]:
        return [p for p in self.partners if p.kind == "operateur"]

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
        """Refuse a year the convention cannot judge (no geography applies to it)."""
        self.geography(year)


def _check_charter(c: Convention, problems: list[tuple[str, str]]) -> None:
    charter = c.rehousing
    assert charter is not None
    key = "charte_relogement"
    ids = {p.id: p for p in c.partners}
    for i, pid in enumerate(charter.partners):
        if pid not in ids:
            problems.append(
                (f"{key}.partenaires[{i}]", f"« {pid} » n'est pas un partenaire de la convention")
            )
        elif ids[pid].kind == "reservataire":
            problems.append(
                (
                    f"{key}.partenaires[{i}]",
                    f"« {pid} » est un réservataire : seuls les bailleurs et les opérateurs suivent des relogements",
                )
            )
    for p in c.partners:
        if p.kind == "operateur" and p.id not in charter.partners:
            problems.append((key + ".partenaires", f"l'opérateur « {p.id} » doit figurer dans la liste"))
    _dupes(problems, f"{key}.operations", [o.code for o in charter.operations], "code")
    insee = {cm.insee for cm in c.epci.communes}
    for i, op in enumerate(charter.operations):
        where = f"{key}.operations[{i}]"
        if op.commune not in insee:
            problems.append((f"{where}.commune", f"la commune {op.commune} n'est pas une commune de l'EPCI"))
        if op.bailleur is not None and (op.bailleur not in ids or not ids[op.bailleur].is_bailleur):
            problems.append(
                (f"{where}.bailleur", f"« {op.bailleur} » n'est pas un bailleur de la convention")
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


def _format_loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
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
                lines.extend(f"  - {part}" for part in msg.split(" ; "))
            else:
                lines.append(f"  - [{_format_loc(err['loc'])}] {_explain(err)}")
        raise ConventionError(
            f"Le fichier de convention {source} contient des erreurs :\n"
            + "\n".join(lines)
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
            f"Le fichier de convention {source} n'est pas un TOML valide : {exc}. "
            "Vérifiez les guillemets, les crochets et les signes « = » à cet endroit."
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
