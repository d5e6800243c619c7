"""The Word bilan, read back through python-docx (and LibreOffice when installed)."""

import re
import zipfile

import pytest
from bilan_cases import CONVENTION, NAMES, bilan_case
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn
from docx.shared import Emu
from libreoffice import convert, needs_libreoffice

from cia_workbook.consolidate import SECRET
from cia_workbook.render.bilan import commentary_sections, write_bilan_docx
from cia_workbook.render.commentary import read_commentary, write_commentary_docx
from cia_workbook.render.docxutil import CELL_PADDING_PT
from cia_workbook.render.typography import fr, longest_word_width
from cia_workbook.render.word import template_path

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
            out.setdefault(caption, next(t for t in doc.tables if t._tbl is block))
            caption = None
    return out


def _plain(text):
    """The document's no-break spaces read as spaces (the typography has its own test)."""
    return text.replace(NNBSP, " ").replace(NBSP, " ")


def _french(kind, value):
    """French figures written independently of Babel: 1 234 ; 25,0 % ; 25 %."""
    if value is None:
        return "–"
    if kind in ("count", "number"):
        return f"{value:,}".replace(",", " ")
    if kind == "rate":
        return f"{value * 100:.1f}".replace(".", ",") + " %"
    if kind == "target":
        return f"{value * 100:.0f}" + " %"
    return str(value)


def _texts(path):
    """Every w:t of the document: body, tables, headers and footers."""
    doc = Document(path)
    parts = (
        [doc.element.body]
        + [s.header._element for s in doc.sections]
        + [s.footer._element for s in doc.sections]
    )
    return [t.text for part in parts for t in part.iter(qn("w:t")) if t.text]


def _full_text(path):
    doc = Document(path)
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def test_every_indicator_of_the_word_tables(made):
    bilan, expected, paths = made
    tables = _tables_by_caption(Document(paths["restreinte"]))
    # The synthesis is the dashboard of page 1 (its own test).
    for key, rows in expected.items():
        if key == "synthese":
            continue
        indicator = bilan.table(key)
        grid = tables[fr(indicator.title)]
        header = [_plain(c.text) for c in grid.rows[0].cells]
        cols = {c.key: c for c in indicator.columns if c.visible}
        assert header == [_plain(c.label) for c in cols.values()], key
        body = {_plain(r.cells[0].text): [_plain(c.text) for c in r.cells] for r in grid.rows[1:]}
        position = {k: i for i, k in enumerate(cols)}
        for label, values in rows.items():
            for key_, value in values.items():
                if key_ in cols:
                    text = body[_plain(fr(label))][position[key_]]
                    assert text == _french(cols[key_].kind, value), (key, label, key_)


def test_page_one_is_the_dashboard_of_every_partner_under_a_light_title(made):
    bilan, _, paths = made
    doc = Document(paths["restreinte"])
    body = list(doc.element.body.iterchildren())
    first_table = next(i for i, b in enumerate(body) if b.tag == qn("w:tbl"))
    before = ["".join(t.text or "" for t in b.iter(qn("w:t"))) for b in body[:first_table]]
    # Title block, the question, the one-sentence answer: no cover page, no contents before it.
    assert not any(b.find(".//" + qn("w:br")) is not None for b in body[:first_table])
    assert "Bilan 2024 de la convention intercommunale d'attribution" in before
    assert any(t.startswith("Les objectifs sont-ils atteints en 2024") for t in before)
    assert "TOC" not in doc.element.xml
    dashboard = doc.tables[0]
    rows = {_plain(r.cells[0].paragraphs[0].text): [_plain(c.text) for c in r.cells] for r in dashboard.rows}
    for pid in ("logis-cevenols", "habitat-du-gard", "un-toit-pour-tous"):
        assert NAMES[pid] in rows
    # Every réservataire's line, even with no return: the State's two contingents, each commune
    # and « Les communes » (the lines of the convention's table).
    for line in CONVENTION.reservataire_lines:
        assert line.label in rows, line.label
    assert "Territoire" in rows
    logis = bilan.objectives["hors_qpv_q1"]["logis-cevenols"]
    cell = rows["Logis Cévenols"][1]
    assert _french("rate", logis.value) in cell and logis.status in cell
    assert f"{logis.numerator} sur {logis.denominator}" in cell
    # Colour and symbol: the verdict's cell has a background, its text a symbol.
    symbols = {"atteint": "✓", "proche": "≈", "non atteint": "✗", "sans objet": "–"}
    for row in dashboard.rows[1:]:
        for c in row.cells[1:]:
            first = c.paragraphs[0].text
            for status, symbol in symbols.items():
                if first.endswith(" " + status) and first.startswith(symbol):
                    assert c._tc.tcPr.find(qn("w:shd")) is not None, first


def test_verdict_counts_add_up(made):
    bilan, _, paths = made
    note = _plain(
        next(
            p.text
            for p in Document(paths["restreinte"]).paragraphs
            if "Appréciations des bailleurs" in p.text
        )
    )
    statuses = [
        bilan.objectives[code][scope].status
        for code in bilan.objectives
        for scope in bilan.objectives[code]
        if scope != "territoire"
    ]
    m = re.search(r"Appréciations des bailleurs : (\d+), dont ([^.;]+)", note)
    total = int(m.group(1))
    listed = {
        label: int(n)
        for n, label in re.findall(r"(\d+) (non atteintes?|atteintes?|proches?|sans objet)", m.group(2))
    }
    assert total == len(statuses) == sum(listed.values())


def test_an_excluded_or_missing_partner_keeps_its_row(made):
    # In this campaign SEMIGA's return is excluded for errors and FDI Habitat sent none.
    _, _, paths = made
    for path in paths.values():
        rows = {
            _plain(r.cells[0].paragraphs[0].text): _plain(r.cells[1].text)
            for r in Document(path).tables[0].rows
        }
        assert (
            rows["SEMIGA"] == "Retour exclu pour erreurs : ses attributions ne sont comptées dans aucun taux."
        )
        assert rows["FDI Habitat"] == "Sans retour : ses attributions ne sont comptées dans aucun taux."


def test_the_document_has_sections_charts_page_numbers_and_tables_that_hold(made):
    _, _, paths = made
    doc = Document(paths["restreinte"])
    headings = [_plain(p.text) for p in doc.paragraphs if p.style.name.startswith("Heading")]
    for expected in ("Les objectifs sont-ils atteints", "Le cadre de l'évaluation", "Objectif 1", "Objectif 2",
                     "Objectif 3", "Zooms", "Contribution des réservataires", "Qualité des données",
                     "Annexe 1 : méthode", "Annexe 5 : retours reçus"):  # fmt: skip
        assert any(h.startswith(expected) for h in headings), expected
    footer = doc.sections[0].footer._element.xml
    assert "PAGE" in footer and "NUMPAGES" in footer
    assert "{" not in doc.sections[0].footer._element.xml.split("instrText")[0]  # fields filled
    assert any(s.orientation == WD_ORIENT.LANDSCAPE and s.page_width > s.page_height for s in doc.sections)
    assert doc.sections[-1].orientation == WD_ORIENT.PORTRAIT or len(doc.element.body[-2]) > 0
    shapes = doc.inline_shapes
    assert len(shapes) >= 4
    for shape in shapes:
        assert shape._inline.docPr.get("descr").startswith("Graphique")
    for table in doc.tables:
        # Header rows repeated on each page, no row split across two pages.
        assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
        assert all(
            r._tr.trPr is not None and r._tr.trPr.find(qn("w:cantSplit")) is not None for r in table.rows
        )
    assert any("diffusion restreinte à la commission de coordination" in p.text for p in doc.paragraphs)


def test_no_header_cell_is_narrower_than_its_longest_word(made):
    _, _, paths = made
    for path in paths.values():
        for table in Document(path).tables[1:]:  # the dashboard's widths are fixed
            for cell in table.rows[0].cells:
                width = cell._tc.tcPr.find(qn("w:tcW"))
                if width is None or not cell.text.strip():
                    continue
                points = int(width.get(qn("w:w"))) / 20  # twentieths of a point
                size = (
                    7.0 if any(r.font.size and r.font.size.pt < 8 for r in cell.paragraphs[0].runs) else 8.0
                )
                need = max(longest_word_width(p.text, size, bold=True) for p in cell.paragraphs)
                assert points + 0.5 >= need + CELL_PADDING_PT, (cell.text, points, need)


def test_method_names_geography_thresholds_and_secrecy_rule(made):
    _, _, paths = made
    text = _plain(_full_text(paths["restreinte"]))
    assert "Géographie prioritaire 2024" in text
    assert "7 772 €" in text  # 2024 first-quartile threshold
    assert "2023 : Géographie prioritaire 2015" in text and "seuils inconnus" in text
    assert "« Autres bailleurs, regroupés »" in text and "« < 11 »" in text
    # The convention's calendar and its local zone, by their names.
    assert "2020 et 2021 sont les années test" in text
    assert "2022 est l'année de la réévaluation à mi-parcours" in text
    assert "hors QPV et hors Quartier des Promelles" in text
    assert "zone locale" not in text


def test_public_bilan_shows_no_count_from_1_to_10_and_groups_small_universes(made):
    _, _, paths = made
    doc = Document(paths["publique"])
    cells = [_plain(c.text).strip() for t in doc.tables for row in t.rows for c in row.cells]
    small = [
        c for c in cells if re.fullmatch(r"\d+", c.replace(" ", "")) and 1 <= int(c.replace(" ", "")) <= 10
    ]
    assert small == []
    text = _plain(_full_text(paths["publique"]))
    assert not re.search(r"(?<![\d,])([1-9]|10) (ménages?|baux|attributions?|dossiers?)\b", text)
    assert "non calculé" not in text and "Document public" in text
    titles = _tables_by_caption(doc)
    assert not any(t.startswith("Contrôle croisé") or t.startswith("Retours reçus") for t in titles)
    assert "Commentaire à rédiger" not in text


def test_restricted_bilan_shows_the_small_counts(made):
    _, _, paths = made
    cells = [c.text for t in Document(paths["restreinte"]).tables for row in t.rows for c in row.cells]
    assert "< 11" not in cells and SECRET not in cells
    assert any(re.fullmatch(r"[1-9]|10", c) for c in cells)


def test_no_machine_text_in_either_bilan(made):
    _, _, paths = made
    for path in paths.values():
        text = _full_text(path)
        assert not re.search(r"\b[0-9a-f]{64}\b", text)  # no SHA-256 fingerprint
        assert not re.search(r"\[[A-Z_]+\]", text)  # no finding code
        assert "(s)" not in text
        assert not re.search(r"\b(reservataire|operateur|calamine|openpyxl)\b", text)
        assert "sha" not in text.lower().replace("shap", "")


def test_french_typography_in_every_run_of_both_bilans(made):
    _, _, paths = made
    for path in paths.values():
        bad = [t for t in _texts(path) if re.search(r" [:;%!?»]|« ", t)]
        assert bad == [], bad[:5]
        assert not re.search(
            r"\b1 (janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre)",
            "\n".join(_texts(path)),
        )


def test_charts_are_png_pictures_and_show_no_masked_bar(made):
    _, _, paths = made
    with zipfile.ZipFile(paths["restreinte"]) as z:
        pngs = [n for n in z.namelist() if n.startswith("word/media/") and n.endswith(".png")]
        assert len(pngs) >= 4
        assert all(z.read(n)[:8] == b"\x89PNG\r\n\x1a\n" for n in pngs)
    for shape in Document(paths["publique"]).inline_shapes:
        assert "non calculé" not in shape._inline.docPr.get("descr")


def test_commentary_file_written_once_then_read_into_both_versions(made, tmp_path):
    bilan, _, _ = made
    sections = commentary_sections(CONVENTION, bilan)
    path = tmp_path / "commentaires-2024.docx"
    with_template = template_path()
    write_commentary_docx(with_template, path, bilan.epci, bilan.year, sections)
    doc = Document(path)
    titles = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert [_plain(t) for t in titles] == [_plain(s.title) for s in sections]
    assert any(p.style.name == "Repère" and "Repères" in p.text for p in doc.paragraphs)  # the key figures
    # The officer writes under « Objectif 2 » (in Word: a paragraph after its heading).
    heading = next(
        p for p in doc.paragraphs if p.style.name == "Heading 1" and p.text.startswith("Objectif 2")
    )
    written = heading.insert_paragraph_before("placeholder")
    heading._p.addnext(written._p)  # move it after the heading
    written.text = "La hausse tient aux relogements : elle se confirme au premier semestre !"
    doc.save(path)
    commentary = read_commentary(path, sections)
    assert list(commentary) == ["objectif_qpv_q234"]
    for diffusion in ("restreinte", "publique"):
        out = write_bilan_docx(
            CONVENTION, bilan, tmp_path / f"b-{diffusion}.docx", diffusion, commentary=commentary
        )
        text = _plain(_full_text(out))
        assert "La hausse tient aux relogements : elle se confirme au premier semestre !" in text
        placeholders = text.count("Commentaire à rédiger")
        assert (placeholders > 0) == (diffusion == "restreinte")


@pytest.mark.libreoffice
@needs_libreoffice
def test_bilan_converts_to_pdf_with_libreoffice(made, tmp_path):
    _, _, paths = made
    pdf = convert(paths["restreinte"], tmp_path)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert pdf.stat().st_size > 50_000  # charts and tables made it into the PDF
    assert Emu(1).pt > 0


def test_the_actions_and_the_reminders_come_from_the_convention(made):
    """Issue 16: the convention's actions, each with the sentence introducing its indicators and
    one line per indicator (an indicator already shown is pointed at), and the commitments the
    convention recalls; none of it written in the code."""
    _, _, paths = made
    text = _plain(_full_text(paths["restreinte"]))
    assert "Les actions de la convention" in text
    assert (
        "Action 3 – Favoriser l'attractivité et la mixité sociale dans les secteurs en difficulté par des actions sur "
        "l'offre existante. Indicateurs de résultat : taux d'attribution aux ménages des quartiles 2, 3 et 4 en QPV"
    ) in text
    assert "Action 6" not in text  # no indicator: its questions are the réservataires' only
    assert re.search(
        r"Objectif 2 \(quartiles 2 à 4, attributions prononcées en QPV ou [^)]*\) : [\d,]+ % sur le territoire",
        text,
    )
    assert "Voir aussi plus haut : objectif 2 (quartiles 2 à 4 en QPV), avec l'action 3" in text
    assert "Refus des ménages : " in text and "Vacance au 31 décembre : " in text
    assert (
        "La convention rappelle : le relogement des ménages reconnus DALO doit se faire prioritairement"
        in text
    )
    assert "actions 3 et 5" not in text


def test_a_table_made_as_one_piece_of_xml_is_the_one_python_docx_makes():
    """`docxutil.table_xml` writes the XML that python-docx's own calls make (the table, its
    style, widths, header and cell texts, a bold total, a figure right-aligned, a small size, the
    last row kept with its note): Word and LibreOffice lay out the same document."""
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.shared import Pt

    from cia_workbook.render.docxutil import cant_split, table_xml
    from cia_workbook.render.word import Word

    doc = Document(str(template_path()))
    sid = {
        n: doc.part.get_style_id(doc.styles[n], WD_STYLE_TYPE.PARAGRAPH)
        for n in ("Texte de tableau", "En-tête de tableau")
    }
    widths, header = [Pt(90), Pt(60)], ["Bailleur", "Baux\tsignés"]
    rows, bold = [["Logis « A & B »", "12"], [" Total ", "12"]], [False, True]
    w = Word("restreinte", 11)
    w.doc = doc
    grid = w.fixed_grid(widths)  # python-docx's calls, as the dashboard's tables are made
    for cell, label, width in zip(grid.rows[0].cells, header, widths, strict=True):
        cell.text, cell.width = label, width
        cell.paragraphs[0]._p.style = sid["En-tête de tableau"]
        cell.paragraphs[0].runs[0].font.size = Pt(7)
    for values, strong in zip(rows, bold, strict=True):
        row = grid.add_row()
        cant_split(row._tr)
        for j, (cell, text, width) in enumerate(zip(row.cells, values, widths, strict=True)):
            cell.width = width
            p = cell.paragraphs[0]
            p._p.style = sid["Texte de tableau"]
            if values is rows[-1]:
                p.paragraph_format.keep_with_next = True
            if j == 1:
                p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            run = p.add_run()
            if strong:
                run.bold = True
            run.font.size = Pt(7)
            t = OxmlElement("w:t")
            t.set(qn("xml:space"), "preserve")
            t.text = text
            run._r.append(t)
    made_here = table_xml(
        widths, header, rows, style_id=doc.part.get_style_id(doc.styles["Tableau CIA"], WD_STYLE_TYPE.TABLE),
        header_style=sid["En-tête de tableau"], row_style=sid["Texte de tableau"], right=[False, True], bold=bold,
        size=7.0, keep_last=True,
    )  # fmt: skip

    def shape(e):  # elements, attributes and texts (namespace declarations apart)
        return e.tag, dict(e.attrib), e.text, [shape(c) for c in e]

    assert shape(made_here) == shape(grid._tbl)
    without_style = table_xml(
        widths, header, rows, style_id=None, header_style=None, row_style=None, right=[False, False],
        bold=[False, False], size=None, keep_last=False,
    )  # fmt: skip
    assert without_style.find(qn("w:tblPr")).find(qn("w:tblStyle")) is None
