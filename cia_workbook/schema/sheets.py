"""The one schema of the returns: sheets, columns and code lists of every partner workbook.

The template writer, the reader, the validator, the format documentation and the demo
generator all read this definition; a column added here appears everywhere. Code lists that
depend on the territory or the year (communes, QPVs, contingents, categories) are resolved
from the convention by `schema_for`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Literal

from cia_workbook.convention.settings import Action, ActionQuestion, Convention, Partner

SCHEMA_VERSION = "1.2"
# Earlier versions whose returns are still read: a column added since (`Column.since`) is then
# not expected, and what its absence means is said once per file (finding MODELE_ANCIEN).
READABLE_VERSIONS = ("1.0", "1.1")
TEMPLATE_MARKER = "cia-workbook"
ID_SHEET = "_cia"  # very hidden sheet holding the identification of the template
LISTS_SHEET = "_listes"  # very hidden sheet holding the dropdown lists
FORM_FIRST_ROW = 3
# Identification of a template: key → value rows in columns A:B of the very hidden ID_SHEET,
# in this order; also written as defined names (CIA_<KEY>) and custom document properties.
ID_KEYS = ("modele", "version_schema", "convention", "partenaire", "type", "annee")
# The file name of a partner's template, kept by most partners when they send it back: what a
# received file's name says about its partner is read from it (`validate.partner_of_file_name`).
TEMPLATE_FILE_PREFIX = "cia"


def template_file_name(partner_id: str, year: int) -> str:
    """Stable file name without spaces or accents, e.g. cia-2024-logis-cevenols.xlsx."""
    return f"{TEMPLATE_FILE_PREFIX}-{year}-{partner_id}.xlsx"


Kind = Literal["text", "integer", "decimal", "date", "code", "yesno"]
PartnerKind = Literal["bailleur", "reservataire", "operateur"]


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


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: Kind
    definition: str
    example: str
    required: bool = False
    # A conditional requirement: (other column key, codes of that column that make this one
    # required), read by the template (highlight) and the validator (CELLULE_OBLIGATOIRE) alike;
    # `required_when` is its wording for people ("si la suite donnée est « Bail signé »").
    required_if: tuple[str, tuple[str, ...]] | None = None
    required_when: str = ""
    codelist: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    width: int = 16
    # The schema version that added the column, or changed what it holds: returns of an earlier
    # version are read without it (or with its former header and meaning), and told so with
    # `before`, French: what the column is missing or meant in those returns.
    since: str = "1.0"
    before: str = ""
    former_headers: tuple[str, ...] = ()


def version_key(version: str) -> tuple[int, ...] | None:
    """« 1.1 » → (1, 1), « 1.0 » and « 1 » → (1,); None for a version that is not numbers and dots."""
    try:
        parts = [int(part) for part in str(version).strip().split(".")]
    except ValueError:
        return None
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def older_than(version: str, other: str) -> bool:
    """Whether schema `version` precedes `other` (unreadable versions precede nothing)."""
    a, b = version_key(version), version_key(other)
    return a is not None and b is not None and a < b


@dataclass(frozen=True)
class Sheet:
    key: str
    title: str  # the sheet's name in the workbook
    layout: Literal["readme", "form", "table", "synthese"]
    purpose: str
    columns: tuple[Column, ...] = ()
    # For "table" sheets: the 1-based row of the header; data starts on the next row.
    header_row: int = 1
    rows: int = 0  # pre-formatted data rows in the template
    required: bool = True  # a return without this sheet is refused

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    @property
    def first_data_row(self) -> int:
        return self.header_row + 1

    # Form sheets (Identification, Actions): row 1 title, row 2 hint, then one field per row
    # from FORM_FIRST_ROW, the label in column A and the answer in column B.
    def form_row(self, key: str) -> int:
        index = next(i for i, c in enumerate(self.columns) if c.key == key)
        return FORM_FIRST_ROW + index

    def form_cell(self, key: str) -> str:
        return f"B{self.form_row(key)}"


@dataclass(frozen=True)
class WorkbookSchema:
    kind: PartnerKind
    year: int
    sheets: tuple[Sheet, ...]
    codelists: dict[str, CodeList] = field(hash=False)

    def sheet(self, key: str) -> Sheet:
        return next(s for s in self.sheets if s.key == key)

    @property
    def sheet_titles(self) -> list[str]:
        return [s.title for s in self.sheets]

    def example(self, column: Column) -> str:
        """The column's example; for territory lists (communes, bailleurs…), the list's first value."""
        if column.example or not column.codelist:
            return column.example
        codes = self.codelists[column.codelist].codes
        return codes[0].display if codes else ""


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


def _reception_list(points) -> CodeList:
    return CodeList("lieu_accueil", tuple(Code(p.code, p.name) for p in points))


def _former(convention: Convention, contingent) -> tuple[str, ...]:
    """A réservataire's id and name, read as its first declared contingent: what a return made
    before the convention declared its contingents (last year's template) holds, and what that
    contingent then counted as (the State's priority publics, held to the target)."""
    partner = convention.partners_by_id[contingent.partner]
    if not partner.contingents or partner.contingents[0].code != contingent.code:
        return ()
    return (partner.id, partner.name)


# -- The sheets ----------------------------------------------------------------------------

README = Sheet("lisez_moi", "Lisez-moi", "readme", "Mode d'emploi du fichier.", required=False)

IDENTIFICATION = Sheet(
    "identification",
    "Identification",
    "form",
    "Qui répond, pour quel partenaire et quelle année.",
    columns=(
        Column("partenaire", "Partenaire", "text", "Nom du partenaire (pré-rempli).", "", required=True),
        Column("annee", "Année du bilan", "integer", "Année évaluée (pré-remplie).", "2024", required=True),
        Column("repondant", "Personne qui répond", "text", "Nom et fonction de la personne à contacter pour ce fichier.", "Marie Dupont, chargée de gestion locative", required=True),
        Column("courriel", "Courriel", "text", "Adresse électronique de la personne qui répond.", "m.dupont@bailleur.example"),
        Column("telephone", "Téléphone", "text", "Numéro de téléphone de la personne qui répond.", "06 39 98 00 00"),
        Column("date_reponse", "Date de la réponse", "date", "Date à laquelle le fichier est envoyé.", "15/02/2025", required=True),
        Column("commentaires", "Commentaires", "text", "Toute précision utile à la lecture du fichier.", "Export du logiciel de gestion du 10/02/2025.", width=60),
    ),
)  # fmt: skip

RELOGE_NPNRU_HEADER = "Relogé NPNRU"

_ATTRIBUTION_COLUMNS = (
    Column("reference", "Référence du dossier", "text",
           "Référence interne du dossier ou du bail chez le bailleur. Jamais de nom, d'adresse ni de numéro de sécurité sociale.",
           "REF-2024-00153", required=True, width=18),
    Column("date_cal", "Date de décision CAL", "date",
           "Date de la commission d'attribution (CAL/CALEOL) qui a prononcé l'attribution.",
           "15/03/2024", required=True, width=14),
    Column("date_bail", "Date de signature du bail", "date",
           "Date de signature du bail ; vide si aucun bail n'est signé.",
           "02/04/2024", required_if=("suite", ("BAIL_SIGNE",)), required_when="si la suite donnée est « Bail signé »",
           width=14),
    Column("suite", "Suite donnée", "code",
           "Ce qui a suivi la décision de la CAL.", "Bail signé", required=True, codelist="suite", width=20),
    Column("commune", "Commune du logement", "code",
           "Commune où se trouve le logement attribué.", "", required=True, codelist="commune", width=24),
    Column("qpv", "QPV du logement", "code",
           "Quartier prioritaire (géographie en vigueur dans l'année) où se trouve le logement, ou « Hors QPV ».",
           "Hors QPV", required=True, codelist="qpv", width=28),
    Column("zone_locale", "Zone locale", "code",
           "Zone que la convention traite comme un QPV (voir la liste), ou « Aucune ».",
           "Aucune", codelist="zone_locale", width=18),
    Column("contingent", "Contingent", "code",
           "Contingent sur lequel le logement a été attribué : contingent propre du bailleur ou réservataire.",
           "Contingent propre du bailleur", required=True, codelist="contingent", width=24),
    Column("quartile", "Quartile du ménage", "code",
           "Quartile de ressources du demandeur (SNE) : 1 = les 25 % de demandeurs les plus modestes ; « Inconnu » si les ressources ne sont pas connues.",
           "2", required=True, codelist="quartile", width=10),
    Column("categorie", "Catégorie prioritaire", "code",
           "Catégorie la plus haute du ménage dans l'ordre DALO, relogement NPNRU, PDALHPD, autre public prioritaire L. 441-1, ou « Aucune ».",
           "Aucune catégorie prioritaire", required=True, codelist="categorie", width=28),
    Column("typologie", "Typologie", "code", "Nombre de pièces du logement attribué.", "T3", codelist="typologie", width=9),
    Column("taille_menage", "Taille du ménage", "integer", "Nombre total de personnes du ménage.", "3", minimum=1, maximum=20, width=9),
    Column("ressources", "Ressources annuelles (€)", "decimal",
           "Revenu fiscal de référence ou ressources annuelles du ménage retenues par le SNE, en euros.",
           "14 500", minimum=0, maximum=500000, width=12),
    Column("nb_adultes", "Nombre d'adultes", "integer", "Nombre d'adultes du ménage.", "2", minimum=0, maximum=20, width=9),
    Column("nb_14_plus", "Personnes de 14 ans ou plus", "integer",
           "Nombre de personnes de 14 ans ou plus, adultes compris (sert au calcul des unités de consommation).",
           "2", minimum=0, maximum=20, width=10),
    Column("nb_moins_14", "Enfants de moins de 14 ans", "integer", "Nombre d'enfants de moins de 14 ans.", "1", minimum=0, maximum=20, width=10),
    Column("age_titulaire", "Âge du titulaire", "integer", "Âge du titulaire du bail (ou du demandeur) à la date de la CAL.", "27", minimum=16, maximum=120, width=9),
    Column("emploi", "Situation d'emploi", "code", "Situation professionnelle du titulaire.", "En emploi (salarié, indépendant, apprenti)", codelist="emploi", width=22),
    Column("mutation", "Mutation interne", "yesno", "Oui si le ménage était déjà locataire du bailleur (mutation).", "Non", codelist="oui_non", width=10),
    Column("logement_recent", "Logement neuf ou < 5 ans", "yesno",
           "Oui si le logement est neuf ou conventionné depuis moins de 5 ans.", "Non", codelist="oui_non", width=10),
    # Last, so that the columns of earlier returns and the Synthèse formulas keep their letters.
    Column("reloge_npnru", RELOGE_NPNRU_HEADER, "yesno",
           "Oui si le ménage est relogé dans le cadre du NPNRU (renouvellement urbain), quelle que soit sa "
           "catégorie prioritaire : un ménage DALO relogé NPNRU a « DALO » en catégorie et « Oui » ici. "
           "Vide : « Non », sauf pour la catégorie relogement NPNRU.",
           "Non", codelist="oui_non", width=10, since="1.1",
           before="la colonne n'existe pas dans votre fichier : le relogement NPNRU n'y est connu que par la "
           "catégorie prioritaire, et un ménage relogé NPNRU déclaré dans une catégorie plus haute (DALO) ne compte "
           "pas comme relogé NPNRU dans l'objectif hors QPV."),
    # Issue 17: the attention groups (a disabled member) and the motives of refusals (Action 5).
    Column("handicap", "Personne handicapée dans le ménage", "code",
           "Oui si une personne du ménage est en situation de handicap (reconnaissance MDPH, AAH, carte mobilité "
           "inclusion) ; « Inconnu » si vous ne le savez pas. Vide : inconnu.",
           "Non", codelist="oui_non_inconnu", width=12, since="1.2",
           before="la colonne n'existe pas dans votre fichier : la présence d'une personne handicapée dans le ménage "
           "y est comptée comme inconnue."),
    Column("motif_refus", "Motif du refus", "code",
           "Si le ménage a refusé le logement (suite « Refus du ménage ») : le motif principal de son refus. "
           "Vide : motif non renseigné.",
           "Localisation", codelist="motif_refus", width=20, since="1.2",
           before="la colonne n'existe pas dans votre fichier : les motifs de vos refus y sont comptés comme non "
           "renseignés."),
)  # fmt: skip

ATTRIBUTIONS = Sheet(
    "attributions",
    "Attributions",
    "table",
    "Une ligne par ménage ayant eu une décision de CAL dans l'année ou signé un bail dans l'année.",
    columns=_ATTRIBUTION_COLUMNS,
    header_row=3,
    rows=1500,
)

PATRIMOINE = Sheet(
    "patrimoine",
    "Patrimoine",
    "table",
    "Le parc et sa vacance au 31 décembre, par commune et par secteur (QPV, zone locale, hors QPV).",
    columns=(
        Column("commune", "Commune", "code", "Commune du parc décrit par la ligne.", "", required=True, codelist="commune", width=24),
        Column("secteur", "Secteur", "code", "QPV, zone locale ou « Hors QPV et hors zone locale ».", "Hors QPV et hors zone locale", required=True, codelist="secteur", width=30),
        Column("logements", "Logements", "integer", "Nombre de logements sociaux du bailleur dans ce secteur au 31 décembre.", "420", required=True, minimum=0, maximum=100000, width=11),
        Column("vacants", "Logements vacants", "integer", "Logements vacants au 31 décembre.", "12", required=True, minimum=0, maximum=100000, width=11),
        Column("vacants_3_mois", "Dont vacants depuis plus de 3 mois", "integer", "Parmi les logements vacants, ceux qui le sont depuis plus de 3 mois.", "5", required=True, minimum=0, maximum=100000, width=13),
    ),
    header_row=3,
    rows=200,
    required=False,
)  # fmt: skip

ACTIONS = Sheet(
    "actions",
    "Actions",
    "form",
    "Réponses courtes sur les actions de la convention.",
    required=False,
)
# A question of the convention's Actions sheet as a form line, by its kind (convention.ActionQuestion).
_QUESTION_KINDS = {
    "oui_non": {"kind": "yesno", "definition": "Oui ou Non.", "codelist": "oui_non", "example": "Oui"},
    "texte": {"kind": "text", "definition": "Texte libre.", "width": 80},
    "entier": {"kind": "integer", "definition": "Nombre entier, sans texte ni unité.", "minimum": 0,
               "maximum": 100000, "example": "0"},
}  # fmt: skip


def question_column(action: Action, question: ActionQuestion) -> Column:
    """A question of an action as a line of the Actions form: « Action 3 – question »."""
    spec = dict(_QUESTION_KINDS[question.kind])
    example = question.example or spec.pop("example", "")
    spec.pop("example", None)
    return Column(
        question.key, f"{action.name} – {question.label}", example=example, required=question.required, **spec
    )


def actions_sheet(convention: Convention, kind: str) -> Sheet | None:
    """The Actions form of a partner kind: the convention's questions asked to it; None without any."""
    asked = convention.action_questions(kind)
    if not asked:
        return None
    numbers = [str(n) for n in sorted({a.number for a, _ in asked})]
    names = ", ".join(numbers[:-1]) + " et " + numbers[-1] if len(numbers) > 1 else numbers[0]
    about = f"les actions {names}" if len(numbers) > 1 else f"l'action {names}"
    return replace(
        ACTIONS,
        purpose=f"Réponses courtes sur {about} de la convention.",
        columns=tuple(question_column(a, q) for a, q in asked),
    )


def _contingent_columns(convention: Convention) -> tuple[Column, ...]:
    zones = _zone_names(convention)
    outside = "hors QPV" + (f" et hors {zones}" if zones else "")
    inside = "en QPV" + "".join(f" ou {z.inside}" for z in convention.local_zones)
    cats = [
        Column(
            f"prioritaires_{c.code.lower()}",
            f"Dont publics prioritaires : {c.label}",
            "integer",
            f"Baux signés sur le contingent au profit de ménages de la catégorie « {c.label} » (catégorie la plus haute du ménage).",
            "3",
            required=True,
            minimum=0,
            maximum=100000,
            width=14,
        )
        for c in convention.priority_categories
        if c.priority
    ]
    return (
        Column("bailleur", "Bailleur", "code", "Bailleur dont les logements ont été attribués sur votre contingent.", "", required=True, codelist="bailleur", width=22),
        Column("logements_mis_a_disposition", "Logements mis à disposition (flux)", "integer", "Logements mis à disposition sur votre contingent dans l'année.", "40", required=True, minimum=0, maximum=100000, width=14),
        Column("candidats_proposes", "Candidats proposés", "integer", "Candidats que vous avez proposés au bailleur dans l'année.", "85", required=True, minimum=0, maximum=100000, width=12),
        Column("baux_signes", "Attributions suivies d'un bail signé", "integer", "Attributions sur votre contingent suivies d'un bail signé dans l'année.", "35", required=True, minimum=0, maximum=100000, width=14),
        *cats,
        Column("q1_hors_qpv", "Dont 1er quartile ou relogés NPNRU hors QPV", "integer",
               f"Baux signés {outside} au profit de ménages du 1er quartile ou relogés dans le cadre "
               "du NPNRU, quelle que soit leur catégorie (un ménage des deux compte une fois).",
               "8", required=True, minimum=0, maximum=100000, width=14, since="1.1",
               former_headers=("Dont 1er quartile hors QPV",),
               before="dans votre fichier, elle compte le 1er quartile seul, sans les relogés NPNRU : elle est "
               "comparée aux lignes des bailleurs selon cette définition."),
        Column("q234_qpv", "Dont quartiles 2 à 4 en QPV" + (" ou zone locale" if zones else ""), "integer", f"Attributions {inside} au profit de ménages des quartiles 2, 3 et 4.", "6", required=True, minimum=0, maximum=100000, width=14),
        Column("refus", "Refus des ménages", "integer", "Propositions refusées par les ménages dans l'année.", "12", required=True, minimum=0, maximum=100000, width=12),
    )  # fmt: skip


_WHEN_HOUSED = "si le statut est « Relogé définitivement » ou « Relogé temporairement »"
_IF_HOUSED = ("statut", HOUSED_STATUSES)
_EUROS = "en euros par mois"

_REHOUSING_COLUMNS = (
    Column("identifiant", "Identifiant du ménage", "text",
           "Identifiant pseudonyme du ménage, le même chaque année (par exemple opération et numéro d'ordre). "
           "Jamais de nom, d'adresse ni de numéro de sécurité sociale.",
           "OPERATION-012", required=True, width=14),
    Column("operation", "Opération NPNRU", "code", "Opération de renouvellement urbain à l'origine du relogement.",
           "", required=True, codelist="operation_npnru", width=30),
    Column("taille_menage", "Taille du ménage", "integer", "Nombre total de personnes du ménage.", "3",
           required=True, minimum=1, maximum=20, width=9),
    Column("nb_adultes", "Nombre d'adultes", "integer", "Nombre d'adultes du ménage.", "2", minimum=0, maximum=20, width=9),
    Column("nb_14_plus", "Personnes de 14 ans ou plus", "integer",
           "Nombre de personnes de 14 ans ou plus, adultes compris (sert au calcul des unités de consommation).",
           "2", minimum=0, maximum=20, width=10),
    Column("nb_moins_14", "Enfants de moins de 14 ans", "integer", "Nombre d'enfants de moins de 14 ans.", "1",
           minimum=0, maximum=20, width=10),
    Column("statut", "Statut au 31 décembre", "code", "Où en est le relogement du ménage à la fin de l'année.",
           "Proposition faite", required=True, codelist="statut_relogement", width=20),
    Column("date_entree", "Date d'entrée dans le dispositif", "date",
           "Date de l'annonce au ménage ou de son entrée dans le processus de relogement.",
           "15/09/2021", required=True, width=14),
    Column("date_relogement", "Date du relogement", "date",
           "Date d'entrée dans le logement de relogement (bail signé ou remise des clés).",
           "02/04/2024", required_if=_IF_HOUSED, required_when=_WHEN_HOUSED, width=14),
    Column("origine_parc", "Origine : bailleur ou parc privé", "code", "Bailleur du logement d'origine, ou « Parc privé ».",
           "", required=True, codelist="parc_relogement", width=22),
    Column("origine_commune", "Origine : commune", "code", "Commune du logement d'origine.", "",
           required=True, codelist="commune", width=24),
    Column("origine_qpv", "Origine : en QPV", "yesno", "Oui si le logement d'origine est en quartier prioritaire.",
           "Oui", required=True, codelist="oui_non", width=10),
    Column("origine_typologie", "Origine : typologie", "code", "Nombre de pièces du logement d'origine.", "T3",
           codelist="typologie", width=9),
    Column("origine_surface", "Origine : surface (m²)", "decimal", "Surface habitable du logement d'origine, en m².",
           "65", minimum=9, maximum=300, width=10),
    Column("origine_loyer", "Origine : loyer (€)", "decimal", f"Loyer hors charges du logement d'origine, {_EUROS}.",
           "320", minimum=0, maximum=3000, width=10),
    Column("origine_charges", "Origine : charges (€)", "decimal", f"Charges locatives du logement d'origine, {_EUROS}.",
           "80", minimum=0, maximum=1500, width=10),
    Column("origine_apl", "Origine : aide au logement (€)", "decimal",
           f"Aide au logement (APL, AL) perçue dans le logement d'origine, {_EUROS} ; 0 si aucune.",
           "150", minimum=0, maximum=2000, width=10),
    Column("destination_parc", "Destination : bailleur ou parc privé", "code",
           "Bailleur du logement de relogement, ou « Parc privé ».", "", required_if=_IF_HOUSED, required_when=_WHEN_HOUSED,
           codelist="parc_relogement", width=22),
    Column("destination_commune", "Destination : commune", "code", "Commune du logement de relogement.", "",
           required_if=_IF_HOUSED, required_when=_WHEN_HOUSED, codelist="commune", width=24),
    Column("destination_qpv", "Destination : en QPV", "yesno",
           "Oui si le logement de relogement est en quartier prioritaire (géographie de l'année du relogement).",
           "Non", required_if=_IF_HOUSED, required_when=_WHEN_HOUSED, codelist="oui_non", width=10),
    Column("destination_meme_quartier", "Destination : même quartier", "yesno",
           "Oui si le ménage est relogé dans son quartier d'origine.", "Non", required_if=_IF_HOUSED, required_when=_WHEN_HOUSED,
           codelist="oui_non", width=10),
    Column("destination_recent", "Destination : neuf ou conventionné < 5 ans", "yesno",
           "Oui si le logement est neuf ou conventionné depuis moins de 5 ans à la date du relogement.", "Non",
           required_if=_IF_HOUSED, required_when=_WHEN_HOUSED, codelist="oui_non", width=12),
    Column("destination_typologie", "Destination : typologie", "code", "Nombre de pièces du logement de relogement.",
           "T3", codelist="typologie", width=9),
    Column("destination_surface", "Destination : surface (m²)", "decimal",
           "Surface habitable du logement de relogement, en m².", "68", minimum=9, maximum=300, width=10),
    Column("destination_loyer", "Destination : loyer (€)", "decimal",
           f"Loyer hors charges du logement de relogement, {_EUROS}.", "350", required_if=_IF_HOUSED, required_when=_WHEN_HOUSED,
           minimum=0, maximum=3000, width=10),
    Column("destination_charges", "Destination : charges (€)", "decimal",
           f"Charges locatives du logement de relogement, {_EUROS}.", "75", required_if=_IF_HOUSED, required_when=_WHEN_HOUSED,
           minimum=0, maximum=1500, width=10),
    Column("destination_apl", "Destination : aide au logement (€)", "decimal",
           f"Aide au logement perçue dans le logement de relogement, {_EUROS} ; 0 si aucune.", "170",
           required_if=_IF_HOUSED, required_when=_WHEN_HOUSED, minimum=0, maximum=2000, width=10),
    Column("propositions", "Propositions faites", "integer",
           "Nombre de propositions de logement faites au ménage depuis son entrée dans le dispositif.", "2",
           minimum=0, maximum=50, width=10),
    Column("refus", "Propositions refusées", "integer", "Parmi les propositions faites, celles que le ménage a refusées.",
           "1", minimum=0, maximum=50, width=10),
    Column("bloque", "Dossier bloqué", "yesno",
           "Oui si le relogement est bloqué et doit être examiné par la commission de coordination.", "Non",
           codelist="oui_non", width=10),
    Column("motif_blocage", "Motif du blocage", "code", "Ce qui bloque le relogement.", "Reste à charge trop élevé",
           required_if=("bloque", ("OUI",)), required_when="si le dossier est bloqué", codelist="motif_blocage", width=26),
    Column("commentaire", "Commentaire", "text",
           "Précision utile à la commission (sans nom ni adresse).", "Besoin d'un T5 en rez-de-chaussée.", width=40),
)  # fmt: skip

RELOGEMENTS = Sheet(
    "relogements",
    "Relogements NPNRU",
    "table",
    "Une ligne par ménage à reloger dans le cadre du NPNRU, avec sa situation au 31 décembre ; "
    "un ménage garde le même identifiant d'une année à l'autre.",
    columns=_REHOUSING_COLUMNS,
    header_row=3,
    rows=300,
    required=False,
)

# Issue 17, Action 5: the applicants received at a reception point, per quarter, in the workbook
# of the partner that runs it (convention `[[lieux_accueil]]`); rows pre-filled point × quarter.
LIEUX_ACCUEIL = Sheet(
    "lieux_accueil",
    "Lieux d'accueil",
    "table",
    "Une ligne par lieu d'accueil que vous tenez et par trimestre : demandeurs reçus, dont ceux informés "
    "sur le parc en QPV.",
    columns=(
        Column("lieu", "Lieu d'accueil", "code", "Lieu d'accueil et d'information des demandeurs (pré-rempli).", "",
               required=True, codelist="lieu_accueil", width=36),
        Column("trimestre", "Trimestre", "code", "Trimestre de l'année (pré-rempli).", "1er trimestre",
               required=True, codelist="trimestre", width=14),
        Column("demandeurs", "Demandeurs reçus", "integer",
               "Demandeurs de logement social reçus au lieu d'accueil dans le trimestre (chaque demandeur une fois "
               "par trimestre, quel que soit le nombre de ses visites).", "120", required=True, minimum=0,
               maximum=100000, width=14),
        Column("informes_qpv", "Dont informés sur le parc en QPV", "integer",
               "Parmi les demandeurs reçus, ceux à qui une information sur le parc en QPV (réhabilitations, "
               "aménagements, services) a été délivrée.", "45", required=True, minimum=0, maximum=100000, width=16),
    ),
    header_row=3,
    rows=40,
    required=False,
)  # fmt: skip


def _lieux_accueil(convention: Convention, partner: str | None) -> tuple[Sheet, ...]:
    """The « Lieux d'accueil » sheet of the partner that runs reception points; () for the others."""
    points = convention.reception_points_of(partner) if partner is not None else []
    if not points:
        return ()
    return (replace(LIEUX_ACCUEIL, rows=max(LIEUX_ACCUEIL.rows, 4 * len(points) + 4)),)


SYNTHESE = Sheet(
    "synthese",
    "Synthèse",
    "synthese",
    "Vos taux calculés en direct face aux cibles de l'année (indicatif : l'agglomération recalcule tout).",
    required=False,
)


def _zone_names(convention: Convention) -> str:
    """The convention's local zones by their names (« Quartier des Promelles »), or ""."""
    return " et ".join(z.name for z in convention.local_zones)


def reference_example(partner_id: str, year: int) -> str:
    """A file reference as a partner's software might number it, from its id: « HDG-2024-00153 »
    for habitat-du-gard (initials of a compound id, else its first three letters)."""
    words = [w for w in partner_id.split("-") if w]
    prefix = "".join(w[0] for w in words)[:4] if len(words) > 1 else (words[0][:3] if words else "ref")
    return f"{prefix.upper()}-{year}-00153"


def _attributions(convention: Convention, year: int, reference: str) -> Sheet:
    """The Attributions sheet of a convention: its zones named, no zone column without any."""
    zones = _zone_names(convention)
    columns = []
    for column in ATTRIBUTIONS.columns:
        if column.key == "zone_locale":
            if not zones:
                continue  # the column's place is taken by the next ones: the schema drives every reader
            column = replace(
                column, definition=f"Zone que la convention traite comme un QPV ({zones}), ou « Aucune »."
            )
        elif column.key == "reference":
            column = replace(column, example=reference)
        columns.append(column)
    return replace(ATTRIBUTIONS, columns=tuple(columns))


def _patrimoine(convention: Convention) -> Sheet:
    zones = _zone_names(convention)
    if not zones:
        purpose = "Le parc et sa vacance au 31 décembre, par commune et par secteur (chaque QPV, hors QPV)."
        secteur = ("QPV du parc décrit, ou « Hors QPV ».", "Hors QPV")
    else:
        purpose = (
            f"Le parc et sa vacance au 31 décembre, par commune et par secteur (QPV, {zones}, hors QPV)."
        )
        secteur = (
            f"QPV, zone locale ({zones}) ou « Hors QPV et hors zone locale ».",
            "Hors QPV et hors zone locale",
        )
    columns = tuple(
        replace(c, definition=secteur[0], example=secteur[1]) if c.key == "secteur" else c
        for c in PATRIMOINE.columns
    )
    return replace(PATRIMOINE, purpose=purpose, columns=columns)


def _relogements(convention: Convention, required: bool = False) -> Sheet:
    """The rehousing sheet, its household id exemplified by the charter's first operation."""
    charter = convention.rehousing
    example = f"{charter.operations[0].code}-012" if charter is not None else "OPERATION-012"
    columns = tuple(replace(c, example=example) if c.key == "identifiant" else c for c in RELOGEMENTS.columns)
    return replace(RELOGEMENTS, columns=columns, required=required)


# The code list of a réservataire's own contingents, in its workbook only.
DECLARED_CONTINGENTS = "contingent_declare"


def _declared_contingents(convention: Convention, partner: str | None) -> CodeList | None:
    """A réservataire's contingents when it declares several (its sheet then has a column)."""
    p = convention.partners_by_id.get(partner) if partner is not None else None
    if p is None or len(p.contingents) < 2:
        return None
    return CodeList(DECLARED_CONTINGENTS, tuple(Code(c.code, c.label) for c in p.contingents))


def contingent_sheet(convention: Convention, declared: CodeList | None = None) -> Sheet:
    """A réservataire's Contingent sheet: one row per bailleur, or, for a réservataire that
    declares several contingents (`declared`), one row per bailleur and per contingent."""
    columns = _contingent_columns(convention)
    purpose = "Une ligne par bailleur : ce qui a été attribué sur votre contingent dans l'année."
    rows = len(convention.bailleurs)
    if declared is not None:
        column = Column(
            "contingent",
            "Contingent",
            "code",
            "Celui de vos contingents dont la ligne décrit les attributions (une ligne par bailleur et par contingent).",
            declared.codes[0].display,
            required=True,
            codelist=DECLARED_CONTINGENTS,
            width=30,
        )
        columns = (columns[0], column, *columns[1:])
        purpose = (
            "Une ligne par bailleur et par contingent : ce qui a été attribué sur chacun de vos contingents "
            "dans l'année."
        )
        rows *= len(declared.codes)
    return Sheet(
        "contingent", "Contingent", "table", purpose, columns=columns, header_row=3, rows=max(20, rows + 5)
    )


def any_contingent_sheet(convention: Convention) -> Sheet:
    """The Contingent sheet that holds every réservataire's rows (campaign frames, data sets):
    with the « Contingent » column when some réservataire declares several contingents."""
    declaring = [p for p in convention.reservataires if len(p.contingents) >= 2]
    if not declaring:
        return contingent_sheet(convention)
    every = tuple(Code(c.code, c.label) for p in declaring for c in p.contingents)
    return contingent_sheet(convention, CodeList(DECLARED_CONTINGENTS, every))


def schema_for(
    convention: Convention, kind: PartnerKind, year: int, partner: str | None = None
) -> WorkbookSchema:
    """The workbook schema of a partner kind for a year of the convention.

    With `partner`, the rehousing sheet is added when the convention's charter lists that
    partner; an operator's workbook holds that sheet only. Examples (a file reference) are made
    from the partner's id, or from the convention's first bailleur's without one.
    """
    if kind == "demande":  # the EPCI's own Demande workbook (below)
        return demand_schema(convention, year)
    codelists = codelists_for(convention, year)
    reception = _lieux_accueil(convention, partner)
    if reception:  # its dropdown lists the partner's own points only
        codelists |= {
            "trimestre": QUARTERS,
            "lieu_accueil": _reception_list(convention.reception_points_of(partner)),
        }
    rehousing = partner is not None and convention.reports_rehousing(partner)
    actions = actions_sheet(convention, kind)
    forms = (actions,) if actions is not None else ()
    if kind == "operateur":
        sheets = (README, IDENTIFICATION, _relogements(convention, required=True))
    elif kind == "bailleur":
        example_id = partner or (convention.bailleurs[0].id if convention.bailleurs else "bailleur")
        sheets = (
            README,
            IDENTIFICATION,
            _attributions(convention, year, reference_example(example_id, year)),
        )
        sheets += (_patrimoine(convention), *forms, *reception)
        sheets += (_relogements(convention), SYNTHESE) if rehousing else (SYNTHESE,)
    else:
        declared = _declared_contingents(convention, partner)
        if declared is not None:
            codelists[DECLARED_CONTINGENTS] = declared
        sheets = (README, IDENTIFICATION, contingent_sheet(convention, declared), *forms, *reception)
        if rehousing:
            sheets += (_relogements(convention),)
    return WorkbookSchema(kind=kind, year=year, sheets=sheets, codelists=codelists)


# -- The EPCI's Demande workbook ------------------------------------------------------------
# The EPCI's own « Demande » workbook: its schema and its identity (the rules of its rows are the intake's: intake/demand.py).
#
# The officer fills it from the SNE infocentre's tables (demands pending at 31 December and
# attributions of the year, per commune, optionally by typology and of which mutations). It is a
# workbook of its own rather than a partner's: the EPCI is no partner of the convention (no
# objective, no dashboard line, nobody to chase), but it is written by the same template writer,
# read and validated by the same stages (`schema.schema_for` of kind « demande »), and kept apart
# from the partners' returns by the intake (`Campaign.demand`).

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
    )


def demand_schema(convention: Convention, year: int) -> WorkbookSchema:
    sheets = (README, IDENTIFICATION, demand_sheet(convention))
    return WorkbookSchema(
        kind=DEMAND_KIND, year=year, sheets=sheets, codelists=codelists_for(convention, year)
    )  # type: ignore[arg-type]
