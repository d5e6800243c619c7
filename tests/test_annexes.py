"""The Word annexes of the charte de relogement, read back with python-docx (and LibreOffice).

Built from the two-year set of households of test_relogement.py: every household in annexe 1,
the criteria in French typography in annexe 2, the blocked cases in annexe 3 of the restricted
version only; the public version masks small counts and lists no household.
"""

from __future__ import annotations

import zipfile

import pytest
from docx import Document
from libreoffice import convert, needs_libreoffice
from test_relogement import TRUTH, _campaigns
from workbooks import CONVENTION

from cia_workbook.relogement import rehousing_bilan
from cia_workbook.report_annexes import annexes_docx_name, write_annexes_docx

NBSP = "\u00a0"
IDS = ["PSJ-001", "PSJ-002", "PSJ-003", "PSJ-004", "PSJ-005", "FBG-001", "FBG-002"]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("annexes")
    bilan = rehousing_bilan(CONVENTION, _campaigns(tmp), 2024)
    paths = {
        d: write_annexes_docx(CONVENTION, bilan, tmp / annexes_docx_name(2024, d), diffusion=d)
        for d in ("restreinte", "publique")
    }
    return bilan, paths


def _texts(path):
    doc = Document(str(path))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    body = "\n".join(p.text for p in doc.paragraphs)
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables]
    return doc, headings, body, tables


def _table(tables, first_header: str, contains: str = ""):
    return next(t for t in tables if t[0][0] == first_header and (not contains or contains in str(t)))


def test_file_names():
    assert annexes_docx_name(2024) == "annexes-charte-relogement-2024.docx"
    assert annexes_docx_name(2024, "publique") == "annexes-charte-relogement-2024-publique.docx"


def test_restricted_annexes_hold_every_household_the_criteria_and_blocked_cases(made):
    bilan, paths = made
    doc, headings, body, tables = _texts(paths["restreinte"])
    assert [h for h in headings if h.startswith("Annexe")] == [
        "Annexe 1 – Tableau de suivi des relogements",
        "Annexe 2 – Bilan annuel des relogements",
        "Annexe 3 – Dossiers bloqués",
    ]
    # Annexe 1: one table per operation that has households, every household once, landscape.
    follow = [t for t in tables if t[0][0] == "Identifiant" and t[0][1] == "Suivi par"]
    listed = [row[0].upper() for t in follow for row in t[1:]]
    assert sorted(listed) == sorted(IDS)
    assert "LC-CEV – Démolitions Logis Cévenols – Cévennes, Tamaris" in headings
    assert any(s.orientation == 1 for s in doc.sections)  # WD_ORIENT.LANDSCAPE
    psj2 = next(row for t in follow for row in t[1:] if row[0] == "PSJ-002")
    assert psj2[4:6] == ["09/01/2023", "01/03/2024"]
    assert psj2[10:12] == [f"250{NBSP}€", f"225{NBSP}€"]  # 320 + 80 − 150 and 320 + 75 − 170
    # Annexe 2: the criteria against their targets, in French typography.
    year = _table(tables, "Critère de la charte", "Relogés hors QPV")
    hors_qpv = next(row for row in year[1:] if row[0] == "Relogés hors QPV")
    num = sum(not t["qpv"] for t in TRUTH.values() if t["year"] == 2024)
    assert hors_qpv[1:3] == [str(num), "3"]
    assert hors_qpv[4:7] == [f"66,7{NBSP}%", f"50{NBSP}%", "atteint"]
    cumul = [t for t in tables if t[0][0] == "Critère de la charte"][1]
    rac = next(row for row in cumul[1:] if row[0] == "Relogés avec un reste à charge maîtrisé")
    ok = sum(t["rac_gap"] <= 10 for t in TRUTH.values())
    assert rac[1:3] == [str(ok), "5"] and rac[5] == f"80{NBSP}%"
    progress = _table(tables, "Opération", "Ensemble du programme")
    assert progress[-1][:5] == ["Ensemble du programme", "166", "7", "5", "3"]
    assert "Date de la séance" in body and "bilan validé" in body
    # Annexe 3: the blocked case, what blocks it, the proposals already made, a column to fill.
    blocked = _table(tables, "Identifiant", "Ce qui bloque")
    assert len(blocked) == 2
    row = dict(zip(blocked[0], blocked[1], strict=True))
    assert row["Identifiant"] == "PSJ-003" and row["Ce qui bloque"] == "Dette locative ou impayés"
    assert row["Propositions / refus"] == "3 / 3" and row["Suite décidée par la commission"] == ""
    assert "Plan d'apurement en cours." in row["Commentaire du partenaire"]
    assert "psj-003 (2024)" in body  # the household returned by two partners is named


def test_public_annexes_mask_small_counts_and_list_no_household(made):
    _, paths = made
    _, headings, body, tables = _texts(paths["publique"])
    assert "Annexe 3 – Dossiers bloqués" not in headings
    everything = body + str(tables)
    assert not any(ident in everything for ident in IDS)
    statuses = _table(tables, "Opération", "Relogé définitivement")
    total = statuses[-1]
    assert total[0] == "Ensemble du programme" and total[-1] == "< 11"
    year = _table(tables, "Critère de la charte", "Relogés hors QPV")
    assert all(row[4] == "secret statistique" and row[6] == "secret statistique" for row in year[1:])
    assert "Document public" in body


def test_charts_with_alt_text(made):
    _, paths = made
    with zipfile.ZipFile(paths["restreinte"]) as z:
        pngs = [n for n in z.namelist() if n.startswith("word/media/") and n.endswith(".png")]
        xml = z.read("word/document.xml").decode("utf-8")
    assert len(pngs) == 3
    assert "Graphique en barres. Critères de la charte" in xml


@pytest.mark.libreoffice
@needs_libreoffice
def test_annexes_convert_to_pdf_with_libreoffice(made, tmp_path):
    _, paths = made
    pdf = convert(paths["restreinte"], tmp_path)
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_bilan_points_to_the_annexes_with_the_headline_figures(tmp_path):
    from cia_workbook.consolidate import consolidate
    from cia_workbook.report_docx import write_bilan_docx

    campaigns = _campaigns(tmp_path / "forms")
    bilan = consolidate(CONVENTION, campaigns, 2024)
    assert "3 ménage(s) relogé(s) définitivement dans l'année" in bilan.summary_text()
    texts = {}
    for diffusion in ("restreinte", "publique"):
        path = write_bilan_docx(CONVENTION, bilan, tmp_path / f"bilan-{diffusion}.docx", diffusion=diffusion)
        text = "\n".join(p.text for p in Document(str(path)).paragraphs)
        # The bilan's French spacing (no-break spaces before « : ; % ») read as plain spaces here.
        texts[diffusion] = text.replace("\u202f", " ").replace(NBSP, " ")
    assert "Relogements NPNRU (charte de relogement)" in texts["restreinte"]
    assert (
        "Relogés définitivement en 2024 : 3 ménages ; depuis 2020 : 5 sur 166 à reloger"
        in texts["restreinte"]
    )
    assert "Relogés hors QPV en 2024 : 66,7 % (cible de la charte 50 %)" in texts["restreinte"]
    assert "annexes-charte-relogement-2024.docx" in texts["restreinte"]
    assert "Relogés définitivement en 2024 : < 11 ménages" in texts["publique"]
    assert "annexes-charte-relogement-2024-publique.docx" in texts["publique"]
