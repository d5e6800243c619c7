"""The bilan's section on demand and tension (Action 4), laid out by the Word bilan's writer.

`demand_section(doc)` writes it into the bilan `doc` (a `bilan_common.BilanDoc`: its layout,
masking and commentary); the figures are `consolidate.demand.DemandBilan`'s. In the public bilan the
tables are masked like the others: a count under the secrecy threshold is « < 11 » and the
tension computed on it is hidden; the detail per commune stays in the consolidated workbook.
"""

from __future__ import annotations

from typing import Any

from cia_workbook.consolidate.demand import TERRITORY_ROW
from cia_workbook.render import frformat
from cia_workbook.render.commentary import Section
from cia_workbook.render.word import NOTE_STYLE

TITLE = "Demande et tension locative"


def _ratio(value: Any) -> str:
    if isinstance(value, str):
        return value  # masked in the public bilan
    return frformat.decimal(value, 1) if value is not None else "–"


def _count(doc: Any, value: Any) -> str:
    return value if isinstance(value, str) else doc.w.count(value)


def _share(value: Any) -> str:
    return value if isinstance(value, str) else frformat.percent(value)


def tension_sentence(doc: Any) -> str:
    """The territory's tension and its evolution, and each sector's, from the (masked) table."""
    d = doc.b.demand
    rows = doc.table_data("demande_secteurs").rows
    total = rows[-1]
    first = d.first.year if d.first is not None and d.first.year < d.year else None
    since = f" ({_ratio(total.get('tension_avant'))} en {first})" if first else ""
    text = (
        f"Au 31 décembre {d.year}, {_count(doc, total['demandes'])} demandes de logement social sont en attente pour "
        f"{_count(doc, total['attributions'])} attributions dans l'année : {_ratio(total['tension'])} demandes par "
        f"attribution sur le territoire{since}."
    )
    parts = []
    for row in rows[:-1]:
        was = f", contre {_ratio(row.get('tension_avant'))} en {first}" if first else ""
        parts.append(f"{row['secteur']} {_ratio(row['tension'])}{was}")
    if parts:
        text += " Par secteur : " + " ; ".join(parts) + "."
    return text


def typology_sentence(doc: Any) -> str:
    rows = doc.table_data("demande_typologies").rows
    known = [r for r in rows[:-1] if isinstance(r.get("ecart"), int | float)]
    if not rows[-1]["demandes"] or not known:
        return "Le classeur « Demande » ne donne pas la répartition par typologie : l'écart entre typologies demandées et attribuées n'est pas mesuré."
    low = min(known, key=lambda r: r["ecart"])
    high = max(known, key=lambda r: r["ecart"])
    text = (
        f"Les {low['typologie']} représentent {_share(low['part_demandes'])} des demandes mais "
        f"{_share(low['part_attributions'])} des attributions (écart de {frformat.points(low['ecart'])})"
    )
    if high["ecart"] > 0 and high is not low:
        text += (
            f" ; à l'inverse, les {high['typologie']} représentent {_share(high['part_demandes'])} des demandes et "
            f"{_share(high['part_attributions'])} des attributions"
        )
    return text + "."


def demand_section(doc: Any) -> None:
    d = doc.b.demand
    if d is None:
        return
    doc.w.heading(TITLE)
    if not d.received:
        if d.current.excluded:
            doc.w.para(
                f"Le classeur « Demande » reçu pour {d.year} ({d.current.file}) est écarté pour erreurs : voir "
                "« cia-workbook validate ». La demande et la tension locative ne sont pas présentées."
            )
        else:
            doc.w.para(
                f"Aucun classeur « Demande » n'a été reçu pour {d.year} : la demande et la tension locative ne sont "
                f"pas présentées. Le modèle ({d.file_name}) est écrit avec les autres par « cia-workbook templates » ; "
                "remplissez-le à partir de l'infocentre du SNE et déposez-le avec les retours de l'année."
            )
        doc.commentary("demande", TITLE)
        return
    doc.w.para(tension_sentence(doc))
    doc.w.table(doc.table_data("demande_secteurs"), chart=False)
    doc.w.para(typology_sentence(doc))
    doc.w.table(doc.table_data("demande_typologies"), chart=False)
    trend = doc.table_data("demande_evolution")
    if len(trend.columns) > 4:
        doc.w.table(trend, chart=False)
    doc.w.para("Le détail par commune figure dans le classeur de consolidation.", NOTE_STYLE)
    doc.commentary("demande", TITLE)


def indicator_line(doc: Any, key: str) -> str | None:
    """The action's line for the indicators « tension » and « typologies »."""
    d = doc.b.demand
    if d is None:
        return None
    if not d.received:
        return f"Tension locative et typologies : aucun classeur « Demande » utilisable pour {d.year}."
    if key == "tension":
        total = doc.table_data("demande_secteurs").rows[-1]
        return (
            f"Tension locative {d.year} : {_ratio(total['tension'])} demandes en attente par attribution sur le "
            f"territoire (détail par secteur dans la section « {TITLE} »)."
        )
    if key == "typologies":
        sentence = typology_sentence(doc)
        return f"Typologies demandées et attribuées : {sentence[0].lower()}{sentence[1:]}"
    return None


def commentary_section(bilan: Any) -> Section | None:
    d = bilan.demand
    if d is None:
        return None
    if not d.received:
        return Section("demande", TITLE, (f"Aucun classeur « Demande » utilisable pour {d.year}.",))
    t = d.territory
    return Section(
        "demande",
        TITLE,
        (
            f"Repères : {frformat.integer(t['demandes'])} demandes en attente, {frformat.integer(t['attributions'])} "
            f"attributions, tension {_ratio(t['tension'])} ({TERRITORY_ROW.lower()}).",
            "Évolution de la tension par secteur, typologies qui manquent ou sont en excès.",
        ),
    )
