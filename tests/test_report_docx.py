"""The Word bilan, read back through python-docx (and LibreOffice when installed)."""

import re
import zipfile

import pytest
from bilan_cases import CONVENTION, bilan_case
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn
from libreoffice import convert, needs_libreoffice

from cia_workbook.report_docx import write_bilan_docx

YEAR = 2024
NNBSP, NBSP = "\u202f", "\u00a0"


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    bilan, expected, _, _ = bilan_case(YEAR)
    folder = tmp_path_factory.mktemp("bilan")
    paths = {
        d: write_bilan_docx(CONVENTION, bilan, folder / f"bilan-{d}.docx", diffusion=d)
        for d in ("restreinte", "publique")
    }
    return bilan, expected, paths


def _tables_by_caption(doc):
    """{caption title: table} pairing each « Tableau n – title » caption with the table after it."""
    out, caption = {}, None
    for block in doc.element.body.iterchildren():
        if block.tag == qn("w:p"):
            text = "".join(t.text or "" for t in block.iter(qn("w:t")))
            if re.match(r"Tableau \d+ – ", text):
                caption = text.split(" – ", 1)[1]
        elif block.tag == qn("w:tbl") and caption:
            out[caption] = next(t for t in doc.tables if t._tbl is block)
            caption = None
    return out


def _french(kind, value):
    """French typography written independently of Babel: 1 234 ; 25,0 % ; 25 %."""
    if value is None:
        return "–"
    if kind in ("count", "number"):
        return f"{value:,}".replace(",", NNBSP)
    if kind == "rate":
        return f"{value * 100:.1f}".replace(".", ",") + NBSP + "%"
    if kind == "target":
        return f"{value * 100:.0f}" + NBSP + "%"
    return str(value)


def test_every_indicator_of_the_word_tables(made):
    bilan, expected, paths = made
    tables = _tables_by_caption(Document(paths["restreinte"]))
    for key, rows in expected.items():
        indicator = bilan.table(key)
        grid = tables[indicator.title]
        header = [c.text for c in grid.rows[0].cells]
        cols = {c.key: c for c in indicator.columns if c.visible}
        assert header == [c.label for c in cols.values()]
        body = {r.cells[0].text: [c.text for c in r.cells] for r in grid.rows[1:]}
        position = {k: i for i, k in enumerate(cols)}
        for label, values in rows.items():
            for key_, value in values.items():
                if key_ in cols:
                    text = body[label][position[key_]]
                    assert text == _french(cols[key_].kind, value), (key, label, key_)


def test_the_document_has_a_toc_sections_charts_and_page_numbers(made):
    _, _, paths = made
    doc = Document(paths["restreinte"])
    xml = doc.element.xml
    assert "TOC \\o" in xml
    assert doc.settings.element.find(qn("w:updateFields")).get(qn("w:val")) == "true"
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    for expected in ("Synthèse", "Les objectifs de la convention", "Objectif 1", "Objectif 2", "Objectif 3",
                     "Zooms", "Contribution des réservataires", "Qualité des données", "Méthode", "Annexe 1"):  # fmt: skip
        assert any(h.startswith(expected) for h in headings), expected
    footer = doc.sections[0].footer._element.xml
    assert "PAGE" in footer and "NUMPAGES" in footer
    assert any(s.orientation == WD_ORIENT.LANDSCAPE and s.page_width > s.page_height for s in doc.sections)
    shapes = doc.inline_shapes
    assert len(shapes) >= 4
    for shape in shapes:
        assert shape._inline.docPr.get("descr").startswith("Graphique")
    # Header rows are repeated on each page.
    assert all(t.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None for t in doc.tables)
    # Cover marking of the working document.
    assert any("diffusion restreinte à la commission de coordination" in p.text for p in doc.paragraphs)


def test_method_names_geography_thresholds_and_secrecy_rule(made):
    _, _, paths = made
    text = "\n".join(p.text for p in Document(paths["restreinte"]).paragraphs)
    assert "Géographie prioritaire 2024" in text
    assert f"7{NNBSP}772{NBSP}€" in text  # 2024 first-quartile threshold, French typography
    assert "2023 : Géographie prioritaire 2015" in text and "seuils inconnus" in text
    assert "« < 11 »" in text


def test_public_bilan_shows_no_count_from_1_to_10_in_any_table(made):
    _, _, paths = made
    doc = Document(paths["publique"])
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    small = [
        c
        for c in cells
        if re.fullmatch(r"\d+", c.replace(NNBSP, "").strip()) and 1 <= int(c.replace(NNBSP, "")) <= 10
    ]
    assert small == []
    assert "< 11" in cells  # masking did happen on this campaign
    titles = _tables_by_caption(doc)
    assert not any(t.startswith("Contrôle croisé") for t in titles)
    assert "Document public" in "\n".join(p.text for p in doc.paragraphs)


def test_restricted_bilan_shows_the_small_counts(made):
    _, _, paths = made
    cells = [c.text for t in Document(paths["restreinte"]).tables for row in t.rows for c in row.cells]
    assert "< 11" not in cells
    assert any(re.fullmatch(r"[1-9]|10", c) for c in cells)


def test_charts_are_png_pictures_at_about_150_dpi(made):
    _, _, paths = made
    with zipfile.ZipFile(paths["restreinte"]) as z:
        pngs = [n for n in z.namelist() if n.startswith("word/media/") and n.endswith(".png")]
        assert len(pngs) >= 4
        assert all(z.read(n)[:8] == b"\x89PNG\r\n\x1a\n" for n in pngs)


@pytest.mark.libreoffice
@needs_libreoffice
def test_bilan_converts_to_pdf_with_libreoffice(made, tmp_path):
    _, _, paths = made
    pdf = convert(paths["restreinte"], tmp_path)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert pdf.stat().st_size > 50_000  # charts and tables made it into the PDF
