"""The partners' workbooks and the officer's control workbook as LibreOffice prints them: what a
partner or the officer sees on paper (skipped without LibreOffice)."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from libreoffice import convert, needs_libreoffice
from lxml import etree
from workbooks import CONVENTION, attribution, make_return

from cia_workbook.intake.campaign import collect_campaign
from cia_workbook.partners import control, feedback
from cia_workbook.partners.templates import template_filename, write_template

pytestmark = [pytest.mark.libreoffice, needs_libreoffice]

ADDRESS = "cia.habitat@alesagglo.fr"


def _pages(pdf: Path) -> list[str]:
    """The text of each page in the order it is drawn (LibreOffice draws a cell's lines together)."""
    text = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True)
    return text.stdout.split("\f")[:-1]


def _words(pdf: Path, page: int) -> list[tuple[str, float, float]]:
    """(text, top, bottom) of every word of a page (1-based)."""
    out = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    root = etree.fromstring(out, etree.XMLParser(recover=True))
    return [
        (w.text or "", float(w.get("yMin")), float(w.get("yMax")))
        for w in root.iter("{http://www.w3.org/1999/xhtml}word")
    ]


def _flat(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def test_a_printed_template_shows_the_address_first_and_cuts_no_header(tmp_path):
    """Page 1 is the Lisez-moi's essentials with the return address; on every table sheet the
    headers stay inside their row: none rises into the line of instructions above it (as the
    réservataire's Contingent headers did, five lines in a row of three)."""
    for partner_id in ("etat", "logis-cevenols"):
        partner = CONVENTION.partners_by_id[partner_id]
        xlsx = write_template(CONVENTION, partner, 2024, tmp_path / template_filename(partner, 2024))
        pdf = convert(xlsx, tmp_path / partner_id)
        pages = _pages(pdf)
        first = _flat(pages[0])
        for text in ("L'essentiel", "Date limite de retour 31 mars 2025", f"par courriel à {ADDRESS}",
                     "Les feuilles à remplir", "Comment remplir"):  # fmt: skip
            assert _flat(text) in first, text
        checked = 0
        for number, page in enumerate(pages, start=1):
            if "Mode d'emploi et définitions" not in page:  # the instruction line of a table sheet
                continue
            words = _words(pdf, number)
            _, top, bottom = next(w for w in words if w[0] == "d'emploi")
            # A header taller than its row is drawn rising from the row's middle: its first words
            # start inside the instruction line's band.
            intruders = [w for w in words if top + 0.5 < w[1] < bottom - 0.5]
            assert intruders == [], (partner_id, number, intruders[:5])
            checked += 1
        assert checked >= (1 if partner_id == "etat" else 3)


def test_a_printed_corrections_sheet_is_one_page_wide_with_its_instructions(tmp_path):
    src = make_return(tmp_path / "cia-2024-semiga.xlsx", "semiga", rows=[attribution(suite="Bail sgné")])
    campaign = collect_campaign(CONVENTION, 2024, [src])
    (rf,) = campaign.files
    copy = feedback.write_corrected_copy(
        src,
        rf.findings,
        tmp_path / "copie.xlsx",
        dt.datetime(2025, 1, 1),
        contact=feedback.return_address(CONVENTION),
    )
    first = _flat(_pages(convert(copy, tmp_path / "pdf"))[0])
    assert "Corrections à apporter à votre fichier « cia-2024-semiga.xlsx »" in first
    assert "Corrigez votre propre fichier, celui que vous avez envoyé, et non cette copie" in first
    assert f"Renvoyez ensuite le fichier corrigé à {ADDRESS}" in first
    # The message column is printed beside the others, on the same page.
    assert "Ce qui ne va pas et comment le corriger" in first and "n'est pas une valeur autorisée" in first


def test_the_printed_control_workbook_puts_whom_to_chase_on_page_one(tmp_path):
    folder = tmp_path / "forms"
    make_return(folder / "logis.xlsx", rows=[attribution(suite="Bail sgné")],
                form={"repondant": "Marie Dupont", "courriel": "m.dupont@logis.example"})  # fmt: skip
    campaign = collect_campaign(CONVENTION, 2024, [folder])
    target = control.write_summary(CONVENTION, campaign, tmp_path / "controle-2024.xlsx")
    pages = _pages(convert(target, tmp_path / "pdf"))
    first = _flat(pages[0])
    for text in ("Contrôle des réponses 2024", "Partenaire", "Situation", "Courriel", "À demander", "Aucun retour",
                 "Relancer : aucun fichier reçu"):  # fmt: skip
        assert _flat(text) in first, text
    # The excluded return follows the missing ones, with the contact to call.
    chase = _flat(" ".join(p for p in pages if "Partenaires – page" in p))
    assert "Écarté (erreurs) Marie Dupont m.dupont@logis.example" in chase
    assert "SHA-256" not in first  # the technical detail is on its own sheet
    assert len(pages) <= 4
