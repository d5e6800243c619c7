"""Page 1 of the Word bilan: are the objectives met, per bailleur and per réservataire? One
sentence for the territory, the table of verdicts (symbol, rate, colour, universe) and its note.
"""

from __future__ import annotations

from typing import Any

from docx.shared import Emu, Pt

from cia_workbook.consolidate import (
    CLOSE,
    EXCLUDED,
    FAMILY_RESERVATAIRE,
    GROUP,
    MEMBERS,
    MET,
    MISSING,
    NO_TARGET,
    NO_UNIVERSE,
    NOT_MET,
    OBJECTIVE_SHORT,
    SECRET,
    SUBTOTAL,
    TERRITORY,
    IndicatorTable,
    verdicts,
)
from cia_workbook.render import frformat
from cia_workbook.render.bilan_common import OBJECTIVE_NUMBERS, SHORTS, UNITS, BilanDoc
from cia_workbook.render.docxutil import add_row, cell_text, keep_with_next, shade
from cia_workbook.render.typography import join, plural
from cia_workbook.render.word import (
    CAUTION_MARK,
    CELL_DETAIL_STYLE,
    CELL_HEADER_STYLE,
    CELL_STYLE,
    NOTE_STYLE,
    secret,
    verdict,
    verdict_legend,
)


def dashboard(d: BilanDoc) -> None:
    b = d.b
    d.w.heading(f"Les objectifs sont-ils atteints en {b.year} ?")
    d.w.para(answer(d))
    tables = [t.public(d.w.threshold) if d.w.public else t for t in b.dashboard]
    dashboard_table(d, tables)
    d.w.para(dashboard_note(d, tables), NOTE_STYLE)
    d.w.page_break()


def answer(d: BilanDoc) -> str:
    """One sentence: the territory's verdict on each objective, in the objectives' order."""
    words = {
        MET: "atteint",
        CLOSE: "proche de la cible",
        NOT_MET: "non atteint",
        NO_UNIVERSE: "sans objet",
    }
    parts = []
    for code in OBJECTIVE_SHORT:
        rate = d.b.objectives[code][TERRITORY]
        parts.append(
            f"objectif {OBJECTIVE_NUMBERS[code]} {words[rate.status]} "
            f"({d.w.rate_text(rate.numerator, rate.denominator)} pour une cible de {frformat.target(rate.target)})"
        )
    sentence = f"Sur le territoire : {join(parts)}."
    if d.b.test_year:
        sentence += f" {d.b.year} est une année test de la convention : les objectifs y sont évalués sans être opposables."
    if d.b.midterm_year == d.b.year:
        sentence += f" {d.b.year} est l'année de la réévaluation à mi-parcours des objectifs."
    return sentence


def dashboard_table(d: BilanDoc, tables: list[IndicatorTable]) -> None:
    codes = list(OBJECTIVE_SHORT)
    available = Emu(d.w.available_width(False)).pt
    first = 0.235 * available
    widths = [Pt(first)] + [Pt((available - first) / 3)] * 3
    grid = d.w.fixed_grid(widths)
    header = grid.rows[0]
    d.w.cell_para(header.cells[0], "Partenaire", CELL_HEADER_STYLE, first=True)
    for cell, code in zip(header.cells[1:], codes, strict=True):
        d.w.cell_para(
            cell, f"Objectif {OBJECTIVE_NUMBERS[code]} – cible {frformat.target(d.b.targets[code])}",
            CELL_HEADER_STYLE, first=True,
        )  # fmt: skip
        d.w.cell_para(cell, d.b.objective_names[code], CELL_DETAIL_STYLE)
    for cell, width in zip(header.cells, widths, strict=True):
        cell.width = width
    for t, table in enumerate(tables):
        if t:  # the réservataires, under a row of their own
            row = add_row(grid)
            merged = row.cells[0].merge(row.cells[3])
            d.w.cell_para(
                merged,
                "Réservataires – contribution, calculée sur les attributions des bailleurs sur leur contingent",
                CELL_HEADER_STYLE,
                first=True,
            )
            shade(merged, "EDF2F8")
            keep_with_next(merged)
        for data in table.rows:
            dashboard_row(d, grid, widths, data)


def dashboard_row(d: BilanDoc, grid, widths, data: dict[str, Any]) -> None:
    row = add_row(grid, widths)
    family, state = data.get("famille"), data.get("etat")
    label = row.cells[0]
    strong = family in (TERRITORY, GROUP) or bool(data.get(SUBTOTAL))
    d.w.cell_para(label, "", CELL_HEADER_STYLE if strong else CELL_STYLE, first=True).add_run(
        str(data["perimetre"])
    )
    if family != FAMILY_RESERVATAIRE and state in (EXCLUDED, MISSING):
        merged = row.cells[1].merge(row.cells[3])
        text = (
            "Retour exclu pour erreurs : ses attributions ne sont comptées dans aucun taux."
            if state == EXCLUDED
            else "Sans retour : ses attributions ne sont comptées dans aucun taux."
        )
        d.w.cell_para(merged, "", first=True).add_run(text).italic = True
        return
    if state in (EXCLUDED, MISSING):  # a réservataire: its rates come from the bailleurs
        d.w.cell_para(
            label, "retour exclu pour erreurs" if state == EXCLUDED else "sans retour", CELL_DETAIL_STYLE
        )
    for cell, code in zip(row.cells[1:], OBJECTIVE_SHORT, strict=True):
        verdict_cell(d, cell, code, data, family)


def verdict_cell(d: BilanDoc, cell, code: str, data: dict[str, Any], family: str | None) -> None:
    short = SHORTS[code]
    status, rate = data.get(f"{short}_statut"), data.get(f"{short}_taux")
    num, den = data.get(f"{short}_num"), data.get(f"{short}_den")
    one, many = UNITS[code]
    first = cell.paragraphs[0]
    d.w.set_style(first, CELL_STYLE)
    if status == SECRET:
        secret(d.w, cell, "compté dans la ligne « regroupés »")
        return
    if family == GROUP:
        names = data.get(MEMBERS, {}).get(f"{short}_den")
        if not names:
            first.add_run("–")
            return
        secret(d.w, cell, join(names), cell_text("rate", rate))
        return
    if status is None:
        first.add_run("–")
        return
    if status == NO_TARGET:
        detail = "contingent non tenu à l'objectif"
    elif status == NO_UNIVERSE:
        detail = f"aucun {one} dans l'univers"
    elif isinstance(num, int) and not d.w.public:
        detail = f"{frformat.integer(num)} sur {frformat.integer(den)} {plural(den, one, many)}"
    else:
        detail = f"sur {frformat.integer(den)} {plural(den, one, many)}" if isinstance(den, int) else ""
    if status not in (NO_TARGET, NO_UNIVERSE) and isinstance(den, int) and 0 < den < d.caution:
        detail += f" {CAUTION_MARK}"
    verdict(d.w, cell, status, cell_text("rate", rate), detail)


def dashboard_note(d: BilanDoc, tables: list[IndicatorTable]) -> str:
    b = d.b
    gap = frformat.points(d.c.campaign.close_gap_points)
    parts = [
        verdict_legend(gap, "aucune attribution dans l'univers")
        + f" {CAUTION_MARK} Moins de {d.caution} ménages dans l'univers : à interpréter avec prudence."
    ]
    for table, who in zip(tables, ("bailleurs", "réservataires"), strict=True):
        counts = verdicts(table)
        n = sum(counts.values())
        if not n:
            continue
        listed = [
            f"{counts[s]} {plural(counts[s], w, wp)}"
            for s, w, wp in (
                (MET, "atteinte", "atteintes"),
                (CLOSE, "proche", "proches"),
                (NOT_MET, "non atteinte", "non atteintes"),
                (NO_UNIVERSE, "sans objet", "sans objet"),
            )
            if counts[s]
        ]
        text = (
            f"Appréciations {'publiées' if d.w.public else ''} des {who} : {n}, dont {join(listed)}".replace(
                "  ", " "
            )
        )
        hidden = sum(
            1
            for r in (table.rows[:-1] if table.total_row else table.rows)
            for c in table.columns
            if c.kind == "status" and r.get(c.key) == SECRET
        )
        if hidden:
            text += f" ; {hidden} en secret statistique, comptées dans la ligne des partenaires regroupés"
        parts.append(text + ".")
    # Every partner owes a return (the rehousing operator too): used + excluded + missing.
    returns = f"Retours utilisés : {len(b.register)} sur {len(d.c.partners)} attendus"
    if b.excluded:
        returns += (
            f" ; {plural(len(b.excluded), 'exclu')} pour erreurs : {join([e.partner for e in b.excluded])}"
        )
    if b.missing:
        returns += f" ; sans retour : {join(b.missing)}"
    parts.append(returns + ".")
    return " ".join(parts)
