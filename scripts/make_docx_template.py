"""Build cia_workbook/data/bilan-template.docx, the Word template that carries the bilan's look.

The bilan is written with `Document(template)`: every look (fonts, colours, table style,
captions, the colours of the verdicts, the restricted-diffusion marking), the title block, the
header and the footer live in this template, so that the agglomeration can restyle the bilan in
Word (Styles pane; a logo in the header; its own cover text) and save it as `modele-bilan.docx`
in its working folder (`cia-workbook init` puts a copy there) without touching code.

Text between braces is filled by the tool: {epci}, {titre}, {sous_titre}, {marquage} (title
block), {entete} (header: the diffusion), {pied} (footer), {annee}; a paragraph left empty by
its fields is removed. Run: `.venv/bin/python scripts/make_docx_template.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

TARGET = Path(__file__).resolve().parent.parent / "cia_workbook" / "data" / "bilan-template.docx"

BLUE = RGBColor(0x1F, 0x3A, 0x5F)
ACCENT = RGBColor(0x2F, 0x66, 0x90)
RED = RGBColor(0xA4, 0x1E, 0x34)
FONT = "Calibri"  # on Linux, LibreOffice draws it with Carlito (same metrics): fonts-crosextra-carlito
GREY = RGBColor(0x59, 0x59, 0x59)

# Style names the bilan uses; cia_workbook/render/word.py refers to the same names.
TABLE_STYLE = "Tableau CIA"
MARKING_STYLE = "Marquage diffusion"
NOTE_STYLE = "Note de tableau"
KEY_FIGURE_STYLE = "Chiffre clé"
COMMENT_STYLE = "Commentaire"
COMMENT_TODO_STYLE = "Commentaire à rédiger"
PROMPT_STYLE = "Repère"
CELL_DETAIL_STYLE = "Détail de cellule"
# Table text as paragraph styles: Word and LibreOffice both honour them (LibreOffice ignores the
# font of a table style), and the bilan sizes its columns for this font size.
CELL_STYLE = "Texte de tableau"
CELL_HEADER_STYLE = "En-tête de tableau"
TABLE_FONT_PT = 8
# The dashboard's verdicts: the paragraph style's shading is also the cell's background.
VERDICT_STYLES = {
    "Appréciation atteint": "C9E7C3",
    "Appréciation proche": "FCE4B0",
    "Appréciation non atteint": "F4C2BE",
    "Appréciation sans objet": "E4E4E4",
    "Appréciation secret": "FFFFFF",
}


def _font(style, size: float | None = None, bold: bool | None = None, color=None, italic=None) -> None:
    style.font.name = FONT
    if size is not None:
        style.font.size = Pt(size)
    if bold is not None:
        style.font.bold = bold
    if italic is not None:
        style.font.italic = italic
    if color is not None:
        style.font.color.rgb = color


def _french(doc) -> None:
    """Spell-check and hyphenate in French: w:lang on the document defaults."""
    rpr = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "fr-FR")
    lang.set(qn("w:eastAsia"), "fr-FR")


def _shading(style, fill: str) -> None:
    ppr = style.element.get_or_add_pPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    ppr.append(shd)


def _left_border(style, color: str, dashed: bool = False) -> None:
    ppr = style.element.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    left = OxmlElement("w:left")
    left.set(qn("w:val"), "dashed" if dashed else "single")
    left.set(qn("w:sz"), "18")
    left.set(qn("w:space"), "8")
    left.set(qn("w:color"), color)
    borders.append(left)
    ppr.append(borders)


def _field(paragraph, instruction: str, result: str) -> None:
    """A PAGE / NUMPAGES field, computed by Word or LibreOffice when the page is drawn."""
    for kind, text in (
        ("begin", None),
        ("instr", instruction),
        ("separate", None),
        ("result", result),
        ("end", None),
    ):
        run = paragraph.add_run()
        if kind == "instr":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = f" {text} "
            run._r.append(el)
        elif kind == "result":
            run.text = text
        else:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
            run._r.append(el)


def build(target: Path = TARGET) -> Path:
    doc = Document()
    # Remove the default template's body content, keep its section (page setup).
    body = doc.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)  # A4
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2))
    section.top_margin, section.bottom_margin = Cm(1.8), Cm(1.6)
    section.header_distance, section.footer_distance = Cm(0.8), Cm(0.8)
    _french(doc)

    styles = doc.styles
    _font(styles["Normal"], 10)
    styles["Normal"].paragraph_format.space_after = Pt(4)
    # A light title block: page 1 holds the answer (the dashboard) right under it.
    _font(styles["Title"], 18, True, BLUE)
    styles["Title"].paragraph_format.space_after = Pt(2)
    _font(styles["Subtitle"], 10, False, ACCENT)
    styles["Subtitle"].paragraph_format.space_after = Pt(2)
    for level, size in ((1, 16), (2, 13), (3, 11)):
        style = styles[f"Heading {level}"]
        _font(style, size, True, BLUE if level == 1 else ACCENT)
        style.paragraph_format.space_before = Pt(14 if level == 1 else 10)
        style.paragraph_format.keep_with_next = True
    _font(styles["Caption"], 9, True, BLUE, italic=False)
    styles["Caption"].paragraph_format.keep_with_next = True
    _font(styles["Footer"], 8)
    _font(styles["Header"], 8, color=RED)

    note = styles.add_style(NOTE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    note.base_style = styles["Normal"]
    _font(note, 8, italic=True, color=RGBColor(0x40, 0x40, 0x40))
    note.paragraph_format.space_after = Pt(10)

    marking = styles.add_style(MARKING_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    marking.base_style = styles["Normal"]
    _font(marking, 9, True, RED)
    marking.paragraph_format.space_before = Pt(2)
    marking.paragraph_format.space_after = Pt(8)

    comment = styles.add_style(COMMENT_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    comment.base_style = styles["Normal"]
    _font(comment, 10)
    _left_border(comment, "2F6690")
    comment.paragraph_format.left_indent = Cm(0.3)
    comment.paragraph_format.space_before = Pt(4)

    todo = styles.add_style(COMMENT_TODO_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    todo.base_style = styles["Normal"]
    _font(todo, 9, italic=True, color=RED)
    _left_border(todo, "A41E34", dashed=True)
    todo.paragraph_format.left_indent = Cm(0.3)
    todo.paragraph_format.space_before = Pt(4)
    todo.paragraph_format.space_after = Pt(10)

    prompt = styles.add_style(PROMPT_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    prompt.base_style = styles["Normal"]
    _font(prompt, 9, italic=True, color=GREY)

    for name, bold in ((CELL_STYLE, False), (CELL_HEADER_STYLE, True)):
        cell = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        cell.base_style = styles["Normal"]
        _font(cell, TABLE_FONT_PT, bold)
        cell.paragraph_format.space_after = Pt(0)
        cell.paragraph_format.line_spacing = 1.0
    styles[CELL_HEADER_STYLE].paragraph_format.keep_with_next = True

    detail = styles.add_style(CELL_DETAIL_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    detail.base_style = styles["Normal"]
    _font(detail, 7.5, color=GREY)
    detail.paragraph_format.space_after = Pt(0)
    detail.paragraph_format.line_spacing = 1.0

    for name, fill in VERDICT_STYLES.items():
        verdict = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        verdict.base_style = styles["Normal"]
        _font(verdict, 9, True, RGBColor(0x1A, 0x1A, 0x1A))
        verdict.paragraph_format.space_after = Pt(0)
        verdict.paragraph_format.line_spacing = 1.0
        _shading(verdict, fill)

    key = styles.add_style(KEY_FIGURE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    key.base_style = styles["List Bullet"]
    _font(key, 11)

    # The table style is based on a built-in one; restyle "Tableau CIA" in Word to change all tables.
    table = styles.add_style(TABLE_STYLE, WD_STYLE_TYPE.TABLE)
    table.base_style = styles["Light Grid Accent 1"]
    _font(table, 8)

    # python-docx's default template ships ~140 table styles; the bilan uses one. Dropping the
    # others makes the template a tenth of the size and the bilan faster to write; Word still
    # offers its whole table-style gallery (latent styles) to whoever restyles the template.
    keep = {"Normal Table", "Table Grid", "Light Grid Accent 1", TABLE_STYLE}
    for style in list(styles):
        if style.type == WD_STYLE_TYPE.TABLE and style.name not in keep:
            style.element.getparent().remove(style.element)

    # The title block, the header (the diffusion; the EPCI's logo goes here) and the footer.
    doc.add_paragraph("{epci}", "Subtitle")
    doc.add_paragraph("{titre}", "Title")
    doc.add_paragraph("{sous_titre}", "Subtitle")
    doc.add_paragraph("{marquage}", MARKING_STYLE)
    header = section.header.paragraphs[0]
    header.text = "{entete}"
    header.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("{pied} – page ")
    _field(footer, "PAGE", "1")
    footer.add_run(" sur ")
    _field(footer, "NUMPAGES", "1")

    core = doc.core_properties
    core.author = "cia-workbook"
    core.title = "Bilan de la convention intercommunale d'attribution"
    core.language = "fr-FR"
    target.parent.mkdir(parents=True, exist_ok=True)
    doc.save(target)
    return target


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else TARGET))
