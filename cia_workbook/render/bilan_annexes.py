"""The Word bilan's annexes: the method (definitions, geography and thresholds, statistical
secrecy), the detailed tables, the attributions per commune and, in the working document only,
the réservataires' cross-check and the returns received from each partner.
"""

from __future__ import annotations

from cia_workbook.consolidate import (
    OBJECTIVE_SHORT,
    SECRET,
    SMALL,
    YOUNG_AGE,
    Col,
    IndicatorTable,
    zone_words,
)
from cia_workbook.render import frformat
from cia_workbook.render.bilan_common import OBJECTIVE_NUMBERS, BilanDoc
from cia_workbook.render.typography import count, join


def annex_heading(d: BilanDoc, title: str, landscape: bool = False) -> None:
    d.annex_count += 1
    if d.annex_count == 1 and not landscape:
        d.w.page_break()
    d.w.heading(f"Annexe {d.annex_count} : {title}", landscape=landscape)


def annexes(d: BilanDoc) -> None:
    method(d)
    detail_tables(d)
    communes = d.table_data("communes")
    annex_heading(d, "attributions par commune", landscape=not d.w.fits(communes, False))
    d.w.table(communes)
    if not d.w.public:
        cross_check(d)
        returns(d)


def detail_tables(d: BilanDoc) -> None:
    keys = [
        "prioritaires_contingents",
        "reservataires",
        "publics_qpv",
        "refus",
        "vacance",
        "mutations",
        "qualite",
        "evolution",
    ]
    tables = [d.table_data(k) for k in keys]
    tables = [t for t in tables if t.rows]
    portrait = [t for t in tables if d.w.fits(t, False)]
    wide = [t for t in tables if t not in portrait]
    annex_heading(d, "tableaux détaillés", landscape=bool(wide) and not portrait)
    for t in portrait:
        d.w.table(t, chart=False)
    if wide:
        d.w.orient(True)
        for t in wide:
            d.w.table(t, chart=False)


def cross_check(d: BilanDoc) -> None:
    data = d.table_data("reservataires_ecarts")
    annex_heading(d, "contrôle croisé des réservataires", landscape=not d.w.fits(data, False))
    d.w.table(data, chart=False)
    if d.b.cross_findings:
        d.w.para("Écarts signalés au contrôle des retours, à examiner en commission :")
        for text in d.b.cross_findings:
            d.w.para(text, "List Bullet")
    else:
        d.w.para("Aucun écart signalé.")


def returns(d: BilanDoc) -> None:
    """One line per partner: what was received, what was used (restricted version only)."""
    b = d.b
    kinds = {
        "bailleur": "Bailleur",
        "reservataire": "Réservataire",
        "operateur": "Opérateur de relogement",
    }
    used = {e.partner_id: e for e in b.register}
    excluded = {e.partner_id: e for e in b.excluded}
    rows = []
    for p in d.c.partners:
        if p.id in used:
            e = used[p.id]
            state = "utilisé" + (f" (version {e.version} reçue)" if e.version > 1 else "")
            detail = f"{count(e.rows, 'ligne')} ; " + (
                f"{count(e.warnings, 'avertissement')} transmis au partenaire"
                if e.warnings
                else "aucun avertissement"
            )
        elif p.id in excluded:
            e = excluded[p.id]
            state = "exclu pour erreurs"
            detail = f"{count(e.errors, 'erreur')} à corriger" + (
                f" : {join(e.problems)}" if e.problems else ""
            )
        else:
            e, state, detail = None, "sans retour", "à relancer"
        rows.append(
            {
                "partenaire": p.name,
                "type": kinds[p.kind],
                "etat": state,
                "fichier": e.file if e else "–",
                "date": e.date if e else None,
                "detail": detail,
            }
        )
    table = IndicatorTable(
        "retours",
        "annexes",
        "Retours reçus par partenaire",
        [
            Col("partenaire", "Partenaire", "text"),
            Col("type", "Type", "text"),
            Col("etat", "Retour", "text"),
            Col("fichier", "Fichier", "text"),
            Col("date", "Date de réponse", "date"),
            Col("detail", "Contenu et constats", "text"),
        ],
        rows,
        note="Le détail des constats (feuille, cellule, correction à faire) figure dans le classeur de contrôle "
        "de l'agent et dans la copie annotée renvoyée à chaque partenaire.",
    )
    annex_heading(d, "retours reçus", landscape=not d.w.fits(table, False))
    d.w.table(table, chart=False)


def method(d: BilanDoc) -> None:
    b, z = d.b, zone_words(d.c)
    annex_heading(d, "méthode")
    d.w.heading("Définitions", 2)
    d.w.para(
        "Un ménage entre dans les chiffres de l'année par la date qui compte pour chaque objectif : la date du bail "
        "pour les objectifs portant sur les baux signés, la date de la décision de CAL pour l'objectif portant sur "
        "les attributions prononcées."
    )
    for code in OBJECTIVE_SHORT:
        d.w.para(
            f"Objectif {OBJECTIVE_NUMBERS[code]} : " + d.b.table(f"objectif_{code}").note,
            "List Bullet",
        )
    order = ", ".join(f"{i}. {c.label}" for i, c in enumerate(d.c.priority_categories, 1) if c.priority)
    d.w.para(
        f"Un ménage relevant de plusieurs catégories prioritaires est compté une fois, dans la plus haute : {order}."
    )
    d.w.para(
        f"Jeune ménage : titulaire de moins de {YOUNG_AGE} ans. Famille : ménage avec au moins un enfant de moins de 14 ans. "
        "Refus : suite « refus du ménage » parmi les décisions de CAL de l'année."
    )
    d.w.heading("Géographie et seuils", 2)
    d.w.para(f"Géographie prioritaire appliquée en {b.year} : {b.geography}.")
    if z.names:
        d.w.para(f"Traité comme un QPV pour les deux objectifs de quartile (sans être un QPV) : {z.names}.")
    t = b.thresholds
    if t is None:
        d.w.para(
            f"Seuils de quartile {b.year} : seuils inconnus (absents du fichier de convention) ; les quartiles déclarés "
            "par les bailleurs sont utilisés sans contrôle de cohérence avec les ressources."
        )
    else:
        parts = [f"1er quartile ≤ {frformat.euros(t.q1)}"]
        if t.q2 is not None:
            parts.append(f"2e ≤ {frformat.euros(t.q2)}")
        if t.q3 is not None:
            parts.append(f"3e ≤ {frformat.euros(t.q3)}")
        d.w.para(
            f"Seuils de quartile {b.year} (par unité de consommation et par an) : {', '.join(parts)}"
            + (f" – source : {t.source}" if t.source else "")
            + "."
        )
    for y in b.trend:
        if y.year != b.year:
            d.w.para(
                f"{y.year} : {y.geography} ; "
                + ("seuils de quartile connus." if y.thresholds_known else "seuils inconnus."),
                "List Bullet",
            )
    uc = d.c.uc_scale
    d.w.para(
        f"Unités de consommation (échelle OCDE modifiée) : {frformat.decimal(uc.first_adult)} pour le premier adulte, "
        f"{frformat.decimal(uc.other_14_plus)} par autre personne de 14 ans ou plus, "
        f"{frformat.decimal(uc.child_under_14)} par enfant de moins de 14 ans."
    )
    d.w.heading("Secret statistique", 2)
    small = SMALL.format(threshold=d.w.threshold)
    d.w.para(
        f"Dans la version publique, aucun groupe de moins de {d.w.threshold} ménages n'est décrit. Un taux (et son "
        f"appréciation) n'est publié que si son univers compte au moins {d.w.threshold} ménages ; le nombre de "
        "ménages visés n'est pas écrit à côté du taux. Les partenaires dont l'univers est plus petit sont "
        "regroupés sur une ligne « Autres bailleurs, regroupés » (ou « Autres réservataires, regroupés ») ; un "
        "groupe d'un seul partenaire est complété par le plus petit des autres, et un groupe compte au moins "
        f"{d.w.threshold} ménages : ni le groupe ni la ligne du territoire moins les partenaires publiés ne "
        f"permettent de retrouver un partenaire. Leurs cases disent « {SECRET} ». Dans les autres tableaux, tout "
        f"effectif de moins de {d.w.threshold} ménages (zéro excepté) est remplacé par « {small} », et l'effectif non nul le plus "
        f"petit de la même ligne (parts d'un total) ou de la même colonne (lignes dont la somme figure en total) par "
        f"« {SECRET} », pour qu'un effectif masqué ne puisse pas être retrouvé par différence. Les petits nombres "
        "de logements vacants sont traités de la même façon. Le contrôle croisé des réservataires et le détail des "
        "retours ne sont pas publiés."
        + (
            " Cette version est la version publique."
            if d.w.public
            else " Cette version de travail n'applique pas ces règles."
        )
    )
    if d.caution:
        d.w.para(
            f"Une appréciation portant sur moins de {d.caution} ménages est à interpréter avec prudence : un ou "
            "deux ménages suffisent à la faire changer."
        )
