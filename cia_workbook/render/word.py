"""The layout of the Word documents (bilan, charter's annexes, mid-term re-evaluation).

A document starts from a Word template (the packaged `data/bilan-template.docx`, made by
`scripts/make_docx_template.py`, or the EPCI's own `modele-bilan.docx`), which carries every
style, the title block, the header (with a logo if the EPCI puts one there) and the footer;
`Word` places paragraphs, headings and tables in it, turns pages to landscape and back, leaves
room for the charts, and `build` fills the template's {fields}, inserts the charts drawn
meanwhile and sets every text with French spacing (`docxutil.typeset`).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Pt

from cia_workbook.consolidate import (
    CLOSE,
    GROUP,
    MEMBERS,
    MET,
    NO_TARGET,
    NO_UNIVERSE,
    NOT_MET,
    SECRET,
    SMALL,
    SUBTOTAL,
    Col,
    IndicatorTable,
)
from cia_workbook.render import frformat
from cia_workbook.render.charts import ChartCache, Spec, start_rendering
from cia_workbook.render.docxutil import (
    FIELD,
    NB_HYPHEN,
    TABLE_FONT_PT,
    cant_split,
    cell_text,
    chart_mask,
    chart_value,
    column_needs,
    field,
    fill_fields,
    no_break_hyphens,
    repeat_header,
    shade,
    style_fill,
    table_widths,
    table_xml,
    typeset,
)
from cia_workbook.render.typography import fr, join

TEMPLATE = "bilan-template.docx"
# Style names defined by scripts/make_docx_template.py.
TABLE_STYLE = "Tableau CIA"
MARKING_STYLE = "Marquage diffusion"
NOTE_STYLE = "Note de tableau"
KEY_FIGURE_STYLE = "Chiffre clé"
COMMENT_STYLE = "Commentaire"
COMMENT_TODO_STYLE = "Commentaire à rédiger"
CELL_DETAIL_STYLE = "Détail de cellule"
CELL_STYLE = "Texte de tableau"
CELL_HEADER_STYLE = "En-tête de tableau"
VERDICT_STYLE = {
    MET: "Appréciation atteint",
    CLOSE: "Appréciation proche",
    NOT_MET: "Appréciation non atteint",
    NO_UNIVERSE: "Appréciation sans objet",
    NO_TARGET: "Appréciation sans objet",
    SECRET: "Appréciation secret",
}
# Readable in black and white: a symbol with each verdict, and the verdict in words.
SYMBOL = {MET: "✓", CLOSE: "≈", NOT_MET: "✗", NO_UNIVERSE: "–", NO_TARGET: "–"}
CAUTION_MARK = "†"

DIFFUSIONS = ("restreinte", "publique")
MARKING = {
    "restreinte": "Document de travail – diffusion restreinte à la commission de coordination",
    "publique": "Document public – les effectifs inférieurs à {threshold} ménages ne sont pas publiés (secret statistique)",
}
HEADER = {
    "restreinte": "Diffusion restreinte – commission de coordination",
    "publique": "Document public",
}


def template_path():
    return resources.files("cia_workbook.data").joinpath(TEMPLATE)


class Word:
    """One Word document being laid out: the python-docx Document, the orientation of the page
    being written and the one asked for next, the tables' numbering, the charts' places, and
    the audience (the public version masks small counts in running text as in the tables).

    `unbreakable`: the keys of the columns whose hyphens never break (a household's
    identifier); `extra_notes`: text added to the note of a table, by its key.
    """

    def __init__(self, diffusion: str, threshold: int, unbreakable: frozenset[str] = frozenset()):
        self.diffusion = diffusion
        self.public = diffusion == "publique"
        self.threshold = threshold
        self.unbreakable = unbreakable
        self.extra_notes: dict[str, str] = {}
        self.doc: Any = None  # opened by build(), once the charts are being drawn
        self.landscape = False  # orientation of the section being written
        self.want_landscape = False  # orientation asked for the next content
        self.break_before = False  # the next paragraph starts a page
        self.n_tables = 0
        self.placeholders: list[tuple[Any, str, Any]] = []
        self.style_ids: dict[str, str | None] = {}

    def count(self, n: int) -> str:
        """A household count in running text, masked like the tables in the public version."""
        if self.public and 1 <= n < self.threshold:
            return SMALL.format(threshold=self.threshold)
        return frformat.integer(n)

    def rate_text(self, num: int, den: int) -> str:
        """A rate in running text; in public, hidden when its universe is small (as in the tables)."""
        small = self.public and 1 <= den < self.threshold
        return SECRET if small else frformat.percent(num / den if den else None)

    def para(self, text: str = "", style: str | None = None):
        self.flow()
        paragraph = self.doc.add_paragraph(text)
        if style is not None:
            self.set_style(paragraph, style)
        return self._broken(paragraph)

    def heading(self, text: str, level: int = 1, landscape: bool = False):
        self.orient(landscape)
        self.flow()
        return self._broken(self.doc.add_heading(text, level))

    def caption(self, title: str) -> None:
        self.n_tables += 1
        self.para(f"Tableau {self.n_tables} – {title}", "Caption")

    def _broken(self, paragraph):
        """The paragraph after a `page_break()` starts its page (« saut de page avant »): a
        page that happens to be full leaves no blank page, as a break at its end would."""
        if self.break_before:
            self.break_before = False
            paragraph.paragraph_format.page_break_before = True
        return paragraph

    def orient(self, landscape: bool) -> None:
        """Ask for an orientation: the section changes when the next content is written, so
        that switching back at the very end leaves no blank page."""
        self.want_landscape = landscape

    def flow(self) -> None:
        if self.want_landscape == self.landscape:
            return
        landscape = self.want_landscape
        section = self.doc.add_section(WD_SECTION.NEW_PAGE)
        self.break_before = False  # the new section starts a page already
        section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
        width, height = section.page_width, section.page_height
        if (width < height) == landscape:
            section.page_width, section.page_height = height, width
        self.landscape = landscape

    def page_break(self) -> None:
        self.break_before = True

    def available_width(self, landscape: bool | None = None) -> int:
        """Width between the margins (EMU) of a page in the given orientation."""
        section = self.doc.sections[0]
        width, height = sorted((section.page_width, section.page_height))
        page = height if (self.want_landscape if landscape is None else landscape) else width
        return page - section.left_margin - section.right_margin

    def style_id(self, name: str) -> str | None:
        """The id of the template's paragraph style `name`, None when the template lacks it (made
        before it) or when it is the default style.

        Looked up once per name: python-docx's own lookup goes over every style of the template
        at each call (to tell the default one), a third of the time of the bilan."""
        ids = self.style_ids
        if name not in ids:
            try:
                ids[name] = self.doc.part.get_style_id(self.doc.styles[name], WD_STYLE_TYPE.PARAGRAPH)
            except KeyError:
                ids[name] = None
        return ids[name]

    def set_style(self, paragraph, name: str) -> None:
        """Give `paragraph` the template's style `name` (a template made before it lacks it)."""
        style = self.style_id(name)
        if style is not None:
            paragraph._p.style = style

    def cell_para(self, cell, text: str = "", style: str = CELL_STYLE, first: bool = False):
        p = cell.paragraphs[0] if first else cell.add_paragraph()
        self.set_style(p, style)
        if text:
            p.add_run(text)
        return p

    def texts(self, table: IndicatorTable, cols: list[Col]) -> list[list[str]]:
        """The cells' texts; a household's identifier is never broken at its hyphens
        (« PRIVE-FBG-|017 »): they are non-breaking, measured as such, and written as Word's."""
        texts = [[cell_text(c.kind, row.get(c.key)) for c in cols] for row in table.rows]
        for j, col in enumerate(cols):
            if col.key in self.unbreakable:
                for row in texts:
                    row[j] = row[j].replace("-", NB_HYPHEN)
        return texts

    def fits(self, table: IndicatorTable, landscape: bool) -> bool:
        """Whether the table holds on the page without breaking a word and, in portrait, without
        squeezing its headers onto many lines (a wide table reads better in landscape)."""
        cols = [c for c in table.columns if c.visible]
        available = Emu(self.available_width(landscape)).pt
        need, want = column_needs(cols, self.texts(table, cols), TABLE_FONT_PT)
        return sum(need) <= available and (landscape or sum(want) <= 1.25 * available)

    def fixed_grid(self, widths: list) -> Any:
        """A centred table of the document's style with these column widths (no autofit) and one
        header row, repeated on every page and never split."""
        grid = self.doc.add_table(rows=1, cols=len(widths))
        grid.style = self.doc.styles[TABLE_STYLE]
        grid.alignment = WD_TABLE_ALIGNMENT.CENTER
        grid.autofit = False
        for column, width in zip(grid.columns, widths, strict=True):
            column.width = width
        repeat_header(grid.rows[0])
        cant_split(grid.rows[0]._tr)
        return grid

    def table(self, table: IndicatorTable, chart: bool = True, caption: bool = True) -> None:
        self.flow()
        if caption:
            self.caption(table.title)
        cols = [c for c in table.columns if c.visible]
        if not table.rows:
            self.para("Aucune ligne.", NOTE_STYLE)
            return
        texts = self.texts(table, cols)
        size, widths = table_widths(cols, texts, Emu(self.available_width()).pt)
        small = size != TABLE_FONT_PT  # a table too wide for its page is set one point smaller
        last = len(table.rows) - 1
        note = group_note(table, self.threshold) + self.extra_notes.get(table.key, "")
        tbl = table_xml(
            [Pt(w) for w in widths],
            [c.label for c in cols],
            texts,
            style_id=self.doc.part.get_style_id(self.doc.styles[TABLE_STYLE], WD_STYLE_TYPE.TABLE),
            header_style=self.style_id(CELL_HEADER_STYLE),
            row_style=self.style_id(CELL_STYLE),
            right=[c.kind not in ("text", "status") for c in cols],
            bold=[
                (table.total_row and i == last) or row.get("famille") == GROUP or bool(row.get(SUBTOTAL))
                for i, row in enumerate(table.rows)
            ],
            size=size if small else None,
            keep_last=bool(note),  # the last row goes with its note: a note never starts a page alone
        )
        self.doc.element.body._insert_tbl(tbl)
        if note:
            self.para(note, NOTE_STYLE)
        if chart and table.chart:
            self.picture(table.key)

    def picture(self, key: str) -> None:
        """Leave a centred paragraph for the chart `key`; it is filled once the charts are drawn."""
        paragraph = self.para()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.keep_together = True
        self.placeholders.append((paragraph, key, Cm(19) if self.landscape else Cm(14)))


# -- Notes, verdicts and charts of the tables -------------------------------------------------


def group_note(table: IndicatorTable, threshold: int) -> str:
    """The table's note, and in public the partners of each grouped row (statistical secrecy)."""
    note = table.note
    groups = [r for r in table.rows if r.get(MEMBERS)]
    if groups:
        parts = []
        for row in groups:
            members = sorted({m for names in row[MEMBERS].values() for m in names})
            listed = (
                join(members) if len(members) <= 8 else f"{len(members)} {table.columns[0].label.lower()}s"
            )
            parts.append(f"{row[table.columns[0].key]} : {listed}")
        note = (note + " " if note else "") + (
            f"Secret statistique : une ligne dont l'univers compte moins de {threshold} ménages est "
            f"regroupée avec d'autres (avec la plus petite des autres quand elle serait seule) ; {' ; '.join(parts)}."
        )
    return note


def verdict(w: Word, cell, status: str, rate: str, detail: str) -> None:
    """A verdict in its cell (symbol, rate and verdict in words, in the verdict's style and
    colour), with `detail` under it when there is one."""
    first = cell.paragraphs[0]
    w.set_style(first, VERDICT_STYLE[status])
    if first.style is not None:
        shade(cell, style_fill(first.style))
    if status == NO_TARGET:  # a contingent the convention does not hold to the objective
        first.add_run(f"{SYMBOL[status]} {rate} sans objectif")
    elif status == NO_UNIVERSE:
        first.add_run(f"{SYMBOL[status]} sans objet")
    else:
        first.add_run(f"{SYMBOL[status]} {rate} ")
        first.add_run(status).bold = False
    if detail:
        w.cell_para(cell, detail, CELL_DETAIL_STYLE)


def secret(w: Word, cell, detail: str, text: str = SECRET) -> None:
    """A cell of statistical secrecy: `text` in the secret's style, `detail` under it."""
    first = cell.paragraphs[0]
    w.set_style(first, VERDICT_STYLE[SECRET])
    first.add_run(text)
    w.cell_para(cell, detail, CELL_DETAIL_STYLE)


def rate_bars(
    title: str, labels: list[str], rows: list[dict[str, Any]], rate_key: str, target_key: str | None
) -> Spec:
    """The chart of a table's rates against their targets, one bar per row (a masked rate shows
    « secret statistique » instead of its bar)."""
    rates = [chart_value(r.get(rate_key)) for r in rows]
    targets = [chart_value(r.get(target_key)) if target_key else None for r in rows]
    masked = [chart_mask(r.get(rate_key)) for r in rows]
    return Spec("rate_bars", (title, labels, rates, targets, masked))


def verdict_legend(gap: str, no_universe: str) -> str:
    """The legend of the verdicts' symbols under a table of verdicts."""
    return (
        f"✓ atteint : le taux atteint la cible ; ≈ proche : moins de {gap} sous la cible ; ✗ non atteint ; "
        f"– sans objet : {no_universe}."
    )


# -- The template ----------------------------------------------------------------------------


def template_fields(w: Word, epci: str, year: int, title: str, subtitle: str, footer: str) -> dict[str, str]:
    """The values of the template's {fields} (title block, header, footer)."""
    date = frformat.date(dt.date.today())
    return {
        "entete": HEADER[w.diffusion],
        "pied": footer,
        "marquage": MARKING[w.diffusion].format(threshold=w.threshold),
        "date": date,
        "epci": epci,
        "annee": str(year),
        "titre": title,
        "sous_titre": f"{subtitle} · document établi le {date}",
    }


def build(
    w: Word,
    template: Path | None,
    fields: dict[str, str],
    specs: dict[str, Any],
    cache: ChartCache | None,
    body: Callable[[], None],
):
    """Start drawing the charts `specs`, open the template and fill its {fields}, lay out the
    title block (when the template has none) and the `body` while the charts are drawn, insert
    them; every text then gets its French spacing."""
    drawn = start_rendering(list(specs.values()), cache)
    if template is not None:
        w.doc = Document(str(template))
    else:
        with resources.as_file(template_path()) as path:
            w.doc = Document(str(path))
    template_cover = fill_template(w.doc, fields)
    footer_and_header(w.doc, fields["pied"], fields["entete"])
    if not template_cover:
        w.para(fields["epci"], "Subtitle")
        w.para(fields["titre"], "Title")
        w.para(fields["sous_titre"], "Subtitle")
        w.para(fields["marquage"], MARKING_STYLE)
    body()
    charts = dict(zip(specs, drawn(), strict=True))
    for n, (paragraph, key, width) in enumerate(w.placeholders, start=1):
        shape = paragraph.add_run().add_picture(io.BytesIO(charts[key].png), width=width)
        shape._inline.docPr.set("descr", fr(charts[key].alt))
        shape._inline.docPr.set("title", f"Graphique {n}")
    typeset(w.doc)
    if w.unbreakable:
        no_break_hyphens(w.doc)
    return w.doc


def fill_template(doc, fields: dict[str, str]) -> bool:
    """Fill the {fields} of the header, the footer and the title block; say whether the
    template has a title block (else the document writes its own)."""
    for section in doc.sections:
        for part in (
            section.header, section.footer, section.first_page_header, section.first_page_footer,
            section.even_page_header, section.even_page_footer,
        ):  # fmt: skip
            if not part.is_linked_to_previous:
                for p in part._element.iter(qn("w:p")):
                    fill_fields(p, fields)
    has_block = False
    for p in list(doc.element.body.iter(qn("w:p"))):
        text = "".join(t.text or "" for t in p.iter(qn("w:t")))
        if not FIELD.search(text):
            continue
        has_block = True
        fill_fields(p, fields)
        if not "".join(t.text or "" for t in p.iter(qn("w:t"))).strip() and not p.findall(
            ".//" + qn("w:drawing")
        ):
            p.getparent().remove(p)
    return has_block


def footer_and_header(doc, footer_text: str, header_text: str) -> None:
    """The template's header and footer hold {entete} and {pied}: nothing to add. A template
    without them (made before this version) gets them written here."""
    section = doc.sections[0]
    footer = section.footer
    if not "".join(p.text for p in footer.paragraphs).strip():
        p = footer.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.add_run(f"{footer_text} – page ")
        field(p, "PAGE", "1")
        p.add_run(" sur ")
        field(p, "NUMPAGES", "1")
    header = section.header
    if not "".join(p.text for p in header.paragraphs).strip():
        p = header.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        p.add_run(header_text)
