"""Rendering stage: the bilan's data (`consolidate.Bilan`) laid out as the Word bilan of the year.

The document starts from a Word template (the packaged `data/bilan-template.docx`, made by
`scripts/make_docx_template.py`, or the EPCI's own `modele-bilan.docx`), which carries every
style, the title block, the header (with a logo if the EPCI puts one there) and the footer;
this module places content, names styles and fills the template's {fields}. Two audiences:
"restreinte" (the coordination commission's working document, full detail) and "publique"
(partners with small universes grouped, small counts masked, restricted detail left out).

Page 1 answers the question (are the objectives met, per bailleur and per réservataire?);
each objective then gets its table, its chart and the officer's commentary; the detail goes
to annexes. Every text written goes through `typography.fr` (see `_typeset`).
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Pt

from cia_workbook.consolidate import (
    CLOSE,
    EXCLUDED,
    FAMILY_RESERVATAIRE,
    GROUP,
    MEMBERS,
    MET,
    MISSING,
    NO_TARGET,
    NO_UNIVERSE,
    NOT_MET,
    OBJECTIVE_SHORT,
    SECRET,
    SMALL,
    SUBTOTAL,
    TERRITORY,
    YOUNG_AGE,
    Bilan,
    Col,
    IndicatorTable,
    verdicts,
    zone_words,
)
from cia_workbook.convention.settings import ACTION_INDICATORS, Action, Convention
from cia_workbook.fileio import write_atomic
from cia_workbook.render import attention as report_attention
from cia_workbook.render import demand as report_demand
from cia_workbook.render import frformat
from cia_workbook.render.commentary import CommentParagraph, Section, commentary_docx_name
from cia_workbook.render.typography import NBSP, count, fr, join, longest_word_width, plural, text_width

if TYPE_CHECKING:
    from cia_workbook.render.charts import ChartCache

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
CAUTION_MARK = "†"
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
TABLE_FONT_PT = 8.0  # the size of the template's « Texte de tableau » and « En-tête de tableau »
SMALL_TABLE_FONT_PT = 7.0  # last resort for a table too wide even in landscape
CELL_PADDING_PT = 11.0  # Word's and LibreOffice's default cell margins (2 × 0.19 cm) and a little air

DIFFUSIONS = ("restreinte", "publique")
MARKING = {
    "restreinte": "Document de travail – diffusion restreinte à la commission de coordination",
    "publique": "Document public – les effectifs inférieurs à {threshold} ménages ne sont pas publiés (secret statistique)",
}
HEADER = {
    "restreinte": "Diffusion restreinte – commission de coordination",
    "publique": "Document public",
}
OBJECTIVE_NUMBERS = {"hors_qpv_q1": 1, "qpv_q234": 2, "publics_prioritaires": 3}
SHORTS = {"hors_qpv_q1": "hq", "qpv_q234": "qpv", "publics_prioritaires": "pp"}
UNITS = {
    "hors_qpv_q1": ("bail", "baux"),
    "qpv_q234": ("attribution", "attributions"),
    "publics_prioritaires": ("bail", "baux"),
}
_FIELD = re.compile(r"\{(\w+)\}")
ACTIONS_TITLE = "Les actions de la convention"


def write_bilan_docx(
    convention: Convention,
    bilan: Bilan,
    path: Path,
    diffusion: str = "restreinte",
    commentary: Mapping[str, list[CommentParagraph]] | None = None,
    template: Path | None = None,
    charts: ChartCache | None = None,
) -> Path:
    """Write the Word bilan of `bilan.year` for one audience ("restreinte" | "publique").

    `commentary`: the officer's text per section (`commentary.read_commentary`); `template`:
    the EPCI's Word template, the packaged one by default; `charts`: the charts drawn before.
    """
    if diffusion not in DIFFUSIONS:
        raise ValueError(f"Diffusion inconnue : {diffusion!r} (restreinte ou publique).")
    document = _BilanDocument(convention, bilan, diffusion, commentary=commentary, template=template)
    document.chart_cache = charts
    doc = document.build()
    return write_atomic(Path(path), lambda tmp: doc.save(str(tmp)))


def template_path():
    return resources.files("cia_workbook.data").joinpath(TEMPLATE)


def commentary_sections(convention: Convention, bilan: Bilan) -> list[Section]:
    """The sections of the bilan that take the officer's commentary, with their key figures."""
    b = bilan
    out = [Section("synthese", "Lecture d'ensemble", tuple(_territory_lines(b)))]
    for code in OBJECTIVE_SHORT:
        rate = b.objectives[code][TERRITORY]
        scopes = {s: r for s, r in b.objectives[code].items() if s != TERRITORY}
        missed = [b.partner_names.get(s, s) for s, r in scopes.items() if r.status == NOT_MET]
        prompts = [
            f"Repères : territoire {frformat.percent(rate.value)} pour une cible de {frformat.target(rate.target)} "
            f"({rate.numerator} sur {rate.denominator})."
        ]
        if missed:
            prompts.append(f"Objectif non atteint : {join(missed)}.")
        prompts.append("Expliquez l'écart à la cible, ce qui l'explique et ce que les partenaires prévoient.")
        out.append(Section(f"objectif_{code}", _objective_title(b, code), tuple(prompts)))
    out.append(
        Section("dalo", "Ménages reconnus DALO", ("Part des ménages DALO relogés hors QPV, tendance.",))
    )
    out.append(
        Section(
            "reservataires",
            "Contribution des réservataires",
            ("Contribution de chaque contingent, écarts de déclaration.",),
        )
    )
    for zoom in convention.zooms:
        out.append(
            Section(
                f"zoom:{zoom.name}",
                f"Zoom : {zoom.name}",
                ("Attributions, refus, points de blocage du secteur.",),
            )
        )
    if b.rehousing is not None:
        t = b.rehousing.total
        out.append(
            Section(
                "relogement",
                "Relogements NPNRU",
                (
                    f"Repères : {count(t.rehoused_in_year, 'ménage relogé', 'ménages relogés')} définitivement en "
                    f"{b.year}, {t.rehoused} depuis {b.rehousing.first_year} sur {t.planned} ; "
                    f"{count(t.blocked, 'dossier bloqué')}.",
                ),
            )
        )
    if any(a.indicators for a in convention.actions):
        names = join([a.name for a in convention.actions if a.indicators])
        out.append(
            Section(
                "actions", ACTIONS_TITLE, (f"{names} : ce qui a été fait, ce que montrent les indicateurs.",)
            )
        )
    out += report_attention.commentary_sections(b)
    demand = report_demand.commentary_section(b)
    if demand is not None:
        out.append(demand)
    out.append(Section("evolution", f"Évolution depuis {convention.info.first_year}", ()))
    out.append(
        Section(
            "qualite", "Qualité des données et retours", ("Retours manquants, exclus, quartiles inconnus.",)
        )
    )
    return out


def _objective_title(b: Bilan, code: str) -> str:
    return f"Objectif {OBJECTIVE_NUMBERS[code]} : {b.objective_names.get(code, OBJECTIVE_SHORT[code])}"


def _territory_lines(b: Bilan) -> list[str]:
    lines = []
    for code in OBJECTIVE_SHORT:
        rate = b.objectives[code][TERRITORY]
        lines.append(
            f"Objectif {OBJECTIVE_NUMBERS[code]} : {frformat.percent(rate.value)} sur le territoire pour une cible "
            f"de {frformat.target(rate.target)}, objectif {rate.status}."
        )
    return lines


class _BilanDocument:
    """The bilan's building blocks (template, styles, tables, charts, sections) and its content.

    `report_annexes` reuses the building blocks for the charter's annexes (it overrides
    `cover`, `body`, `chart_specs` and `footer_text`).
    """

    def __init__(
        self,
        convention: Convention,
        bilan: Bilan,
        diffusion: str,
        commentary: Mapping[str, list[CommentParagraph]] | None = None,
        template: Path | None = None,
    ):
        self.c = convention
        self.b = bilan
        self.public = diffusion == "publique"
        self.diffusion = diffusion
        self.threshold = convention.campaign.secrecy_threshold
        self.caution = convention.report.caution_universe
        self.commentary_text = commentary or {}
        self.template = template
        self.doc = None  # opened in build(), once the charts are being drawn
        self.landscape = False  # orientation of the section being written
        self.want_landscape = False  # orientation asked for the next content
        self.n_tables = 0
        self.placeholders: list[tuple[Any, str, Any]] = []
        self.annex_count = 0
        self.chart_cache: ChartCache | None = None

    # -- Building blocks -------------------------------------------------------------------

    def table_data(self, key: str) -> IndicatorTable:
        table = self.b.table(key)
        return table.public(self.threshold) if self.public else table

    def count(self, n: int) -> str:
        """A household count in running text, masked like the tables in the public bilan."""
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

    def _broken(self, paragraph):
        """The paragraph after a `page_break()` starts its page (« saut de page avant »): a
        page that happens to be full leaves no blank page, as a break at its end would."""
        if self.__dict__.pop("_break_before", False):
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
        self.__dict__.pop("_break_before", None)  # the new section starts a page already
        section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
        width, height = section.page_width, section.page_height
        if (width < height) == landscape:
            section.page_width, section.page_height = height, width
        self.landscape = landscape

    def page_break(self) -> None:
        self._break_before = True

    def available_width(self, landscape: bool | None = None) -> int:
        """Width between the margins (EMU) of a page in the given orientation."""
        section = self.doc.sections[0]
        width, height = sorted((section.page_width, section.page_height))
        page = height if (self.want_landscape if landscape is None else landscape) else width
        return page - section.left_margin - section.right_margin

    def cell_text(self, kind: str, value: Any) -> str:
        if isinstance(value, str) and kind != "text":
            return value  # masked (« < 11 », « secret statistique ») or already worded
        if value is None:
            return "–"
        if kind == "count" or kind == "number":
            return frformat.integer(value)
        if kind == "rate":
            return frformat.percent(value)
        if kind == "ratio":
            return frformat.decimal(value, 1)
        if kind == "delta":
            value = round(value, 1) or 0.0  # never « -0,0 »
            return ("+" if value > 0 else "") + frformat.decimal(value, 1)
        if kind == "target":
            return frformat.target(value * 100)
        if kind == "date":
            return frformat.date(value)
        return str(value)

    def fits(self, table: IndicatorTable, landscape: bool) -> bool:
        """Whether the table holds on the page without breaking a word and, in portrait, without
        squeezing its headers onto many lines (a wide table reads better in landscape)."""
        cols = [c for c in table.columns if c.visible]
        texts = self._texts(table, cols)
        available = Emu(self.available_width(landscape)).pt
        need, want = _column_needs(cols, texts, TABLE_FONT_PT)
        return sum(need) <= available and (landscape or sum(want) <= 1.25 * available)

    def _texts(self, table: IndicatorTable, cols: list[Col]) -> list[list[str]]:
        return [[self.cell_text(c.kind, row.get(c.key)) for c in cols] for row in table.rows]

    def table(self, table: IndicatorTable, chart: bool = True, caption: bool = True) -> None:
        self.flow()
        if caption:
            self.n_tables += 1
            self.para(f"Tableau {self.n_tables} – {table.title}", "Caption")
        cols = [c for c in table.columns if c.visible]
        if not table.rows:
            self.para("Aucune ligne.", NOTE_STYLE)
            return
        texts = self._texts(table, cols)
        available = Emu(self.available_width()).pt
        size = TABLE_FONT_PT
        widths = fit_columns(cols, texts, available, size)
        if widths is None:  # too wide even so: one point smaller, then squeezed
            size = SMALL_TABLE_FONT_PT
            widths = fit_columns(cols, texts, available, size) or squeeze_columns(
                cols, texts, available, size
            )
        emus = [Pt(w) for w in widths]
        grid = self.fixed_grid(emus)
        header = grid.rows[0]
        small = size != TABLE_FONT_PT
        for cell, col, width in zip(header.cells, cols, emus, strict=True):
            cell.text = col.label
            cell.width = width
            self.set_style(cell.paragraphs[0], CELL_HEADER_STYLE)
            if small:
                _small_font(cell.paragraphs[0].runs[0]._r, size)
        # One prototype row (widths, right-aligned figures) copied for every data row: python-docx
        # builds each cell through many small objects, the copy is several times faster.
        proto = grid.add_row()
        _cant_split(proto._tr)
        for cell, col, width in zip(proto.cells, cols, emus, strict=True):
            cell.width = width
            self.set_style(cell.paragraphs[0], CELL_STYLE)
            if col.kind not in ("text", "status"):
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
        proto_tr = proto._tr
        proto_tr.getparent().remove(proto_tr)
        tbl = grid._tbl
        last = len(table.rows) - 1
        for i, (row, values) in enumerate(zip(table.rows, texts, strict=True)):
            tr = copy.deepcopy(proto_tr)
            bold = (table.total_row and i == last) or row.get("famille") == GROUP or bool(row.get(SUBTOTAL))
            for p, text in zip(tr.iter(qn("w:p")), values, strict=True):
                run = OxmlElement("w:r")
                t = OxmlElement("w:t")
                t.set(qn("xml:space"), "preserve")
                t.text = text
                if small or bold:
                    _run_props(run, size if small else None, bold)
                run.append(t)
                p.append(run)
            tbl.append(tr)
        note = self.table_note(table)
        if note:
            if table.rows:  # the last row goes with its note: a note never starts a page alone
                for cell in grid.rows[-1].cells:
                    _keep_with_next(cell)
            self.para(note, NOTE_STYLE)
        if chart and table.chart:
            self.rate_chart(table)

    def set_style(self, paragraph, name: str) -> None:
        """Give `paragraph` the template's style `name` (a template made before it lacks it).

        By its id, looked up once per name: python-docx's own lookup goes over every style of the
        template at each call (to tell the default one), a third of the time of the bilan."""
        ids = self.__dict__.setdefault("_style_ids", {})
        if name not in ids:
            from docx.enum.style import WD_STYLE_TYPE

            try:
                ids[name] = self.doc.part.get_style_id(self.doc.styles[name], WD_STYLE_TYPE.PARAGRAPH)
            except KeyError:
                ids[name] = False
        if ids[name] is not False:
            paragraph._p.style = ids[name]

    def cell_para(self, cell, text: str = "", style: str = CELL_STYLE, first: bool = False):
        p = cell.paragraphs[0] if first else cell.add_paragraph()
        self.set_style(p, style)
        if text:
            p.add_run(text)
        return p

    def table_note(self, table: IndicatorTable) -> str:
        note = table.note
        groups = [r for r in table.rows if r.get(MEMBERS)]
        if groups:
            parts = []
            for row in groups:
                members = sorted({m for names in row[MEMBERS].values() for m in names})
                listed = (
                    join(members)
                    if len(members) <= 8
                    else f"{len(members)} {table.columns[0].label.lower()}s"
                )
                parts.append(f"{row[table.columns[0].key]} : {listed}")
            note = (note + " " if note else "") + (
                f"Secret statistique : une ligne dont l'univers compte moins de {self.threshold} ménages est "
                f"regroupée avec d'autres (avec la plus petite des autres quand elle serait seule) ; {' ; '.join(parts)}."
            )
        return note

    def rate_chart(self, table: IndicatorTable) -> None:
        self.picture(table.key)

    def picture(self, key: str) -> None:
        """Leave a centred paragraph for the chart `key`; it is filled once the charts are drawn."""
        paragraph = self.para()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.keep_together = True
        self.placeholders.append((paragraph, key, Cm(19) if self.landscape else Cm(14)))

    def chart_specs(self) -> dict[str, Any]:
        """Every chart of the document, known before the layout so that drawing starts at once."""
        from cia_workbook.render.charts import Spec

        specs = {}
        for table in self.b.tables:
            if not table.chart:
                continue
            data = self.table_data(table.key)
            rate_key, target_key = table.chart
            label_key = table.columns[0].key
            # Published rates and masked ones (which say « secret statistique »); a row without
            # universe has no bar (the table says « sans objet »).
            rows = [
                r
                for r in data.rows
                if _number(r.get(rate_key)) is not None or _masked(r.get(rate_key)) is not None
            ]
            labels = [fr(str(r[label_key])) for r in rows]
            rates = [_number(r.get(rate_key)) for r in rows]
            targets = [_number(r.get(target_key)) if target_key else None for r in rows]
            masked = [_masked(r.get(rate_key)) for r in rows]
            specs[table.key] = Spec(
                "rate_bars", (fr(table.chart_title or table.title), labels, rates, targets, masked)
            )
        trend = self.table_data("evolution")
        series, targets = {}, {}
        for code, short in SHORTS.items():
            label = f"Objectif {OBJECTIVE_NUMBERS[code]}"
            series[label] = [_number(r[f"{short}_taux"]) for r in trend.rows]
            targets[label] = [_number(r[f"{short}_cible"]) for r in trend.rows]
        years = [t.year for t in self.b.trend]
        specs["evolution"] = Spec(
            "trend_lines", ("Taux du territoire par année et cibles (pointillés)", years, series, targets)
        )
        return specs

    def insert_charts(self, charts: dict[str, Any]) -> None:
        for n, (paragraph, key, width) in enumerate(self.placeholders, start=1):
            chart = charts[key]
            shape = paragraph.add_run().add_picture(io.BytesIO(chart.png), width=width)
            doc_pr = shape._inline.docPr
            doc_pr.set("descr", fr(chart.alt))
            doc_pr.set("title", f"Graphique {n}")

    # -- The template ----------------------------------------------------------------------

    def template_fields(self) -> dict[str, str]:
        """The values of the template's {fields} (title block, header, footer)."""
        fields = {
            "entete": HEADER[self.diffusion],
            "pied": self.footer_text(),
            "marquage": MARKING[self.diffusion].format(threshold=self.threshold),
            "date": frformat.date(dt.date.today()),
        }
        if self.b is not None:
            fields |= {
                "epci": self.b.epci,
                "annee": str(self.b.year),
                "titre": f"Bilan {self.b.year} de la convention intercommunale d'attribution",
                "sous_titre": f"{self.b.convention_title} · document établi le {fields['date']}",
            }
        return fields

    def fill_template(self) -> bool:
        """Fill the {fields} of the header, the footer and the title block; say whether the
        template has a title block (else the bilan writes its own). A document that writes
        its own cover (the annexes) drops the template's title block."""
        fields = self.template_fields()
        for section in self.doc.sections:
            for part in (
                section.header, section.footer, section.first_page_header, section.first_page_footer,
                section.even_page_header, section.even_page_footer,
            ):  # fmt: skip
                if not part.is_linked_to_previous:
                    for p in part._element.iter(qn("w:p")):
                        _fill_fields(p, fields)
        own_cover = type(self).cover is not _BilanDocument.cover
        has_block = False
        for p in list(self.doc.element.body.iter(qn("w:p"))):
            text = "".join(t.text or "" for t in p.iter(qn("w:t")))
            if not _FIELD.search(text):
                continue
            has_block = True
            if own_cover:
                p.getparent().remove(p)
                continue
            _fill_fields(p, fields)
            if not "".join(t.text or "" for t in p.iter(qn("w:t"))).strip() and not p.findall(
                ".//" + qn("w:drawing")
            ):
                p.getparent().remove(p)
        return has_block and not own_cover

    # -- The document ----------------------------------------------------------------------

    def fixed_grid(self, widths: list) -> Any:
        """A centred table of the document's style with these column widths (no autofit) and one
        header row, repeated on every page and never split."""
        grid = self.doc.add_table(rows=1, cols=len(widths))
        grid.style = self.doc.styles[TABLE_STYLE]
        grid.alignment = WD_TABLE_ALIGNMENT.CENTER
        grid.autofit = False
        for column, width in zip(grid.columns, widths, strict=True):
            column.width = width
        _repeat_header(grid.rows[0])
        _cant_split(grid.rows[0]._tr)
        return grid

    def build(self):
        """Open the template, lay out the body while the charts are drawn, insert them."""
        from cia_workbook.render import charts

        specs = self.chart_specs()
        drawn = charts.start_rendering(list(specs.values()), self.chart_cache)
        if self.template is not None:
            self.doc = Document(str(self.template))
        else:
            with resources.as_file(template_path()) as path:
                self.doc = Document(str(path))
        self.template_cover = self.fill_template()
        self.footer_and_header()
        self.cover()
        self.body()
        self.insert_charts(dict(zip(specs, drawn(), strict=True)))
        _typeset(self.doc)
        return self.doc

    def footer_text(self) -> str:
        return f"{self.b.epci} – bilan {self.b.year} de la CIA"

    def footer_and_header(self) -> None:
        """The template's header and footer hold {entete} and {pied}: nothing to add. A template
        without them (made before this version) gets them written here."""
        section = self.doc.sections[0]
        footer = section.footer
        if not "".join(p.text for p in footer.paragraphs).strip():
            p = footer.paragraphs[0]
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            p.add_run(f"{self.footer_text()} – page ")
            _field(p, "PAGE", "1")
            p.add_run(" sur ")
            _field(p, "NUMPAGES", "1")
        header = section.header
        if not "".join(p.text for p in header.paragraphs).strip():
            p = header.paragraphs[0]
            p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            p.add_run(HEADER[self.diffusion])

    def cover(self) -> None:
        """The light title block (from the template when it has one), then page 1 follows."""
        if self.template_cover:
            return
        fields = self.template_fields()
        self.para(fields["epci"], "Subtitle")
        self.para(fields["titre"], "Title")
        self.para(fields["sous_titre"], "Subtitle")
        self.para(fields["marquage"], MARKING_STYLE)

    def body(self) -> None:
        self.dashboard()
        self.framework()
        for code in OBJECTIVE_SHORT:
            self.objective_section(code)
        self.dalo()
        report_attention.attention_section(self)
        self.reservataires()
        self.zooms()
        self.rehousing()
        self.actions()
        report_attention.mix_section(self)
        report_demand.demand_section(self)
        self.trend()
        self.quality()
        self.annexes()

    def has_commentary(self, key: str) -> bool:
        """Whether the section shows something: the officer's text, or the box saying where to
        write it (working document only). A sub-heading over nothing is left out."""
        return bool(self.commentary_text.get(key)) or not self.public

    def commentary(self, key: str, title: str) -> None:
        """The officer's words for a section; in the working document, a visible box saying
        where to write them when there are none; in the public bilan, nothing."""
        paragraphs = self.commentary_text.get(key)
        if paragraphs:
            for cp in paragraphs:
                p = self.para(style=COMMENT_STYLE)
                if cp.bullet:
                    p.paragraph_format.left_indent = Cm(0.8)
                    p.add_run("• ")
                for r in cp.runs:
                    run = p.add_run(r.text)
                    run.bold = r.bold or None
                    run.italic = r.italic or None
            return
        if not self.public:
            self.para(
                f"Commentaire à rédiger dans {commentary_docx_name(self.b.year)}, sous le titre « {title} » "
                "(cet encadré ne figure pas dans la version publique).",
                COMMENT_TODO_STYLE,
            )

    # Page 1 ------------------------------------------------------------------------------

    def dashboard(self) -> None:
        b = self.b
        self.heading(f"Les objectifs sont-ils atteints en {b.year} ?")
        self.para(self.answer())
        tables = [t.public(self.threshold) if self.public else t for t in b.dashboard]
        self.dashboard_table(tables)
        self.para(self.dashboard_note(tables), NOTE_STYLE)
        self.page_break()

    def answer(self) -> str:
        """One sentence: the territory's verdict on each objective, in the objectives' order."""
        words = {
            MET: "atteint",
            CLOSE: "proche de la cible",
            NOT_MET: "non atteint",
            NO_UNIVERSE: "sans objet",
        }
        parts = []
        for code in OBJECTIVE_SHORT:
            rate = self.b.objectives[code][TERRITORY]
            parts.append(
                f"objectif {OBJECTIVE_NUMBERS[code]} {words[rate.status]} "
                f"({self.rate_text(rate.numerator, rate.denominator)} pour une cible de {frformat.target(rate.target)})"
            )
        sentence = f"Sur le territoire : {join(parts)}."
        if self.b.test_year:
            sentence += f" {self.b.year} est une année test de la convention : les objectifs y sont évalués sans être opposables."
        if self.b.midterm_year == self.b.year:
            sentence += f" {self.b.year} est l'année de la réévaluation à mi-parcours des objectifs."
        return sentence

    def dashboard_table(self, tables: list[IndicatorTable]) -> None:
        codes = list(OBJECTIVE_SHORT)
        available = Emu(self.available_width(False)).pt
        first = 0.235 * available
        widths = [Pt(first)] + [Pt((available - first) / 3)] * 3
        grid = self.fixed_grid(widths)
        header = grid.rows[0]
        self.cell_para(header.cells[0], "Partenaire", CELL_HEADER_STYLE, first=True)
        for cell, code in zip(header.cells[1:], codes, strict=True):
            self.cell_para(
                cell, f"Objectif {OBJECTIVE_NUMBERS[code]} – cible {frformat.target(self.b.targets[code])}",
                CELL_HEADER_STYLE, first=True,
            )  # fmt: skip
            self.cell_para(cell, self.b.objective_names[code], CELL_DETAIL_STYLE)
        for cell, width in zip(header.cells, widths, strict=True):
            cell.width = width
        for t, table in enumerate(tables):
            if t:  # the réservataires, under a row of their own
                row = grid.add_row()
                _cant_split(row._tr)
                merged = row.cells[0].merge(row.cells[3])
                self.cell_para(
                    merged,
                    "Réservataires – contribution, calculée sur les attributions des bailleurs sur leur contingent",
                    CELL_HEADER_STYLE,
                    first=True,
                )
                _shade(merged, "EDF2F8")
                _keep_with_next(merged)
            for data in table.rows:
                self.dashboard_row(grid, widths, data)

    def dashboard_row(self, grid, widths, data: dict[str, Any]) -> None:
        row = grid.add_row()
        _cant_split(row._tr)
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width
        family, state = data.get("famille"), data.get("etat")
        label = row.cells[0]
        strong = family in (TERRITORY, GROUP) or bool(data.get(SUBTOTAL))
        self.cell_para(label, "", CELL_HEADER_STYLE if strong else CELL_STYLE, first=True).add_run(
            str(data["perimetre"])
        )
        if family != FAMILY_RESERVATAIRE and state in (EXCLUDED, MISSING):
            merged = row.cells[1].merge(row.cells[3])
            text = (
                "Retour exclu pour erreurs : ses attributions ne sont comptées dans aucun taux."
                if state == EXCLUDED
                else "Sans retour : ses attributions ne sont comptées dans aucun taux."
            )
            self.cell_para(merged, "", first=True).add_run(text).italic = True
            return
        if state in (EXCLUDED, MISSING):  # a réservataire: its rates come from the bailleurs
            self.cell_para(
                label, "retour exclu pour erreurs" if state == EXCLUDED else "sans retour", CELL_DETAIL_STYLE
            )
        for cell, code in zip(row.cells[1:], OBJECTIVE_SHORT, strict=True):
            self.verdict_cell(cell, code, data, family)

    def verdict_cell(self, cell, code: str, data: dict[str, Any], family: str | None) -> None:
        short = SHORTS[code]
        status, rate = data.get(f"{short}_statut"), data.get(f"{short}_taux")
        num, den = data.get(f"{short}_num"), data.get(f"{short}_den")
        one, many = UNITS[code]
        first = cell.paragraphs[0]
        self.set_style(first, CELL_STYLE)
        if status == SECRET:
            self.set_style(first, VERDICT_STYLE[SECRET])
            first.add_run(SECRET)
            self.cell_para(cell, "compté dans la ligne « regroupés »", CELL_DETAIL_STYLE)
            return
        if family == GROUP:
            names = data.get(MEMBERS, {}).get(f"{short}_den")
            if not names:
                first.add_run("–")
                return
            self.set_style(first, VERDICT_STYLE[SECRET])
            first.add_run(self.cell_text("rate", rate))
            self.cell_para(cell, join(names), CELL_DETAIL_STYLE)
            return
        if status is None:
            first.add_run("–")
            return
        self.set_style(first, VERDICT_STYLE[status])
        if first.style is not None:
            _shade(cell, _style_fill(first.style))
        if status == NO_TARGET:  # a contingent the convention does not hold to the objective
            first.add_run(f"{SYMBOL[status]} {self.cell_text('rate', rate)} sans objectif")
            self.cell_para(cell, "contingent non tenu à l'objectif", CELL_DETAIL_STYLE)
            return
        if status == NO_UNIVERSE:
            first.add_run(f"{SYMBOL[status]} sans objet")
            self.cell_para(cell, f"aucun {one} dans l'univers", CELL_DETAIL_STYLE)
            return
        first.add_run(f"{SYMBOL[status]} {self.cell_text('rate', rate)} ")
        verdict = first.add_run(status)
        verdict.bold = False
        if isinstance(num, int) and not self.public:
            detail = f"{frformat.integer(num)} sur {frformat.integer(den)} {plural(den, one, many)}"
        else:
            detail = f"sur {frformat.integer(den)} {plural(den, one, many)}" if isinstance(den, int) else ""
        if isinstance(den, int) and 0 < den < self.caution:
            detail += f" {CAUTION_MARK}"
        if detail:
            self.cell_para(cell, detail, CELL_DETAIL_STYLE)

    def dashboard_note(self, tables: list[IndicatorTable]) -> str:
        b = self.b
        gap = frformat.points(self.c.campaign.close_gap_points)
        parts = [
            f"✓ atteint : le taux atteint la cible ; ≈ proche : moins de {gap} sous la cible ; ✗ non atteint ; "
            f"– sans objet : aucune attribution dans l'univers. {CAUTION_MARK} Moins de {self.caution} ménages "
            "dans l'univers : à interpréter avec prudence."
        ]
        for table, who in zip(tables, ("bailleurs", "réservataires"), strict=True):
            counts = verdicts(table)
            n = sum(counts.values())
            if not n:
                continue
            listed = [
                f"{counts[s]} {plural(counts[s], w, wp)}"
                for s, w, wp in (
                    (MET, "atteinte", "atteintes"),
                    (CLOSE, "proche", "proches"),
                    (NOT_MET, "non atteinte", "non atteintes"),
                    (NO_UNIVERSE, "sans objet", "sans objet"),
                )
                if counts[s]
            ]
            text = f"Appréciations {'publiées' if self.public else ''} des {who} : {n}, dont {join(listed)}".replace(
                "  ", " "
            )
            hidden = sum(
                1
                for r in (table.rows[:-1] if table.total_row else table.rows)
                for c in table.columns
                if c.kind == "status" and r.get(c.key) == SECRET
            )
            if hidden:
                text += f" ; {hidden} en secret statistique, comptées dans la ligne des partenaires regroupés"
            parts.append(text + ".")
        # Every partner owes a return (the rehousing operator too): used + excluded + missing.
        returns = f"Retours utilisés : {len(b.register)} sur {len(self.c.partners)} attendus"
        if b.excluded:
            returns += f" ; {plural(len(b.excluded), 'exclu')} pour erreurs : {join([e.partner for e in b.excluded])}"
        if b.missing:
            returns += f" ; sans retour : {join(b.missing)}"
        parts.append(returns + ".")
        return " ".join(parts)

    # The framework ------------------------------------------------------------------------

    def framework(self) -> None:
        b, z = self.b, zone_words(self.c)
        self.heading("Le cadre de l'évaluation")
        grid = self.doc.add_table(rows=1, cols=3)
        grid.style = self.doc.styles[TABLE_STYLE]
        _repeat_header(grid.rows[0])
        _cant_split(grid.rows[0]._tr)
        available = Emu(self.available_width(False)).pt
        widths = [Pt(available * 0.42), Pt(available * 0.45), Pt(available * 0.13)]
        for column, width in zip(grid.columns, widths, strict=True):
            column.width = width
        for cell, text, width in zip(
            grid.rows[0].cells, ("Objectif", "Univers (dénominateur)", f"Cible {b.year}"), widths, strict=True
        ):
            self.cell_para(cell, text, CELL_HEADER_STYLE, first=True)
            cell.width = width
        universes = {
            "hors_qpv_q1": f"Baux signés dans l'année, logements {z.outside}",
            "qpv_q234": f"Attributions prononcées dans l'année, logements {z.inside}",
            "publics_prioritaires": "Baux signés dans l'année, sur le contingent propre de chaque bailleur et sur celui de chaque réservataire",
        }
        for code in OBJECTIVE_SHORT:
            row = grid.add_row()
            _cant_split(row._tr)
            cells = row.cells
            self.cell_para(cells[0], f"{OBJECTIVE_NUMBERS[code]}. {self.c.objective(code).label}", first=True)
            self.cell_para(cells[1], universes[code], first=True)
            self.cell_para(cells[2], frformat.target(b.targets[code]), first=True)
            for cell, width in zip(cells, widths, strict=True):
                cell.width = width
        lines = [
            "Les réservataires contribuent aux objectifs 1 et 2 ; l'objectif 3 s'applique aussi à chaque contingent "
            "de réservation."
        ]
        exempt = [f"« {c.label} »" for c in self.c.contingents if not c.priority_target]
        if exempt:
            lines.append(
                f"{_capitalize(join(exempt))} : {'contingents non tenus' if len(exempt) > 1 else 'contingent non tenu'} "
                "à l'objectif 3, dont le taux est donné « sans objectif »."
            )
        # What the convention itself commits to beyond the objectives, in its own words.
        lines += [f"La convention rappelle : {_lower_first(r)}" for r in self.c.report.reminders]
        calendar = []
        if b.test_years:
            years = join([str(y) for y in b.test_years])
            calendar.append(
                f"{years} {'sont les années test' if len(b.test_years) > 1 else 'est l’année test'} de la convention "
                "(objectifs évalués sans être opposables)"
            )
        if b.midterm_year:
            calendar.append(
                f"{b.midterm_year} est l'année de la réévaluation à mi-parcours des objectifs et des engagements"
            )
        if calendar:
            lines.append(_capitalize(" ; ".join(calendar)) + ".")
        lines.append(
            f"Chaque année est jugée sur sa cible et sur la géographie prioritaire en vigueur : en {b.year}, "
            f"{_lower_first(b.geography)}."
        )
        for line in lines:
            self.para(line)
        if self.has_commentary("synthese"):
            self.heading("Lecture d'ensemble", 2)
        self.commentary("synthese", "Lecture d'ensemble")

    # Objectives ---------------------------------------------------------------------------

    def objective_section(self, code: str) -> None:
        rate = self.b.objectives[code][TERRITORY]
        title = _objective_title(self.b, code)
        self.heading(title)
        unit = {"qpv_q234": "attributions prononcées"}.get(code, "baux signés")
        text = (
            f"Sur le territoire, {self.count(rate.numerator)} ménages sur {self.count(rate.denominator)} {unit}, soit "
            f"{self.rate_text(rate.numerator, rate.denominator)} pour une cible de {frformat.target(rate.target)} "
            f"en {self.b.year} : objectif {rate.status}."
        )
        if code != "publics_prioritaires" and rate.unknown:
            text += (
                f" {_capitalize(count(rate.unknown, 'ménage', number=self.count(rate.unknown)))} de l'univers "
                f"{'ont' if rate.unknown > 1 else 'a'} un quartile inconnu : "
                f"{'ils restent' if rate.unknown > 1 else 'il reste'} au dénominateur."
            )
        self.para(text)
        self.table(self.table_data(f"objectif_{code}"))
        self.commentary(f"objectif_{code}", title)

    def dalo(self) -> None:
        t = self.b.table("dalo").rows[-1]
        self.heading("Ménages reconnus DALO")
        self.para(
            f"{_capitalize(count(t['dalo'], 'ménage reconnu DALO', 'ménages reconnus DALO', self.count(t['dalo'])))} "
            f"{'ont' if t['dalo'] > 1 else 'a'} signé un bail en {self.b.year}, dont "
            f"{self.rate_text(t['hors_qpv'], t['dalo'])} hors QPV."
        )
        self.table(self.table_data("dalo"))
        self.commentary("dalo", "Ménages reconnus DALO")

    def reservataires(self) -> None:
        self.heading("Contribution des réservataires")
        self.para(
            "Les taux de chaque réservataire sont calculés sur les attributions que les bailleurs déclarent sur son "
            "contingent ; ils ne dépendent pas du retour du réservataire, qui sert au contrôle croisé."
        )
        data = self.table_data("reservataires")
        compact = IndicatorTable(
            data.key,
            data.section,
            "Contribution des réservataires : taux et univers par objectif",
            [data.columns[0]]
            + [
                col
                for short in SHORTS.values()
                for col in (
                    Col(f"{short}_taux", f"Objectif {_n(short)} : taux", "rate"),
                    Col(f"{short}_den", f"Objectif {_n(short)} : univers"),
                )
            ],
            data.rows,
            note=data.note,
        )
        self.table(compact, chart=False)
        if not self.public:
            n = len(self.b.cross_findings)
            self.para(
                (
                    f"Le contrôle croisé entre les déclarations des réservataires et les fichiers des bailleurs relève "
                    f"{count(n, 'écart')} : voir l'annexe « Contrôle croisé des réservataires »."
                )
                if n
                else "Le contrôle croisé entre les déclarations des réservataires et les fichiers des bailleurs ne relève aucun écart."
            )
        self.commentary("reservataires", "Contribution des réservataires")

    def zooms(self) -> None:
        self.heading("Zooms sur les quartiers prioritaires et les secteurs")
        self.table(self.table_data("zoom_qpv"))
        self.table(self.table_data("zooms"), chart=False)
        for zoom in self.c.zooms:
            if self.has_commentary(f"zoom:{zoom.name}"):
                self.heading(f"Zoom : {zoom.name}", 2)
            self.commentary(f"zoom:{zoom.name}", f"Zoom : {zoom.name}")

    def rehousing(self) -> None:
        """Headline figures of the NPNRU rehousing; the detail is in the charter's annexes."""
        r = self.b.rehousing
        if r is None:
            return
        from cia_workbook.consolidate.rehousing import CRITERIA
        from cia_workbook.render.names import annexes_docx_name

        t = r.total
        self.heading("Relogements NPNRU (charte de relogement)")
        self.para(
            f"Relogés définitivement en {r.year} : {count(t.rehoused_in_year, 'ménage', number=self.count(t.rehoused_in_year))} ; "
            f"depuis {r.first_year} : {self.count(t.rehoused)} sur {frformat.integer(t.planned)} à reloger "
            f"({self.rate_text(t.rehoused, t.planned)}). En cours : {self.count(t.in_progress)}, dont "
            f"{count(t.blocked, 'dossier bloqué', number=self.count(t.blocked))}.",
            KEY_FIGURE_STYLE,
        )
        if r.stale:
            self.para(
                f"Situation non actualisée en {r.year} : {count(len(r.stale), 'ménage', number=self.count(len(r.stale)))} dont aucun retour {r.year} "
                f"utilisé ne donne la situation ({r.stale_details(self.count)}) ; ils ne sont comptés ni en cours ni bloqués (voir la "
                "première page des annexes de la charte).",
                KEY_FIGURE_STYLE,
            )
        for code, rate in r.year_criteria.items():
            self.para(
                f"{CRITERIA[code]} en {r.year} : {self.rate_text(rate.numerator, rate.denominator)} "
                f"(cible de la charte {frformat.target(rate.target)}).",
                "List Bullet",
            )
        self.para(
            "Les ménages relogés dans le cadre du NPNRU comptent avec le 1er quartile au numérateur de l'objectif 1 "
            "(colonne « Relogé NPNRU » de la feuille Attributions, quelle que soit la catégorie). "
            "Le bilan annuel des relogements à valider par la commission de coordination, les dossiers bloqués et le "
            f"suivi de chaque ménage figurent dans les annexes de la charte de relogement ({annexes_docx_name(r.year, self.diffusion)})."
        )
        self.commentary("relogement", "Relogements NPNRU")

    def actions(self) -> None:
        """The convention's actions that report indicators (`convention.actions`): per action, its
        title and the sentence that introduces them, then one line per indicator; their tables
        are in the annexes."""
        shown = [a for a in self.c.actions if a.indicators]
        if not shown:
            return
        self.heading(ACTIONS_TITLE)
        first: dict[str, Action] = {}  # indicator → the action it was shown with
        for action in shown:
            lead = self.para()
            lead.paragraph_format.keep_with_next = True
            lead.add_run(f"{action.name} – {action.title}.").bold = True
            if action.indicators_text:
                lead.add_run(f" {action.indicators_text}")
            again: dict[int, list[str]] = {}
            for key in action.indicators:
                if key in first:  # said once, then pointed at
                    again.setdefault(first[key].number, []).append(ACTION_INDICATORS[key])
                    continue
                line = self.indicator_line(key)
                if line:
                    first[key] = action
                    self.para(line, "List Bullet")
            if again:
                where = " ; ".join(f"{join(names)}, avec l'action {n}" for n, names in again.items())
                self.para(f"Voir aussi plus haut : {where}.", "List Bullet")
        if any(k in a.indicators for a in shown for k in ("publics_qpv", "refus", "vacance", "mutations")):
            self.para("Le détail par bailleur figure en annexe (tableaux détaillés).", NOTE_STYLE)
        self.commentary("actions", ACTIONS_TITLE)

    def indicator_line(self, key: str) -> str | None:
        """One indicator of an action (convention.ACTION_INDICATORS) as a line of the bilan."""
        z = zone_words(self.c)

        def pct(value):
            return self.cell_text("rate", value)

        if key in OBJECTIVE_SHORT:
            rate = self.b.objectives[key][TERRITORY]
            name = _lower_first(self.b.objective_names.get(key, OBJECTIVE_SHORT[key]))
            return (
                f"Objectif {OBJECTIVE_NUMBERS[key]} ({name}) : {self.rate_text(rate.numerator, rate.denominator)} "
                f"sur le territoire pour une cible de {frformat.target(rate.target)} (objectif {rate.status})."
            )
        if key == "dalo":
            t = self.b.table("dalo").rows[-1]
            return f"Ménages reconnus DALO ayant signé un bail : {self.rate_text(t['hors_qpv'], t['dalo'])} hors QPV."
        if key == "publics_qpv":
            inside, outside = self.table_data("publics_qpv").rows[:2]
            return (
                f"Profil des ménages des attributions prononcées {z.inside} : {pct(inside['jeunes_part'])} de jeunes "
                f"ménages (hors QPV : {pct(outside['jeunes_part'])}), {pct(inside['familles_part'])} de familles avec "
                f"enfant (hors QPV : {pct(outside['familles_part'])}), {pct(inside['emploi_part'])} de ménages en emploi "
                f"(hors QPV : {pct(outside['emploi_part'])})."
            )
        if key == "refus":
            refus = self.table_data("refus").rows[-1]
            return (
                f"Refus des ménages : {pct(refus['qpv_taux'])} des attributions prononcées {z.inside_short}, "
                f"{pct(refus['hors_taux'])} hors QPV."
            )
        if key == "vacance":
            if not self.b.table("vacance").rows:
                return "Vacance : aucune feuille Patrimoine reçue."
            vacancy = self.table_data("vacance").rows[-1]
            return (
                f"Vacance au 31 décembre : {pct(vacancy['taux'])} du parc des bailleurs, {pct(vacancy['qpv_taux'])} "
                f"{z.inside_short} ; vacance de plus de 3 mois : {pct(vacancy['taux_3_mois'])}."
            )
        if key in ("tension", "typologies"):
            return report_demand.indicator_line(self, key)
        if key == "mutations":
            return (
                f"Mutations internes : {pct(self.table_data('mutations').rows[-1]['taux'])} des baux signés."
            )
        line = report_attention.indicator_line(self, key)
        if line is not None:
            return line
        r = self.b.rehousing
        if r is None:
            return None
        from cia_workbook.consolidate.rehousing import CRITERIA
        from cia_workbook.render.names import annexes_docx_name

        annexes = annexes_docx_name(r.year, self.diffusion)
        t = r.total
        if key == "criteres_relogement":
            parts = [
                f"{_lower_first(CRITERIA[code])}, {self.rate_text(rate.numerator, rate.denominator)} "
                f"(cible {frformat.target(rate.target)})"
                for code, rate in r.year_criteria.items()
            ]
            return f"Critères de qualité de la charte en {r.year} : {' ; '.join(parts)}." if parts else None
        if key == "bilan_relogements":
            return (
                f"Bilan annuel des relogements {r.year} : {self.count(t.rehoused_in_year)} relogés définitivement dans "
                f"l'année, {self.count(t.rehoused)} depuis {r.first_year} sur {frformat.integer(t.planned)} à reloger ; "
                f"à valider par la commission de coordination (annexes de la charte, {annexes})."
            )
        if key == "dossiers_bloques":
            return (
                f"Dossiers bloqués au 31 décembre {r.year} : {self.count(t.blocked)}, examinés par la commission de "
                f"coordination (annexe 2 des annexes de la charte)."
            )
        return None

    def trend(self) -> None:
        title = f"Évolution depuis {self.c.info.first_year}"
        self.heading(title)
        data = self.table_data("evolution")
        rows = []
        for r in data.rows:
            year = int(r["annee"])
            label = r["annee"]
            if year in self.b.test_years:
                label += " (année test)"
            elif year == self.b.midterm_year:
                label += " (mi-parcours)"
            row = {"annee": label}
            for short in SHORTS.values():
                row[short] = (
                    f"{self.cell_text('rate', r[f'{short}_taux'])} (cible {self.cell_text('target', r[f'{short}_cible'])})"
                )
            # What each year's rates rest on: an excluded or missing return is in none of them.
            row["retours"], row["non_utilises"] = r["retours"], r["non_utilises"]
            rows.append(row)
        compact = IndicatorTable(
            "evolution",
            "evolution",
            f"Taux du territoire par année depuis {self.c.info.first_year}",
            [Col("annee", "Année", "text")]
            + [Col(short, f"Objectif {_n(short)}", "text") for short in SHORTS.values()]
            + [data.column("retours"), data.column("non_utilises")],
            rows,
            note=data.note,
        )
        self.table(compact, chart=False)
        self.picture("evolution")
        self.commentary("evolution", title)

    def quality(self) -> None:
        b = self.b
        self.heading("Qualité des données et retours")
        n_b = len([e for e in b.register if e.kind == "bailleur"])
        n_r = len([e for e in b.register if e.kind == "reservataire"])
        territory = self.b.table("qualite").rows[-1]
        lines = [
            f"Retours utilisés : {n_b} bailleurs sur {len(self.c.bailleurs)}, {n_r} réservataires sur "
            f"{len(self.c.reservataires)}.",
        ]
        for e in b.excluded:
            lines.append(
                f"{e.partner} : retour exclu ({count(e.errors, 'erreur')} à corriger), ses attributions ne sont "
                "comptées nulle part ; le partenaire doit corriger son fichier et le renvoyer."
            )
        for name in b.missing:
            lines.append(f"{name} : aucun retour reçu.")
        lines.append(
            f"{_capitalize(count(territory['lignes'], 'ligne d’attribution', 'lignes d’attribution'))} utilisées, "
            f"dont {frformat.integer(territory['dans_annee'])} avec une décision ou un bail dans l'année ; quartile "
            f"inconnu : {self.cell_text('rate', territory['part_inconnu'])} des lignes de l'année."
        )
        for line in lines:
            self.para(line, "List Bullet")
        if not self.public:
            self.para("Le détail de chaque retour figure dans l'annexe « Retours reçus ».", NOTE_STYLE)
        self.commentary("qualite", "Qualité des données et retours")

    # Annexes ------------------------------------------------------------------------------

    def annex_heading(self, title: str, landscape: bool = False) -> None:
        self.annex_count += 1
        if self.annex_count == 1 and not landscape:
            self.page_break()
        self.heading(f"Annexe {self.annex_count} : {title}", landscape=landscape)

    def annexes(self) -> None:
        self.method()
        self.detail_tables()
        communes = self.table_data("communes")
        self.annex_heading("attributions par commune", landscape=not self.fits(communes, False))
        self.table(communes)
        if not self.public:
            self.cross_check()
            self.returns()

    def detail_tables(self) -> None:
        keys = [
            "prioritaires_contingents",
            "reservataires",
            "publics_qpv",
            "refus",
            "vacance",
            "mutations",
            "qualite",
            "evolution",
        ]
        tables = [self.table_data(k) for k in keys]
        tables = [t for t in tables if t.rows]
        portrait = [t for t in tables if self.fits(t, False)]
        wide = [t for t in tables if t not in portrait]
        self.annex_heading("tableaux détaillés", landscape=bool(wide) and not portrait)
        for t in portrait:
            self.table(t, chart=False)
        if wide:
            self.orient(True)
            for t in wide:
                self.table(t, chart=False)

    def cross_check(self) -> None:
        data = self.table_data("reservataires_ecarts")
        self.annex_heading("contrôle croisé des réservataires", landscape=not self.fits(data, False))
        self.table(data, chart=False)
        if self.b.cross_findings:
            self.para("Écarts signalés au contrôle des retours, à examiner en commission :")
            for text in self.b.cross_findings:
                self.para(text, "List Bullet")
        else:
            self.para("Aucun écart signalé.")

    def returns(self) -> None:
        """One line per partner: what was received, what was used (restricted version only)."""
        b = self.b
        kinds = {
            "bailleur": "Bailleur",
            "reservataire": "Réservataire",
            "operateur": "Opérateur de relogement",
        }
        rows = []
        used = {e.partner_id: e for e in b.register}
        excluded = {e.partner_id: e for e in b.excluded}
        for p in self.c.partners:
            if p.id in used:
                e = used[p.id]
                state = "utilisé" + (f" (version {e.version} reçue)" if e.version > 1 else "")
                detail = f"{count(e.rows, 'ligne')} ; " + (
                    f"{count(e.warnings, 'avertissement')} transmis au partenaire"
                    if e.warnings
                    else "aucun avertissement"
                )
                rows.append(
                    {
                        "partenaire": p.name,
                        "type": kinds[p.kind],
                        "etat": state,
                        "fichier": e.file,
                        "date": e.date,
                        "detail": detail,
                    }
                )
            elif p.id in excluded:
                e = excluded[p.id]
                detail = f"{count(e.errors, 'erreur')} à corriger" + (
                    f" : {join(e.problems)}" if e.problems else ""
                )
                rows.append(
                    {
                        "partenaire": p.name,
                        "type": kinds[p.kind],
                        "etat": "exclu pour erreurs",
                        "fichier": e.file,
                        "date": e.date,
                        "detail": detail,
                    }
                )
            else:
                rows.append(
                    {
                        "partenaire": p.name,
                        "type": kinds[p.kind],
                        "etat": "sans retour",
                        "fichier": "–",
                        "date": None,
                        "detail": "à relancer",
                    }
                )
        table = IndicatorTable(
            "retours",
            "annexes",
            "Retours reçus par partenaire",
            [
                Col("partenaire", "Partenaire", "text"),
                Col("type", "Type", "text"),
                Col("etat", "Retour", "text"),
                Col("fichier", "Fichier", "text"),
                Col("date", "Date de réponse", "date"),
                Col("detail", "Contenu et constats", "text"),
            ],
            rows,
            note="Le détail des constats (feuille, cellule, correction à faire) figure dans le classeur de contrôle "
            "de l'agent et dans la copie annotée renvoyée à chaque partenaire.",
        )
        self.annex_heading("retours reçus", landscape=not self.fits(table, False))
        self.table(table, chart=False)

    def method(self) -> None:
        b, z = self.b, zone_words(self.c)
        self.annex_heading("méthode")
        self.heading("Définitions", 2)
        self.para(
            "Un ménage entre dans les chiffres de l'année par la date qui compte pour chaque objectif : la date du bail "
            "pour les objectifs portant sur les baux signés, la date de la décision de CAL pour l'objectif portant sur "
            "les attributions prononcées."
        )
        for code in OBJECTIVE_SHORT:
            self.para(
                f"Objectif {OBJECTIVE_NUMBERS[code]} : " + self.b.table(f"objectif_{code}").note,
                "List Bullet",
            )
        order = ", ".join(
            f"{i}. {c.label}" for i, c in enumerate(self.c.priority_categories, 1) if c.priority
        )
        self.para(
            f"Un ménage relevant de plusieurs catégories prioritaires est compté une fois, dans la plus haute : {order}."
        )
        self.para(
            f"Jeune ménage : titulaire de moins de {YOUNG_AGE} ans. Famille : ménage avec au moins un enfant de moins de 14 ans. "
            "Refus : suite « refus du ménage » parmi les décisions de CAL de l'année."
        )
        self.heading("Géographie et seuils", 2)
        self.para(f"Géographie prioritaire appliquée en {b.year} : {b.geography}.")
        if z.names:
            self.para(
                f"Traité comme un QPV pour les deux objectifs de quartile (sans être un QPV) : {z.names}."
            )
        t = b.thresholds
        if t is None:
            self.para(
                f"Seuils de quartile {b.year} : seuils inconnus (absents du fichier de convention) ; les quartiles déclarés "
                "par les bailleurs sont utilisés sans contrôle de cohérence avec les ressources."
            )
        else:
            parts = [f"1er quartile ≤ {frformat.euros(t.q1)}"]
            if t.q2 is not None:
                parts.append(f"2e ≤ {frformat.euros(t.q2)}")
            if t.q3 is not None:
                parts.append(f"3e ≤ {frformat.euros(t.q3)}")
            self.para(
                f"Seuils de quartile {b.year} (par unité de consommation et par an) : {', '.join(parts)}"
                + (f" – source : {t.source}" if t.source else "")
                + "."
            )
        for y in b.trend:
            if y.year != b.year:
                self.para(
                    f"{y.year} : {y.geography} ; "
                    + ("seuils de quartile connus." if y.thresholds_known else "seuils inconnus."),
                    "List Bullet",
                )
        uc = self.c.uc_scale
        self.para(
            f"Unités de consommation (échelle OCDE modifiée) : {frformat.decimal(uc.first_adult)} pour le premier adulte, "
            f"{frformat.decimal(uc.other_14_plus)} par autre personne de 14 ans ou plus, "
            f"{frformat.decimal(uc.child_under_14)} par enfant de moins de 14 ans."
        )
        self.heading("Secret statistique", 2)
        small = SMALL.format(threshold=self.threshold)
        self.para(
            f"Dans la version publique, aucun groupe de moins de {self.threshold} ménages n'est décrit. Un taux (et son "
            f"appréciation) n'est publié que si son univers compte au moins {self.threshold} ménages ; le nombre de "
            "ménages visés n'est pas écrit à côté du taux. Les partenaires dont l'univers est plus petit sont "
            "regroupés sur une ligne « Autres bailleurs, regroupés » (ou « Autres réservataires, regroupés ») ; un "
            "groupe d'un seul partenaire est complété par le plus petit des autres, et un groupe compte au moins "
            f"{self.threshold} ménages : ni le groupe ni la ligne du territoire moins les partenaires publiés ne "
            f"permettent de retrouver un partenaire. Leurs cases disent « {SECRET} ». Dans les autres tableaux, tout "
            f"effectif de moins de {self.threshold} ménages (zéro excepté) est remplacé par « {small} », et l'effectif non nul le plus "
            f"petit de la même ligne (parts d'un total) ou de la même colonne (lignes dont la somme figure en total) par "
            f"« {SECRET} », pour qu'un effectif masqué ne puisse pas être retrouvé par différence. Les petits nombres "
            "de logements vacants sont traités de la même façon. Le contrôle croisé des réservataires et le détail des "
            "retours ne sont pas publiés."
            + (
                " Cette version est la version publique."
                if self.public
                else " Cette version de travail n'applique pas ces règles."
            )
        )
        if self.caution:
            self.para(
                f"Une appréciation portant sur moins de {self.caution} ménages est à interpréter avec prudence : un ou "
                "deux ménages suffisent à la faire changer."
            )


def _n(short: str) -> int:
    return next(OBJECTIVE_NUMBERS[c] for c, s in SHORTS.items() if s == short)


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


# -- Column widths ---------------------------------------------------------------------------


def fit_columns(cols: list[Col], texts: list[list[str]], available: float, size: float) -> list[float] | None:
    """Column widths in points from the text they hold, or None when the table cannot fit.

    A column is never narrower than its longest word (header words in bold): no word is broken
    inside (« Propositio|n »). Headers may wrap to three lines; figures ask for their full
    width; the space left is shared in proportion to what each column would still like.
    """
    need, want = _column_needs(cols, texts, size)
    if sum(need) > available:
        return None
    if sum(want) <= available:
        extra = available - sum(want)
        total = sum(want)
        return [w + extra * w / total for w in want]
    share = (available - sum(need)) / (sum(want) - sum(need))
    return [n + (w - n) * share for n, w in zip(need, want, strict=True)]


def squeeze_columns(cols: list[Col], texts: list[list[str]], available: float, size: float) -> list[float]:
    """Last resort: the needed widths scaled down to the page (long words may then break)."""
    need, _ = _column_needs(cols, texts, size)
    return [n * available / sum(need) for n in need]


def _column_needs(cols: list[Col], texts: list[list[str]], size: float) -> tuple[list[float], list[float]]:
    need, want = [], []
    for j, col in enumerate(cols):
        # Measured as printed: French spacing glues « : » and « % » to the word before them.
        label = fr(col.label)
        header_word = longest_word_width(label, size, bold=True)
        header_full = text_width(label, size, bold=True)
        body = [fr(row[j]) for row in texts]
        body_word = max((longest_word_width(t, size) for t in body), default=0.0)
        body_full = max((text_width(t, size) for t in body), default=0.0)
        n = max(header_word, body_word) + CELL_PADDING_PT
        cap = 150.0 if col.kind == "text" else 80.0  # a long label wraps rather than widening its column
        w = max(n, min(max(body_full, header_full / 3), cap) + CELL_PADDING_PT)
        need.append(n)
        want.append(w)
    return need, want


# -- XML helpers -----------------------------------------------------------------------------


def _typeset(doc) -> None:
    """French spacing on every text of the document (body, tables, headers, footers), one
    paragraph at a time so that a space at the end of one run before « : » in the next is
    mended too."""
    parts = [doc.element.body]
    for section in doc.sections:
        for part in (section.header, section.footer):
            if not part.is_linked_to_previous:
                parts.append(part._element)
    seen = set()
    for part in parts:
        if id(part) in seen:
            continue
        seen.add(id(part))
        for p in part.iter(qn("w:p")):
            texts = [t for t in p.iter(qn("w:t")) if t.text]
            for t in texts:
                t.text = fr(t.text)
            for a, b in zip(texts, texts[1:], strict=False):
                if a.text.endswith(" ") and b.text[:1] in ":»":
                    a.text = a.text[:-1] + NBSP
                elif a.text.endswith(" ") and b.text[:1] in ";!?%":
                    a.text = a.text[:-1] + ("\u202f" if b.text[0] != "%" else NBSP)
                elif a.text.endswith("«") and b.text[:1] == " ":
                    b.text = NBSP + b.text[1:]


def _fill_fields(p, fields: dict[str, str]) -> None:
    """Replace {name} in a paragraph whose text may be split across runs (Word splits runs
    where it likes): the value goes in the run where the field starts."""
    texts = [t for t in p.iter(qn("w:t"))]
    whole = "".join(t.text or "" for t in texts)
    matches = [m for m in _FIELD.finditer(whole) if m.group(1) in fields]
    if not matches:
        return
    bounds, pos = [], 0
    for t in texts:
        bounds.append((pos, pos + len(t.text or "")))
        pos += len(t.text or "")
    new = [list(t.text or "") for t in texts]
    for m in reversed(matches):
        start, end = m.span()
        for k, (a, b) in enumerate(bounds):
            lo, hi = max(start, a), min(end, b)
            if lo >= hi:
                continue
            chars = new[k]
            replacement = fields[m.group(1)] if a <= start < b else ""
            chars[lo - a : hi - a] = list(replacement)
    for t, chars in zip(texts, new, strict=True):
        t.text = "".join(chars)
        t.set(qn("xml:space"), "preserve")


def _shade(cell, fill: str | None) -> None:
    if not fill:
        return
    tc_pr = cell._tc.get_or_add_tcPr()
    for old in tc_pr.findall(qn("w:shd")):
        tc_pr.remove(old)
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tc_pr.append(shd)


def _style_fill(style) -> str | None:
    """The background colour a paragraph style of the template gives (its shading)."""
    ppr = style.element.pPr
    shd = ppr.find(qn("w:shd")) if ppr is not None else None
    return shd.get(qn("w:fill")) if shd is not None else None


def _keep_with_next(cell) -> None:
    for p in cell.paragraphs:
        p.paragraph_format.keep_with_next = True


def _run_props(run, size: float | None, bold: bool) -> None:
    rpr = OxmlElement("w:rPr")
    if bold:
        rpr.append(OxmlElement("w:b"))
    if size is not None:
        sz = OxmlElement("w:sz")
        sz.set(qn("w:val"), str(round(2 * size)))
        rpr.append(sz)
    run.insert(0, rpr)


def _small_font(run, size: float = SMALL_TABLE_FONT_PT) -> None:
    """A table too wide for its page is set one point smaller than the table style."""
    rpr = run.find(qn("w:rPr"))
    if rpr is None:
        rpr = OxmlElement("w:rPr")
        run.insert(0, rpr)
    sz = OxmlElement("w:sz")
    sz.set(qn("w:val"), str(round(2 * size)))
    rpr.append(sz)


def _number(value: Any) -> float | None:
    """A figure for a chart; masked cells (text) are not drawn."""
    return value if isinstance(value, int | float) else None


def _masked(value: Any) -> str | None:
    """What a chart shows instead of the bar of a cell hidden by statistical secrecy (text)."""
    return "secret statistique" if isinstance(value, str) else None


def _repeat_header(row) -> None:
    """Repeat the header row at the top of each page the table runs over (w:tblHeader)."""
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


def _cant_split(tr) -> None:
    """A row is never split across two pages (w:cantSplit)."""
    tr_pr = tr.get_or_add_trPr()
    el = OxmlElement("w:cantSplit")
    el.set(qn("w:val"), "true")
    tr_pr.insert(0, el)


def _field(paragraph, instruction: str, placeholder: str) -> None:
    """A complex field (PAGE, NUMPAGES) computed by Word or LibreOffice when rendered."""

    def fld(kind: str):
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        return el

    paragraph.add_run()._r.append(fld("begin"))
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    paragraph.add_run()._r.append(instr)
    paragraph.add_run()._r.append(fld("separate"))
    paragraph.add_run(placeholder)
    paragraph.add_run()._r.append(fld("end"))
