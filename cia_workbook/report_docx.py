"""Rendering stage: the bilan's data (`consolidate.Bilan`) laid out as the Word bilan of the year.

The document starts from the packaged template `data/bilan-template.docx` (made by
`scripts/make_docx_template.py`), which carries every style; this module only places content
and names styles. Two audiences: "restreinte" (the coordination commission's working document,
full detail) and "publique" (small counts masked, restricted detail left out).
"""

from __future__ import annotations

import copy
import datetime as dt
import io
from importlib import resources
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm
from docx.text.paragraph import Paragraph

from cia_workbook import frformat
from cia_workbook.consolidate import (
    MET,
    NOT_MET,
    OBJECTIVE_SHORT,
    SECRET,
    SMALL,
    TERRITORY,
    YOUNG_AGE,
    Bilan,
    IndicatorTable,
)
from cia_workbook.convention import Convention
from cia_workbook.fileio import write_atomic

TEMPLATE = "bilan-template.docx"
WIDE_TABLE_COLUMNS = 10  # beyond this many columns, a table is set in WIDE_TABLE_FONT_PT
WIDE_TABLE_FONT_PT = 7
# Style names defined by scripts/make_docx_template.py.
TABLE_STYLE = "Tableau CIA"
MARKING_STYLE = "Marquage diffusion"
NOTE_STYLE = "Note de tableau"
KEY_FIGURE_STYLE = "Chiffre clé"

DIFFUSIONS = ("restreinte", "publique")
MARKING = {
    "restreinte": "Document de travail – diffusion restreinte à la commission de coordination",
    "publique": "Document public – les effectifs inférieurs à {threshold} ménages sont masqués (secret statistique)",
}
HEADER = {
    "restreinte": "Diffusion restreinte – commission de coordination",
    "publique": "Document public",
}
OBJECTIVE_SECTIONS = {
    "hors_qpv_q1": "Objectif 1 : attributions hors QPV au 1er quartile",
    "qpv_q234": "Objectif 2 : attributions en QPV aux quartiles 2, 3 et 4",
    "publics_prioritaires": "Objectif 3 : publics prioritaires",
}


def write_bilan_docx(convention: Convention, bilan: Bilan, path: Path, diffusion: str = "restreinte") -> Path:
    """Write the Word bilan of `bilan.year` for one audience ("restreinte" | "publique")."""
    if diffusion not in DIFFUSIONS:
        raise ValueError(f"Diffusion inconnue : {diffusion!r} (restreinte ou publique).")
    doc = _BilanDocument(convention, bilan, diffusion).build()
    return write_atomic(Path(path), lambda tmp: doc.save(str(tmp)))


def template_path():
    return resources.files("cia_workbook.data").joinpath(TEMPLATE)


class _BilanDocument:
    def __init__(self, convention: Convention, bilan: Bilan, diffusion: str):
        self.c = convention
        self.b = bilan
        self.public = diffusion == "publique"
        self.diffusion = diffusion
        self.threshold = convention.campaign.secrecy_threshold
        self.doc = None  # opened in build(), once the charts are being drawn
        self.landscape = False
        self.n_tables = 0
        self.placeholders: list[tuple[Any, str, Any]] = []
        self.outline: list[tuple[int, str]] = []  # headings shown in the table of contents
        self.toc_paragraph = None

    # -- Building blocks -------------------------------------------------------------------

    def table_data(self, key: str) -> IndicatorTable:
        table = self.b.table(key)
        return table.masked(self.threshold) if self.public else table

    def count(self, n: int) -> str:
        """A household count in running text, masked like the tables in the public bilan."""
        if self.public and 1 <= n < self.threshold:
            return SMALL.format(threshold=self.threshold)
        return frformat.integer(n)

    def rate_text(self, num: int, den: int) -> str:
        small = self.public and any(1 <= v < self.threshold for v in (num, den))
        return SECRET if small else frformat.percent(num / den if den else None)

    def para(self, text: str = "", style: str | None = None):
        return self.doc.add_paragraph(text, style=style)

    def heading(self, text: str, level: int = 1, landscape: bool = False):
        self.orient(landscape)
        if level <= 2:
            self.outline.append((level, text))
        return self.doc.add_heading(text, level)

    def orient(self, landscape: bool) -> None:
        """Start a new section when the orientation changes (wide tables go landscape)."""
        if landscape == self.landscape:
            return
        section = self.doc.add_section(WD_SECTION.NEW_PAGE)
        section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
        width, height = section.page_width, section.page_height
        if (width < height) == landscape:
            section.page_width, section.page_height = height, width
        self.landscape = landscape

    def page_break(self) -> None:
        self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    def cell_text(self, kind: str, value: Any) -> str:
        if isinstance(value, str) and kind != "text":
            return value  # masked (« < 11 », « secret ») or already worded
        if value is None:
            return "–"
        if kind == "count" or kind == "number":
            return frformat.integer(value)
        if kind == "rate":
            return frformat.percent(value)
        if kind == "target":
            return frformat.target(value * 100)
        if kind == "date":
            return frformat.date(value)
        return str(value)

    def table(self, table: IndicatorTable, chart: bool = True) -> None:
        self.n_tables += 1
        self.para(f"Tableau {self.n_tables} – {table.title}", "Caption")
        cols = [c for c in table.columns if c.visible]
        if not table.rows:
            self.para("Aucune ligne.", NOTE_STYLE)
            return
        grid = self.doc.add_table(rows=1, cols=len(cols))
        grid.style = self.doc.styles[TABLE_STYLE]
        grid.alignment = WD_TABLE_ALIGNMENT.CENTER
        grid.autofit = False
        widths = self.column_widths(cols)
        for column, width in zip(grid.columns, widths, strict=True):
            column.width = width
        header = grid.rows[0]
        _repeat_header(header)
        small = len(cols) > WIDE_TABLE_COLUMNS
        for cell, col, width in zip(header.cells, cols, widths, strict=True):
            cell.text = col.label
            cell.width = width
            if small:
                _small_font(cell.paragraphs[0].runs[0]._r)
        # One prototype row (widths, right-aligned figures) copied for every data row: python-docx
        # builds each cell through many small objects, the copy is several times faster.
        proto = grid.add_row()
        for cell, col, width in zip(proto.cells, cols, widths, strict=True):
            cell.width = width
            if col.kind not in ("text", "status"):
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
        proto_tr = proto._tr
        proto_tr.getparent().remove(proto_tr)
        tbl = grid._tbl
        for row in table.rows:
            tr = copy.deepcopy(proto_tr)
            for p, col in zip(tr.iter(qn("w:p")), cols, strict=True):
                run = OxmlElement("w:r")
                text = OxmlElement("w:t")
                text.set(qn("xml:space"), "preserve")
                text.text = self.cell_text(col.kind, row.get(col.key))
                if small:
                    _small_font(run)
                run.append(text)
                p.append(run)
            tbl.append(tr)
        if table.note:
            self.para(table.note, NOTE_STYLE)
        if chart and table.chart:
            self.rate_chart(table)

    def column_widths(self, cols: list) -> list[int]:
        """Label columns get room for a partner's or a quartier's name; figures share the rest."""
        section = self.doc.sections[-1]
        available = section.page_width - section.left_margin - section.right_margin
        n = len(cols)
        if n <= 3 or cols[0].kind != "text":
            return [int(available / n)] * n
        # The first column names the row (bailleur, quartier, commune): it gets up to 4.5 cm.
        first = max(min(int(available * (0.3 if n <= 8 else 0.16)), int(Cm(4.5))), int(available / n))
        other = int((available - first) / (n - 1))
        return [first] + [other] * (n - 1)

    def rate_chart(self, table: IndicatorTable) -> None:
        self.picture(table.key)

    def picture(self, key: str) -> None:
        """Leave a centred paragraph for the chart `key`; it is filled once the charts are drawn."""
        paragraph = self.para()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        self.placeholders.append((paragraph, key, Cm(20) if self.landscape else Cm(16)))

    def chart_specs(self) -> dict[str, Any]:
        """Every chart of the document, known before the layout so that drawing starts at once."""
        from cia_workbook.charts import Spec

        specs = {}
        for table in self.b.tables:
            if not table.chart:
                continue
            data = self.table_data(table.key)
            rate_key, target_key = table.chart
            label_key = table.columns[0].key
            labels = [str(r[label_key]) for r in data.rows]
            rates = [_number(r.get(rate_key)) for r in data.rows]
            targets = [_number(r.get(target_key)) if target_key else None for r in data.rows]
            masked = [_masked(r.get(rate_key)) for r in data.rows]
            specs[table.key] = Spec(
                "rate_bars", (table.chart_title or table.title, labels, rates, targets, masked)
            )
        trend = self.table_data("evolution")
        series, targets = {}, {}
        for short, code in (("hq", "hors_qpv_q1"), ("qpv", "qpv_q234"), ("pp", "publics_prioritaires")):
            label = OBJECTIVE_SHORT[code].split(",")[0]
            series[label] = [_number(r[f"{short}_taux"]) for r in trend.rows]
            targets[label] = [_number(r[f"{short}_cible"]) for r in trend.rows]
        years = [t.year for t in self.b.trend]
        specs["evolution"] = Spec(
            "trend_lines", ("Taux du territoire par année et cibles", years, series, targets)
        )
        return specs

    def insert_charts(self, charts: dict[str, Any]) -> None:
        for n, (paragraph, key, width) in enumerate(self.placeholders, start=1):
            chart = charts[key]
            shape = paragraph.add_run().add_picture(io.BytesIO(chart.png), width=width)
            doc_pr = shape._inline.docPr
            doc_pr.set("descr", chart.alt)
            doc_pr.set("title", f"Graphique {n}")

    # -- The document ----------------------------------------------------------------------

    def build(self):
        """Open the styled template, lay out the body while the charts are drawn, insert them."""
        from cia_workbook import charts

        specs = self.chart_specs()
        drawn = charts.start_rendering(list(specs.values()))
        with resources.as_file(template_path()) as path:
            self.doc = Document(str(path))
        _update_fields_on_open(self.doc)
        self.footer_and_header()
        self.cover()
        self.body()
        self.finish_contents()
        self.insert_charts(dict(zip(specs, drawn(), strict=True)))
        return self.doc

    def body(self) -> None:
        self.contents()
        self.summary()
        self.objectives()
        for code in OBJECTIVE_SHORT:
            self.objective_section(code)
        self.dalo()
        self.rehousing()
        self.zooms()
        self.actions()
        self.reservataires()
        self.trend()
        self.quality()
        self.method()
        self.annexes()

    def footer_text(self) -> str:
        return f"{self.b.epci} – bilan {self.b.year} de la CIA"

    def footer_and_header(self) -> None:
        section = self.doc.sections[0]
        footer = section.footer.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
        footer.add_run(f"{self.footer_text()} – page ")
        _field(footer, "PAGE", "1")
        footer.add_run(" sur ")
        _field(footer, "NUMPAGES", "1")
        header = section.header.paragraphs[0]
        header.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        header.text = HEADER[self.diffusion]

    def cover(self) -> None:
        self.para(self.b.epci, "Subtitle")
        self.para(f"Bilan {self.b.year} de la convention intercommunale d'attribution", "Title")
        self.para(self.b.convention_title, "Subtitle")
        self.para(f"Année évaluée : {self.b.year}")
        if self.b.test_year:
            self.para(
                f"{self.b.year} est une année test de la convention : les objectifs y sont évalués sans être opposables."
            )
        self.para(f"Document établi le {frformat.date(dt.date.today())} avec cia-workbook.")
        self.para(MARKING[self.diffusion].format(threshold=self.threshold), MARKING_STYLE)
        self.page_break()

    def contents(self) -> None:
        self.para("Sommaire", "TOC Heading")
        paragraph = self.para()
        _field(
            paragraph,
            'TOC \\o "1-2" \\h \\z \\u',
            "Sommaire : mettez à jour les champs (F9) pour l'afficher.",
        )
        self.toc_paragraph = paragraph
        self.page_break()

    def finish_contents(self) -> None:
        """Write the headings as the table of contents' current result.

        Word recomputes the field (with page numbers) when the file opens; a reader that does not
        update fields (LibreOffice's PDF export, a previewer) still shows the outline.
        """
        if self.toc_paragraph is None or not self.outline:
            return
        p = self.toc_paragraph._p
        runs = p.findall(qn("w:r"))
        placeholder, end = runs[-2], runs[-1]
        p.remove(end)
        placeholder.find(qn("w:t")).text = self.outline[0][1]
        previous = p
        for level, text in self.outline[1:]:
            new = OxmlElement("w:p")
            previous.addnext(new)
            entry = Paragraph(new, self.toc_paragraph._parent)
            entry.add_run(text)
            entry.paragraph_format.left_indent = Cm(0.7 * (level - 1))
            entry.paragraph_format.space_after = 0
            previous = new
        previous.append(end)

    def summary(self) -> None:
        b = self.b
        self.heading("Synthèse")
        bailleurs = self.c.bailleurs
        used = [e for e in b.register if e.kind == "bailleur"]
        res_used = [e for e in b.register if e.kind == "reservataire"]
        lines = [
            f"Retours utilisés : {len(used)} bailleurs sur {len(bailleurs)}, "
            f"{len(res_used)} réservataires sur {len(self.c.reservataires)}."
        ]
        if b.excluded:
            lines.append("Retours exclus pour erreurs : " + ", ".join(e.partner for e in b.excluded) + ".")
        if b.missing:
            lines.append("Partenaires sans retour : " + ", ".join(b.missing) + ".")
        for code in OBJECTIVE_SHORT:
            rate = b.objectives[code][TERRITORY]
            lines.append(
                f"{OBJECTIVE_SHORT[code]} : {self.rate_text(rate.numerator, rate.denominator)} sur le territoire "
                f"({self.count(rate.numerator)} ménages sur {self.count(rate.denominator)}) pour une cible de "
                f"{frformat.target(rate.target)} – objectif {rate.status}."
            )
        for line in lines:
            self.para(line, KEY_FIGURE_STYLE)
        self.table(self.table_data("synthese"))
        met = sum(
            self.b.objectives[code][s].status == MET
            for code in OBJECTIVE_SHORT
            for s in self.b.objectives[code]
            if s != TERRITORY
        )
        missed = sum(
            self.b.objectives[code][s].status == NOT_MET
            for code in OBJECTIVE_SHORT
            for s in self.b.objectives[code]
            if s != TERRITORY
        )
        self.para(
            f"Appréciation : « atteint » si le taux atteint la cible, « proche » s'il est à moins de "
            f"{frformat.points(self.c.campaign.close_gap_points)} sous la cible, « non atteint » sinon, "
            f"« sans objet » sans attribution dans l'univers. Par bailleur : {met} objectifs atteints et "
            f"{missed} non atteints.",
            NOTE_STYLE,
        )

    def objectives(self) -> None:
        self.heading("Les objectifs de la convention")
        self.para(f"Cibles fixées par la convention pour {self.b.year} :")
        grid = self.doc.add_table(rows=1, cols=3)
        grid.style = self.doc.styles[TABLE_STYLE]
        _repeat_header(grid.rows[0])
        for cell, text in zip(
            grid.rows[0].cells, ("Objectif", "Univers", f"Cible {self.b.year}"), strict=True
        ):
            cell.text = text
        universes = {
            "hors_qpv_q1": "Baux signés dans l'année, logements hors QPV et hors zone locale",
            "qpv_q234": "Attributions prononcées dans l'année, logements en QPV ou en zone locale",
            "publics_prioritaires": "Baux signés dans l'année, sur le contingent propre de chaque bailleur et sur celui de chaque réservataire",
        }
        for code in OBJECTIVE_SHORT:
            cells = grid.add_row().cells
            cells[0].text = self.c.objective(code).label
            cells[1].text = universes[code]
            cells[2].text = frformat.target(self.b.targets[code])
        self.para(
            "Les ménages reconnus DALO sont à reloger de préférence hors QPV ; la convention demande aussi une attention "
            "particulière aux demandeurs d'emploi, aux familles nombreuses, aux personnes handicapées et âgées.",
        )

    def objective_section(self, code: str) -> None:
        rate = self.b.objectives[code][TERRITORY]
        self.heading(OBJECTIVE_SECTIONS[code])
        self.para(
            f"Sur le territoire, {self.count(rate.numerator)} ménages sur {self.count(rate.denominator)}, soit "
            f"{self.rate_text(rate.numerator, rate.denominator)} pour une cible de {frformat.target(rate.target)} "
            f"en {self.b.year} : objectif {rate.status}."
            + (
                f" {self.count(rate.unknown)} ménages de l'univers ont un quartile inconnu : ils restent au dénominateur."
                if code != "publics_prioritaires"
                else ""
            )
        )
        self.table(self.table_data(f"objectif_{code}"))
        if code == "publics_prioritaires":
            self.heading(
                "Publics prioritaires par contingent",
                2,
                landscape=self.table_data("prioritaires_contingents").wide,
            )
            self.table(self.table_data("prioritaires_contingents"))
            self.orient(False)

    def dalo(self) -> None:
        self.heading("Ménages reconnus DALO")
        self.table(self.table_data("dalo"))

    def rehousing(self) -> None:
        """Headline figures of the NPNRU rehousing; the detail is in the charter's annexes."""
        r = self.b.rehousing
        if r is None:
            return
        from cia_workbook.relogement import CRITERIA
        from cia_workbook.report_annexes import annexes_docx_name

        t = r.total
        self.heading("Relogements NPNRU (charte de relogement)")
        self.para(
            f"Relogés définitivement en {r.year} : {self.count(t.rehoused_in_year)} ménages ; depuis {r.first_year} : "
            f"{self.count(t.rehoused)} sur {frformat.integer(t.planned)} à reloger "
            f"({self.rate_text(t.rehoused, t.planned)}). En cours : {self.count(t.in_progress)}, dont "
            f"{self.count(t.blocked)} dossiers bloqués.",
            KEY_FIGURE_STYLE,
        )
        for code, rate in r.year_criteria.items():
            self.para(
                f"{CRITERIA[code]} en {r.year} : {self.rate_text(rate.numerator, rate.denominator)} "
                f"(cible de la charte {frformat.target(rate.target)}).",
                "List Bullet",
            )
        self.para(
            "Les ménages relogés dans le cadre du NPNRU comptent avec le 1er quartile au numérateur de l'objectif hors "
            "QPV (catégorie « relogé NPNRU » de la feuille Attributions). Le suivi de chaque ménage, le bilan annuel des "
            "relogements à valider par la commission de coordination et les dossiers bloqués figurent dans les annexes "
            f"de la charte de relogement ({annexes_docx_name(r.year, self.diffusion)})."
        )

    def zooms(self) -> None:
        self.heading("Zooms sur les quartiers prioritaires et les secteurs", landscape=True)
        self.table(self.table_data("zoom_qpv"))
        self.heading("Zooms de la commission de coordination", 2, landscape=True)
        self.table(self.table_data("zooms"))

    def actions(self) -> None:
        self.heading("Actions 3 et 5 : mixité et attractivité des QPV", landscape=True)
        for key in ("publics_qpv", "refus", "vacance", "mutations"):
            self.table(self.table_data(key))

    def reservataires(self) -> None:
        self.heading("Contribution des réservataires", landscape=True)
        self.table(self.table_data("reservataires"))
        if self.public:
            self.para(
                "Le contrôle croisé détaillé entre les déclarations des réservataires et les fichiers des bailleurs "
                "figure dans la version de travail du bilan, examinée par la commission de coordination."
            )
        else:
            self.table(self.table_data("reservataires_ecarts"))
            n = len(self.b.cross_findings)
            self.para(
                f"{frformat.integer(n)} écart(s) par bailleur signalé(s) au contrôle des retours : voir l'annexe 2."
                if n
                else "Aucun écart par bailleur n'a été signalé au contrôle des retours."
            )

    def trend(self) -> None:
        self.heading(f"Évolution depuis {self.c.info.first_year}", landscape=True)
        self.table(self.table_data("evolution"))
        self.picture("evolution")

    def quality(self) -> None:
        self.heading("Qualité des données et retours", landscape=True)
        self.table(self.table_data("qualite"))
        self.table(self.table_data("registre"))
        self.table(self.table_data("exclus"))
        self.para(
            "Partenaires sans retour : " + (", ".join(self.b.missing) if self.b.missing else "aucun") + ".",
        )

    def method(self) -> None:
        b = self.b
        self.heading("Méthode")
        self.heading("Définitions", 2)
        self.para(
            "Un ménage entre dans les chiffres de l'année par la date qui compte pour chaque objectif : la date du bail "
            "pour les objectifs portant sur les baux signés, la date de la décision de CAL pour l'objectif portant sur "
            "les attributions prononcées."
        )
        for code in OBJECTIVE_SHORT:
            self.para(
                f"{self.c.objective(code).label} : " + self.b.table(f"objectif_{code}").note, "List Bullet"
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
        zones = ", ".join(z.name for z in self.c.local_zones)
        if zones:
            self.para(f"Zones locales traitées comme un QPV pour les deux objectifs de quartile : {zones}.")
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
        self.para(
            f"Dans la version publique, tout effectif de 1 à {self.threshold - 1} ménages est remplacé par "
            f"« {SMALL.format(threshold=self.threshold)} » ; un taux dont le numérateur ou le dénominateur est masqué "
            f"est remplacé par « {SECRET} ». Pour qu'un effectif masqué ne puisse pas être retrouvé par différence, "
            f"l'effectif non nul le plus petit de la même ligne (parts d'un total) ou de la même colonne (lignes dont "
            f"la somme figure en total) est lui aussi remplacé par « {SECRET} ». Les appréciations (atteint, proche, non "
            f"atteint) sont masquées avec le taux. Les petits nombres de logements vacants sont masqués de la même façon. "
            f"Le contrôle croisé détaillé "
            f"des réservataires n'est pas publié."
            + (
                " Cette version est la version publique."
                if self.public
                else " Cette version de travail n'applique pas ce masquage."
            )
        )

    def annexes(self) -> None:
        self.heading("Annexe 1 : attributions par commune", landscape=True)
        self.table(self.table_data("communes"))
        if not self.public:
            self.heading("Annexe 2 : écarts signalés entre réservataires et bailleurs", landscape=True)
            if self.b.cross_findings:
                for text in self.b.cross_findings:
                    self.para(text, "List Bullet")
            else:
                self.para("Aucun écart signalé.")
        self.orient(False)


def _small_font(run) -> None:
    """Wide tables (many figures side by side) are set one point smaller than the table style."""
    rpr = run.find(qn("w:rPr"))
    if rpr is None:
        rpr = OxmlElement("w:rPr")
        run.insert(0, rpr)
    size = OxmlElement("w:sz")
    size.set(qn("w:val"), str(2 * WIDE_TABLE_FONT_PT))
    rpr.append(size)


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


def _field(paragraph, instruction: str, placeholder: str) -> None:
    """A complex field (PAGE, NUMPAGES, TOC) computed by Word or LibreOffice when rendered."""

    def fld(kind: str):
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        if kind == "begin":
            el.set(qn("w:dirty"), "true")
        return el

    paragraph.add_run()._r.append(fld("begin"))
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    paragraph.add_run()._r.append(instr)
    paragraph.add_run()._r.append(fld("separate"))
    paragraph.add_run(placeholder)
    paragraph.add_run()._r.append(fld("end"))


def _update_fields_on_open(doc) -> None:
    """Ask Word to refresh the fields (table of contents, page count) when the file opens."""
    settings = doc.settings.element
    el = settings.find(qn("w:updateFields"))
    if el is None:
        el = OxmlElement("w:updateFields")
        settings.append(el)
    el.set(qn("w:val"), "true")
