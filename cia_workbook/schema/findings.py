"""The catalogue of findings: every problem the reader and the validator can report.

Findings are data, not exceptions. Each kind has a stable code the officer can search for, a
severity (an *erreur* keeps the return out of the consolidation, an *avertissement* does not)
and a French message template saying what is wrong and how to fix it; the position (file,
sheet, A1 cell) is added by `Finding.text`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from cia_workbook.partners.excel import shortened

Severity = Literal["erreur", "avertissement"]
ERROR: Severity = "erreur"
WARNING: Severity = "avertissement"


@dataclass(frozen=True)
class FindingType:
    code: str
    severity: Severity
    title: str
    template: str  # str.format template, French: what is wrong, then how to fix it


def _types(*items: FindingType) -> dict[str, FindingType]:
    return {t.code: t for t in items}


CATALOGUE: dict[str, FindingType] = _types(
    # -- The file itself ------------------------------------------------------------------
    FindingType("FICHIER_ILLISIBLE", ERROR, "Fichier illisible",
                "Le fichier ne peut pas être lu comme un classeur ({detail}). "
                "Renvoyez le classeur d'origine enregistré au format .xlsx."),
    FindingType("FICHIER_XLS", ERROR, "Ancien format .xls",
                "Le fichier est au format Excel 97-2003 (.xls), que l'outil ne lit pas. "
                "Ouvrez-le puis « Enregistrer sous » au format Classeur Excel (.xlsx)."),
    FindingType("FICHIER_CHIFFRE", ERROR, "Fichier protégé par mot de passe",
                "Le fichier est chiffré ou protégé par un mot de passe à l'ouverture. "
                "Enregistrez-le sans mot de passe puis renvoyez-le."),
    FindingType("FICHIER_VIDE", ERROR, "Fichier vide ou tronqué",
                "Le fichier est vide ou incomplet ({detail}). Renvoyez le fichier complet."),
    FindingType("FICHIER_VERROU", WARNING, "Fichier de verrouillage ignoré",
                "Ce fichier est un fichier de verrouillage laissé par Excel ou LibreOffice pendant "
                "l'ouverture d'un classeur, pas une réponse : il est ignoré. Vous pouvez le supprimer."),
    FindingType("FICHIER_TROP_GROS", ERROR, "Fichier suspect",
                "Le fichier dépasse les limites de sécurité ({detail}) : il n'est pas lu. "
                "Vérifiez son origine et renvoyez le classeur d'origine."),
    FindingType("FICHIER_AUTRE_FORMAT", WARNING, "Fichier ignoré",
                "Ce fichier n'est pas un classeur (.xlsx, .xlsm, .ods) : il est ignoré."),
    FindingType("LECTURE_INTERROMPUE", ERROR, "Lecture interrompue",
                "La lecture de ce fichier a arrêté brutalement le processus qui le lisait ({detail}) : "
                "le fichier n'a pas été lu ; les autres fichiers l'ont été. Ouvrez-le, appuyez sur Ctrl+Fin dans "
                "chaque feuille pour voir sa dernière cellule et effacez ce qui est saisi loin des données, "
                "enregistrez-le au format .xlsx et renvoyez-le."),
    FindingType("FICHIER_LIEN_ROMPU", ERROR, "Lien vers un fichier absent",
                "Ce fichier est un lien symbolique vers « {target} », qui n'existe pas : aucun classeur n'a été lu. "
                "Remplacez le lien par le classeur reçu lui-même, ou supprimez-le."),
    FindingType("FICHIER_DISPARU", ERROR, "Fichier disparu pendant le contrôle",
                "Le fichier a été supprimé ou déplacé pendant le contrôle : il n'a pas été lu. "
                "Remettez-le dans le dossier des réponses, puis relancez la commande."),
    # -- Identification -------------------------------------------------------------------
    FindingType("MODELE_INCONNU", ERROR, "Modèle non reconnu",
                "Ce classeur n'est pas un modèle cia-workbook (identification absente). "
                "Recopiez vos données dans le modèle envoyé par l'agglomération."),
    FindingType("MODELE_VERSION", ERROR, "Modèle périmé",
                "Le classeur a été fait avec la version {found} du modèle ; la version attendue est {expected}. "
                "Recopiez vos données dans le modèle de cette année."),
    FindingType("MODELE_ANCIEN", WARNING, "Modèle d'une version antérieure",
                "Le classeur suit la version {found} du modèle, antérieure à la version {expected} qui a introduit la "
                "colonne « {column} » : {meaning} Le fichier est lu quand même ; pour votre prochain envoi, utilisez "
                "le modèle de l'année."),
    FindingType("MODELE_CONVENTION", ERROR, "Modèle d'une autre convention",
                "Le classeur appartient à la convention « {found} », pas à « {expected} ». "
                "Utilisez le modèle envoyé par l'agglomération."),
    FindingType("MODELE_PARTENAIRE", ERROR, "Partenaire inconnu",
                "Le partenaire « {found} » du classeur n'est pas un partenaire de la convention. "
                "Utilisez le modèle qui vous a été envoyé."),
    FindingType("MODELE_ANNEE", ERROR, "Mauvaise année",
                "Le classeur est celui de l'année {found}, pas de l'année {expected}. "
                "Utilisez le modèle de l'année {expected}."),
    FindingType("MODELE_TYPE", ERROR, "Mauvais type de modèle",
                "Le classeur est un modèle « {found} » alors que ce partenaire est un « {expected} ». "
                "Utilisez le modèle qui vous a été envoyé."),
    FindingType("IDENTITE_CONTRADICTOIRE", ERROR, "Identification contradictoire",
                "Ce classeur est identifié comme celui de {partner} ({partner_where}), mais {other_where} "
                "désigne {other} : il n'est retenu pour aucun des deux, pour ne pas publier les chiffres de l'un "
                "sous le nom de l'autre. Si ce sont les données de {other}, recopiez-les dans le modèle envoyé "
                "à {other} ; si ce sont celles de {partner}, {fix}."),
    FindingType("IDENTIFICATION_RECONSTITUEE", WARNING, "Identification reconstituée",
                "L'identification cachée du modèle a été perdue (classeur réenregistré par un autre logiciel) ; "
                "le partenaire ({partner}) et l'année ({year}) ont été lus dans la feuille Identification. "
                "Vérifiez-les, et utilisez le modèle d'origine la prochaine fois."),
    # -- Structure ------------------------------------------------------------------------
    FindingType("FEUILLE_ABSENTE", ERROR, "Feuille absente",
                "La feuille « {expected} » est absente.{hint} Rétablissez son nom d'origine."),
    FindingType("FEUILLE_NON_LUE", ERROR, "Feuille non lue",
                "La feuille{hidden} « {title} » ne fait pas partie du modèle et contient {rows} ligne{rows_s} "
                "remplie{rows_s}, qui ne sont pas lues.{hint} Si ce sont des données du bilan, recopiez-les dans la "
                "feuille du modèle qui convient ; sinon (notes, tableau croisé dynamique, ancienne version), "
                "supprimez la feuille."),
    FindingType("FEUILLE_COPIE_LUE", WARNING, "Copie d'une feuille lue",
                "La feuille « {title} » a les en-têtes de la feuille « {table} » : ses {rows} ligne{rows_s} ont été "
                "lues avec celles de la feuille « {table} ». Vérifiez qu'elles n'y figurent pas déjà ; la "
                "prochaine fois, saisissez toutes les lignes dans la feuille « {table} »."),
    FindingType("FEUILLE_RENOMMEE", WARNING, "Feuille renommée",
                "La feuille « {expected} » a été renommée « {found} » ; elle a été lue quand même. "
                "Rétablissez son nom d'origine la prochaine fois."),
    FindingType("COLONNE_ABSENTE", ERROR, "Colonne absente",
                "La colonne « {expected} » est absente de la ligne d'en-tête. "
                "Rétablissez-la à sa place (colonne {letter})."),
    FindingType("COLONNE_DEPLACEE", WARNING, "Colonne déplacée",
                "La colonne « {expected} » a été trouvée en {found} au lieu de {letter} ; elle a été lue quand même. "
                "Ne déplacez pas les colonnes du modèle."),
    FindingType("COLONNE_EN_TROP", WARNING, "Colonne en trop",
                "La colonne « {found} » n'appartient pas au modèle : elle est ignorée."),
    FindingType("CELLULE_ELOIGNEE", WARNING, "Cellule isolée loin des données",
                "{count} cellule{count_s} ne contenant que des espaces, très loin {around} : {cells}. "
                "Elles ont été ignorées. Appuyez sur Ctrl+Fin pour aller à la dernière cellule de la feuille, "
                "effacez-la (touche Suppr), supprimez les lignes et colonnes vides après vos données, puis "
                "enregistrez."),
    FindingType("VALEUR_ELOIGNEE", ERROR, "Valeur saisie loin des données",
                "{count} cellule{count_s} remplie{count_s} très loin {around} n'ont pas été lues : {cells}. "
                "Si c'est une saisie par erreur, effacez-la ; si ce sont des données, déplacez-les dans le "
                "tableau, à la suite des autres lignes. Ctrl+Fin mène à la dernière cellule de la feuille."),
    FindingType("FEUILLE_DEMESUREE", ERROR, "Feuille démesurée",
                "La feuille s'étend sur {rows} lignes et {cols} colonnes (jusqu'à la cellule {last}) pour "
                "{cells} cellule{cells_s} remplie{cells_s} : elle n'a pas été lue{scope}. Appuyez sur Ctrl+Fin pour aller à "
                "la dernière cellule, effacez ce qui est saisi loin des données, supprimez les lignes et "
                "colonnes vides après vos données, enregistrez et renvoyez le fichier."),
    FindingType("COLONNE_NON_LUE", ERROR, "Colonne non lue",
                "La colonne {letter} {header} ne fait pas partie du modèle : ses {count} valeur{count_s} ne sont pas "
                "lues. S'il s'agit de données du modèle, recopiez-les dans la bonne colonne (ou rétablissez "
                "son en-tête d'origine) ; sinon effacez-les (une remarque trouve sa place dans les "
                "commentaires de l'onglet Identification)."),
    # -- Cells ----------------------------------------------------------------------------
    FindingType("TEXTE_TROP_LONG", WARNING, "Texte trop long",
                "La cellule contient un texte de {length} caractères ; Excel n'en accepte que {limit} par "
                "cellule et le couperait. Le texte a été lu, mais il est raccourci (« … ») dans les documents "
                "produits. Raccourcissez-le."),
    FindingType("CARACTERE_INVISIBLE", WARNING, "Caractère de contrôle",
                "La cellule contient des caractères de contrôle invisibles (nombre : {count}), souvent laissés "
                "par un copier-coller depuis un autre logiciel ; ils ont été retirés du texte lu. Retapez le "
                "texte de la cellule, ou collez-le en texte seul (Collage spécial, Texte sans mise en forme)."),
    FindingType("CELLULE_OBLIGATOIRE", ERROR, "Cellule obligatoire vide",
                "La colonne « {column} » est obligatoire{when} et la cellule est vide. "
                "Renseignez-la."),
    FindingType("VALEUR_ANCIENNE", WARNING, "Valeur d'un ancien modèle",
                "« {value} » est une valeur d'un modèle précédent pour « {column} » : elle a été lue comme "
                "« {read_as} ». Si ce n'est pas le bon choix, choisissez la valeur dans la liste déroulante "
                "du modèle de l'année."),
    FindingType("VALEUR_HORS_LISTE", ERROR, "Valeur hors liste",
                "« {value} » n'est pas une valeur autorisée pour « {column} ».{hint} "
                "Choisissez une valeur dans la liste déroulante."),
    FindingType("NOMBRE_INVALIDE", ERROR, "Nombre invalide",
                "« {value} » n'est pas un nombre{what} pour « {column} ». Saisissez un nombre, par exemple {example}."),
    FindingType("NOMBRE_HORS_BORNES", ERROR, "Nombre hors bornes",
                "{value} est hors des bornes attendues pour « {column} » ({bounds}). Vérifiez la saisie."),
    FindingType("NOMBRE_TEXTE", WARNING, "Nombre saisi comme texte",
                "« {value} » est un nombre saisi comme texte dans « {column} » ; il a été lu comme {parsed}. "
                "Saisissez les nombres sans espace ni texte autour."),
    FindingType("DATE_INVALIDE", ERROR, "Date invalide",
                "« {value} » n'est pas une date pour « {column} ». Saisissez une date au format JJ/MM/AAAA."),
    FindingType("DATE_TEXTE", WARNING, "Date saisie comme texte",
                "« {value} » est une date saisie comme texte dans « {column} » ; elle a été lue comme le {parsed}. "
                "Saisissez les dates au format date (JJ/MM/AAAA)."),
    FindingType("DATE_NOMBRE", WARNING, "Date sans format de date",
                "La cellule de « {column} » contient le nombre {value} au lieu d'une date ; il a été lu comme le {parsed}. "
                "Appliquez le format de cellule Date (JJ/MM/AAAA) et vérifiez la date."),
    FindingType("DATE_HORS_ANNEE", WARNING, "Date hors de l'année",
                "La ligne n'a ni décision de CAL ni bail signé en {year} (« {column} » : {value}). "
                "Elle n'est comptée dans aucun objectif de {year} ; retirez-la si elle n'a rien à faire ici."),
    FindingType("BAIL_AVANT_CAL", ERROR, "Bail avant la CAL",
                "Le bail est daté du {bail}, avant la décision de CAL du {cal}. Corrigez l'une des deux dates."),
    FindingType("BAIL_SANS_SUITE", ERROR, "Date de bail incohérente",
                "Une date de bail est saisie alors que la suite donnée est « {suite} ». "
                "Choisissez « Bail signé » ou effacez la date de bail."),
    FindingType("QUARTILE_INCOHERENT", WARNING, "Quartile incohérent",
                "Le quartile déclaré ({declared}) ne correspond pas aux ressources : {resources} € pour {uc} UC, "
                "soit {per_uc} € par UC, ce qui place le ménage au quartile {computed} selon les seuils {year}. "
                "Vérifiez les ressources, la composition ou le quartile."),
    FindingType("COMPOSITION_INCOHERENTE", WARNING, "Composition incohérente",
                "La composition du ménage est incohérente ({detail}). Vérifiez les nombres de personnes."),
    FindingType("RELOGE_NPNRU_CONTRADICTOIRE", ERROR, "Relogement NPNRU contradictoire",
                "La catégorie est « {category} » mais « {column} » vaut « Non ». Si le ménage est relogé dans le cadre "
                "du NPNRU, répondez « Oui » ; sinon choisissez sa vraie catégorie."),
    FindingType("RELOGE_NPNRU_DEDUIT", WARNING, "Relogement NPNRU non renseigné",
                "La catégorie est « {category} » et « {column} » est vide : le ménage est compté comme relogé NPNRU. "
                "Répondez « Oui » dans cette colonne."),
    FindingType("RELOGE_NPNRU_SANS_CATEGORIE", ERROR, "Relogé NPNRU sans catégorie prioritaire",
                "« {column} » vaut « Oui » mais la catégorie est « {category} » : un ménage relogé NPNRU est un public "
                "prioritaire, et il manquerait à l'objectif des publics prioritaires. Choisissez « {expected} » (ou "
                "une catégorie plus haute, comme DALO), ou répondez « Non »."),
    FindingType("RELOGE_NPNRU_CATEGORIE_BASSE", WARNING, "Catégorie plus basse que le relogement NPNRU",
                "« {column} » vaut « Oui » mais la catégorie est « {category} », plus basse que « {expected} » dans "
                "l'ordre de priorité : le ménage compte bien comme relogé NPNRU et comme public prioritaire, mais dans "
                "la catégorie « {category} ». Choisissez « {expected} » (ou une catégorie plus haute)."),
    FindingType("QPV_HORS_COMMUNE", ERROR, "QPV hors de la commune",
                "Le QPV {qpv} ne se trouve pas sur la commune {commune}. Corrigez la commune ou le QPV."),
    FindingType("QPV_PERIME", ERROR, "QPV d'une autre géographie",
                "Le QPV {qpv} n'est pas dans la géographie prioritaire en vigueur en {year} ({geography}).{hint} "
                "Choisissez le QPV dans la liste déroulante."),
    FindingType("ZONE_HORS_COMMUNE", ERROR, "Zone locale hors de la commune",
                "La zone locale « {zone} » est sur la commune {expected}, pas sur {commune}. Corrigez la commune ou la zone."),
    FindingType("ZONE_ET_QPV", WARNING, "Zone locale et QPV",
                "La ligne est à la fois en QPV ({qpv}) et dans la zone locale « {zone} » ; elle est comptée une fois, en QPV. "
                "Vérifiez la localisation du logement."),
    FindingType("REFERENCE_DOUBLON", ERROR, "Référence en double",
                "La référence « {value} » figure aussi ligne {other_row}. Chaque ménage doit avoir une seule ligne : "
                "supprimez le doublon ou corrigez la référence."),
    FindingType("BAILLEUR_DOUBLON", ERROR, "Bailleur en double",
                "Le bailleur « {value} » figure aussi ligne {other_row}. Une seule ligne par bailleur : "
                "additionnez les deux lignes et supprimez l'autre."),
    FindingType("COMMUNE_DOUBLON", ERROR, "Commune en double",
                "La commune « {value} » figure aussi ligne {other_row}. Une seule ligne par commune : "
                "additionnez les deux lignes et supprimez l'autre."),
    FindingType("DEMANDE_PART_SUPERIEURE", ERROR, "Détail supérieur au total",
                "Les {measure} {what} ({part}) dépassent le total de la ligne ({total}). Corrigez le total ou "
                "le détail : une partie ne peut pas dépasser son total."),
    FindingType("BAILLEUR_CONTINGENT_DOUBLON", ERROR, "Bailleur et contingent en double",
                "Le bailleur « {value} » figure aussi ligne {other_row} pour le contingent « {contingent} ». "
                "Une seule ligne par bailleur et par contingent : additionnez les deux lignes et supprimez l'autre."),
    FindingType("REFERENCE_NOMINATIVE", ERROR, "Référence nominative",
                "La référence « {value} » ressemble à un nom de personne. N'indiquez jamais de nom : "
                "utilisez la référence interne du dossier."),
    FindingType("CELLULES_FUSIONNEES", WARNING, "Cellules fusionnées",
                "Les cellules {range} sont fusionnées dans la zone de données ; seule la première a été lue. "
                "Annulez la fusion et remplissez chaque cellule."),
    FindingType("FORMULE_DONNEES", WARNING, "Formule dans les données",
                "La cellule contient une formule ({formula}) ; sa dernière valeur calculée a été lue. "
                "Collez les valeurs plutôt que des formules (Collage spécial > Valeurs)."),
    FindingType("LIGNE_VIDE", WARNING, "Ligne vide",
                "Ligne{count_s} vide{count_s} au milieu des données : {rows}. {count_elles} ignorée{count_s} ; vous "
                "pouvez {count_les} supprimer."),
    FindingType("AUCUNE_DONNEE", ERROR, "Aucune donnée",
                "La feuille « {sheet_title} » ne contient aucune ligne de données. Remplissez-la ; si vous n'avez "
                "réellement rien à déclarer pour l'année, écrivez-le dans les commentaires de l'onglet "
                "Identification et prévenez l'agglomération."),
    FindingType("CONTINGENT_ECART", WARNING, "Écart entre partenaires",
                "{reservataire} déclare {declared} pour « {measure} » chez {bailleur}, mais les fichiers des bailleurs "
                "en comptent {counted}. À examiner en commission."),
    # -- NPNRU rehousing (feuille « Relogements NPNRU ») ---------------------------------------
    FindingType("RELOGEMENT_STATUT_INCOHERENT", ERROR, "Statut de relogement incohérent",
                "Le ménage a le statut « {status} » mais « {column} » est renseigné : {why} "
                "Corrigez le statut ou effacez la cellule."),
    FindingType("RELOGEMENT_DATES", ERROR, "Dates de relogement dans le désordre",
                "Le relogement est daté du {rehoused}, avant l'entrée dans le dispositif le {entered}. "
                "Corrigez l'une des deux dates."),
    FindingType("RELOGEMENT_DATE_FUTURE", ERROR, "Date postérieure à l'année",
                "« {column} » est daté du {value}, après le 31 décembre {year} : la feuille décrit la situation "
                "au 31 décembre {year}. Corrigez la date ou retirez le ménage jusqu'au bilan suivant."),
    FindingType("RELOGEMENT_REFUS", ERROR, "Plus de refus que de propositions",
                "{refusals} proposition{refusals_s} refusée{refusals_s} pour {proposals} proposition{proposals_s} "
                "faite{proposals_s}. "
                "Corrigez l'un des deux nombres."),
    # -- Reception points (issue 17, Action 5: reception_validate.py) -----------------------
    FindingType("ACCUEIL_INFORMES", ERROR, "Plus d'informés que de demandeurs reçus",
                "{informed} demandeur{informed_s} informé{informed_s} sur le parc en QPV pour {received} demandeur{received_s} "
                "reçu{received_s} : les demandeurs informés sont une partie des demandeurs reçus. Corrigez l'un des deux nombres."),
    FindingType("ACCUEIL_DOUBLON", ERROR, "Lieu d'accueil et trimestre en double",
                "« {point} » a déjà une ligne pour le {quarter} (ligne {other_row}). Une seule ligne par lieu et par "
                "trimestre : additionnez les deux lignes et supprimez l'autre."),
    FindingType("RELOGEMENT_AIDE_EXCESSIVE", WARNING, "Aide au logement supérieure au loyer",
                "{where} : l'aide au logement ({apl}) dépasse le loyer et les charges ({cost}), ce qui donne un reste "
                "à charge négatif. Vérifiez les montants (mensuels, en euros)."),
    FindingType("RELOGEMENT_ORIGINE", WARNING, "Origine incohérente avec l'opération",
                "L'opération « {operation} » concerne {expected}, mais l'origine déclarée est « {found} ». "
                "Vérifiez l'opération ou l'origine du ménage."),
    FindingType("RELOGEMENT_QPV_COMMUNE", WARNING, "QPV déclaré hors commune à QPV",
                "{where} : le logement est déclaré en QPV mais la commune {commune} n'a pas de quartier prioritaire "
                "en {year}. Vérifiez la commune ou la réponse « en QPV »."),
    FindingType("RELOGEMENT_BLOQUE_RELOGE", WARNING, "Dossier bloqué déjà relogé",
                "Le ménage est relogé définitivement mais son dossier est marqué bloqué. "
                "Répondez « Non » à « Dossier bloqué » si le blocage est levé."),
    FindingType("RELOGEMENT_DOUBLON_PARTENAIRES", WARNING, "Ménage suivi par deux partenaires",
                "Le ménage « {value} » figure aussi dans le fichier de {other} pour {year}. Un ménage est suivi par un "
                "seul partenaire : la ligne de {kept} est retenue ; convenez entre vous de qui le déclare."),
    # -- The coordination commission's workbook (commission-<année>.xlsx, read back by consolidate) --
    FindingType("COMMISSION_MODELE", ERROR, "Classeur de la commission non reconnu",
                "Ce classeur n'est pas un classeur de la commission de coordination écrit par cia-workbook ({detail}). "
                "Reprenez le classeur commission-{year}.xlsx écrit avec les annexes de la charte {year} "
                "(dossier outputs/{year}/), remplissez-le et déposez-le dans le dossier « commission »."),
    FindingType("COMMISSION_DECISION_INCONNUE", ERROR, "Décision hors liste",
                "La décision « {value} » n'est pas dans la liste ({allowed}) : la ligne n'est pas reprise. "
                "Choisissez la décision dans le menu déroulant ; précisez-la au besoin dans la colonne « Précisions »."),
    FindingType("COMMISSION_DATE_INVALIDE", ERROR, "Date de séance illisible",
                "« {value} » n'est pas une date : la ligne n'est pas reprise. Saisissez la date de la séance au format "
                "JJ/MM/AAAA (par exemple 14/03/{sessions})."),
    FindingType("COMMISSION_DATE_HORS_ANNEE", ERROR, "Séance hors de l'année",
                "La séance du {value} n'est pas en {sessions} : ce classeur reçoit les décisions des séances de "
                "{sessions} sur les dossiers bloqués au 31 décembre {year}, la ligne n'est pas reprise. Corrigez la date, "
                "ou reportez la décision dans le classeur de la commission de l'année de la séance."),
    FindingType("COMMISSION_DOSSIER_INCONNU", ERROR, "Dossier inconnu",
                "Aucun retour de relogement jusqu'à {last} ne mentionne le ménage « {value} » : la ligne n'est pas "
                "reprise. Recopiez l'identifiant tel que le partenaire qui suit le ménage l'écrit dans son retour."),
    FindingType("COMMISSION_LIGNE_INCOMPLETE", ERROR, "Décision incomplète",
                "La ligne est commencée mais {missing} manque : elle n'est pas reprise. Complétez-la, ou effacez-la "
                "si le dossier n'a pas été examiné."),
    # -- The run: what the officer's machine did not allow (never in a partner's copy) ----------
    FindingType("SORTIE_NON_ECRITE", ERROR, "Fichier de sortie non écrit",
                "{path} n'a pas pu être écrit ({why}). Aucun fichier incomplet n'est laissé à sa place ; "
                "relancez la commande une fois le problème réglé."),
    FindingType("FICHIER_MODIFIE", ERROR, "Fichier modifié pendant le contrôle",
                "Le fichier a été modifié pendant le contrôle : sa copie annotée n'a pas été écrite, elle aurait "
                "mêlé deux versions. Relancez « cia-workbook validate » pour contrôler la version actuelle."),
)  # fmt: skip


# Codes about the machine and the run, not about what a file holds: no committed file can show
# them (a link to nothing, a file gone or rewritten while it is read, an output that cannot be
# written); the fault-injection tests make them happen.
RUN_CODES = frozenset({"FICHIER_LIEN_ROMPU", "FICHIER_DISPARU", "SORTIE_NON_ECRITE", "FICHIER_MODIFIE"})
# Codes of the commission's workbook, not of a partner's return: tests/test_commission.py makes
# them from workbooks the tool writes.
COMMISSION_CODES = frozenset(c for c in CATALOGUE if c.startswith("COMMISSION_"))


@dataclass(frozen=True)
class Finding:
    code: str
    file: str  # file name as received
    sheet: str = ""  # sheet title as the partner sees it
    cell: str = ""  # A1 reference, or a range, or ""
    params: tuple[tuple[str, object], ...] = ()

    @property
    def type(self) -> FindingType:
        return CATALOGUE[self.code]

    @property
    def severity(self) -> Severity:
        return self.type.severity

    @property
    def is_error(self) -> bool:
        return self.type.severity == ERROR

    @property
    def message(self) -> str:
        """What is wrong and how to fix it (without the position)."""
        return self.type.template.format(**_with_number(dict(self.params)))

    @property
    def where(self) -> str:
        parts = [f"fichier « {self.file} »"]
        if self.sheet:
            parts.append(f"feuille « {self.sheet} »")
        if self.cell:
            parts.append(f"cellule {self.cell}")
        return ", ".join(parts)

    @property
    def text(self) -> str:
        return f"[{self.code}] {self.severity} — {self.where} : {self.message}"

    def sort_key(self) -> tuple:
        return (self.file, self.sheet, _cell_order(self.cell), self.code)


_SEVERAL = re.compile(r"^\d[\d\s\u00a0\u202f]*$")


def _several(value: object) -> bool | None:
    """Whether a parameter counts more than one thing: a number of 2 or more, a figure written
    as text (« 1 234 »); None when it is not a count."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return abs(value) >= 2
    if isinstance(value, str):
        if _SEVERAL.match(value):
            return int(re.sub(r"\D", "", value)) >= 2
    return None


def _with_number(params: dict[str, object]) -> dict[str, object]:
    """The parameters plus, for each count `k`, the French endings that agree with it: `k_s`
    (« s » or nothing), `k_elles` (« Elle est » / « Elles sont »), `k_les` (« la » / « les »)."""
    out = dict(params)
    for key, value in params.items():
        several = _several(value)
        if several is not None:
            out[f"{key}_s"] = "s" if several else ""
            out[f"{key}_elles"] = "Elles sont" if several else "Elle est"
            out[f"{key}_les"] = "les" if several else "la"
    return out


def finding(code: str, file: str, sheet: str = "", cell: str = "", **params: object) -> Finding:
    """Make a finding; unknown codes and missing template parameters fail loudly in tests.

    A text parameter (a partner's value, mostly) is shortened visibly beyond MAX_QUOTED
    characters: a message always keeps its end, how to fix, wherever it is written."""
    ftype = CATALOGUE[code]
    params = {k: shortened(v) if isinstance(v, str) else v for k, v in params.items()}
    ftype.template.format(**_with_number(params))  # a missing parameter is a programming error
    return Finding(code, file, sheet, cell, tuple(params.items()))


def _cell_order(cell: str) -> tuple[int, int]:
    letters = "".join(ch for ch in cell.split(":")[0] if ch.isalpha())
    digits = "".join(ch for ch in cell.split(":")[0] if ch.isdigit())
    col = 0
    for ch in letters.upper():
        col = col * 26 + ord(ch) - 64
    return (int(digits) if digits else 0, col)
