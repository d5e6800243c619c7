"""Validation stage of the coordination commission's work: a filled `commission-<année>.xlsx` in,
its decisions and the findings on its rows out (file, sheet, cell, in French).

The workbook is small and saved by the officer (Excel or LibreOffice): it is read as the partners'
returns are (`reader.read_workbook`: the same zip and extent safety, every cell as text), its
columns found by their headers. A row with an error is left out and named; the other rows
are kept, each decision standing on its own.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from functools import partial
from pathlib import Path

from xlsxwriter.utility import xl_col_to_name

from cia_workbook.consolidate.commission import DECISIONS, Decision
from cia_workbook.intake.reader import read_workbook
from cia_workbook.intake.rehousing_rules import household_key
from cia_workbook.partners.commission import CASES_SHEET, ID_KIND, ID_SHEET, columns
from cia_workbook.schema.codes import normalize
from cia_workbook.schema.findings import Finding, finding

NAME = re.compile(r"^commission-(\d{4})\.xlsx$", re.IGNORECASE)
_TEXT_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
# A date cell reads "2025-03-12 00:00:00" (its time, when one was typed, is dropped).
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")


def book_year(path: Path) -> int | None:
    """The year of a commission workbook from its name (commission-2024.xlsx → 2024)."""
    m = NAME.match(Path(path).name)
    return int(m.group(1)) if m else None


def commission_files(folder: Path, before: int) -> list[tuple[int, Path]]:
    """The commission's workbooks of the folder for years before `before`, oldest first (those of
    `before` and later hold sessions after the bilan's year)."""
    if not folder.is_dir():
        return []
    found = [(book_year(p), p) for p in folder.iterdir() if p.is_file() and not p.name.startswith("~$")]
    return sorted((y, p) for y, p in found if y is not None and y < before)


def read_commission(
    path: Path, year: int, known: Collection[str], last: int
) -> tuple[list[Decision], list[Finding]]:
    """The valid decisions of the commission's workbook of `year` and the findings on the others.

    `known`: household keys (`household_key`) of every case the rehousing returns mention up to
    `last`, the bilan's year."""
    path = Path(path)
    name = path.name
    result = read_workbook(path)
    if result.workbook is None:
        what = result.findings[0].type.title.lower() if result.findings else "format inconnu"
        return [], [finding("COMMISSION_MODELE", name, detail=f"fichier illisible : {what}", year=year)]
    sheets = {sheet.title: sheet for sheet in result.workbook.sheets}
    if CASES_SHEET not in sheets:
        return [], [finding("COMMISSION_MODELE", name, detail=f"pas de feuille « {CASES_SHEET} »", year=year)]
    if ID_SHEET in sheets:
        kind, book = sheets[ID_SHEET].cell("A1"), sheets[ID_SHEET].cell("B1")
        if kind != ID_KIND or book != str(year):
            return [], [
                finding(
                    "COMMISSION_MODELE",
                    name,
                    detail=f"son identification désigne « {kind} {book} »",
                    year=year,
                )
            ]
    ws = sheets[CASES_SHEET]
    headers = {normalize(c.header): c.key for c in columns(year)}
    header_row, where = None, {}
    for r in range(1, min(ws.height, 10) + 1):
        row = ws.row_values(r)
        keys = {headers.get(normalize(v)) for v in row if v}
        if {"id", "date_seance", "decision"} <= keys:
            header_row = r
            where = {headers[normalize(v)]: i for i, v in enumerate(row) if v and normalize(v) in headers}
            break
    if header_row is None:
        return [], [
            finding(
                "COMMISSION_MODELE",
                name,
                CASES_SHEET,
                detail="en-têtes « Identifiant du ménage », « Date de la séance » et « Décision » introuvables",
                year=year,
            )
        ]
    sessions = year + 1
    allowed = DECISIONS.lookup()
    decisions: list[Decision] = []
    findings: list[Finding] = []
    for r in range(header_row + 1, ws.height + 1):
        value = partial(_value, ws.row_values(r), where)
        cell = partial(_cell, where, r)
        ident, date, code, text = value("id"), value("date_seance"), value("decision"), value("precisions")
        if date is None and code is None and text is None:
            continue  # a case not examined, or a spare row
        if ident is None:
            findings.append(
                finding(
                    "COMMISSION_LIGNE_INCOMPLETE",
                    name,
                    CASES_SHEET,
                    cell("id"),
                    missing="l'identifiant du ménage",
                )
            )
            continue
        problems = []
        if date is None:
            problems.append(
                finding(
                    "COMMISSION_LIGNE_INCOMPLETE",
                    name,
                    CASES_SHEET,
                    cell("date_seance"),
                    missing="la date de la séance",
                )
            )
        else:
            session = _date(date)
            if session is None:
                problems.append(
                    finding(
                        "COMMISSION_DATE_INVALIDE",
                        name,
                        CASES_SHEET,
                        cell("date_seance"),
                        value=str(date),
                        sessions=sessions,
                    )
                )
            elif session.year != sessions:
                problems.append(
                    finding(
                        "COMMISSION_DATE_HORS_ANNEE",
                        name,
                        CASES_SHEET,
                        cell("date_seance"),
                        value=f"{session:%d/%m/%Y}",
                        sessions=sessions,
                        year=year,
                    )
                )
        if code is None:
            problems.append(
                finding(
                    "COMMISSION_LIGNE_INCOMPLETE", name, CASES_SHEET, cell("decision"), missing="la décision"
                )
            )
        elif normalize(str(code)) not in allowed:
            problems.append(
                finding(
                    "COMMISSION_DECISION_INCONNUE",
                    name,
                    CASES_SHEET,
                    cell("decision"),
                    value=str(code),
                    allowed=" ; ".join(DECISIONS.displays),
                )
            )
        if household_key(ident) not in known:
            problems.append(
                finding(
                    "COMMISSION_DOSSIER_INCONNU", name, CASES_SHEET, cell("id"), value=str(ident), last=last
                )
            )
        if problems:
            findings += problems
            continue
        decisions.append(
            Decision(str(ident), session, allowed[normalize(str(code))], str(text or ""), year, name, r)  # type: ignore[arg-type]
        )
    return decisions, sorted(findings, key=Finding.sort_key)


def _value(row: list[str], where: dict[str, int], key: str) -> str | None:
    i = where.get(key)
    return (row[i].strip() or None) if i is not None and i < len(row) else None


def _cell(where: dict[str, int], r: int, key: str) -> str:
    return f"{xl_col_to_name(where[key])}{r}"


def _date(text: str) -> dt.date | None:
    """A date cell ("2025-03-12 00:00:00") or a date typed as text (12/03/2025)."""
    try:
        if m := _TEXT_DATE.match(text):
            return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        if m := _ISO_DATE.match(text):
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    return None
