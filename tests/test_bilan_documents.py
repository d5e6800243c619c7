"""The bilan as the officer makes it and the commission reads it: the working folder's Word
template, the commentary file, `consolidate --pdf`, and the demo's bilans converted to PDF."""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from campaign import run
from click.testing import CliRunner
from docx import Document
from docx.oxml.ns import qn
from libreoffice import SOFFICE, needs_libreoffice
from PIL import Image

from cia_workbook.cli.commands import main
from cia_workbook.convention.settings import load_convention

CONVENTION = load_convention()
YEAR = 2024
NNBSP, NBSP = "\u202f", "\u00a0"


def _plain(text: str) -> str:
    return text.replace(NNBSP, " ").replace(NBSP, " ")


def _text(path: Path) -> str:
    doc = Document(path)
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    return _plain("\n".join([p.text for p in doc.paragraphs] + cells))


def _logo() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (120, 40), (200, 30, 60)).save(buf, format="PNG")
    return buf.getvalue()


def test_init_puts_the_word_template_in_the_working_folder_and_keeps_an_edited_one(tmp_path):
    result = CliRunner().invoke(main, ["init", str(tmp_path)])
    assert result.exit_code == 0, result.output
    model = tmp_path / "modele-bilan.docx"
    assert "Modèle Word du bilan écrit" in result.output and model.is_file()
    doc = Document(model)
    assert "Repère" in [s.name for s in doc.styles] and "{titre}" in [p.text for p in doc.paragraphs]
    model.write_bytes(model.read_bytes() + b"")  # the officer's copy, say, edited in Word
    before = model.stat().st_mtime_ns
    again = CliRunner().invoke(main, ["init", str(tmp_path)])
    assert "il est conservé" in again.output and model.stat().st_mtime_ns == before


def test_a_template_with_a_logo_in_the_working_folder_styles_the_bilan(make_campaign):
    wd = make_campaign()
    assert run(wd, "init").exit_code == 0
    model = wd / "modele-bilan.docx"
    doc = Document(model)
    header = doc.sections[0].header.paragraphs[0]
    header.insert_paragraph_before().add_run().add_picture(io.BytesIO(_logo()))
    title = next(p for p in doc.paragraphs if p.text == "{sous_titre}")
    title.text = "Conférence intercommunale du logement – séance plénière"  # the EPCI's own cover text
    doc.save(model)
    result = run(wd, "consolidate", "--year", str(YEAR))
    assert result.exit_code == 0, result.output
    bilan = wd / "outputs" / str(YEAR) / f"bilan-cia-{YEAR}.docx"
    with zipfile.ZipFile(bilan) as z:
        media = [z.read(n) for n in z.namelist() if n.startswith("word/media/")]
    assert _logo() in media
    out = Document(bilan)
    assert out.sections[0].header._element.findall(".//" + qn("w:drawing"))  # the logo, in the header
    assert "Conférence intercommunale du logement – séance plénière" in [p.text for p in out.paragraphs[:5]]
    assert (
        _plain(out.sections[0].header.paragraphs[-1].text)
        == "Diffusion restreinte – commission de coordination"
    )


def test_the_officers_commentary_survives_every_regeneration(make_campaign):
    wd = make_campaign()
    outputs = wd / "outputs" / str(YEAR)
    first = run(wd, "consolidate", "--year", str(YEAR))
    assert first.exit_code == 0, first.output
    path = outputs / f"commentaires-{YEAR}.docx"
    assert path.is_file() and "Commentaires à rédiger" in first.output
    bilan = outputs / f"bilan-cia-{YEAR}.docx"
    assert "Commentaire à rédiger dans commentaires-2024.docx" in _text(bilan)
    # The officer writes under two headings, in Word.
    doc = Document(path)
    written = {
        "Objectif 1": "Le recul tient à deux résidences livrées en fin d'année ; il sera suivi en commission.",
        "Zoom : Anduze": "Les refus en centre-ville baissent depuis l'ouverture du guichet commun.",
    }
    for start, text in written.items():
        heading = next(
            p for p in doc.paragraphs if p.style.name == "Heading 1" and _plain(p.text).startswith(start)
        )
        nxt = heading._p.getnext()
        paragraph = heading.insert_paragraph_before(text)
        nxt.addprevious(paragraph._p)
    doc.save(path)
    saved = path.read_bytes()
    for args in ((), ("--diffusion", "publique")):
        again = run(wd, "consolidate", "--year", str(YEAR), *args)
        assert again.exit_code == 0, again.output
        assert "Commentaires repris" in again.output
    assert path.read_bytes() == saved  # never written again
    restricted, public = _text(bilan), _text(outputs / f"bilan-cia-{YEAR}-publique.docx")
    for text in written.values():
        assert text in restricted and text in public
    assert "Commentaire à rédiger" in restricted  # the sections still without commentary
    assert "Commentaire à rédiger" not in public


def test_consolidate_pdf_says_in_french_when_libreoffice_is_missing(make_campaign, monkeypatch):
    wd = make_campaign()
    monkeypatch.setattr("cia_workbook.render.pdfexport.soffice", lambda: None)
    result = run(wd, "consolidate", "--year", str(YEAR), "--pdf")
    assert result.exit_code == 1
    assert (
        "LibreOffice n'est pas installé : les PDF ne sont pas écrits (les documents Word le sont)"
        in result.output
    )
    assert (wd / "outputs" / str(YEAR) / f"bilan-cia-{YEAR}.docx").is_file()


# -- The demo's bilans, as the commission sees them -------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(
        main, ["--dir", str(folder), "demo", "--year", str(YEAR)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    outputs = folder / "outputs" / str(YEAR)
    return folder, {
        "restreinte": outputs / f"bilan-cia-{YEAR}.docx",
        "publique": outputs / f"bilan-cia-{YEAR}-publique.docx",
    }


def test_demo_public_bilan_publishes_most_bailleurs_and_no_small_count(demo):
    _, paths = demo
    doc = Document(paths["publique"])
    bailleurs = {p.name for p in CONVENTION.bailleurs}
    rows = [r for r in doc.tables[0].rows if _plain(r.cells[0].paragraphs[0].text) in bailleurs]
    with_figures = [r for r in rows if "%" in r.cells[1].text + r.cells[2].text + r.cells[3].text]
    published = [r for r in with_figures if any(re.search(r"\d %", _plain(c.text)) for c in r.cells[1:])]
    assert len(rows) == len(bailleurs)
    assert len(published) > len(with_figures) / 2  # most bailleur rows keep their figures
    cells = [_plain(c.text).strip() for t in doc.tables for r in t.rows for c in r.cells]
    assert not [
        c for c in cells if re.fullmatch(r"\d+", c.replace(" ", "")) and 1 <= int(c.replace(" ", "")) <= 10
    ]
    assert "non calculé" not in _text(paths["publique"])


def test_demo_bilans_hold_no_fingerprint_nor_log_line(demo):
    _, paths = demo
    for path in paths.values():
        with zipfile.ZipFile(path) as z:
            xml = " ".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
        assert not re.search(r"[0-9a-f]{64}", xml)
        assert "CONTINGENT_ECART" not in xml and "avertissement —" not in xml


def _pdf(path: Path, outdir: Path) -> tuple[Path, list[str]]:
    from libreoffice import convert

    pdf = convert(path, outdir)
    pages = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    )
    return pdf, pages.stdout.split("\f")[:-1]


@pytest.mark.libreoffice
@needs_libreoffice
def test_demo_bilans_in_pdf_answer_on_page_one_and_fit_their_length(demo, tmp_path):
    _, paths = demo
    for diffusion, path in paths.items():
        _, pages = _pdf(path, tmp_path / diffusion)
        first = _plain(pages[0])
        assert "Les objectifs sont-ils atteints en 2024" in first
        # Every bailleur and every line of the convention's table; in public, a group's line
        # (« Les communes ») stands for its members.
        lines = [
            x.label
            for x in CONVENTION.reservataire_lines
            if diffusion != "publique" or x.group is None or x.subtotal
        ]
        for name in (*(p.name for p in CONVENTION.bailleurs), *lines):
            # A long label wraps in its cell: its first words.
            assert " ".join(name.split(" (")[0].split()[:3]) in first, (diffusion, name)
        assert "Territoire" in first and "atteint" in first and "✓" in first
        assert "à interpréter avec prudence" in first
        annex = next(i for i, page in enumerate(pages) if re.search(r"Annexe 1 : ", _plain(page)))
        assert annex <= 12, (diffusion, annex)  # the body before the annexes fits in 12 pages
        for number, page in enumerate(pages, start=1):
            # No blank page anywhere (header and footer only), last one included; no page holding
            # nothing but the end of a note carried over from the page before.
            body = [line for line in page.splitlines() if line.strip()][1:-1]
            assert len(" ".join(body).split()) > 40, (diffusion, number, body)


@pytest.mark.libreoffice
@needs_libreoffice
def test_consolidate_pdf_writes_the_pdfs_beside_the_word_files(demo):
    folder, _ = demo
    assert SOFFICE is not None
    result = CliRunner().invoke(main, ["--dir", str(folder), "consolidate", "--year", str(YEAR), "--pdf"])
    assert result.exit_code == 0, result.output
    pdf = folder / "outputs" / str(YEAR) / f"bilan-cia-{YEAR}.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-" and "PDF écrits" in result.output
