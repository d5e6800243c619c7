"""The Word bilan's evaluation: its framework (objectives, universes, targets, what the
convention recalls), then each objective, the DALO households, the réservataires' contribution
and the zooms on the QPV and the sectors, each with its table and the officer's commentary.
"""

from __future__ import annotations

from docx.shared import Emu, Pt

from cia_workbook.consolidate import OBJECTIVE_SHORT, TERRITORY, Col, IndicatorTable, zone_words
from cia_workbook.render import frformat
from cia_workbook.render.bilan_common import (
    OBJECTIVE_NUMBERS,
    SHORTS,
    BilanDoc,
    objective_number,
    objective_title,
)
from cia_workbook.render.docxutil import add_row, cant_split, repeat_header
from cia_workbook.render.typography import capitalize, count, join, lower_first
from cia_workbook.render.word import CELL_HEADER_STYLE, TABLE_STYLE


def framework(d: BilanDoc) -> None:
    b, z = d.b, zone_words(d.c)
    d.w.heading("Le cadre de l'évaluation")
    grid = d.w.doc.add_table(rows=1, cols=3)
    grid.style = d.w.doc.styles[TABLE_STYLE]
    repeat_header(grid.rows[0])
    cant_split(grid.rows[0]._tr)
    available = Emu(d.w.available_width(False)).pt
    widths = [Pt(available * 0.42), Pt(available * 0.45), Pt(available * 0.13)]
    for column, width in zip(grid.columns, widths, strict=True):
        column.width = width
    for cell, text, width in zip(
        grid.rows[0].cells, ("Objectif", "Univers (dénominateur)", f"Cible {b.year}"), widths, strict=True
    ):
        d.w.cell_para(cell, text, CELL_HEADER_STYLE, first=True)
        cell.width = width
    universes = {
        "hors_qpv_q1": f"Baux signés dans l'année, logements {z.outside}",
        "qpv_q234": f"Attributions prononcées dans l'année, logements {z.inside}",
        "publics_prioritaires": "Baux signés dans l'année, sur le contingent propre de chaque bailleur et sur celui de chaque réservataire",
    }
    for code in OBJECTIVE_SHORT:
        cells = add_row(grid, widths).cells
        d.w.cell_para(cells[0], f"{OBJECTIVE_NUMBERS[code]}. {d.c.objective(code).label}", first=True)
        d.w.cell_para(cells[1], universes[code], first=True)
        d.w.cell_para(cells[2], frformat.target(b.targets[code]), first=True)
    lines = [
        "Les réservataires contribuent aux objectifs 1 et 2 ; l'objectif 3 s'applique aussi à chaque contingent "
        "de réservation."
    ]
    exempt = [f"« {c.label} »" for c in d.c.contingents if not c.priority_target]
    if exempt:
        lines.append(
            f"{capitalize(join(exempt))} : {'contingents non tenus' if len(exempt) > 1 else 'contingent non tenu'} "
            "à l'objectif 3, dont le taux est donné « sans objectif »."
        )
    # What the convention itself commits to beyond the objectives, in its own words.
    lines += [f"La convention rappelle : {lower_first(r)}" for r in d.c.report.reminders]
    calendar = []
    if b.test_years:
        years = join([str(y) for y in b.test_years])
        calendar.append(
            f"{years} {'sont les années test' if len(b.test_years) > 1 else 'est l’année test'} de la convention "
            "(objectifs évalués sans être opposables)"
        )
    if b.midterm_year:
        calendar.append(
            f"{b.midterm_year} est l'année de la réévaluation à mi-parcours des objectifs et des engagements"
        )
    if calendar:
        lines.append(capitalize(" ; ".join(calendar)) + ".")
    lines.append(
        f"Chaque année est jugée sur sa cible et sur la géographie prioritaire en vigueur : en {b.year}, "
        f"{lower_first(b.geography)}."
    )
    for line in lines:
        d.w.para(line)
    if d.has_commentary("synthese"):
        d.w.heading("Lecture d'ensemble", 2)
    d.commentary("synthese", "Lecture d'ensemble")


def objective_section(d: BilanDoc, code: str) -> None:
    rate = d.b.objectives[code][TERRITORY]
    title = objective_title(d.b, code)
    d.w.heading(title)
    unit = {"qpv_q234": "attributions prononcées"}.get(code, "baux signés")
    text = (
        f"Sur le territoire, {d.w.count(rate.numerator)} ménages sur {d.w.count(rate.denominator)} {unit}, soit "
        f"{d.w.rate_text(rate.numerator, rate.denominator)} pour une cible de {frformat.target(rate.target)} "
        f"en {d.b.year} : objectif {rate.status}."
    )
    if code != "publics_prioritaires" and rate.unknown:
        text += (
            f" {capitalize(count(rate.unknown, 'ménage', number=d.w.count(rate.unknown)))} de l'univers "
            f"{'ont' if rate.unknown > 1 else 'a'} un quartile inconnu : "
            f"{'ils restent' if rate.unknown > 1 else 'il reste'} au dénominateur."
        )
    d.w.para(text)
    d.w.table(d.table_data(f"objectif_{code}"))
    d.commentary(f"objectif_{code}", title)


def dalo(d: BilanDoc) -> None:
    t = d.b.table("dalo").rows[-1]
    d.w.heading("Ménages reconnus DALO")
    d.w.para(
        f"{capitalize(count(t['dalo'], 'ménage reconnu DALO', 'ménages reconnus DALO', d.w.count(t['dalo'])))} "
        f"{'ont' if t['dalo'] > 1 else 'a'} signé un bail en {d.b.year}, dont "
        f"{d.w.rate_text(t['hors_qpv'], t['dalo'])} hors QPV."
    )
    d.w.table(d.table_data("dalo"))
    d.commentary("dalo", "Ménages reconnus DALO")


def reservataires(d: BilanDoc) -> None:
    d.w.heading("Contribution des réservataires")
    d.w.para(
        "Les taux de chaque réservataire sont calculés sur les attributions que les bailleurs déclarent sur son "
        "contingent ; ils ne dépendent pas du retour du réservataire, qui sert au contrôle croisé."
    )
    data = d.table_data("reservataires")
    compact = IndicatorTable(
        data.key,
        data.section,
        "Contribution des réservataires : taux et univers par objectif",
        [data.columns[0]]
        + [
            col
            for short in SHORTS.values()
            for col in (
                Col(f"{short}_taux", f"Objectif {objective_number(short)} : taux", "rate"),
                Col(f"{short}_den", f"Objectif {objective_number(short)} : univers"),
            )
        ],
        data.rows,
        note=data.note,
    )
    d.w.table(compact, chart=False)
    if not d.w.public:
        n = len(d.b.cross_findings)
        d.w.para(
            (
                f"Le contrôle croisé entre les déclarations des réservataires et les fichiers des bailleurs relève "
                f"{count(n, 'écart')} : voir l'annexe « Contrôle croisé des réservataires »."
            )
            if n
            else "Le contrôle croisé entre les déclarations des réservataires et les fichiers des bailleurs ne relève aucun écart."
        )
    d.commentary("reservataires", "Contribution des réservataires")


def zooms(d: BilanDoc) -> None:
    d.w.heading("Zooms sur les quartiers prioritaires et les secteurs")
    d.w.table(d.table_data("zoom_qpv"))
    d.w.table(d.table_data("zooms"), chart=False)
    for zoom in d.c.zooms:
        if d.has_commentary(f"zoom:{zoom.name}"):
            d.w.heading(f"Zoom : {zoom.name}", 2)
        d.commentary(f"zoom:{zoom.name}", f"Zoom : {zoom.name}")
