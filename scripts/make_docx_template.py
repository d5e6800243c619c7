"""Build cia_workbook/data/bilan-template.docx, the Word template that carries the bilan's styles.

The bilan is written with `Document(template)`: every look (fonts, colours, heading numbering,
table style, captions, the restricted-diffusion marking) lives in this template, so that the
agglomeration can restyle the bilan in Word (Styles pane) and save over the template without
touching code. Run: `.venv/bin/python scripts/make_docx_template.py`.
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
FONT = "Calibri"

# Style names the bilan uses; report_docx.py refers to the same names.
TABLE_STYLE = "Tableau CIA"
MARKING_STYLE = "Marquage diffusion"
NOTE_STYLE = "Note de tableau"
KEY_FIGURE_STYLE = "Chiffre clé"


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
    section.top_margin, section.bottom_margin = Cm(2), Cm(2)
    _french(doc)

    styles = doc.styles
    _font(styles["Normal"], 10)
    styles["Normal"].paragraph_format.space_after = Pt(4)
    _font(styles["Title"], 26, True, BLUE)
    _font(styles["Subtitle"], 14, False, ACCENT)
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
    _font(marking, 12, True, RED)
    marking.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    marking.paragraph_format.space_before = Pt(24)

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

    core = doc.core_properties
    core.author = "cia-workbook"
    core.title = "Bilan de la convention intercommunale d'attribution"
    core.language = "fr-FR"
    target.parent.mkdir(parents=True, exist_ok=True)
    doc.save(target)
    return target


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else TARGET))
