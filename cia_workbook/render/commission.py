"""Rendering stage of the coordination commission's work in the charter's annexes (annexe 2):
its indicators (cases examined, rehoused since, median delay) and, in the restricted version,
the history of its decisions case by case. Laid out by the annexes' `AnnexesDoc` (`doc` below).
"""

from __future__ import annotations

from typing import Any

from cia_workbook.consolidate.commission import decisions_table, figures_table
from cia_workbook.consolidate.tables import SECRET


def commission_section(doc: Any) -> None:
    """After the blocked cases of annexe 2 (`doc` is the annexes' document)."""
    r = doc.r
    work = r.commission
    doc.w.heading("Travail de la commission de coordination", 2, landscape=doc.w.want_landscape)
    if work is None or not work.decisions:
        text = (
            f"Aucune décision de la commission sur les dossiers bloqués n'a été reportée pour les séances tenues "
            f"jusqu'au 31 décembre {r.year}."
        )
        if not doc.w.public:  # the public version names no file
            text += (
                " Les décisions se saisissent dans le classeur de la commission (commission-<année>.xlsx, écrit avec "
                "ces annexes), déposé rempli dans le dossier « commission » du dossier de travail : la consolidation "
                "suivante les reprend ici."
            )
        doc.w.para(text)
        return
    figures = figures_table(work)
    if doc.w.public:
        figures = figures.masked(doc.w.threshold)
        figures.rows = [
            {**row, "delai": SECRET} if isinstance(row["reloges"], str) and row["delai"] != "–" else row
            for row in figures.rows
        ]
    t = work.total
    doc.w.para(
        f"Depuis ses premières séances, la commission a examiné {doc.counted(t.examined, 'dossier bloqué')} ; "
        f"{doc.counted(t.rehoused_after, 'ménage relogé', 'ménages relogés')} définitivement depuis leur examen "
        f"au 31 décembre {r.year}."
    )
    doc.w.table(figures, chart=False)
    if doc.w.public:
        return
    table = decisions_table(work, r.partner_names)
    doc.w.table(table, chart=False)
