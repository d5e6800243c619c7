"""Rendering stage, issue 17 items 1 and 4: the bilan's sections on the attention groups and on
Action 5's own figures (refusal motives, reception points, social mix in QPV over the years).

Called by `render.bilan` with the bilan being written (`d` below, a `bilan_common.BilanDoc`), whose
layout `d.w` sets the tables, headings and paragraphs; the figures are the consolidation's tables
(`consolidate.attention`, `consolidate.reception`), masked in the public bilan like the others.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cia_workbook.consolidate.tables import IndicatorTable
from cia_workbook.render.commentary import Section
from cia_workbook.render.typography import count, join, lower_first

ATTENTION_TITLE = "Publics appelant une attention particulière"
MIX_TITLE = "Refus, accueil des demandeurs et mixité sociale en QPV"
MIX_TABLES = (
    "refus_motifs",
    "lieux_accueil",
    "lieux_accueil_evolution",
    "mixite_age",
    "mixite_composition",
    "mixite_emploi",
)
GROUP_KEYS = ("sans_emploi", "familles_nombreuses", "handicap", "ages")


def _has(b: Any, key: str) -> bool:
    return any(t.key == key for t in b.tables)


def commentary_sections(b: Any) -> list[Section]:
    out = []
    if _has(b, "attention_categories"):
        out.append(
            Section(
                "attention",
                ATTENTION_TITLE,
                ("Sans emploi, familles nombreuses, handicap, âge : ce que montrent les parts.",),
            )
        )
    if any(_has(b, k) for k in MIX_TABLES):
        out.append(
            Section(
                "mixite",
                MIX_TITLE,
                ("Motifs des refus, fréquentation des lieux d'accueil, évolution des profils.",),
            )
        )
    return out


def _compact(table: IndicatorTable) -> IndicatorTable:
    """The attention table as the bilan shows it: the parts and the rows not filled in, the counts
    of each group kept for masking only (they are in the workbook)."""
    return replace(
        table, columns=[replace(c, visible=False) if c.key in GROUP_KEYS else c for c in table.columns]
    )


def attention_section(d: Any) -> None:
    if not _has(d.b, "attention_categories"):
        return
    a = d.c.attention
    total = d.b.table("attention_categories").rows[-1]
    baux = total["baux"]
    tables = [_compact(d.table_data(k)) for k in ("attention_categories", "attention_contingents")]
    d.w.heading(ATTENTION_TITLE, landscape=True)  # ten columns: the categories' names need the width
    d.w.para(
        "La convention demande qu'une attention particulière soit accordée, parmi les publics prioritaires, aux "
        "personnes sans emploi, aux familles nombreuses et aux personnes en situation de handicap ou âgées."
    )
    if baux:
        parts = [
            f"{d.w.rate_text(total['sans_emploi'], baux)} ont pour titulaire un demandeur d'emploi",
            f"{d.w.rate_text(total['familles_nombreuses'], baux)} sont des familles nombreuses "
            f"({a.large_family_children} enfants ou plus)",
            f"{d.w.rate_text(total['handicap'], baux)} comptent une personne handicapée",
            f"{d.w.rate_text(total['ages'], baux)} ont un titulaire de {a.elderly_age} ans ou plus",
        ]
        unknown = [
            (total[f"{k}_nr"], what)
            for k, what in zip(
                GROUP_KEYS, ("l'emploi", "la composition", "le handicap", "l'âge"), strict=True
            )
            if total[f"{k}_nr"]
        ]
        text = f"Sur les {d.w.count(baux)} baux signés en {d.b.year}, {join(parts)}."
        if unknown:
            text += (
                " Non renseignés, comptés au dénominateur : "
                + join([f"{d.w.count(n)} pour {what}" for n, what in unknown])
                + "."
            )
        d.w.para(text)
    else:
        d.w.para(f"Aucun bail signé en {d.b.year} dans les retours utilisés.")
    for t in tables:
        d.w.table(t, chart=False)
    d.commentary("attention", ATTENTION_TITLE)
    d.w.orient(False)


def mix_section(d: Any) -> None:
    present = [k for k in MIX_TABLES if _has(d.b, k)]
    if not present:
        return
    d.w.heading(MIX_TITLE)
    if "refus_motifs" in present:
        t = d.table_data("refus_motifs")
        d.w.heading("Motifs des refus", 2)
        d.w.para(_refusal_sentence(d, d.b.table("refus_motifs")))
        d.w.table(t, chart=False)
    if "lieux_accueil" in present:
        d.w.heading("Lieux d'accueil des demandeurs", 2)
        d.w.para(_reception_sentence(d))
        d.w.table(d.table_data("lieux_accueil"), chart=False)
        if len(d.b.table("lieux_accueil_evolution").rows) > 1:
            d.w.table(d.table_data("lieux_accueil_evolution"), chart=False)
    mix = [k for k in ("mixite_age", "mixite_composition", "mixite_emploi") if k in present]
    if mix:
        first = d.b.table(mix[0]).rows[0]["annee"] if d.b.table(mix[0]).rows else str(d.b.year)
        d.w.heading(f"Mixité sociale en QPV depuis {first}", 2)
        d.w.para(_mix_sentence(d))
        for k in mix:
            d.w.table(d.table_data(k), chart=False)
    d.commentary("mixite", MIX_TITLE)


def _top_motive(rows: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    body = [r for r in rows[:-1] if r[key]]
    return max(body, key=lambda r: r[key]) if body else None


def _refusal_sentence(d: Any, t: IndicatorTable) -> str:
    total = t.rows[-1]
    inside = t.columns[2].label.removeprefix("Refus ")
    out = (
        f"En {d.b.year}, {d.w.rate_text(total['qpv'], total['qpv_dec'])} des attributions prononcées {inside} ont été "
        f"refusées par les ménages, {d.w.rate_text(total['hors'], total['hors_dec'])} hors QPV."
    )
    top_in, top_out = _top_motive(t.rows, "qpv"), _top_motive(t.rows, "hors")
    if top_in and top_out:
        out += (
            f" Premier motif {inside} : « {top_in['motif'].lower()} » ({d.w.rate_text(top_in['qpv'], total['qpv_dec'])} "
            f"des attributions) ; hors QPV : « {top_out['motif'].lower()} » "
            f"({d.w.rate_text(top_out['hors'], total['hors_dec'])})."
        )
    return out


def _reception_sentence(d: Any) -> str:
    total = d.b.table("lieux_accueil").rows[-1]
    points = len(d.c.reception_points)
    trend = d.b.table("lieux_accueil_evolution").rows
    out = (
        f"En {d.b.year}, {count(total['demandeurs'] or 0, 'demandeur reçu', 'demandeurs reçus', d.w.count(total['demandeurs'] or 0))} "
        f"dans {count(points, 'lieu d’accueil', 'lieux d’accueil')} de la convention, dont "
        f"{d.w.rate_text(total['informes'] or 0, total['demandeurs'] or 0)} informés sur le parc en QPV"
    )
    if len(trend) > 1 and trend[0]["demandeurs"]:
        first = trend[0]
        out += f" ({first['annee']} : {d.w.rate_text(first['informes'], first['demandeurs'])})"
    return out + "."


def _mix_sentence(d: Any) -> str:
    """The holders under 30 and in employment in QPV: this year and the first year."""
    ages, jobs = d.b.table("mixite_age").rows, d.b.table("mixite_emploi").rows
    if not ages:
        return "Aucune attribution prononcée dans les retours utilisés."
    where = lower_first(ages[-2]["secteur"])
    now_age, now_job = ages[-2], jobs[-2]
    first_age, first_job = ages[0], jobs[0]

    def pct(row: dict[str, Any], key: str) -> str:
        return d.w.rate_text(row[key], row["prononcees"])

    out = (
        f"Dans les attributions prononcées {where} en {d.b.year}, {pct(now_age, 'age_jeune')} des titulaires ont "
        f"moins de 30 ans et {pct(now_job, 'emploi')} sont en emploi"
    )
    if first_age["annee"] != now_age["annee"]:
        out += f" ({first_age['annee']} : {pct(first_age, 'age_jeune')} et {pct(first_job, 'emploi')})"
    outside = ages[-1]
    out += (
        f" ; hors QPV en {d.b.year} : {pct(outside, 'age_jeune')} et {pct(jobs[-1], 'emploi')}. Les trois tableaux "
        "suivants donnent l'âge, la composition des ménages et la situation d'emploi, année par année."
    )
    return out


def indicator_line(d: Any, key: str) -> str | None:
    """A line of the Actions section for the indicators of issue 17 (`None`: not computed)."""
    b = d.b
    if key == "publics_attention" and _has(b, "attention_categories"):
        total = b.table("attention_categories").rows[-1]
        return (
            f"Publics appelant une attention particulière, parmi les baux signés : "
            f"{d.w.rate_text(total['sans_emploi'], total['baux'])} de titulaires sans emploi, "
            f"{d.w.rate_text(total['familles_nombreuses'], total['baux'])} de familles nombreuses, "
            f"{d.w.rate_text(total['handicap'], total['baux'])} de ménages avec une personne handicapée, "
            f"{d.w.rate_text(total['ages'], total['baux'])} de titulaires âgés (section « {ATTENTION_TITLE} »)."
        )
    if key == "motifs_refus" and _has(b, "refus_motifs"):
        t = b.table("refus_motifs")
        top = _top_motive(t.rows, "qpv")
        inside = t.columns[2].label.removeprefix("Refus ")
        if top is None:
            return f"Motifs des refus : aucun refus {inside} en {b.year}."
        return (
            f"Motifs des refus : premier motif {inside}, « {top['motif'].lower()} » "
            f"({d.w.rate_text(top['qpv'], t.rows[-1]['qpv_dec'])} des attributions prononcées)."
        )
    if key == "lieux_accueil" and _has(b, "lieux_accueil"):
        return "Lieux d'accueil : " + _reception_sentence(d)[0].lower() + _reception_sentence(d)[1:]
    if key == "mixite_qpv" and _has(b, "mixite_age"):
        rows = b.table("mixite_age").rows
        if not rows:
            return None
        first, now = rows[0], rows[-2]
        return (
            f"Mixité sociale {lower_first(now['secteur'])} : {d.w.rate_text(now['age_jeune'], now['prononcees'])} de "
            f"titulaires de moins de 30 ans en {b.year}"
            + (
                f" ({first['annee']} : {d.w.rate_text(first['age_jeune'], first['prononcees'])})"
                if first is not now
                else ""
            )
            + f" (section « {MIX_TITLE} »)."
        )
    return None
