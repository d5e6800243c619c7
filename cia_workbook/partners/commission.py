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
from cia_workbook.partners.templates import (
    DATE_FORMAT,
    MARGINS,
    OPTIONAL_HEADER_FILL,
    PREFILLED_FILL,
    PROTECTION,
    REQUIRED_HEADER_FILL,
    WORKBOOK_OPTIONS,
    _Workbook,
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
        _CommissionWorkbook(rbilan, states, work, convention_id).write(tmp)
    return path


class _CommissionWorkbook:
    def __init__(self, r: RehousingBilan, states, work, convention_id: str):
        self.r, self.states, self.work, self.convention_id = r, states, work, convention_id
        self.year = r.year
        self.sessions = r.year + 1

    def write(self, path: Path) -> None:
        wb = _Workbook(str(path), dict(WORKBOOK_OPTIONS))
        self.wb = wb
        wb.set_properties(
            {
                "title": f"Commission de coordination – dossiers bloqués au 31 décembre {self.year}",
                "subject": self.r.convention_title,
                "author": self.r.epci,
                "company": self.r.epci,
                "comments": "Classeur généré par cia-workbook : ne pas renommer les feuilles ni modifier les en-têtes.",
            }
        )
        base = {"font_name": "Calibri", "font_size": 11, "valign": "top"}
        add = wb.add_format
        self.f_title = add({**base, "bold": True, "font_size": 14})
        self.f_hint = add({**base, "italic": True, "font_color": "#595959"})
        self.f_wrap = add({**base, "text_wrap": True})
        self.f_bold = add({**base, "bold": True, "text_wrap": True})
        header = {
            **base,
            "bold": True,
            "text_wrap": True,
            "border": 1,
            "align": "center",
            "valign": "vcenter",
        }
        self.f_head_case = add({**header, "bg_color": OPTIONAL_HEADER_FILL})
        self.f_head_input = add({**header, "bg_color": REQUIRED_HEADER_FILL})
        self.f_case = add({**base, "text_wrap": True, "border": 1, "bg_color": PREFILLED_FILL})
        self.f_input = {
            "date_seance": add(
                {**base, "locked": False, "border": 1, "num_format": DATE_FORMAT, "align": "left"}
            ),
            "decision": add({**base, "locked": False, "border": 1, "text_wrap": True}),
            "precisions": add({**base, "locked": False, "border": 1, "text_wrap": True, "num_format": "@"}),
            "id": add({**base, "locked": False, "border": 1, "num_format": "@"}),
        }
        readme = wb.add_worksheet(README_SHEET)
        cases = wb.add_worksheet(CASES_SHEET)
        lists = wb.add_worksheet(LISTS_SHEET)
        ident = wb.add_worksheet(ID_SHEET)
        for row, display in enumerate(DECISIONS.displays):
            lists.write_string(row, 0, display)
        lists.hide()
        ident.write_row(0, 0, [ID_KIND, self.year, self.convention_id])
        ident.very_hidden()
        self._readme(readme)
        self._cases(cases)
        readme.activate()
        wb.close()

    def _print(self, ws, title: str) -> None:
        ws.set_landscape()
        ws.set_paper(9)
        ws.set_margins(*MARGINS)
        ws.fit_to_pages(1, 0)
        epci = self.r.epci.replace("&", "&&")
        ws.set_header("&R&8Document de travail – diffusion restreinte")
        ws.set_footer(f"&L&8{epci} – {title}&R&8&A – page &P sur &N")

    def _readme(self, ws) -> None:
        widths = README_WIDTHS
        for col, width in enumerate(widths):
            ws.set_column(col, col, width)
        row = 0

        def para(text: str, fmt=None, size: float = 11, bold: bool = False) -> None:
            nonlocal row
            text = fr(text)
            ws.merge_range(row, 0, row, 1, text, fmt or self.f_wrap)
            ws.set_row(row, layout.row_height([(text, sum(widths))], size, bold))
            row += 1

        def pair(key: str, value: str, command: str = "") -> None:
            """`command`, typed as is (its « -- » untouched by the typography), ends the value."""
            nonlocal row
            key, value = fr(key), fr(value) + command
            ws.write_string(row, 0, key, self.f_bold)
            ws.write_string(row, 1, value, self.f_wrap)
            ws.set_row(
                row,
                max(
                    layout.row_height([(key, widths[0])], bold=True), layout.row_height([(value, widths[1])])
                ),
            )
            row += 1

        y, s = self.year, self.sessions
        para(f"Commission de coordination – dossiers bloqués au 31 décembre {y}", self.f_title, 14, True)
        para(
            f"{self.r.epci} · {self.r.convention_title}. Document de travail, diffusion restreinte : les ménages "
            "sont désignés par leur identifiant pseudonyme, jamais par leur nom."
        )
        row += 1
        para(
            f"La feuille « {CASES_SHEET} » a une ligne par dossier bloqué au 31 décembre {y} (annexe 2 des annexes "
            f"de la charte de relogement {y}), avec son historique. Pour chaque dossier examiné en séance en {s}, "
            "remplissez les trois colonnes orange : la date de la séance, la décision (menu déroulant) et, si besoin, "
            "des précisions."
        )
        pair("Date de la séance", f"Au format JJ/MM/AAAA, en {s} (les séances qui examinent ces dossiers).")
        pair("Décision", "Une valeur du menu : " + " ; ".join(DECISIONS.displays) + ".")
        pair("Précisions", "Texte libre : la proposition faite, le partenaire chargé du suivi, l'échéance…")
        pair(
            "Deux examens",
            "Un dossier examiné en deux séances : recopiez son identifiant sur une ligne vide sous la liste et "
            "remplissez-la pour la seconde séance. Un dossier bloqué absent de la liste : saisissez son identifiant "
            "tel que le partenaire l'écrit dans son retour.",
        )
        pair(
            "Après la séance",
            f"Enregistrez le classeur au format .xlsx sous le nom {commission_xlsx_name(y)} dans le dossier "
            f"« commission » du dossier de travail (à côté de « forms ») : les décisions sont contrôlées et reprises "
            f"dans les annexes de la charte {s} (historique des décisions, suite décidée pour chaque dossier, dossiers "
            "examinés et relogés) à la consolidation suivante, ",
            f"cia-workbook consolidate --year {s}.",
        )
        pair(
            "Ce qui est contrôlé",
            f"Une décision hors de la liste, une date qui n'est pas en {s}, un identifiant qu'aucun retour ne "
            "mentionne, une ligne commencée sans date ou sans décision : la ligne est signalée (feuille, cellule) et "
            "n'est pas reprise tant qu'elle n'est pas corrigée.",
        )

        self._print(ws, f"commission de coordination, dossiers bloqués au 31/12/{y}")

    def _cases(self, ws) -> None:
        cols = columns(self.year)
        r = self.r
        names = r.partner_names
        reasons = BLOCKING_REASONS.by_code
        end = dt.date(self.year, 12, 31)
        rows = []
        for h in r.blocked:
            states = self.states.get(household_key(h.id), [])
            rows.append(
                {
                    "id": h.id,
                    "operation": h.operation or "–",
                    "suivi": names.get(h.partner, h.partner),
                    "statut": STATUS_LABELS.get(h.status, "–"),
                    "entree": h.entered_on,
                    "mois": "–" if h.entered_on is None else str(months_between(h.entered_on, end)),
                    "historique": states_text(states),
                    "motif": reasons[h.get("motif_blocage")].label
                    if h.get("motif_blocage") in reasons
                    else "Non précisé",
                    "propositions": f"{_int(h.get('propositions'))} / {_int(h.get('refus'))}",
                    "commentaire": h.get("commentaire") or "",
                    "anterieures": self.work.suite(h.id) if self.work is not None else "",
                }
            )
        widths = []
        for c in cols:
            need = max(
                [layout.word_width(c.header, bold=True)]
                + [layout.word_width(_text(row.get(c.key))) for row in rows]
            )
            widths.append(max(c.width, need))
        for col, width in enumerate(widths):
            ws.set_column(col, col, width)
        ws.write_string(
            0,
            0,
            fr(f"Dossiers bloqués au 31 décembre {self.year} – séances de {self.sessions}"),
            self.f_title,
        )
        ws.set_row(0, layout.row_height([], 14))
        ws.write_string(
            1,
            0,
            fr(
                "Colonnes grises : le dossier, tel que le décrit le dernier retour du partenaire qui le suit. Colonnes "
                "orange : à remplir en séance. Mode d'emploi : feuille « Lisez-moi »."
            ),
            self.f_hint,
        )
        h = HEADER_ROW - 1
        heads = []
        for col, c in enumerate(cols):
            ws.write_string(
                h, col, fr(c.header), self.f_head_input if c.filled_by_commission else self.f_head_case
            )
            heads.append((c.header, widths[col]))
        ws.set_row(h, layout.row_height(heads, bold=True, minimum=2))
        first = FIRST_ROW - 1
        for i, row in enumerate(rows):
            for col, c in enumerate(cols):
                if c.filled_by_commission:
                    ws.write_blank(first + i, col, None, self.f_input[c.key])
                elif c.key == "entree" and isinstance(row["entree"], dt.date):
                    ws.write_string(first + i, col, f"{row['entree']:%d/%m/%Y}", self.f_case)
                else:
                    ws.write_string(first + i, col, fr(_text(row.get(c.key))), self.f_case)
            ws.set_row(
                first + i,
                layout.row_height([(_text(row.get(c.key)), w) for c, w in zip(cols, widths, strict=True)]),
            )
        last = first + len(rows) + SPARE_ROWS - 1
        index = {c.key: i for i, c in enumerate(cols)}
        for i in range(first + len(rows), last + 1):
            ws.write_blank(i, index["id"], None, self.f_input["id"])
            for key in ("date_seance", "decision", "precisions"):
                ws.write_blank(i, index[key], None, self.f_input[key])
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
                "minimum": dt.date(self.sessions, 1, 1),
                "maximum": dt.date(self.sessions, 12, 31),
                "error_title": "Date hors de l'année",
                "error_message": f"Saisissez la date de la séance au format JJ/MM/AAAA, en {self.sessions}.",
            },
        )
        ws.freeze_panes(FIRST_ROW - 1, 1)
        ws.autofilter(h, 0, last, len(cols) - 1)
        ws.repeat_rows(h)
        ws.protect("", PROTECTION)
        self._print(ws, f"commission de coordination, dossiers bloqués au 31/12/{self.year}")


def _int(value) -> str:
    return "–" if value is None else str(int(value))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return f"{value:%d/%m/%Y}"
    return str(value)
