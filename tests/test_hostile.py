"""Hostile input: zip bombs, XML entity attacks and partner text that looks like a formula."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from workbooks import CONVENTION, attribution, make_return, rezipped

import cia_workbook.intake.archive as archive
from cia_workbook.intake.campaign import collect_campaign
from cia_workbook.intake.files import read_return
from cia_workbook.intake.reader import read_workbook
from cia_workbook.partners.feedback import write_feedback

CORPUS = Path(__file__).resolve().parent / "fixtures" / "corpus"


def codes(result):
    return [f.code for f in result.findings]


def _zip(path: Path, parts: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


def test_compression_ratio_limit(tmp_path):
    path = _zip(
        tmp_path / "bombe.xlsx",
        {"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": b"\0" * (30 * 1024**2)},
    )
    result = read_workbook(path)
    assert codes(result) == ["FICHIER_TROP_GROS"] and "compression" in result.findings[0].message


def test_number_of_parts_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "MAX_PARTS", 20)
    path = _zip(
        tmp_path / "parts.xlsx",
        {f"xl/p{i}.xml": b"<a/>" for i in range(21)} | {"xl/workbook.xml": b"<workbook/>"},
    )
    result = read_workbook(path)
    assert codes(result) == ["FICHIER_TROP_GROS"] and "parties" in result.findings[0].message


def test_total_uncompressed_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "MAX_UNCOMPRESSED", 1000)
    path = make_return(tmp_path / "r.xlsx", rows=[attribution()])
    result = read_workbook(path)
    assert codes(result) == ["FICHIER_TROP_GROS"] and "décompressé" in result.findings[0].message


def test_limits_do_not_refuse_a_real_return(tmp_path):
    rows = [attribution(reference=f"LC-{i:05d}") for i in range(2000)]
    assert read_workbook(make_return(tmp_path / "r.xlsx", rows=rows)).findings == []


@pytest.mark.parametrize("engine", ["auto", "calamine", "openpyxl"])
def test_billion_laughs_is_refused_without_expansion(engine):
    result = read_workbook(CORPUS / "billion-laughs.xlsx", engine=engine)
    if result.workbook is None:
        assert codes(result) == ["FICHIER_ILLISIBLE"]
    else:  # a reader that leaves the entity unexpanded is fine too: no cell may have grown
        assert all(len(str(v)) < 1000 for s in result.workbook.sheets for row in s.rows for v in row)


def test_entities_in_identification_parts_are_ignored(tmp_path):
    """defusedxml refuses the DTD of a hostile custom.xml; the other sources still identify the file."""
    path = make_return(tmp_path / "r.xlsx", rows=[attribution()])
    hostile = tmp_path / "hostile.xlsx"
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    )
    rezipped(
        path,
        hostile,
        lambda name, data: (
            bomb + data.replace(b"logis-cevenols", b"&b;") if name == "docProps/custom.xml" else data
        ),
    )
    result = read_workbook(hostile)
    assert result.findings == []
    assert [name for name, _ in result.workbook.id_sources] == ["feuille", "noms"]


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://example.org","clic")', "+33 4 66", "-1+2", "@SUM(A1)", "=1+1"]
)
def test_partner_text_stays_text_in_every_output(tmp_path, text):
    forms = tmp_path / "forms"
    # Partner text reaches outputs through the copy of their cells and through messages.
    make_return(forms / "r.xlsx", rows=[attribution(reference=text, suite=text)])
    campaign = collect_campaign(CONVENTION, 2024, [forms])
    written = write_feedback(CONVENTION, campaign, tmp_path / "out")
    for path in written:
        wb = openpyxl.load_workbook(path)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str) and cell.value[:1] in "=+-@":
                        assert cell.data_type == "s", (path.name, ws.title, cell.coordinate)
                    assert cell.hyperlink is None or cell.hyperlink.location, "only internal links"
    copy = openpyxl.load_workbook(tmp_path / "out" / "retours" / "r-corrections.xlsx")
    assert copy["Attributions"]["A4"].value == text


def _declared_size(data: bytes, member: str, size: int) -> bytes:
    """The archive `data` with `member` declared `size` bytes long, in its local header and in
    the central directory (a crafted archive whose sizes lie)."""
    out = bytearray(data)
    zf = zipfile.ZipFile(io.BytesIO(data))
    info = zf.getinfo(member)
    out[info.header_offset + 22 : info.header_offset + 26] = size.to_bytes(4, "little")
    pos = zf.start_dir
    while out[pos : pos + 4] == b"PK\x01\x02":
        n, e, c = (int.from_bytes(out[pos + k : pos + k + 2], "little") for k in (28, 30, 32))
        if out[pos + 46 : pos + 46 + n].decode() == member:
            out[pos + 24 : pos + 28] = size.to_bytes(4, "little")
        pos += 46 + n + e + c
    return bytes(out)


def test_an_archive_that_lies_about_a_part_size_is_refused(tmp_path, monkeypatch):
    """Limits read on declared sizes alone would let a bomb through by declaring small parts:
    the parts that could grow past them are measured."""
    path = make_return(tmp_path / "r.xlsx", rows=[attribution()])
    sheet = next(n for n in zipfile.ZipFile(path).namelist() if n.startswith("xl/worksheets/"))
    bomb = tmp_path / "bombe.xlsx"
    rezipped(path, bomb, lambda name, data: data + b" " * (3 * 1024**2) if name == sheet else data)
    bomb.write_bytes(_declared_size(bomb.read_bytes(), sheet, 4096))
    assert zipfile.ZipFile(bomb).getinfo(sheet).file_size == 4096
    monkeypatch.setattr(archive, "MEASURE_FROM", 1024)  # the padding compresses to a few kB
    result = read_workbook(bomb)
    assert (
        codes(result) == ["FICHIER_TROP_GROS"]
        and "taille que l'archive déclare" in result.findings[0].message
    )
    # The same parts unmeasured (they stay below the thresholds): read as before.
    monkeypatch.setattr(archive, "MEASURE_FROM", 10 * 1024**2)
    assert "FICHIER_TROP_GROS" not in codes(read_workbook(bomb))


def test_a_large_sheet_that_lies_about_its_size_is_refused_by_the_pass_that_scans_it(tmp_path, monkeypatch):
    """A sheet part large enough to be scanned for formulas before the readers open the file is
    measured by that pass (its one inflation before calamine's), not a second time beforehand."""
    import random

    path = make_return(tmp_path / "r.xlsx", rows=[attribution()])
    sheet = next(n for n in zipfile.ZipFile(path).namelist() if n.startswith("xl/worksheets/"))
    noise = random.Random(1).randbytes(3 * 1024**2).hex().encode()  # compresses about twofold
    bomb = tmp_path / "bombe.xlsx"
    rezipped(path, bomb, lambda name, data: data + noise if name == sheet else data)
    declared = 4 * 1024**2  # beyond EXACT_MAX: this part is scanned
    bomb.write_bytes(_declared_size(bomb.read_bytes(), sheet, declared))
    measured = []
    original = archive.inflated_beyond
    monkeypatch.setattr(
        archive, "inflated_beyond", lambda data, info: measured.append(info.filename) or original(data, info)
    )
    result = read_workbook(bomb)
    assert (
        codes(result) == ["FICHIER_TROP_GROS"]
        and f"la partie {sheet} se décompresse au-delà de la taille que l'archive déclare"
        in result.findings[0].message
    )
    assert sheet not in measured


def test_measuring_every_part_refuses_no_real_return(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "MEASURE_FROM", 0)
    rows = [attribution(reference=f"LC-{i:05d}") for i in range(300)]
    assert read_workbook(make_return(tmp_path / "r.xlsx", rows=rows)).findings == []
    # Files saved by LibreOffice and Excel-like producers, every one but the corpus's own bomb.
    fixtures = sorted((Path(__file__).parent / "fixtures").rglob("*.xls[xm]")) + sorted(
        (Path(__file__).parent / "fixtures").rglob("*.ods")
    )
    for fixture in (f for f in fixtures if f.name != "bombe.xlsx"):
        assert "FICHIER_TROP_GROS" not in codes(read_workbook(fixture)), fixture.name


def test_a_control_character_pasted_in_a_cell_is_removed_and_told():
    """A control character (a copy-paste from another program) is invisible in a spreadsheet and
    cannot be written in a Word document: it is removed from the text read, and the partner is
    told which cell held it; the rest of the text is kept as typed."""
    name = "caractere-invisible.xlsx"
    rf = read_return(CONVENTION, 2024, Path(__file__).parent / "fixtures" / "corpus" / name)
    [found] = rf.findings
    assert (found.sheet, found.cell, found.code) == ("Attributions", "A4", "CARACTERE_INVISIBLE")
    assert "caractères de contrôle invisibles (nombre : 1)" in found.message and "Retapez" in found.message
    assert rf.tables["attributions"].frame["reference"].to_list() == ["LC-2024-0001"]
