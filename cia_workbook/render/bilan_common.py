"""What every section of the Word bilan shares: the bilan being written (`BilanDoc`: its layout,
the convention, the year's figures, the officer's commentary) and the objectives' numbering.
The sections are functions of a `BilanDoc`, one module per part of the bilan (bilan_*.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from docx.shared import Cm

from cia_workbook.consolidate import OBJECTIVE_SHORT, Bilan, IndicatorTable
from cia_workbook.convention.settings import Convention
from cia_workbook.render.commentary import CommentParagraph, commentary_docx_name
from cia_workbook.render.word import COMMENT_STYLE, COMMENT_TODO_STYLE, Word

OBJECTIVE_NUMBERS = {"hors_qpv_q1": 1, "qpv_q234": 2, "publics_prioritaires": 3}
SHORTS = {"hors_qpv_q1": "hq", "qpv_q234": "qpv", "publics_prioritaires": "pp"}
UNITS = {
    "hors_qpv_q1": ("bail", "baux"),
    "qpv_q234": ("attribution", "attributions"),
    "publics_prioritaires": ("bail", "baux"),
}
ACTIONS_TITLE = "Les actions de la convention"


def objective_title(b: Bilan, code: str) -> str:
    return f"Objectif {OBJECTIVE_NUMBERS[code]} : {b.objective_names.get(code, OBJECTIVE_SHORT[code])}"


def objective_number(short: str) -> int:
    """The number of the objective whose columns start with `short` (« hq », « qpv », « pp »)."""
    return next(OBJECTIVE_NUMBERS[c] for c, s in SHORTS.items() if s == short)


class BilanDoc:
    """The bilan of a year being written for one audience: its layout `w` (which knows the
    audience), the convention `c`, the year's bilan `b` and the officer's commentary."""

    def __init__(
        self,
        w: Word,
        convention: Convention,
        bilan: Bilan,
        commentary: Mapping[str, list[CommentParagraph]] | None = None,
    ):
        self.w = w
        self.c = convention
        self.b = bilan
        self.caution = convention.report.caution_universe
        self.commentary_text = commentary or {}
        self.annex_count = 0

    def table_data(self, key: str) -> IndicatorTable:
        table = self.b.table(key)
        return table.public(self.w.threshold) if self.w.public else table

    def has_commentary(self, key: str) -> bool:
        """Whether the section shows something: the officer's text, or the box saying where to
        write it (working document only). A sub-heading over nothing is left out."""
        return bool(self.commentary_text.get(key)) or not self.w.public

    def commentary(self, key: str, title: str) -> None:
        """The officer's words for a section; in the working document, a visible box saying
        where to write them when there are none; in the public bilan, nothing."""
        paragraphs = self.commentary_text.get(key)
        if paragraphs:
            for cp in paragraphs:
                p = self.w.para(style=COMMENT_STYLE)
                if cp.bullet:
                    p.paragraph_format.left_indent = Cm(0.8)
                    p.add_run("• ")
                for r in cp.runs:
                    run = p.add_run(r.text)
                    run.bold = r.bold or None
                    run.italic = r.italic or None
            return
        if not self.w.public:
            self.w.para(
                f"Commentaire à rédiger dans {commentary_docx_name(self.b.year)}, sous le titre « {title} » "
                "(cet encadré ne figure pas dans la version publique).",
                COMMENT_TODO_STYLE,
            )
