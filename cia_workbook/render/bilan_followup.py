"""The Word bilan's follow-up: the NPNRU rehousing's headline figures, the convention's actions
and their indicators, the rates over the years, and the quality of the data and returns.
"""

from __future__ import annotations

from cia_workbook.consolidate import OBJECTIVE_SHORT, TERRITORY, Col, IndicatorTable, zone_words
from cia_workbook.consolidate.rehousing import CRITERIA
from cia_workbook.convention.settings import ACTION_INDICATORS, Action
from cia_workbook.render import attention as report_attention
from cia_workbook.render import demand as report_demand
from cia_workbook.render import frformat
from cia_workbook.render.bilan_common import (
    ACTIONS_TITLE,
    OBJECTIVE_NUMBERS,
    SHORTS,
    BilanDoc,
    objective_number,
)
from cia_workbook.render.docxutil import cell_text
from cia_workbook.render.names import annexes_docx_name
from cia_workbook.render.typography import capitalize, count, join, lower_first
from cia_workbook.render.word import KEY_FIGURE_STYLE, NOTE_STYLE


def rehousing(d: BilanDoc) -> None:
    """Headline figures of the NPNRU rehousing; the detail is in the charter's annexes."""
    r = d.b.rehousing
    if r is None:
        return
    t = r.total
    d.w.heading("Relogements NPNRU (charte de relogement)")
    d.w.para(
        f"Relogés définitivement en {r.year} : {count(t.rehoused_in_year, 'ménage', number=d.w.count(t.rehoused_in_year))} ; "
        f"depuis {r.first_year} : {d.w.count(t.rehoused)} sur {frformat.integer(t.planned)} à reloger "
        f"({d.w.rate_text(t.rehoused, t.planned)}). En cours : {d.w.count(t.in_progress)}, dont "
        f"{count(t.blocked, 'dossier bloqué', number=d.w.count(t.blocked))}.",
        KEY_FIGURE_STYLE,
    )
    if r.stale:
        d.w.para(
            f"Situation non actualisée en {r.year} : {count(len(r.stale), 'ménage', number=d.w.count(len(r.stale)))} dont aucun retour {r.year} "
            f"utilisé ne donne la situation ({r.stale_details(d.w.count)}) ; ils ne sont comptés ni en cours ni bloqués (voir la "
            "première page des annexes de la charte).",
            KEY_FIGURE_STYLE,
        )
    for code, rate in r.year_criteria.items():
        d.w.para(
            f"{CRITERIA[code]} en {r.year} : {d.w.rate_text(rate.numerator, rate.denominator)} "
            f"(cible de la charte {frformat.target(rate.target)}).",
            "List Bullet",
        )
    d.w.para(
        "Les ménages relogés dans le cadre du NPNRU comptent avec le 1er quartile au numérateur de l'objectif 1 "
        "(colonne « Relogé NPNRU » de la feuille Attributions, quelle que soit la catégorie). "
        "Le bilan annuel des relogements à valider par la commission de coordination, les dossiers bloqués et le "
        f"suivi de chaque ménage figurent dans les annexes de la charte de relogement ({annexes_docx_name(r.year, d.w.diffusion)})."
    )
    d.commentary("relogement", "Relogements NPNRU")


def actions(d: BilanDoc) -> None:
    """The convention's actions that report indicators (`convention.actions`): per action, its
    title and the sentence that introduces them, then one line per indicator; their tables
    are in the annexes."""
    shown = [a for a in d.c.actions if a.indicators]
    if not shown:
        return
    d.w.heading(ACTIONS_TITLE)
    first: dict[str, Action] = {}  # indicator → the action it was shown with
    for action in shown:
        lead = d.w.para()
        lead.paragraph_format.keep_with_next = True
        lead.add_run(f"{action.name} – {action.title}.").bold = True
        if action.indicators_text:
            lead.add_run(f" {action.indicators_text}")
        again: dict[int, list[str]] = {}
        for key in action.indicators:
            if key in first:  # said once, then pointed at
                again.setdefault(first[key].number, []).append(ACTION_INDICATORS[key])
                continue
            line = indicator_line(d, key)
            if line:
                first[key] = action
                d.w.para(line, "List Bullet")
        if again:
            where = " ; ".join(f"{join(names)}, avec l'action {n}" for n, names in again.items())
            d.w.para(f"Voir aussi plus haut : {where}.", "List Bullet")
    if any(k in a.indicators for a in shown for k in ("publics_qpv", "refus", "vacance", "mutations")):
        d.w.para("Le détail par bailleur figure en annexe (tableaux détaillés).", NOTE_STYLE)
    d.commentary("actions", ACTIONS_TITLE)


def indicator_line(d: BilanDoc, key: str) -> str | None:
    """One indicator of an action (convention.ACTION_INDICATORS) as a line of the bilan."""
    z = zone_words(d.c)

    def pct(value):
        return cell_text("rate", value)

    if key in OBJECTIVE_SHORT:
        rate = d.b.objectives[key][TERRITORY]
        name = lower_first(d.b.objective_names.get(key, OBJECTIVE_SHORT[key]))
        return (
            f"Objectif {OBJECTIVE_NUMBERS[key]} ({name}) : {d.w.rate_text(rate.numerator, rate.denominator)} "
            f"sur le territoire pour une cible de {frformat.target(rate.target)} (objectif {rate.status})."
        )
    if key == "dalo":
        t = d.b.table("dalo").rows[-1]
        return (
            f"Ménages reconnus DALO ayant signé un bail : {d.w.rate_text(t['hors_qpv'], t['dalo'])} hors QPV."
        )
    if key == "publics_qpv":
        inside, outside = d.table_data("publics_qpv").rows[:2]
        return (
            f"Profil des ménages des attributions prononcées {z.inside} : {pct(inside['jeunes_part'])} de jeunes "
            f"ménages (hors QPV : {pct(outside['jeunes_part'])}), {pct(inside['familles_part'])} de familles avec "
            f"enfant (hors QPV : {pct(outside['familles_part'])}), {pct(inside['emploi_part'])} de ménages en emploi "
            f"(hors QPV : {pct(outside['emploi_part'])})."
        )
    if key == "refus":
        refus = d.table_data("refus").rows[-1]
        return (
            f"Refus des ménages : {pct(refus['qpv_taux'])} des attributions prononcées {z.inside_short}, "
            f"{pct(refus['hors_taux'])} hors QPV."
        )
    if key == "vacance":
        if not d.b.table("vacance").rows:
            return "Vacance : aucune feuille Patrimoine reçue."
        vacancy = d.table_data("vacance").rows[-1]
        return (
            f"Vacance au 31 décembre : {pct(vacancy['taux'])} du parc des bailleurs, {pct(vacancy['qpv_taux'])} "
            f"{z.inside_short} ; vacance de plus de 3 mois : {pct(vacancy['taux_3_mois'])}."
        )
    if key in ("tension", "typologies"):
        return report_demand.indicator_line(d, key)
    if key == "mutations":
        return f"Mutations internes : {pct(d.table_data('mutations').rows[-1]['taux'])} des baux signés."
    line = report_attention.indicator_line(d, key)
    if line is not None:
        return line
    r = d.b.rehousing
    if r is None:
        return None
    annexes = annexes_docx_name(r.year, d.w.diffusion)
    t = r.total
    if key == "criteres_relogement":
        parts = [
            f"{lower_first(CRITERIA[code])}, {d.w.rate_text(rate.numerator, rate.denominator)} "
            f"(cible {frformat.target(rate.target)})"
            for code, rate in r.year_criteria.items()
        ]
        return f"Critères de qualité de la charte en {r.year} : {' ; '.join(parts)}." if parts else None
    if key == "bilan_relogements":
        return (
            f"Bilan annuel des relogements {r.year} : {d.w.count(t.rehoused_in_year)} relogés définitivement dans "
            f"l'année, {d.w.count(t.rehoused)} depuis {r.first_year} sur {frformat.integer(t.planned)} à reloger ; "
            f"à valider par la commission de coordination (annexes de la charte, {annexes})."
        )
    if key == "dossiers_bloques":
        return (
            f"Dossiers bloqués au 31 décembre {r.year} : {d.w.count(t.blocked)}, examinés par la commission de "
            f"coordination (annexe 2 des annexes de la charte)."
        )
    return None


def trend(d: BilanDoc) -> None:
    title = f"Évolution depuis {d.c.info.first_year}"
    d.w.heading(title)
    data = d.table_data("evolution")
    rows = []
    for r in data.rows:
        year = int(r["annee"])
        label = r["annee"]
        if year in d.b.test_years:
            label += " (année test)"
        elif year == d.b.midterm_year:
            label += " (mi-parcours)"
        row = {"annee": label}
        for short in SHORTS.values():
            row[short] = (
                f"{cell_text('rate', r[f'{short}_taux'])} (cible {cell_text('target', r[f'{short}_cible'])})"
            )
        # What each year's rates rest on: an excluded or missing return is in none of them.
        row["retours"], row["non_utilises"] = r["retours"], r["non_utilises"]
        rows.append(row)
    compact = IndicatorTable(
        "evolution",
        "evolution",
        f"Taux du territoire par année depuis {d.c.info.first_year}",
        [Col("annee", "Année", "text")]
        + [Col(short, f"Objectif {objective_number(short)}", "text") for short in SHORTS.values()]
        + [data.column("retours"), data.column("non_utilises")],
        rows,
        note=data.note,
    )
    d.w.table(compact, chart=False)
    d.w.picture("evolution")
    d.commentary("evolution", title)


def quality(d: BilanDoc) -> None:
    b = d.b
    d.w.heading("Qualité des données et retours")
    n_b = len([e for e in b.register if e.kind == "bailleur"])
    n_r = len([e for e in b.register if e.kind == "reservataire"])
    territory = d.b.table("qualite").rows[-1]
    lines = [
        f"Retours utilisés : {n_b} bailleurs sur {len(d.c.bailleurs)}, {n_r} réservataires sur "
        f"{len(d.c.reservataires)}.",
    ]
    for e in b.excluded:
        lines.append(
            f"{e.partner} : retour exclu ({count(e.errors, 'erreur')} à corriger), ses attributions ne sont "
            "comptées nulle part ; le partenaire doit corriger son fichier et le renvoyer."
        )
    for name in b.missing:
        lines.append(f"{name} : aucun retour reçu.")
    lines.append(
        f"{capitalize(count(territory['lignes'], 'ligne d’attribution', 'lignes d’attribution'))} utilisées, "
        f"dont {frformat.integer(territory['dans_annee'])} avec une décision ou un bail dans l'année ; quartile "
        f"inconnu : {cell_text('rate', territory['part_inconnu'])} des lignes de l'année."
    )
    for line in lines:
        d.w.para(line, "List Bullet")
    if not d.w.public:
        d.w.para("Le détail de chaque retour figure dans l'annexe « Retours reçus ».", NOTE_STYLE)
    d.commentary("qualite", "Qualité des données et retours")
