"""The Word annexes of the charte de relogement, read back with python-docx (and LibreOffice).

Built from the two-year set of households of test_relogement.py, and from the demo: page 1 says
what the commission is asked to validate (key figures, the charter's criteria with their
verdicts, the returns they rest on) and holds the validation block; then annexe 1 (the annual
rehousing bilan), annexe 2 (the blocked cases, with room for the commission's decision),
annexe 3 (the follow-up of each household, in the restricted version only). The public version
masks small counts and names no household and no file.
"""

from __future__ import annotations

import re
import subprocess
import zipfile

import pytest
from click.testing import CliRunner
from docx import Document
from docx.oxml.ns import qn
from libreoffice import convert, needs_libreoffice
from test_relogement import TRUTH, _campaigns
from workbooks import CONVENTION

from cia_workbook.cli.commands import main
from cia_workbook.consolidate.rehousing import rehousing_bilan
from cia_workbook.render.annexes import DECISION_ROW_CM, write_annexes_docx
from cia_workbook.render.annexes_common import ANNEX_TITLES
from cia_workbook.render.docxutil import CELL_PADDING_PT
from cia_workbook.render.names import annexes_docx_name
from cia_workbook.render.typography import longest_word_width, text_width

NBSP, NNBSP = "\u00a0", "\u202f"
IDS = ["PSJ-001", "PSJ-002", "PSJ-003", "PSJ-004", "PSJ-005", "FBG-001", "FBG-002"]
DIFFUSIONS = ("restreinte", "publique")


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("annexes")
    bilan = rehousing_bilan(CONVENTION, _campaigns(tmp), 2024)
    paths = {
        d: write_annexes_docx(CONVENTION, bilan, tmp / annexes_docx_name(2024, d), diffusion=d)
        for d in DIFFUSIONS
    }
    return bilan, paths


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's annexes of 2024 (households of five years, an excluded return)."""
    folder = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(
        main, ["--dir", str(folder), "demo", "--year", "2024"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return {d: folder / "outputs" / "2024" / annexes_docx_name(2024, d) for d in DIFFUSIONS}


def _plain(text: str) -> str:
    """The typography's no-break spaces read as spaces (the typography has its own test)."""
    return text.replace(NBSP, " ").replace(NNBSP, " ")


def _texts(path):
    doc = Document(str(path))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    body = _plain("\n".join(p.text for p in doc.paragraphs))
    tables = [[[_plain(c.text) for c in row.cells] for row in t.rows] for t in doc.tables]
    return doc, headings, body, tables


def _table(tables, first_header: str, contains: str = ""):
    return next(t for t in tables if t[0][0] == first_header and (not contains or contains in str(t)))


def _rows(table) -> list[dict[str, str]]:
    return [dict(zip(table[0], row, strict=True)) for row in table[1:]]


def _page_one(doc):
    """The paragraphs and tables before the first heading, in the order of the body."""
    blocks = []
    for block in doc.element.body.iterchildren():
        if block.tag == qn("w:p"):
            style = block.find(f"{qn('w:pPr')}/{qn('w:pStyle')}")
            if style is not None and style.get(qn("w:val")).startswith("Heading"):
                break
            blocks.append(("p", _plain("".join(t.text or "" for t in block.iter(qn("w:t"))))))
        elif block.tag == qn("w:tbl"):
            table = next(t for t in doc.tables if t._tbl is block)
            blocks.append(("table", [[_plain(c.text) for c in row.cells] for row in table.rows]))
    return blocks


def _every_text(path) -> list[str]:
    """Every w:t of the document: body, tables, headers and footers."""
    doc = Document(str(path))
    parts = [
        doc.element.body,
        *(s.header._element for s in doc.sections),
        *(s.footer._element for s in doc.sections),
    ]
    return [t.text for part in parts for t in part.iter(qn("w:t")) if t.text]


def _full_text(path) -> str:
    doc = Document(str(path))
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    return _plain("\n".join([p.text for p in doc.paragraphs] + cells))


def test_file_names():
    assert annexes_docx_name(2024) == "annexes-charte-relogement-2024.docx"
    assert annexes_docx_name(2024, "publique") == "annexes-charte-relogement-2024-publique.docx"


def test_the_annexes_come_in_the_commissions_order(made):
    _, paths = made
    for path in paths.values():
        _, headings, _, _ = _texts(path)
        assert [h for h in headings if h.startswith("Annexe")] == [
            "Annexe 1 – Bilan annuel des relogements",
            "Annexe 2 – Dossiers bloqués",
            "Annexe 3 – Tableau de suivi des relogements",
        ]
        assert headings[0] == ANNEX_TITLES[1]  # nothing before the annual bilan but page 1


def test_page_one_asks_for_the_validation_with_the_key_figures_and_the_block(made):
    bilan, paths = made
    doc = Document(str(paths["restreinte"]))
    blocks = _page_one(doc)
    text = "\n".join(b for kind, b in blocks if kind == "p")
    assert "Bilan 2024 des relogements du NPNRU" in text
    assert "La commission de coordination est invitée à valider le bilan annuel 2024 des relogements" in text
    # The action that has the commission validate it, as the convention numbers it.
    assert "relogements du NPNRU (action 2 de la convention) :" in text.replace("\u00a0", " ")
    assert "annexe 2 : 1 dossier bloqué" in text
    assert "Relogés définitivement en 2024 : 3 ménages ; depuis 2020 : 5 sur 166 à reloger" in text
    assert "En cours au 31 décembre 2024 : 2 ménages, dont 1 dossier bloqué" in text
    assert "Logis Cévenols : retour 2024 utilisé (logis-cevenols.xlsx" in text
    # The charter's criteria, in the year and since the start, with a symbol and a colour.
    tables = [b for kind, b in blocks if kind == "table"]
    criteria, validation = tables
    assert criteria[0] == ["Critère de la charte", "Cible", "Relogés en 2024", "Depuis 2020 (cumul)"]
    rows = {row[0]: row for row in criteria[1:]}
    assert rows["Relogés hors QPV"][1] == "50 %"
    assert (
        rows["Relogés hors QPV"][2].startswith("✓ 66,7 % atteint")
        and "2 sur 3 ménages relogés" in rows["Relogés hors QPV"][2]
    )
    assert rows["Relogés avec un reste à charge maîtrisé"][2].startswith("✗ 66,7 % non atteint")
    grid = next(t for t in doc.tables if t.rows[0].cells[0].text == "Critère de la charte")
    fills = [c._tc.tcPr.find(qn("w:shd")) for row in grid.rows[1:] for c in row.cells[2:]]
    assert all(f is not None and f.get(qn("w:fill")) not in (None, "auto") for f in fills)
    # The validation block, on page 1, to fill in during the session.
    assert (
        "Validation du bilan annuel des relogements 2024 par la commission de coordination"
        in validation[0][0]
    )
    assert "Séance du" in validation[1][0] and "☐ bilan validé" in validation[1][0]
    assert "nom, qualité et signature" in validation[1][0]


def test_restricted_annexes_hold_every_household_the_criteria_and_blocked_cases(made):
    bilan, paths = made
    doc, headings, body, tables = _texts(paths["restreinte"])
    # Annexe 3: every household once, in two tables per operation (rehoused, the others).
    follow = [t for t in tables if t[0][:2] == ["Identifiant", "Suivi par"]]
    listed = [row[0] for t in follow for row in t[1:]]
    assert sorted(i.upper() for i in listed) == sorted(IDS)
    assert "LC-CEV – Démolitions Logis Cévenols – Cévennes, Tamaris" in headings
    assert any(s.orientation == 1 for s in doc.sections)  # WD_ORIENT.LANDSCAPE
    rows = {r["Identifiant"]: r for t in follow for r in _rows(t)}
    psj2 = rows["PSJ-002"]
    assert (psj2["Entrée"], psj2["Relogement"]) == ("09/01/2023", "01/03/2024")
    assert (psj2["Reste à charge avant"], psj2["Reste à charge après"]) == (
        "250 €",
        "225 €",
    )  # 320+80−150, 320+75−170
    assert rows["PSJ-004"]["Statut"] == "À reloger" and rows["PSJ-003"]["Bloqué"] == "Oui"
    assert (
        "Destination" not in [t for t in follow if "PSJ-004" in str(t)][0][0]
    )  # not rehoused: no destination
    # Annexe 1: the criteria against their targets, the programme's progress.
    year = _table(tables, "Critère de la charte", "Ménages conformes")
    hors_qpv = next(row for row in year[1:] if row[0] == "Relogés hors QPV")
    num = sum(not t["qpv"] for t in TRUTH.values() if t["year"] == 2024)
    assert hors_qpv[1:3] == [str(num), "3"]
    assert hors_qpv[4:7] == ["66,7 %", "50 %", "atteint"]
    cumul = [t for t in tables if t[0][:2] == ["Critère de la charte", "Ménages conformes"]][1]
    rac = next(row for row in cumul[1:] if row[0] == "Relogés avec un reste à charge maîtrisé")
    ok = sum(t["rac_gap"] <= 10 for t in TRUTH.values())
    assert rac[1:3] == [str(ok), "5"] and rac[5] == "80 %"
    progress = _table(tables, "Opération", "Ensemble du programme")
    assert progress[-1][:5] == ["Ensemble du programme", "166", "7", "5", "3"]
    # Annexe 2: the blocked case, what blocks it, the proposals already made, room to decide.
    blocked = _table(tables, "Identifiant", "Ce qui bloque")
    assert len(blocked) == 2
    row = _rows(blocked)[0]
    assert row["Identifiant"] == "PSJ-003" and row["Ce qui bloque"] == "Dette locative ou impayés"
    assert row["Propositions / refus"] == "3 / 3" and row["Suite décidée par la commission"] == ""
    assert "Plan d'apurement en cours." in row["Commentaire du partenaire"]
    grid = next(t for t in doc.tables if t.rows[0].cells[-1].text == "Suite décidée par la commission")
    height = grid.rows[1]._tr.trPr.find(qn("w:trHeight"))
    assert int(height.get(qn("w:val"))) >= round(DECISION_ROW_CM / 2.54 * 1440) - 1
    assert height.get(qn("w:hRule")) == "atLeast"
    widths = [int(c._tc.tcPr.find(qn("w:tcW")).get(qn("w:w"))) for c in grid.rows[0].cells]
    assert widths[-1] == max(widths)  # the commission's column is the widest
    assert "relevé de décisions" in body
    assert "psj-003 (2024)" in body  # the household returned by two partners is named


def test_public_annexes_mask_small_counts_and_name_no_household_nor_file(made):
    _, paths = made
    doc, headings, body, tables = _texts(paths["publique"])
    everything = body + str(tables)
    assert not any(ident in everything for ident in IDS)
    assert ".xlsx" not in everything and "Logis Cévenols : retour 2024 utilisé (réponse du" in body
    assert "Document public" in body
    statuses = next(t for t in tables if t[0][0] == "Opération" and t[0][-1] == "Ménages suivis")
    assert statuses[-1][0] == "Ensemble du programme" and statuses[-1][-1] == "< 11"
    # Three rehoused households in 2024: the rates are not published, nor who meets them.
    year = _table(tables, "Critère de la charte", "Relogés hors QPV")
    assert "Ménages conformes" not in year[0]
    assert all("secret statistique" in row[2] for row in year[1:])
    criteria = next(t for t in tables if t[0][0] == "Critère de la charte" and "Taux" in t[0])
    assert all(
        r["Taux"] == "secret statistique" and r["Appréciation"] == "secret statistique"
        for r in _rows(criteria)
    )
    # No count from 1 to 10 in a cell or beside a word.
    cells = [c.strip() for t in tables for row in t for c in row]
    assert not [c for c in cells if re.fullmatch(r"([1-9]|10)", c)]
    assert not re.search(r"(?<![\d,<] )(?<![\d,])\b([1-9]|10) (ménages?|dossiers?)\b", everything)
    assert "Annexe 2 – Dossiers bloqués" in headings and "Dossiers bloqués au 31 décembre 2024 : < 11" in body


def test_nothing_a_machine_would_write(made, demo):
    for path in [*made[1].values(), *demo.values()]:
        text = re.sub(r"\S+\.xlsx", "", _full_text(path))  # the restricted version names the files
        assert "(s)" not in text, path.name
        assert not re.search(r"\b[0-9a-f]{64}\b", text)
        assert not re.search(r"\[[A-Z_]+\]", text)
        assert not re.search(
            r"\b(RELOGE_DEFINITIF|A_RELOGER|PARC_PRIVE|OUI|NON|reservataire|operateur)\b", text
        )
        assert "erreur(s)" not in text and "ménage(s)" not in text


def test_french_typography_in_every_run(made, demo):
    for path in [*made[1].values(), *demo.values()]:
        bad = [t for t in _every_text(path) if re.search(r" [:;%!?»]|« |\d [€%]", t)]
        assert bad == [], (path.name, bad[:5])
        assert not re.search(
            r"\b1 (janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre)",
            "\n".join(_every_text(path)),
        )


def test_tables_hold_together_and_no_word_is_broken(made, demo):
    for path in [*made[1].values(), *demo.values()]:
        doc = Document(str(path))
        for table in doc.tables:
            # Header rows repeated on each page, no household row split across two pages.
            assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
            assert all(r._tr.trPr.find(qn("w:cantSplit")) is not None for r in table.rows)
            # No header narrower than its longest word (« Propositio|n »), no identifier broken.
            for j, cell in enumerate(table.rows[0].cells):
                width = cell._tc.tcPr.find(qn("w:tcW"))
                if width is None or not cell.text.strip() or len(table.columns) == 1:
                    continue
                points = int(width.get(qn("w:w"))) / 20
                need = max(longest_word_width(_plain(p.text), 8.0, bold=True) for p in cell.paragraphs)
                assert points + 0.5 >= need + CELL_PADDING_PT, (path.name, cell.text, points, need)
                if cell.text == "Identifiant":
                    ids = [row.cells[j].text for row in table.rows[1:]]
                    assert points >= max(text_width(i, 8.0) for i in ids) + CELL_PADDING_PT - 0.5


def test_identifiers_use_non_breaking_hyphens(made):
    """Word's non-breaking hyphen, read back as « - »: « PRIVE-FBG-|017 » never splits."""
    doc = Document(str(made[1]["restreinte"]))
    assert "w:noBreakHyphen" in doc.element.body.xml
    assert "\u2011" not in doc.element.body.xml


def test_charts_with_alt_text(made):
    _, paths = made
    with zipfile.ZipFile(paths["restreinte"]) as z:
        pngs = [n for n in z.namelist() if n.startswith("word/media/") and n.endswith(".png")]
        xml = z.read("word/document.xml").decode("utf-8")
    assert len(pngs) == 3
    assert "Graphique en barres. Critères de la charte" in xml


def test_demo_first_page_names_the_returns_plainly(demo):
    for diffusion, path in demo.items():
        doc = Document(str(path))
        text = "\n".join(b for kind, b in _page_one(doc) if kind == "p")
        assert re.search(
            r"Opérateur de relogement du parc privé \(MOUS\) : retour 2024 écarté pour \d+ erreurs? à corriger",
            text,
        ), text
        assert "aucun de ses chiffres n'est compté" in text
        assert re.search(r"Situation non actualisée : \d+ ménages dont aucun retour 2024 utilisé", text)
        assert (".xlsx" in text) == (diffusion == "restreinte")


def test_the_annexes_take_the_working_folders_word_template(make_campaign):
    """The EPCI's template (logo in the header, styles) dresses the annexes as it does the bilan."""
    import io

    from campaign import run
    from PIL import Image

    wd = make_campaign()
    assert run(wd, "init").exit_code == 0
    model = wd / "modele-bilan.docx"
    doc = Document(model)
    logo = io.BytesIO()
    Image.new("RGB", (120, 40), (30, 60, 200)).save(logo, format="PNG")
    doc.sections[0].header.paragraphs[0].insert_paragraph_before().add_run().add_picture(
        io.BytesIO(logo.getvalue())
    )
    doc.save(model)
    for diffusion in DIFFUSIONS:
        result = run(wd, "consolidate", "--year", "2024", "--diffusion", diffusion)
        assert result.exit_code == 0, result.output
        path = wd / "outputs" / "2024" / annexes_docx_name(2024, diffusion)
        with zipfile.ZipFile(path) as z:
            assert logo.getvalue() in [z.read(n) for n in z.namelist() if n.startswith("word/media/")]
        out = Document(str(path))
        assert out.sections[0].header._element.findall(".//" + qn("w:drawing"))
        assert out.paragraphs[1].text == "Bilan 2024 des relogements du NPNRU"  # the template's title block


def test_bilan_points_to_the_annexes_with_the_headline_figures(tmp_path):
    from cia_workbook.consolidate import consolidate
    from cia_workbook.render.bilan import write_bilan_docx

    campaigns = _campaigns(tmp_path / "forms")
    bilan = consolidate(CONVENTION, campaigns, 2024)
    assert "3 ménages relogés définitivement dans l'année" in bilan.summary_text()
    assert "1 dossier bloqué" in bilan.summary_text()
    texts = {}
    for diffusion in DIFFUSIONS:
        path = write_bilan_docx(CONVENTION, bilan, tmp_path / f"bilan-{diffusion}.docx", diffusion=diffusion)
        texts[diffusion] = _plain("\n".join(p.text for p in Document(str(path)).paragraphs))
    assert "Relogements NPNRU (charte de relogement)" in texts["restreinte"]
    assert (
        "Relogés définitivement en 2024 : 3 ménages ; depuis 2020 : 5 sur 166 à reloger"
        in texts["restreinte"]
    )
    assert "Relogés hors QPV en 2024 : 66,7 % (cible de la charte 50 %)" in texts["restreinte"]
    assert "annexes-charte-relogement-2024.docx" in texts["restreinte"]
    assert "Relogés définitivement en 2024 : < 11 ménages" in texts["publique"]
    assert "annexes-charte-relogement-2024-publique.docx" in texts["publique"]


# -- As the commission reads them: the demo's annexes in PDF -----------------------------------


def _pdf_pages(path, outdir) -> list[str]:
    pdf = convert(path, outdir)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True)
    return [_plain(page) for page in text.stdout.split("\f")[:-1]]


@pytest.mark.libreoffice
@needs_libreoffice
def test_demo_annexes_in_pdf_put_the_bilan_to_validate_on_page_one(demo, tmp_path):
    limits = {"restreinte": 12, "publique": 5}
    for diffusion, path in demo.items():
        pages = _pdf_pages(path, tmp_path / diffusion)
        first = re.sub(r"\s+", " ", pages[0])
        assert "Bilan 2024 des relogements du NPNRU" in first
        assert "valide" in first and "bilan annuel 2024 des relogements" in first
        assert "Relogés définitivement en 2024" in first and "Critère de la charte" in first
        for criterion in (
            "Relogés hors QPV",
            "Relogés hors du quartier d'origine",
            "reste à charge maîtrisé",
        ):
            assert criterion in first, (diffusion, criterion)
        assert ("Validation du bilan annuel des relogements 2024" in first) == (diffusion == "restreinte")
        assert "Annexe 1 –" not in first
        # The commission's order, the length bounded, no blank last page.
        starts = [next(i for i, p in enumerate(pages) if f"Annexe {n} –" in p) for n in (1, 2, 3)]
        assert starts == sorted(starts) and starts[0] == 1, (diffusion, starts)
        assert len(pages) <= limits[diffusion], (diffusion, len(pages))
        last = [line for line in pages[-1].splitlines() if line.strip()]
        assert len(last) > 3, (diffusion, last)


def test_the_demo_fills_the_commission_decisions_and_writes_the_mid_term_report(demo):
    """Two years of the commission's decisions read back into the 2024 annexes; the 2022 re-evaluation."""
    _, headings, body, tables = _texts(demo["restreinte"])
    assert "Travail de la commission de coordination" in headings
    seances = _table(tables, "Séances")
    assert [row[0] for row in seances[1:]] == ["Séances de 2023", "Séances de 2024", "Depuis 2023"]
    assert int(seances[-1][1]) >= int(seances[1][1]) > 0
    midterm = demo["restreinte"].parent.parent / "2022" / "reevaluation-mi-parcours-2022.docx"
    _, _, text, found = _texts(midterm)
    assert "Cibles proposées à partir de 2023" in text
    targets = next(t for t in found if t[0][1] == "Objectif 1 : cible 2023")
    assert len(targets) - 1 == len(CONVENTION.bailleurs) + len(CONVENTION.reservataires)
