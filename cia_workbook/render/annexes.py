"""Rendering stage of the NPNRU rehousing: the annexes of the charte de relogement as a Word file.

Input is a `relogement.RehousingBilan`; output `annexes-charte-relogement-<year>.docx`, on the
bilan's template and typography (the layout of `word`). The order is the commission's: page 1
says what it is asked to validate (the key figures, the charter's criteria with their verdicts,
the returns they rest on) and holds the validation block (annexes_summary.py); annexe 1 is the
annual rehousing bilan in detail (progress, criteria for the year and since the start, with
charts, reste à charge, sources); annexe 2 the blocked cases it examines, with room for its
decisions; annexe 3 the follow-up of every household (pseudonymous, landscape, by operation).
The public version shows counts only, masked as the bilan masks them (annexes_tables.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

from docx.shared import Cm, Emu, Pt

from cia_workbook.consolidate import SECRET, Col, IndicatorTable
from cia_workbook.consolidate.rehousing import Household, RehousingBilan, RestToPay, rule_text
from cia_workbook.convention.settings import Convention
from cia_workbook.fileio import write_atomic
from cia_workbook.render import frformat
from cia_workbook.render.annexes_common import AnnexesDoc
from cia_workbook.render.annexes_summary import first_page
from cia_workbook.render.annexes_tables import (
    blocked_table,
    euros,
    ongoing_table,
    public_statuses,
    rehoused_table,
    short_date,
    signed_euros,
    stale_table,
)
from cia_workbook.render.charts import ChartCache
from cia_workbook.render.commission import commission_section
from cia_workbook.render.docxutil import TABLE_FONT_PT, column_needs, fit_columns, min_height
from cia_workbook.render.typography import join
from cia_workbook.render.word import DIFFUSIONS, NOTE_STYLE, Word, build, rate_bars, template_fields

# The commission writes its decision on each blocked case in the session: its column gets this
# width and each row this height at least.
DECISION_WIDTH_CM = 6.5
DECISION_ROW_CM = 2.2


def write_annexes_docx(
    convention: Convention,
    rbilan: RehousingBilan,
    path: Path,
    diffusion: str = "restreinte",
    template: Path | None = None,
    charts: ChartCache | None = None,
) -> Path:
    """Write the charter's annexes of `rbilan.year` for one audience ("restreinte" | "publique"),
    on the EPCI's Word template when given (the bilan's), else the packaged one; `charts`: the
    charts drawn before."""
    if diffusion not in DIFFUSIONS:
        raise ValueError(f"Diffusion inconnue : {diffusion!r} (restreinte ou publique).")
    w = Word(diffusion, convention.campaign.secrecy_threshold, unbreakable=frozenset({"id"}))
    a = AnnexesDoc(w, convention, rbilan)
    r = rbilan
    fields = template_fields(
        w, r.epci, r.year, f"Bilan {r.year} des relogements du NPNRU",
        f"Annexes de la charte de relogement · {r.convention_title}",
        f"{r.epci} – annexes de la charte de relogement, bilan {r.year}",
    )  # fmt: skip
    specs = {}
    for key, table in a.tables.items():
        rows = a.shown(table).rows
        labels = [str(row[table.columns[0].key]) for row in rows]
        specs[key] = rate_bars(table.chart_title, labels, rows, *table.chart)
    doc = build(w, template, fields, specs, charts, lambda: body(a))
    return write_atomic(Path(path), lambda tmp: doc.save(str(tmp)))


def body(a: AnnexesDoc) -> None:
    first_page(a)
    annex_1(a)
    annex_2(a)
    annex_3(a)
    a.w.orient(False)


def annex_1(a: AnnexesDoc) -> None:
    a.annex_heading(1)
    a.w.heading("Avancement du programme", 2)
    a.w.table(a.shown(a.tables["avancement"]), chart=False)
    a.w.picture("avancement")
    a.w.heading("Critères de qualité de la charte", 2)
    a.w.para(
        f"Critères locaux de qualité des relogements fixés par la charte{a.action_of('criteres_relogement')} : "
        "relogement hors QPV, hors du "
        "quartier d'origine, dans un logement social neuf ou conventionné depuis moins de 5 ans, et maîtrise du reste "
        f"à charge. Règle du reste à charge retenue : {rule_text(a.c)}."
    )
    for key in ("annee", "cumul"):
        a.w.table(a.shown(a.tables[key]), chart=False)
        a.w.picture(key)
    a.w.heading("Reste à charge", 2)
    rest_to_pay_table(a)
    a.w.heading("Sources et méthode", 2)
    sources(a)


def rest_to_pay_table(a: AnnexesDoc) -> None:
    r = a.r
    cols = [
        Col("periode", "Relogements", "text"),
        Col("menages", "Ménages (montants connus)"),
        Col("avant", "Reste à charge moyen avant", "number"),
        Col("apres", "Reste à charge moyen après", "number"),
        Col("ecart", "Écart moyen", "number"),
    ]
    rows = []
    for label, value in (
        (f"En {r.year}", r.year_rest_to_pay),
        (f"Depuis {r.first_year}", r.cumulative_rest_to_pay),
    ):
        rows.append({"periode": label, "menages": value.households, **_rest_to_pay_cells(a, value)})
    table = IndicatorTable(
        "relogement_reste_a_charge",
        "relogement",
        "Reste à charge mensuel moyen avant et après relogement",
        cols,
        rows,
        note="Loyer + charges − aide au logement, en euros par mois, sur les ménages relogés définitivement dont les "
        "montants avant et après sont connus.",
    )
    a.w.table(a.shown(table), chart=False)


def _rest_to_pay_cells(a: AnnexesDoc, value: RestToPay) -> dict[str, Any]:
    if a.w.public and 1 <= value.households < a.w.threshold:
        return {"avant": SECRET, "apres": SECRET, "ecart": SECRET}
    gap = None if value.before is None or value.after is None else value.after - value.before
    return {
        "avant": euros(value.before),
        "apres": euros(value.after),
        "ecart": "–" if gap is None else signed_euros(gap),
    }


def sources(a: AnnexesDoc) -> None:
    r = a.r
    used = join([r.partner_names[p] for p in r.returns_used]) or "aucun"
    missing = [r.partner_names[p] for p in r.returns_expected if p not in r.returns_used]
    a.w.para(
        f"Retours {r.year} utilisés (feuille « Relogements NPNRU ») : {used}."
        + (f" Sans retour utilisable : {join(missing)}." if missing else "")
    )
    a.w.para(
        f"Chaque ménage garde son identifiant d'une année à l'autre : tous les retours de {r.first_year} à {r.year} "
        "sont lus, et la situation d'un ménage est celle du dernier retour où il figure. Un relogement compte dans "
        "l'année de sa date de relogement."
    )
    if r.stale:
        many = a.many(len(r.stale))
        a.w.para(
            f"{a.households(len(r.stale))} en cours à leur dernier retour "
            f"{'n’apparaissent' if many else 'n’apparaît'} dans aucun retour {r.year} utilisé : "
            f"{'ils forment' if many else 'il forme'} un groupe à part (situation non actualisée), compté ni en "
            "cours ni bloqué" + ("." if a.w.public else " ; leur liste est à la fin de l'annexe 3."),
            NOTE_STYLE,
        )
    if r.earlier_gaps:
        a.w.para(
            f"Retours des années précédentes écartés ou manquants (les cumuls depuis {r.first_year} ne comptent que "
            "les retours utilisés) : "
            + join(
                [
                    f"{rs.year} : {r.partner_names.get(rs.partner, rs.partner)} "
                    + ("(écarté)" if rs.state == "ecarte" else "(manquant)")
                    for rs in r.earlier_gaps
                ]
            )
            + ".",
            NOTE_STYLE,
        )
    if r.duplicates and not a.w.public:
        a.w.para(
            "Ménages déclarés par deux partenaires la même année (la ligne du premier est retenue) : "
            + join([f"{d.id} ({d.year})" for d in r.duplicates])
            + ".",
            NOTE_STYLE,
        )
    if r.unknown_operation:
        n = len(r.unknown_operation)
        many = a.many(n)
        a.w.para(
            f"{a.households(n)} {'rattachés' if many else 'rattaché'} à une opération absente de la charte "
            f"{'ne sont comptés' if many else 'n’est compté'} dans aucun indicateur.",
            NOTE_STYLE,
        )
    a.w.para(
        "Relogements et objectifs de la convention : un ménage relogé dans le parc social avec un bail signé dans "
        "l'année figure aussi dans la feuille « Attributions » du bailleur (colonne « Relogé NPNRU » à « Oui », "
        "quelle que soit sa catégorie prioritaire) ; relogé hors QPV, il compte au numérateur de l'objectif hors "
        "QPV du bilan annuel de la convention.",
        NOTE_STYLE,
    )


def annex_2(a: AnnexesDoc) -> None:
    r = a.r
    if a.w.public:
        a.annex_heading(2)
        a.w.para(
            f"Dossiers bloqués au 31 décembre {r.year} : {a.w.count(len(r.blocked))}. La commission de "
            "coordination examine chaque dossier sur la version de travail de ces annexes (diffusion restreinte) ; "
            "aucun ménage n'est décrit ici."
        )
        commission_section(a)
        return
    table = blocked_table(r)
    # Landscape when there are cases: the commission's column needs room to write in.
    a.annex_heading(2, landscape=bool(table.rows))
    a.w.para(
        f"Cas que la commission de coordination examine{a.action_of('dossiers_bloques')} : le partenaire qui "
        "suit le ménage n'a pas trouvé "
        "de solution satisfaisante. Pour chaque dossier : ce qui bloque, les propositions déjà faites et refusées. "
        "La dernière colonne reprend les décisions déjà prises et se complète en séance ; la décision est reportée "
        f"au relevé de décisions de la commission, le classeur commission-{r.year}.xlsx écrit à côté de ces "
        "annexes, et le partenaire en rend compte dans son retour suivant."
    )
    a.w.table(table, chart=False)
    if table.rows:
        decision_room(a, table)
    commission_section(a)
    earlier = [h for h in r.stale if h.get("bloque") == "OUI"]
    if earlier:
        names = r.partner_names
        a.w.para(
            f"Dossiers marqués bloqués dans un retour antérieur, sans situation {r.year} connue (ils ne sont pas "
            "comptés ci-dessus ; à vérifier auprès du partenaire) :"
        )
        for h in earlier:
            a.w.para(
                f"{h.id} (bloqué au {short_date(dt.date(h.year, 12, 31))}, retour {h.year} de "
                f"{names.get(h.partner, h.partner)} ; {h.stale.reason(names) if h.stale else ''}).",
                "List Bullet",
            )


def decision_room(a: AnnexesDoc, table: IndicatorTable) -> None:
    """The commission's column as wide as `DECISION_WIDTH_CM`, the others fitted to their
    content in the room left, and every case row tall enough to write in."""
    grid = a.w.doc.tables[-1]
    cols = [c for c in table.columns if c.visible]
    texts = a.w.texts(table, cols)
    available = Emu(a.w.available_width()).pt
    decision = Cm(DECISION_WIDTH_CM).pt
    need, _ = column_needs(cols, texts, TABLE_FONT_PT)
    decision = max(decision, need[-1])
    widths = fit_columns(cols[:-1], [row[:-1] for row in texts], available - decision, TABLE_FONT_PT)
    if widths is None:
        return  # no room: the table keeps the widths its content asked for
    widths.append(decision)
    for column, width in zip(grid.columns, widths, strict=True):
        column.width = Pt(width)
    for i, row in enumerate(grid.rows):
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = Pt(width)
        if i:
            min_height(row._tr, DECISION_ROW_CM)


def annex_3(a: AnnexesDoc) -> None:
    r = a.r
    if a.w.public:
        a.annex_heading(3, new_page=False)
        a.w.table(public_statuses(r, a.rows or r.operations, a.w.threshold), chart=False)
        return
    a.annex_heading(3, landscape=True)
    a.w.para(
        "Un ménage par ligne, sous son identifiant pseudonyme (jamais de nom ni d'adresse), dans l'état du dernier "
        f"retour utilisé où il figure (au plus tard {r.year}), au 31 décembre de l'année de ce retour (colonne "
        "« Suivi par »). Reste à charge : loyer + charges − aide au logement, par mois. Toutes les colonnes des "
        f"retours figurent dans le classeur de consolidation {r.year} (feuille « Données relogements »)."
        + (
            f" Les ménages en situation non actualisée en {r.year} sont présentés à part, à la fin de l'annexe."
            if r.stale
            else ""
        )
    )
    by_op: dict[str | None, list[Household]] = {}
    for h in r.households:
        if h.stale is not None:
            continue
        by_op.setdefault(h.operation if h.operation in r.operation_names else None, []).append(h)
    for code, name in r.operation_names.items():
        a.w.heading(f"{code} – {name}", 2, landscape=True)
        found = by_op.get(code, [])
        if not found:
            a.w.para("Aucun ménage déclaré pour cette opération.", NOTE_STYLE)
            continue
        households_of(a, code, found)
    if by_op.get(None):
        a.w.heading("Opération non reconnue", 2, landscape=True)
        households_of(a, "hors charte", by_op[None])
    if r.stale:
        a.w.heading(f"Situation non actualisée en {r.year}", 2, landscape=True)
        a.w.para(
            f"Ménages en cours à leur dernier retour utilisé, qu'aucun retour {r.year} utilisé ne mentionne : leur "
            f"situation {r.year} n'est pas connue. Ils sont montrés dans leur dernier état, à sa date et avec le "
            f"retour dont il vient ; ils ne sont comptés ni en cours ni bloqués en {r.year}."
        )
        a.w.table(stale_table(r), chart=False)


def households_of(a: AnnexesDoc, operation: str, found: list[Household]) -> None:
    """One operation's households in two tables, the rehoused and the others; an origin
    shared by every household of a table is said once, under it."""
    r = a.r
    rehoused = [h for h in found if h.rehoused]
    others = [h for h in found if not h.rehoused]
    for table, group, title in (
        (rehoused_table(r, rehoused), rehoused, "ménages relogés définitivement"),
        (ongoing_table(r, others), others, "ménages en cours, partis ou autre"),
    ):
        if not group:
            continue
        table.title = f"{operation} : {title} ({frformat.integer(len(group))})"
        origins = {row["origine"] for row in table.rows}
        if len(origins) == 1:
            table.columns = [
                dataclasses.replace(c, visible=False) if c.key == "origine" else c for c in table.columns
            ]
            table.note = f"Logement d'origine de chacun de ces ménages : {origins.pop()}."
        a.w.table(table, chart=False)
