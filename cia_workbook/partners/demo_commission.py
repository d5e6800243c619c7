"""Synthetic decisions of the coordination commission for the demo: the commission's workbooks
of the two years before the demo's last, filled as an officer fills them after the sessions
(deterministic: each case's decision follows from its identifier)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from pathlib import Path

import openpyxl

from cia_workbook.consolidate.commission import DECISIONS, case_states
from cia_workbook.consolidate.rehousing import rehousing_bilan
from cia_workbook.convention.settings import Convention
from cia_workbook.intake.model import Campaign
from cia_workbook.partners.commission import (
    CASES_SHEET,
    FIRST_ROW,
    columns,
    commission_xlsx_name,
    write_commission_xlsx,
)

# Two sessions a year, as the convention asks at least.
SESSIONS = ((3, 12), (10, 8))
TEXTS = {
    "PROPOSITION_INTER_BAILLEURS": "Proposition d'un logement d'un autre bailleur de la commission",
    "ACCOMPAGNEMENT_SOCIAL": "Mesure d'accompagnement social lié au logement",
    "HABITAT_SPECIFIQUE": "Orientation vers une pension de famille",
    "AUTRE": "Nouvel examen à la prochaine séance",
}


def write_demo_commission(
    convention: Convention, campaigns: Mapping[int, Campaign], year: int, folder: Path
) -> Path | None:
    """The commission's workbook of `year`, filled for the sessions of `year + 1`, in `folder`."""
    if convention.rehousing is None or year not in campaigns:
        return None
    r = rehousing_bilan(convention, campaigns, year)
    if not r.blocked:
        return None
    path = Path(folder) / commission_xlsx_name(year)
    write_commission_xlsx(r, case_states(campaigns, year), None, path, convention.info.id)
    wb = openpyxl.load_workbook(path)
    ws = wb[CASES_SHEET]
    index = {c.key: i + 1 for i, c in enumerate(columns(year))}
    codes = [c for c in DECISIONS.codes]
    for row in range(FIRST_ROW, FIRST_ROW + len(r.blocked)):
        ident = str(ws.cell(row, index["id"]).value)
        digest = hashlib.sha256(ident.encode()).digest()
        code = codes[digest[0] % len(codes)]
        month, day = SESSIONS[digest[1] % len(SESSIONS)]
        ws.cell(row, index["date_seance"], dt.date(year + 1, month, day))
        ws.cell(row, index["decision"], code.label)
        ws.cell(row, index["precisions"], TEXTS[code.code])
    wb.save(path)
    return path
