"""Page 1 of the charter's annexes: what the coordination commission is asked to validate (the
key figures, the charter's criteria with their verdicts, the returns they rest on) and the
validation block, written in the session.
"""

from __future__ import annotations

from docx.shared import Emu, Pt

from cia_workbook.consolidate import NO_UNIVERSE, Rate
from cia_workbook.consolidate.rehousing import CRITERIA
from cia_workbook.convention.settings import CRITERION_CODES
from cia_workbook.render import frformat
from cia_workbook.render.annexes_common import AnnexesDoc
from cia_workbook.render.docxutil import add_row
from cia_workbook.render.typography import count, plural
from cia_workbook.render.word import (
    CAUTION_MARK,
    CELL_HEADER_STYLE,
    KEY_FIGURE_STYLE,
    NOTE_STYLE,
    secret,
    verdict,
    verdict_legend,
)


def first_page(a: AnnexesDoc) -> None:
    r, t = a.r, a.r.total
    blocked = a.counted(t.blocked, "dossier bloqué")
    follow = (
        "l'annexe 3 donne les ménages suivis par opération et statut"
        if a.w.public
        else "l'annexe 3 donne le suivi de chaque ménage"
    )
    asked = (
        f"La commission de coordination valide le bilan annuel {r.year} des relogements du NPNRU"
        if a.w.public
        else f"La commission de coordination est invitée à valider le bilan annuel {r.year} des relogements du NPNRU"
    )
    a.w.para(
        f"{asked}{a.action_of('bilan_relogements', ' de la convention')} : l'avancement du programme et les critères de qualité de la charte, "
        f"résumés ci-dessous et détaillés en annexe 1. Elle examine aussi les dossiers bloqués (annexe 2 : "
        f"{blocked}) ; {follow}."
    )
    for line in key_figures(a):
        a.w.para(line, KEY_FIGURE_STYLE)
    criteria_dashboard(a)
    year_sources(a)
    validation_block(a)


def key_figures(a: AnnexesDoc) -> list[str]:
    r, t = a.r, a.r.total
    rehoused = (
        f"Relogés définitivement en {r.year} : {a.households(t.rehoused_in_year)} ; depuis {r.first_year} : "
        f"{a.w.count(t.rehoused)} sur {frformat.integer(t.planned)} à reloger "
        f"({a.w.rate_text(t.rehoused, t.planned)} du programme ; parc social : "
        f"{frformat.integer(r.sectors['social'].planned)}, parc privé : {frformat.integer(r.sectors['prive'].planned)})."
    )
    if r.stale or r.earlier_gaps or any(rs.state != "utilise" for rs in r.year_returns):
        rehoused += " Un relogement déclaré seulement dans un retour écarté ou manquant n'y figure pas."
    ongoing = (
        f"En cours au 31 décembre {r.year} : {a.households(t.in_progress)}, dont "
        f"{a.counted(t.blocked, 'dossier bloqué')}"
        + (f" ; situation non actualisée en {r.year} : {a.households(t.stale)}" if t.stale else "")
        + f" ; ménages pas encore identifiés : {frformat.integer(t.not_yet_followed)}."
    )
    return [rehoused, ongoing]


def criteria_dashboard(a: AnnexesDoc) -> None:
    """The charter's criteria, in the year and since the start: rate, target and verdict in
    colour and symbol, as the bilan's dashboard shows the objectives."""
    r = a.r
    a.w.caption(
        f"Critères de qualité de la charte, relogements définitifs de {r.year} et depuis {r.first_year}"
    )
    available = Emu(a.w.available_width(False)).pt
    widths = [Pt(w * available) for w in (0.40, 0.12, 0.24, 0.24)]
    grid = a.w.fixed_grid(widths)
    header = grid.rows[0]
    heads = ("Critère de la charte", "Cible", f"Relogés en {r.year}", f"Depuis {r.first_year} (cumul)")
    for cell, text, width in zip(header.cells, heads, widths, strict=True):
        a.w.cell_para(cell, text, CELL_HEADER_STYLE, first=True)
        cell.width = width
    for code in CRITERION_CODES:
        cells = add_row(grid, widths).cells
        year, since = r.year_criteria[code], r.cumulative_criteria[code]
        a.w.cell_para(cells[0], CRITERIA[code], first=True)
        a.w.cell_para(cells[1], frformat.target(year.target), first=True)
        criterion_cell(a, cells[2], year)
        criterion_cell(a, cells[3], since)
    gap = frformat.points(a.c.campaign.close_gap_points)
    note = verdict_legend(gap, "aucun ménage relogé") + (
        " Univers : ménages relogés définitivement ; un critère non renseigné reste dans l'univers et ne compte "
        "jamais comme conforme."
    )
    if a.caution:
        note += f" {CAUTION_MARK} Moins de {a.caution} ménages relogés : à interpréter avec prudence."
    if a.w.public:
        note += f" Un taux n'est publié que sur au moins {a.w.threshold} ménages relogés."
    a.w.para(note, NOTE_STYLE)


def criterion_cell(a: AnnexesDoc, cell, rate: Rate) -> None:
    status, den = rate.status, rate.denominator
    if a.w.public and 1 <= den < a.w.threshold:
        secret(a.w, cell, f"moins de {a.w.threshold} ménages relogés")
        return
    relogés = plural(den, "ménage relogé")
    if status == NO_UNIVERSE:
        detail = "aucun ménage relogé"
    elif a.w.public:
        detail = f"sur {frformat.integer(den)} {relogés}"
    else:
        detail = f"{frformat.integer(rate.numerator)} sur {frformat.integer(den)} {relogés}"
    if status != NO_UNIVERSE and rate.unknown:
        detail += f", dont {frformat.integer(rate.unknown)} non {plural(rate.unknown, 'renseigné')}"
    if status != NO_UNIVERSE and 0 < den < a.caution:
        detail += f" {CAUTION_MARK}"
    verdict(a.w, cell, status, frformat.percent(rate.value), detail)


def year_sources(a: AnnexesDoc) -> None:
    """On which return of the year each partner's households rest, said plainly, and the
    households whose state of the year is unknown (excluded or missing return…)."""
    r = a.r
    names = r.partner_names
    stale = {(rs.partner, rs.state): n for rs, n in r.stale_by_return()}
    a.w.para(
        f"Ce bilan repose sur les retours {r.year} des partenaires de la charte (feuille « Relogements NPNRU ») :"
    )
    for rs in r.year_returns:
        name = names.get(rs.partner, rs.partner)
        answered = f"réponse du {frformat.date(rs.answered)}" if rs.answered else ""
        source = ", ".join(x for x in (None if a.w.public else rs.file, answered) if x)
        if rs.state == "utilise":
            text = f"{name} : retour {r.year} utilisé" + (f" ({source})" if source else "")
            absent = stale.get((rs.partner, "absent"), 0)
            if absent:
                text += (
                    f" ; {a.households(absent)} en cours à son retour précédent "
                    f"{'n’y figurent' if a.many(absent) else 'n’y figure'} pas (situation non actualisée)"
                )
        else:
            text = f"{name} : {rs.what()}"
            if rs.state == "ecarte":
                text += (
                    f" pour {count(rs.errors, 'erreur')} à corriger"
                    + (f" ({source})" if source else "")
                    + " : aucun de ses chiffres n'est compté"
                )
            n = stale.get((rs.partner, rs.state), 0)
            text += f" ; {a.households(n)} en situation non actualisée" if n else ""
            unknown = r.unknown_in_excluded.get(rs.partner, 0)
            if unknown:
                many = a.many(unknown)
                text += (
                    f" ; {a.counted(unknown, 'autre ménage')} de ce fichier, "
                    f"{'inconnus' if many else 'inconnu'} des retours utilisés, "
                    f"{'ne sont comptés' if many else 'n’est compté'} nulle part"
                )
        a.w.para(text + ".", "List Bullet")
    if r.stale:
        a.w.para(
            f"Situation non actualisée : {a.households(len(r.stale))} dont aucun retour {r.year} utilisé ne "
            f"donne la situation ({r.stale_details(a.w.count)}). "
            + (
                "Ils sont comptés à part (annexes 1 et 3)"
                if a.w.public
                else "Ils sont présentés à part en annexe 3, dans l'état et à la date de leur dernier retour utilisé"
            )
            + f", et ne sont comptés ni en cours ni bloqués en {r.year}."
        )


def validation_block(a: AnnexesDoc) -> None:
    """The commission's decision, written in the session (restricted), or the date of the
    session that validated it (public)."""
    r = a.r
    if a.w.public:
        a.w.para(
            f"Bilan annuel des relogements {r.year} validé par la commission de coordination lors de sa séance "
            "du ____ / ____ / ________.",
            NOTE_STYLE,
        )
        return
    width = [Pt(Emu(a.w.available_width(False)).pt)]
    grid = a.w.fixed_grid(width)
    grid.rows[0].cells[0].width = width[0]
    a.w.cell_para(
        grid.rows[0].cells[0],
        f"Validation du bilan annuel des relogements {r.year} par la commission de coordination"
        + a.action_of("bilan_relogements"),
        CELL_HEADER_STYLE,
        first=True,
    )
    cell = add_row(grid, width).cells[0]
    lines = [
        "Séance du ____ / ____ / ________",
        "Décision :   ☐ bilan validé     ☐ validé avec réserves     ☐ ajourné",
        "Observations et réserves :",
        "",
        "",
        "Pour la commission, nom, qualité et signature :",
        "",
    ]
    for i, line in enumerate(lines):
        p = a.w.cell_para(cell, line, "Normal", first=i == 0)
        p.paragraph_format.space_after = Pt(4)
