"""Rendering stage of the coordination commission's work: `commission-<année>.xlsx`, written with
the charter's annexes of a year, one row per case blocked at 31 December with its history, and
the columns the commission fills in its sessions of the next year (session date, decision from a
list, free text). `commission_read` reads the filled copy back.

Laid out as the partners' templates are (xlsxwriter, a Lisez-moi sheet, dropdowns from a hidden
list sheet, rows sized from their text, landscape print one page wide); the case columns are
locked, the commission's are not, and empty rows below take a second examination or a case
the list does not hold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cia_workbook.consolidate.commission import (
    DECISIONS,
    CommissionWork,
    YearState,
    months_between,
    states_text,
)
from cia_workbook.consolidate.rehousing import STATUS_LABELS, RehousingBilan
from cia_workbook.fileio import atomic_path
from cia_workbook.intake.rehousing_rules import household_key
from cia_workbook.partners import sheet_layout as layout
from cia_workbook.partners.workbook_formats import (
    BASE,
    DATE_FORMAT,
    PREFILLED_FILL,
    PROTECTION,
    Formats,
    TextRows,
    new_workbook,
    print_page,
)
from cia_workbook.render.typography import fr
from cia_workbook.schema.sheets import BLOCKING_REASONS

CASES_SHEET = "Dossiers"
README_SHEET = "Lisez-moi"
LISTS_SHEET = "Listes"
ID_SHEET = "_cia"
ID_KIND = "commission"
HEADER_ROW = 4  # 1-based, as the officer sees it
FIRST_ROW = 5
# Empty rows left under the cases: a case examined twice, or one the list does not hold.
SPARE_ROWS = 30
README_WIDTHS = (28, 100)


@dataclass(frozen=True)
class CaseColumn:
    key: str
    header: str
    width: float
    filled_by_commission: bool = False


def columns(year: int) -> list[CaseColumn]:
    """The columns of the Dossiers sheet; the reader finds them by their header."""
    return [
        CaseColumn("id", "Identifiant du ménage", 15),
        CaseColumn("operation", "Opération", 11),
        CaseColumn("suivi", "Suivi par", 14),
        CaseColumn("statut", f"Statut au 31/12/{year}", 13),
        CaseColumn("entree", "Entrée dans le dispositif", 11),
        CaseColumn("mois", f"Mois dans le dispositif au 31/12/{year}", 11),
        CaseColumn("historique", "Situation chaque année", 26),
        CaseColumn("motif", "Ce qui bloque", 16),
        CaseColumn("propositions", "Propositions / refus", 11),
        CaseColumn("commentaire", "Commentaire du partenaire", 24),
        CaseColumn("anterieures", "Décisions antérieures de la commission", 26),
        CaseColumn("date_seance", "Date de la séance", 12, True),
        CaseColumn("decision", "Décision", 22, True),
        CaseColumn("precisions", "Précisions sur la décision", 32, True),
    ]


def commission_xlsx_name(year: int) -> str:
    return f"commission-{year}.xlsx"


def write_commission_xlsx(
    rbilan: RehousingBilan,
    states: Mapping[str, list[YearState]],
    work: CommissionWork | None,
    path: Path,
    convention_id: str,
) -> Path:
    """Write the commission's workbook of `rbilan.year` (its sessions are those of the next year)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        _write(rbilan, states, work, tmp, convention_id)
    return path


class _Formats(Formats):
    """The commission workbook's formats: the case cells (grey, locked), the commission's (unlocked)."""

    def __init__(self, wb):
        super().__init__(wb)
        add = wb.add_format
        self.case = add({**BASE, "text_wrap": True, "border": 1, "bg_color": PREFILLED_FILL})
        unlocked = {**BASE, "locked": False, "border": 1}
        self.input = {
            "date_seance": add({**unlocked, "num_format": DATE_FORMAT, "align": "left"}),
            "decision": add({**unlocked, "text_wrap": True}),
            "precisions": add({**unlocked, "text_wrap": True, "num_format": "@"}),
            "id": add({**unlocked, "num_format": "@"}),
        }


def _write(r: RehousingBilan, states, work: CommissionWork | None, path: Path, convention_id: str) -> None:
    wb = new_workbook(
        path,
        title=f"Commission de coordination – dossiers bloqués au 31 décembre {r.year}",
        subject=r.convention_title,
        author=r.epci,
        comments="Classeur généré par cia-workbook : ne pas renommer les feuilles ni modifier les en-têtes.",
    )
    f = _Formats(wb)
    readme = wb.add_worksheet(README_SHEET)
    cases = wb.add_worksheet(CASES_SHEET)
    lists = wb.add_worksheet(LISTS_SHEET)
    ident = wb.add_worksheet(ID_SHEET)
    for row, display in enumerate(DECISIONS.displays):
        lists.write_string(row, 0, display)
    lists.hide()
    ident.write_row(0, 0, [ID_KIND, r.year, convention_id])
    ident.very_hidden()
    _readme(readme, f, r)
    _cases(cases, f, r, _case_rows(r, states, work))
    readme.activate()
    wb.close()


def _print(ws, r: RehousingBilan) -> None:
    print_page(
        ws,
        f"{r.epci} – commission de coordination, dossiers bloqués au 31/12/{r.year}",
        header="Document de travail – diffusion restreinte",
    )


def _readme(ws, f: _Formats, r: RehousingBilan) -> None:
    rows = TextRows(ws, README_WIDTHS, f)
    y, s = r.year, r.year + 1
    rows.para(
        f"Commission de coordination – dossiers bloqués au 31 décembre {y}", f.title, size=14, bold=True
    )
    rows.para(
        f"{r.epci} · {r.convention_title}. Document de travail, diffusion restreinte : les ménages "
        "sont désignés par leur identifiant pseudonyme, jamais par leur nom."
    )
    rows.row += 1
    rows.para(
        f"La feuille « {CASES_SHEET} » a une ligne par dossier bloqué au 31 décembre {y} (annexe 2 des annexes "
        f"de la charte de relogement {y}), avec son historique. Pour chaque dossier examiné en séance en {s}, "
        "remplissez les trois colonnes orange : la date de la séance, la décision (menu déroulant) et, si besoin, "
        "des précisions."
    )
    rows.pair(
        "Date de la séance", f"Au format JJ/MM/AAAA, en {s} (les séances qui examinent ces dossiers).", 1
    )
    rows.pair("Décision", "Une valeur du menu : " + " ; ".join(DECISIONS.displays) + ".", 1)
    rows.pair(
        "Précisions", "Texte libre : la proposition faite, le partenaire chargé du suivi, l'échéance…", 1
    )
    rows.pair(
        "Deux examens",
        "Un dossier examiné en deux séances : recopiez son identifiant sur une ligne vide sous la liste et "
        "remplissez-la pour la seconde séance. Un dossier bloqué absent de la liste : saisissez son identifiant "
        "tel que le partenaire l'écrit dans son retour.",
        1,
    )
    rows.pair(
        "Après la séance",
        f"Enregistrez le classeur au format .xlsx sous le nom {commission_xlsx_name(y)} dans le dossier "
        f"« commission » du dossier de travail (à côté de « forms ») : les décisions sont contrôlées et reprises "
        f"dans les annexes de la charte {s} (historique des décisions, suite décidée pour chaque dossier, dossiers "
        "examinés et relogés) à la consolidation suivante, ",
        1,
        command=f"cia-workbook consolidate --year {s}.",
    )
    rows.pair(
        "Ce qui est contrôlé",
        f"Une décision hors de la liste, une date qui n'est pas en {s}, un identifiant qu'aucun retour ne "
        "mentionne, une ligne commencée sans date ou sans décision : la ligne est signalée (feuille, cellule) et "
        "n'est pas reprise tant qu'elle n'est pas corrigée.",
        1,
    )
    _print(ws, r)


def _case_rows(r: RehousingBilan, states, work: CommissionWork | None) -> list[dict]:
    """Each blocked case as the cells of its row (the commission's columns empty)."""
    names = r.partner_names
    reasons = BLOCKING_REASONS.by_code
    end = dt.date(r.year, 12, 31)
    rows = []
    for h in r.blocked:
        rows.append(
            {
                "id": h.id,
                "operation": h.operation or "–",
                "suivi": names.get(h.partner, h.partner),
                "statut": STATUS_LABELS.get(h.status, "–"),
                "entree": h.entered_on,
                "mois": "–" if h.entered_on is None else str(months_between(h.entered_on, end)),
                "historique": states_text(states.get(household_key(h.id), [])),
                "motif": reasons[h.get("motif_blocage")].label
                if h.get("motif_blocage") in reasons
                else "Non précisé",
                "propositions": f"{_int(h.get('propositions'))} / {_int(h.get('refus'))}",
                "commentaire": h.get("commentaire") or "",
                "anterieures": work.suite(h.id) if work is not None else "",
            }
        )
    return rows


def _cases(ws, f: _Formats, r: RehousingBilan, rows: list[dict]) -> None:
    cols = columns(r.year)
    sessions = r.year + 1
    widths = [
        max(
            c.width,
            *(layout.word_width(_text(row.get(c.key))) for row in rows),
            layout.word_width(c.header, bold=True),
        )
        for c in cols
    ]
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)
    ws.write_string(0, 0, fr(f"Dossiers bloqués au 31 décembre {r.year} – séances de {sessions}"), f.title)
    ws.set_row(0, layout.row_height([], 14))
    ws.write_string(
        1,
        0,
        fr(
            "Colonnes grises : le dossier, tel que le décrit le dernier retour du partenaire qui le suit. Colonnes "
            "orange : à remplir en séance. Mode d'emploi : feuille « Lisez-moi »."
        ),
        f.hint_line,
    )
    h = HEADER_ROW - 1
    for col, c in enumerate(cols):
        ws.write_string(h, col, fr(c.header), f.header_req if c.filled_by_commission else f.header_opt)
    ws.set_row(
        h, layout.row_height([(c.header, w) for c, w in zip(cols, widths, strict=True)], bold=True, minimum=2)
    )
    first = FIRST_ROW - 1
    for i, row in enumerate(rows):
        for col, c in enumerate(cols):
            if c.filled_by_commission:
                ws.write_blank(first + i, col, None, f.input[c.key])
            else:
                ws.write_string(first + i, col, fr(_text(row.get(c.key))), f.case)
        ws.set_row(
            first + i,
            layout.row_height([(_text(row.get(c.key)), w) for c, w in zip(cols, widths, strict=True)]),
        )
    last = first + len(rows) + SPARE_ROWS - 1
    index = {c.key: i for i, c in enumerate(cols)}
    for i in range(first + len(rows), last + 1):
        for key in ("id", "date_seance", "decision", "precisions"):
            ws.write_blank(i, index[key], None, f.input[key])
    ws.data_validation(
        first,
        index["decision"],
        last,
        index["decision"],
        {
            "validate": "list",
            "source": f"='{LISTS_SHEET}'!$A$1:$A${len(DECISIONS.codes)}",
            "error_title": "Décision hors liste",
            "error_message": "Choisissez une décision du menu déroulant (voir la feuille Lisez-moi).",
        },
    )
    ws.data_validation(
        first,
        index["date_seance"],
        last,
        index["date_seance"],
        {
            "validate": "date",
            "criteria": "between",
            "minimum": dt.date(sessions, 1, 1),
            "maximum": dt.date(sessions, 12, 31),
            "error_title": "Date hors de l'année",
            "error_message": f"Saisissez la date de la séance au format JJ/MM/AAAA, en {sessions}.",
        },
    )
    ws.freeze_panes(FIRST_ROW - 1, 1)
    ws.autofilter(h, 0, last, len(cols) - 1)
    ws.repeat_rows(h)
    ws.protect("", PROTECTION)
    _print(ws, r)


def _int(value) -> str:
    return "–" if value is None else str(int(value))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return f"{value:%d/%m/%Y}"
    return str(value)
