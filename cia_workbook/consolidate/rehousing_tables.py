"""The rehousing figures as indicator tables, laid out by the Word annexes and the consolidated
workbook: progress per operation and for the programme, the charter's criteria in the year and
cumulated (`rehousing.RehousingBilan` holds the figures)."""

from __future__ import annotations

from typing import Any

from cia_workbook.consolidate.rehousing import CRITERIA, Progress, RehousingBilan
from cia_workbook.consolidate.tables import Col, IndicatorTable
from cia_workbook.convention.charter import CRITERION_CODES


def progress_table(r: RehousingBilan, rows: list[Progress] | None = None) -> IndicatorTable:
    """Per operation (or the `rows` given: operations grouped by sector for publication) and for
    the programme: households to rehouse, followed, rehoused, in progress."""
    cols = [
        Col("operation", "Opération", "text"),
        Col("a_reloger", "Ménages à reloger (programme)", "number"),
        Col("suivis", "Ménages suivis"),
        # The households followed, in four parts: masking one part masks another.
        Col("reloges", f"Relogés définitivement depuis {r.first_year}", part_of="suivis"),
        Col("reloges_annee", f"Dont en {r.year}"),
        Col("en_cours", "En cours", part_of="suivis"),
        Col("bloques", "Dossiers bloqués"),
        Col("non_actualises", "Situation non actualisée", part_of="suivis"),
        Col("sortis", "Partis hors partenariat ou autre", part_of="suivis"),
        Col("taux", "Avancement", "rate", of=("reloges",)),
    ]

    def row(p: Progress) -> dict[str, Any]:
        return {
            "operation": p.label,
            "a_reloger": p.planned,
            "suivis": p.followed,
            "reloges": p.rehoused,
            "reloges_annee": p.rehoused_in_year,
            "en_cours": p.in_progress,
            "bloques": p.blocked,
            "non_actualises": p.stale,
            "sortis": p.by_status.get("PARTI", 0) + p.by_status.get("AUTRE", 0),
            "taux": p.rate,
        }

    return IndicatorTable(
        "relogement_avancement",
        "relogement",
        f"Avancement des relogements au 31 décembre {r.year}",
        cols,
        [row(p) for p in (r.operations if rows is None else rows)] + [row(r.total)],
        note="Avancement : ménages relogés définitivement rapportés aux ménages à reloger sur la durée du programme "
        "(fichier de convention). En cours : à reloger, proposition faite ou relogé temporairement. Situation non "
        f"actualisée : ménages en cours à leur dernier retour, qu'aucun retour {r.year} utilisé ne mentionne (retour "
        "écarté ou manquant) ; ils ne sont comptés ni en cours ni bloqués.",
        total_row=True,
        chart=("taux", None),
        chart_title="Part des ménages à reloger déjà relogés définitivement",
    )


def criteria_table(r: RehousingBilan, cumulative: bool) -> IndicatorTable:
    rates = r.cumulative_criteria if cumulative else r.year_criteria
    when = f"depuis {r.first_year} (cumul)" if cumulative else f"en {r.year}"
    cols = [
        Col("critere", "Critère de la charte", "text"),
        Col("num", "Ménages conformes"),
        Col("den", "Ménages relogés"),
        Col("nc", "Dont non renseignés"),
        Col("taux", "Taux", "rate", of=("num", "den")),
        Col("cible", "Cible", "target"),
        Col("statut", "Appréciation", "status", of=("num", "den")),
    ]
    rows = [
        {
            "critere": CRITERIA[code],
            "num": rates[code].numerator,
            "den": rates[code].denominator,
            "nc": rates[code].unknown,
            "taux": rates[code].value,
            "cible": None if rates[code].target is None else rates[code].target / 100,
            "statut": rates[code].status,
        }
        for code in CRITERION_CODES
    ]
    return IndicatorTable(
        "relogement_criteres_cumul" if cumulative else "relogement_criteres_annee",
        "relogement",
        f"Critères de qualité des relogements définitifs {when}",
        cols,
        rows,
        note="Univers : ménages relogés définitivement "
        + (f"entre {r.first_year} et {r.year}" if cumulative else f"en {r.year} (date du relogement)")
        + ". Un critère non renseigné reste dans l'univers et ne compte jamais comme conforme.",
        chart=("taux", "cible"),
        chart_title=f"Critères de la charte, relogements {when}",
    )
