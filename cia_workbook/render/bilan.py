"""Rendering stage: the bilan's data (`consolidate.Bilan`) laid out as the Word bilan of the year.

On the Word template (`word.build`: styles, title block, header and footer, {fields}); two
audiences: "restreinte" (the coordination commission's working document, full detail) and
"publique" (partners with small universes grouped, small counts masked, restricted detail left
out). Page 1 answers the question (are the objectives met, per bailleur and per réservataire?,
bilan_dashboard.py); each objective then gets its table, its chart and the officer's commentary
(bilan_objectives.py); the follow-up (bilan_followup.py) and the annexes (bilan_annexes.py)
come after. This module gives the order of the sections and the charts drawn meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cia_workbook.consolidate import NOT_MET, OBJECTIVE_SHORT, TERRITORY, Bilan
from cia_workbook.convention.settings import Convention
from cia_workbook.fileio import write_atomic
from cia_workbook.render import attention as report_attention
from cia_workbook.render import demand as report_demand
from cia_workbook.render import frformat
from cia_workbook.render.bilan_annexes import annexes
from cia_workbook.render.bilan_common import (
    ACTIONS_TITLE,
    OBJECTIVE_NUMBERS,
    SHORTS,
    BilanDoc,
    objective_title,
)
from cia_workbook.render.bilan_dashboard import dashboard
from cia_workbook.render.bilan_followup import actions, quality, rehousing, trend
from cia_workbook.render.bilan_objectives import dalo, framework, objective_section, reservataires, zooms
from cia_workbook.render.charts import ChartCache, Spec
from cia_workbook.render.commentary import CommentParagraph, Section
from cia_workbook.render.docxutil import chart_value
from cia_workbook.render.typography import count, fr, join
from cia_workbook.render.word import DIFFUSIONS, Word, build, rate_bars, template_fields


def write_bilan_docx(
    convention: Convention,
    bilan: Bilan,
    path: Path,
    diffusion: str = "restreinte",
    commentary: Mapping[str, list[CommentParagraph]] | None = None,
    template: Path | None = None,
    charts: ChartCache | None = None,
) -> Path:
    """Write the Word bilan of `bilan.year` for one audience ("restreinte" | "publique").

    `commentary`: the officer's text per section (`commentary.read_commentary`); `template`:
    the EPCI's Word template, the packaged one by default; `charts`: the charts drawn before.
    """
    if diffusion not in DIFFUSIONS:
        raise ValueError(f"Diffusion inconnue : {diffusion!r} (restreinte ou publique).")
    w = Word(diffusion, convention.campaign.secrecy_threshold)
    d = BilanDoc(w, convention, bilan, commentary)
    b = bilan
    fields = template_fields(
        w, b.epci, b.year, f"Bilan {b.year} de la convention intercommunale d'attribution",
        b.convention_title, f"{b.epci} – bilan {b.year} de la CIA",
    )  # fmt: skip
    doc = build(w, template, fields, chart_specs(d), charts, lambda: body(d))
    return write_atomic(Path(path), lambda tmp: doc.save(str(tmp)))


def body(d: BilanDoc) -> None:
    dashboard(d)
    framework(d)
    for code in OBJECTIVE_SHORT:
        objective_section(d, code)
    dalo(d)
    report_attention.attention_section(d)
    reservataires(d)
    zooms(d)
    rehousing(d)
    actions(d)
    report_attention.mix_section(d)
    report_demand.demand_section(d)
    trend(d)
    quality(d)
    annexes(d)


def chart_specs(d: BilanDoc) -> dict[str, Any]:
    """Every chart of the bilan, known before the layout so that drawing starts at once."""
    specs = {}
    for table in d.b.tables:
        if not table.chart:
            continue
        rate_key, target_key = table.chart
        # Published rates and masked ones (which say « secret statistique »); a row without
        # universe has no bar (the table says « sans objet »).
        rows = [
            r
            for r in d.table_data(table.key).rows
            if chart_value(r.get(rate_key)) is not None or isinstance(r.get(rate_key), str)
        ]
        labels = [fr(str(r[table.columns[0].key])) for r in rows]
        specs[table.key] = rate_bars(fr(table.chart_title or table.title), labels, rows, rate_key, target_key)
    trend_rows = d.table_data("evolution").rows
    series, targets = {}, {}
    for code, short in SHORTS.items():
        label = f"Objectif {OBJECTIVE_NUMBERS[code]}"
        series[label] = [chart_value(r[f"{short}_taux"]) for r in trend_rows]
        targets[label] = [chart_value(r[f"{short}_cible"]) for r in trend_rows]
    years = [t.year for t in d.b.trend]
    specs["evolution"] = Spec(
        "trend_lines", ("Taux du territoire par année et cibles (pointillés)", years, series, targets)
    )
    return specs


def commentary_sections(convention: Convention, bilan: Bilan) -> list[Section]:
    """The sections of the bilan that take the officer's commentary, with their key figures."""
    b = bilan
    out = [Section("synthese", "Lecture d'ensemble", tuple(territory_lines(b)))]
    for code in OBJECTIVE_SHORT:
        rate = b.objectives[code][TERRITORY]
        scopes = {s: r for s, r in b.objectives[code].items() if s != TERRITORY}
        missed = [b.partner_names.get(s, s) for s, r in scopes.items() if r.status == NOT_MET]
        prompts = [
            f"Repères : territoire {frformat.percent(rate.value)} pour une cible de {frformat.target(rate.target)} "
            f"({rate.numerator} sur {rate.denominator})."
        ]
        if missed:
            prompts.append(f"Objectif non atteint : {join(missed)}.")
        prompts.append("Expliquez l'écart à la cible, ce qui l'explique et ce que les partenaires prévoient.")
        out.append(Section(f"objectif_{code}", objective_title(b, code), tuple(prompts)))
    out.append(
        Section("dalo", "Ménages reconnus DALO", ("Part des ménages DALO relogés hors QPV, tendance.",))
    )
    out.append(
        Section(
            "reservataires",
            "Contribution des réservataires",
            ("Contribution de chaque contingent, écarts de déclaration.",),
        )
    )
    for zoom in convention.zooms:
        out.append(
            Section(
                f"zoom:{zoom.name}",
                f"Zoom : {zoom.name}",
                ("Attributions, refus, points de blocage du secteur.",),
            )
        )
    if b.rehousing is not None:
        t = b.rehousing.total
        out.append(
            Section(
                "relogement",
                "Relogements NPNRU",
                (
                    f"Repères : {count(t.rehoused_in_year, 'ménage relogé', 'ménages relogés')} définitivement en "
                    f"{b.year}, {t.rehoused} depuis {b.rehousing.first_year} sur {t.planned} ; "
                    f"{count(t.blocked, 'dossier bloqué')}.",
                ),
            )
        )
    if any(a.indicators for a in convention.actions):
        names = join([a.name for a in convention.actions if a.indicators])
        out.append(
            Section(
                "actions", ACTIONS_TITLE, (f"{names} : ce qui a été fait, ce que montrent les indicateurs.",)
            )
        )
    out += report_attention.commentary_sections(b)
    demand = report_demand.commentary_section(b)
    if demand is not None:
        out.append(demand)
    out.append(Section("evolution", f"Évolution depuis {convention.info.first_year}", ()))
    out.append(
        Section(
            "qualite", "Qualité des données et retours", ("Retours manquants, exclus, quartiles inconnus.",)
        )
    )
    return out


def territory_lines(b: Bilan) -> list[str]:
    lines = []
    for code in OBJECTIVE_SHORT:
        rate = b.objectives[code][TERRITORY]
        lines.append(
            f"Objectif {OBJECTIVE_NUMBERS[code]} : {frformat.percent(rate.value)} sur le territoire pour une cible "
            f"de {frformat.target(rate.target)}, objectif {rate.status}."
        )
    return lines
