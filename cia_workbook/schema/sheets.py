"""The one schema of the returns: the sheets of every partner workbook, and `schema_for`, the
workbook schema of a partner kind for a year of the convention.

The template writer, the reader, the validator, the format documentation and the demo
generator all read this definition; a column added here appears everywhere. Code lists that
depend on the territory or the year (communes, QPVs, contingents, categories) are resolved
from the convention by `schema_for` (codes.py). The building blocks are in columns.py, the
template's identity in identity.py, the rehousing sheet in rehousing.py, the EPCI's Demande
workbook in demand.py; this module re-exports what other modules read as `schema.<name>`.
"""

from __future__ import annotations

from dataclasses import replace

from cia_workbook.convention.actions import Action, ActionQuestion
from cia_workbook.convention.base import and_list
from cia_workbook.convention.settings import Convention
from cia_workbook.schema.codes import QUARTERS, Code, CodeList, codelists_for, reception_list
from cia_workbook.schema.columns import (
    HOUSEHOLD_MEMBERS,
    HOUSEHOLD_SIZE,
    Column,
    PartnerKind,
    Sheet,
    WorkbookSchema,
)
from cia_workbook.schema.demand import DEMAND_KIND, demand_sheet
from cia_workbook.schema.rehousing import relogements_sheet

# Re-exported: read as `schema.<name>` (`from cia_workbook.schema import sheets as schema`) or
# imported from here by many modules.
from cia_workbook.schema.codes import (  # isort: skip
    BLOCKING_REASONS as BLOCKING_REASONS,
    CONTINGENT_OWN as CONTINGENT_OWN,
    HORS_QPV as HORS_QPV,
    NO_ZONE as NO_ZONE,
    OUTCOMES as OUTCOMES,
    normalize as normalize,
)
from cia_workbook.schema.columns import FORM_FIRST_ROW as FORM_FIRST_ROW  # isort: skip
from cia_workbook.schema.demand import (  # isort: skip
    demand_file_name as demand_file_name,
    demand_partner as demand_partner,
)
from cia_workbook.schema.identity import (  # isort: skip
    ID_KEYS as ID_KEYS,
    ID_SHEET as ID_SHEET,
    LISTS_SHEET as LISTS_SHEET,
    READABLE_VERSIONS as READABLE_VERSIONS,
    SCHEMA_VERSION as SCHEMA_VERSION,
    TEMPLATE_FILE_PREFIX as TEMPLATE_FILE_PREFIX,
    TEMPLATE_MARKER as TEMPLATE_MARKER,
    older_than as older_than,
    template_file_name as template_file_name,
    version_key as version_key,
)

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
    HOUSEHOLD_SIZE,
    Column("ressources", "Ressources annuelles (€)", "decimal",
           "Revenu fiscal de référence ou ressources annuelles du ménage retenues par le SNE, en euros.",
           "14 500", minimum=0, maximum=500000, width=12),
    *HOUSEHOLD_MEMBERS,
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

# The coded columns (a list's codes, yes/no) of the tables a campaign holds many rows of: held as
# polars categoricals once the returns are put end to end (`intake.campaign.compact_tables`),
# 4 bytes a row instead of a 16-byte text view (some 80 MB of a 500,000-row campaign). What reads
# them compares them with codes, groups or counts them; what writes them as text casts them back.
CODED_COLUMNS = {
    "attributions": frozenset(c.key for c in ATTRIBUTIONS.columns if c.kind in ("code", "yesno")),
}

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
    numbers = sorted({a.number for a, _ in asked})
    about = f"les actions {and_list(numbers)}" if len(numbers) > 1 else f"l'action {numbers[0]}"
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
    prefilled=("lieu", "trimestre"),
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
        "contingent", "Contingent", "table", purpose, columns=columns, header_row=3, rows=max(20, rows + 5),
        prefilled=("bailleur", "contingent"),
    )  # fmt: skip


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
            "lieu_accueil": reception_list(convention.reception_points_of(partner)),
        }
    rehousing = partner is not None and convention.reports_rehousing(partner)
    actions = actions_sheet(convention, kind)
    forms = (actions,) if actions is not None else ()
    if kind == "operateur":
        sheets = (README, IDENTIFICATION, relogements_sheet(convention, required=True))
    elif kind == "bailleur":
        example_id = partner or (convention.bailleurs[0].id if convention.bailleurs else "bailleur")
        sheets = (
            README,
            IDENTIFICATION,
            _attributions(convention, year, reference_example(example_id, year)),
        )
        sheets += (_patrimoine(convention), *forms, *reception)
        sheets += (relogements_sheet(convention), SYNTHESE) if rehousing else (SYNTHESE,)
    else:
        declared = _declared_contingents(convention, partner)
        if declared is not None:
            codelists[DECLARED_CONTINGENTS] = declared
        sheets = (README, IDENTIFICATION, contingent_sheet(convention, declared), *forms, *reception)
        if rehousing:
            sheets += (relogements_sheet(convention),)
    return WorkbookSchema(kind=kind, year=year, sheets=sheets, codelists=codelists)


def demand_schema(convention: Convention, year: int) -> WorkbookSchema:
    """The EPCI's own Demande workbook (demand.py)."""
    sheets = (README, IDENTIFICATION, demand_sheet(convention))
    return WorkbookSchema(
        kind=DEMAND_KIND, year=year, sheets=sheets, codelists=codelists_for(convention, year)
    )  # type: ignore[arg-type]
