"""Rendering stage of the mid-term re-evaluation: `reevaluation-mi-parcours-<année>.docx`, on the
bilan's template and typography (the layout of `word`), from a
`consolidate.midterm.MidTerm`. A working document for the coordination commission (diffusion
restreinte): the objectives over the years, what it would have taken, the actions' indicators,
and the targets to amend.
"""

from __future__ import annotations

from pathlib import Path

from cia_workbook.consolidate.bilan import OBJECTIVE_SHORT
from cia_workbook.consolidate.midterm import MidTerm
from cia_workbook.convention.settings import Convention
from cia_workbook.fileio import write_atomic
from cia_workbook.render.bilan_common import OBJECTIVE_NUMBERS
from cia_workbook.render.typography import join
from cia_workbook.render.word import NOTE_STYLE, Word, build, template_fields

APOS_YEAR = "l'année"


def midterm_docx_name(year: int) -> str:
    return f"reevaluation-mi-parcours-{year}.docx"


def write_midterm_docx(convention: Convention, m: MidTerm, path: Path, template: Path | None = None) -> Path:
    w = Word("restreinte", convention.campaign.secrecy_threshold)
    fields = template_fields(
        w, m.epci, m.year, f"Réévaluation à mi-parcours {m.year} de la convention intercommunale d'attribution",
        f"{m.convention_title} · années {m.years[0]} à {m.years[-1]}",
        f"{m.epci} – réévaluation à mi-parcours {m.year} de la CIA",
    )  # fmt: skip
    doc = build(w, template, fields, {}, None, lambda: _body(w, m))
    return write_atomic(Path(path), lambda tmp: doc.save(str(tmp)))


def _body(w: Word, m: MidTerm) -> None:
    tests = [y for y in m.test_years if y <= m.year]
    w.para(
        f"La convention prévoit en {m.year} une réévaluation à mi-parcours de ses objectifs et de ses engagements"
        + (
            f", après {'les années' if len(tests) > 1 else APOS_YEAR} test {join([str(y) for y in tests])}"
            if tests
            else ""
        )
        + f". Ce document réunit, pour chaque bailleur et chaque réservataire, les taux atteints de {m.years[0]} "
        f"à {m.years[-1]}, l'écart à la cible {m.year} et ce qu'il aurait fallu pour l'atteindre ; puis les "
        "indicateurs des actions sur les mêmes années ; enfin un tableau des cibles, pré-rempli avec les cibles en "
        f"vigueur en {m.next_year}, que la commission de coordination modifie pour proposer ses cibles."
    )
    if m.missing_years:
        w.para(
            f"Années sans aucun retour, absentes des tableaux : {join([str(y) for y in m.missing_years])}.",
            NOTE_STYLE,
        )
    for code in OBJECTIVE_SHORT:
        number = OBJECTIVE_NUMBERS[code]
        w.heading(f"Objectif {number} – {m.objective_names.get(code, OBJECTIVE_SHORT[code])}")
        w.table(m.table(f"mi_parcours_{code}"), chart=False)
        w.table(m.table(f"mi_parcours_manque_{code}"), chart=False)
    actions = [t for t in m.tables if t.key.startswith("mi_parcours_action_")]
    if actions:
        w.heading(f"Les actions de la convention de {m.years[0]} à {m.years[-1]}")
        for table in actions:
            w.table(table, chart=False)
    targets = m.table("mi_parcours_cibles")
    w.heading(f"Cibles proposées à partir de {m.next_year}", landscape=not w.fits(targets, False))
    w.para(
        "Chaque ligne reprend les cibles en vigueur ; la colonne « cible proposée » est à modifier en séance, "
        "partenaire par partenaire : la convention peut différencier les objectifs par bailleur."
    )
    w.table(targets, chart=False)
    w.orient(False)
