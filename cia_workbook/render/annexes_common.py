"""What every page of the charter's annexes shares: the annexes being written (`AnnexesDoc`: the
layout, the convention, the rehousing bilan, the rows and tables shown to the audience) and the
annexes' headings. The pages are functions of an `AnnexesDoc` (annexes.py, annexes_summary.py).
"""

from __future__ import annotations

from cia_workbook.consolidate import IndicatorTable
from cia_workbook.consolidate.rehousing import RehousingBilan, households
from cia_workbook.consolidate.rehousing_tables import criteria_table, progress_table
from cia_workbook.convention.settings import Convention
from cia_workbook.render import frformat
from cia_workbook.render.annexes_tables import public_criteria, public_rows
from cia_workbook.render.typography import count, join
from cia_workbook.render.word import Word

ANNEX_TITLES = {
    1: "Annexe 1 – Bilan annuel des relogements",
    2: "Annexe 2 – Dossiers bloqués",
    3: "Annexe 3 – Tableau de suivi des relogements",
}


class AnnexesDoc:
    """The charter's annexes of a year being written for one audience: the layout `w`, the
    convention `c`, the rehousing bilan `r`; in public, the operations with small counts grouped
    by sector (`rows`, see `public_rows`), and the note of their tables says which ones."""

    def __init__(self, w: Word, convention: Convention, rbilan: RehousingBilan):
        self.w = w
        self.c = convention
        self.r = rbilan
        self.caution = convention.report.caution_universe
        self.rows = public_rows(rbilan, w.threshold) if w.public else None
        self.tables = {
            "avancement": progress_table(rbilan, self.rows),
            "annee": criteria_table(rbilan, cumulative=False),
            "cumul": criteria_table(rbilan, cumulative=True),
        }
        grouped = [p for p in self.rows or () if p not in rbilan.operations]
        if grouped:
            sectors = {p.label: s for s, p in rbilan.sectors.items()}
            parts = []
            for p in grouped:
                sector = next(s for label, s in sectors.items() if p.label.startswith(label))
                names = [o.name for o in rbilan.charter.operations if o.sector == sector]
                parts.append(f"{p.label} : {join(names)}")
            note = (
                " Secret statistique : une opération dont une case serait masquée est regroupée avec les autres "
                f"opérations de son parc ; {' ; '.join(parts)}."
            )
            w.extra_notes = {"relogement_avancement": note, "relogement_statuts": note}

    def shown(self, table: IndicatorTable) -> IndicatorTable:
        if not self.w.public:
            return table
        if table.key.startswith("relogement_criteres"):
            return public_criteria(table, self.w.threshold)
        return table.masked(self.w.threshold)

    def counted(self, n: int, singular: str, plural_form: str | None = None) -> str:
        """« 3 dossiers bloqués », masked like the tables in public (« < 11 dossiers bloqués »)."""
        number = self.w.count(n)
        shown = n if number == frformat.integer(n) else 2  # a masked count reads as a plural
        return count(shown, singular, plural_form, number=number)

    def households(self, n: int) -> str:
        return households(n, self.w.count)

    def many(self, n: int) -> bool:
        """Whether a count reads as a plural (a masked one, « < 11 », does)."""
        return n > 1 or self.w.count(n) != frformat.integer(n)

    def action_of(self, indicator: str, suffix: str = "") -> str:
        """« (action 2) »: the convention's action that reports `indicator`, or nothing when no
        action of the convention does (convention.actions)."""
        action = self.c.action_reporting(indicator)
        return f" (action {action.number}{suffix})" if action is not None else ""

    def annex_heading(self, number: int, landscape: bool = False, new_page: bool = True) -> None:
        """An annex starts a page (a new section when the orientation changes, else a break),
        unless `new_page` is False (a few lines of the public version)."""
        turns = landscape != self.w.landscape
        heading = self.w.heading(ANNEX_TITLES[number], landscape=landscape)
        if new_page and not turns:
            heading.paragraph_format.page_break_before = True
