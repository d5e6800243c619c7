"""The actions of the convention (its « fiches-actions »): the questions partners answer in
their Actions sheet, the indicators the bilan reports for each (ACTION_INDICATORS), and what two
of them need: the attention groups' thresholds and the reception points; their checks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cia_workbook.convention.base import InseeCode, Model, Problems, at, check_commune, dupes
from cia_workbook.convention.partners import Partner

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
ActionPartnerKind = Literal["bailleur", "reservataire"]


class ActionQuestion(Model):
    """A question of the partners' Actions sheet: one line of the form, its answer in column B."""

    # Stable: the answer is filed under it (and a later template must keep the line's place).
    key: str = Field(alias="cle", pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(alias="libelle", min_length=1)
    kind: Literal["oui_non", "texte", "entier"] = Field(alias="type")
    # Who is asked, among the action's partner kinds (by default, all of them).
    asked: list[ActionPartnerKind] = Field(default_factory=list, alias="pour")
    example: str = Field(default="", alias="exemple")
    required: bool = Field(default=False, alias="obligatoire")


class Action(Model):
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


class AttentionGroups(Model):
    """« Une attention particulière sera accordée aux personnes sans emploi, aux familles
    nombreuses et aux personnes en situation de handicap et/ou âgées » (French key
    `attention_particuliere`): the thresholds that make a large family and an elderly holder."""

    large_family_children: int = Field(default=3, alias="enfants_famille_nombreuse", ge=1, le=20)
    elderly_age: int = Field(default=65, alias="age_personne_agee", ge=40, le=120)


class ReceptionPoint(Model):
    """A place where applicants are received and informed (lieu d'accueil, French key
    `lieux_accueil`), run by a partner whose workbook gets the « Lieux d'accueil » sheet."""

    code: str = Field(pattern=r"^[A-Z0-9_]+$")
    name: str = Field(alias="nom", min_length=1)
    commune: InseeCode
    partner: str = Field(alias="partenaire", min_length=1)


def check_actions(problems: Problems, actions: list[Action], has_charter: bool) -> None:
    """Numbers and question keys once each, questions asked to the action's partners, known
    indicators (the charter's only with a charter)."""
    dupes(problems, "actions", [a.number for a in actions], "numéro")
    # One Actions sheet per partner kind: a key names one line of it.
    dupes(problems, "actions", [q.key for a in actions for q in a.questions], "clé de question")
    for action in actions:
        where = at("actions", action.number)
        for question in action.questions:
            line = f"{where}.{at('questions', question.key)}"
            if not action.asked(question):
                problems.append(
                    (
                        f"{line}.pour",
                        'à qui la question est-elle posée ? Écrivez pour = ["bailleur"] ou '
                        '["reservataire"] (ou partenaires dans l\'action)',
                    )
                )
            elif question.asked and action.partner_kinds:
                for kind in question.asked:
                    if kind not in action.partner_kinds:
                        problems.append(
                            (f"{line}.pour", f"« {kind} » n'est pas dans les partenaires de l'action")
                        )
        for key in action.indicators:
            if key not in ACTION_INDICATORS:
                problems.append(
                    (
                        f"{where}.indicateurs",
                        f"indicateur inconnu « {key} » (indicateurs : {', '.join(ACTION_INDICATORS)})",
                    )
                )
            elif key in REHOUSING_INDICATORS and not has_charter:
                problems.append(
                    (f"{where}.indicateurs", f"l'indicateur « {key} » suppose une charte de relogement")
                )
        dupes(problems, f"{where}.indicateurs", action.indicators, "indicateur")


def check_reception_points(
    problems: Problems,
    points: list[ReceptionPoint],
    insee: set[str],
    partners: list[Partner],
    actions: list[Action],
    attention: AttentionGroups | None,
) -> None:
    """Reception points on communes of the EPCI, run by a bailleur or a réservataire; the actions'
    indicators that need reception points or the attention groups' section."""
    dupes(problems, "lieux_accueil", [p.code for p in points], "code")
    by_id = {p.id: p for p in partners}
    for point in points:
        where = at("lieux_accueil", point.code)
        check_commune(problems, insee, f"{where}.commune", point.commune)
        partner = by_id.get(point.partner)
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
    for action in actions:
        where = f"{at('actions', action.number)}.indicateurs"
        if "lieux_accueil" in action.indicators and not points:
            problems.append((where, "l'indicateur « lieux_accueil » suppose au moins un [[lieux_accueil]]"))
        if "publics_attention" in action.indicators and attention is None:
            problems.append(
                (where, "l'indicateur « publics_attention » suppose une section [attention_particuliere]")
            )
