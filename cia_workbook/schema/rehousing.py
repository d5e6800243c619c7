"""The NPNRU rehousing sheet (charte de relogement): one row per household to rehouse, its
situation at 31 December, the dwellings of origin and destination."""

from __future__ import annotations

from dataclasses import replace

from cia_workbook.convention.settings import Convention
from cia_workbook.schema.codes import HOUSED_STATUSES
from cia_workbook.schema.columns import HOUSEHOLD_MEMBERS, HOUSEHOLD_SIZE, Column, Sheet

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
    replace(HOUSEHOLD_SIZE, required=True),
    *HOUSEHOLD_MEMBERS,
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


def relogements_sheet(convention: Convention, required: bool = False) -> Sheet:
    """The rehousing sheet, its household id exemplified by the charter's first operation."""
    charter = convention.rehousing
    example = f"{charter.operations[0].code}-012" if charter is not None else "OPERATION-012"
    columns = tuple(replace(c, example=example) if c.key == "identifiant" else c for c in RELOGEMENTS.columns)
    return replace(RELOGEMENTS, columns=columns, required=required)
