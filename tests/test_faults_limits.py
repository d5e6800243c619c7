"""Issue 13, class 12: Excel's limits.

A cell holds at most 32,767 characters (a comment too), a sheet 1,048,576 rows, a hyperlink
location 255 characters, a sheet name 31. A text beyond the limit in a return is a finding on
its cell; every output stays within the limits; a message quoting a partner's value shortens
the value visibly (« … ») so that its end, how to fix, is never cut: in the console, the JSON,
the corrected copy and the officer's control workbook.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from campaign import YEAR, edit_return, return_path, run, workers_here
from lxml import etree

from cia_workbook.partners.corrections import CORRECTIONS_HEADER_ROW

OUT = f"outputs/{YEAR}"
MARKER = "@@TEXTE-LONG@@"
LONG = ("Suite exportée du logiciel de gestion, champ libre collé en entier. " * 700)[:40_000]
FIX = "Choisissez une valeur dans la liste déroulante."
MAX_CELL, MAX_ROWS, MAX_LOCATION, MAX_TITLE = 32_767, 1_048_576, 255, 31
M = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _with_long_text(path: Path, cells: dict[str, str]) -> None:
    """Write the 40,000-character text in `cells` (sheet → A1), as an export tool or LibreOffice
    can (openpyxl itself cuts a text at 32,767 characters: a marker is written, then replaced in
    the sheet's XML)."""

    def edit(wb):
        for sheet, ref in cells.items():
            wb[sheet][ref] = MARKER

    edit_return(path, edit)
    with zipfile.ZipFile(path) as zf:
        parts = [(info, zf.read(info)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in parts:
            zf.writestr(info, data.replace(MARKER.encode(), LONG.encode()))


def _texts(root, tag):
    return ["".join(el.itertext()) for el in root.iter(M + tag)]


def limits_broken(path: Path) -> list[str]:
    """What in the workbook `path` is beyond Excel's limits, read from its XML (openpyxl itself
    cuts long texts when it reads them, so it cannot see them)."""
    problems = []
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if not name.endswith(".xml"):
                continue
            root = etree.fromstring(zf.read(name))
            if name.endswith("workbook.xml"):
                problems += [f"sheet name {t!r}" for t in (el.get("name") for el in root.iter(M + "sheet"))
                             if len(t) > MAX_TITLE]  # fmt: skip
            for tag in ("t", "text", "si"):
                problems += [
                    f"{name}: text of {len(t)} characters" for t in _texts(root, tag) if len(t) > MAX_CELL
                ]
            for link in root.iter(M + "hyperlink"):
                if len(link.get("location", "")) > MAX_LOCATION:
                    problems.append(f"{name}: link location of {len(link.get('location'))} characters")
            rows = [int(r.get("r")) for r in root.iter(M + "row") if r.get("r")]
            if rows and max(rows) > MAX_ROWS:
                problems.append(f"{name}: row {max(rows)}")
    return problems


def _plain(text: str) -> str:
    """Spaces of French typography (narrow no-break, no-break) as plain spaces."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def _json(workdir):
    result = run(workdir, "validate", "--year", str(YEAR), "--json")
    return result, json.loads(result.stdout)  # (the progress bar goes to stderr)


def _constats(data, name):
    return next(f for f in data["fichiers"] if f["fichier"] == name)["constats"]


def test_a_text_beyond_a_cells_limit_is_a_finding_and_no_message_loses_its_end(make_campaign):
    workdir = make_campaign()
    path = return_path(workdir, "semiga")
    _with_long_text(path, {"Attributions": "D5"})  # « Suite donnée »: also a value not in the list

    result, data = _json(workdir)

    assert result.exit_code == 1
    found = {c["code"]: c for c in _constats(data, path.name) if c["cellule"] == "D5"}
    too_long = found["TEXTE_TROP_LONG"]
    assert "40 000 caractères" in _plain(too_long["message"]) and "32 767" in _plain(too_long["message"])
    quoted = found["VALEUR_HORS_LISTE"]["message"]
    assert quoted.endswith(FIX) and "…" in quoted and len(quoted) < 1_000

    console = run(workdir, "validate", "--year", str(YEAR)).output
    line = next(x for x in console.splitlines() if "D5 [VALEUR_HORS_LISTE]" in x)
    assert line.endswith(FIX) and len(line) < 1_000

    copy = workdir / OUT / "retours" / f"{path.stem}-corrections.xlsx"
    control = workdir / OUT / f"controle-{YEAR}.xlsx"
    assert limits_broken(copy) == []
    assert limits_broken(control) == []
    wb = openpyxl.load_workbook(copy)
    messages = {
        row[2].value: row[5].value
        for row in wb["Corrections"].iter_rows(min_row=CORRECTIONS_HEADER_ROW + 1)
        if row[4].value == "D5"
    }
    assert messages["VALEUR_HORS_LISTE"].endswith(FIX)
    assert wb["Attributions"]["D5"].comment.text.rstrip().endswith(FIX)
    # The partner's text is shortened visibly in the copy, never cut in silence.
    assert wb["Attributions"]["D5"].value.startswith(LONG[:1000])
    assert wb["Attributions"]["D5"].value.endswith("]")
    rows = list(openpyxl.load_workbook(control, read_only=True)["Constats"].iter_rows(values_only=True))
    assert [r[7] for r in rows if r[3] == "D5" and r[4] == "VALEUR_HORS_LISTE"][0].endswith(FIX)


def test_a_long_text_of_a_valid_return_is_shortened_visibly_in_the_consolidated_workbook(make_campaign):
    workdir = make_campaign()
    semiga, logis = return_path(workdir, "semiga"), return_path(workdir, "logis-cevenols")
    _with_long_text(semiga, {"Attributions": "A4"})  # a reference
    _with_long_text(logis, {"Relogements NPNRU": "AF4"})  # « Commentaire » of a household

    result, data = _json(workdir)
    assert result.exit_code == 0, result.output
    assert [c["cellule"] for c in _constats(data, semiga.name) if c["code"] == "TEXTE_TROP_LONG"] == ["A4"]
    too_long = [c for c in _constats(data, logis.name) if c["code"] == "TEXTE_TROP_LONG"]
    assert [(c["feuille"], c["cellule"], c["gravite"]) for c in too_long] == [
        ("Relogements NPNRU", "AF4", "avertissement")
    ]

    assert run(workdir, "consolidate", "--year", str(YEAR), "--sans-word").exit_code == 0
    book = workdir / OUT / f"consolidation-{YEAR}.xlsx"
    assert limits_broken(book) == []
    wb = openpyxl.load_workbook(book, read_only=True)
    refs = [r[4] for r in wb["Données"].iter_rows(values_only=True) if r[0] == semiga.name and r[3] == 4]
    notes = [
        r[-1]
        for r in wb["Données relogements"].iter_rows(values_only=True)
        if r[0] == logis.name and r[3] == 4
    ]
    for text in (refs[0], notes[0]):
        assert text.startswith(LONG[:1000])
        assert re.search(r"… \[texte de 40 000 caractères raccourci\]$", _plain(text))


def test_a_long_text_is_shortened_visibly_in_the_csv_of_a_large_campaign(make_campaign, monkeypatch):
    monkeypatch.setattr("cia_workbook.render.workbook.DATA_SHEET_MAX_ROWS", 100)  # rows go to CSV files
    workdir = make_campaign()
    semiga = return_path(workdir, "semiga")
    _with_long_text(semiga, {"Attributions": "A4"})

    assert run(workdir, "consolidate", "--year", str(YEAR), "--sans-word").exit_code == 0
    text = (workdir / OUT / f"donnees-{YEAR}.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    (ref,) = [r[4] for r in rows if r[0] == semiga.name and r[3] == "4"]
    assert len(ref) <= MAX_CELL
    assert ref.startswith(LONG[:1000]) and ref.endswith("raccourci]")


def test_findings_beyond_a_sheets_rows_are_counted_on_a_last_line(make_campaign, monkeypatch):
    """A national return with a column pasted wrong can hold more findings than a sheet has rows
    (1,048,576): the limit is lowered here so that the test stays small."""
    monkeypatch.setattr("cia_workbook.partners.excel.MAX_ROWS", 40, raising=False)
    workers_here(monkeypatch)  # the corrected copies are written where the files are read
    workdir = make_campaign()
    path = return_path(workdir, "semiga")

    def edit(wb):
        ws = wb["Attributions"]
        for row in range(4, ws.max_row + 1):
            ws.cell(row, 4, "?")  # « Suite donnée »
            ws.cell(row, 5, "?")  # « Commune du logement »

    edit_return(path, edit)
    result, data = _json(workdir)
    total = len(_constats(data, path.name))
    assert total > 40

    copy = openpyxl.load_workbook(workdir / OUT / "retours" / f"{path.stem}-corrections.xlsx")
    lines = list(copy["Corrections"].iter_rows(values_only=True))
    assert len(lines) == 40  # the heading, three lines of instruction, the header, then the findings
    assert f"{total - (40 - CORRECTIONS_HEADER_ROW - 1)} autres constats" in lines[-1][5]
    control = openpyxl.load_workbook(workdir / OUT / f"controle-{YEAR}.xlsx", read_only=True)
    rows = list(control["Constats"].iter_rows(values_only=True))
    assert len(rows) == 40
    assert "autres constats" in rows[-1][7]


@pytest.mark.filterwarnings("ignore:Title is more than 31 characters")
def test_links_of_the_corrections_sheet_stay_within_excels_limit(make_campaign):
    """The Attributions sheet renamed by another program with a very long name (read as the
    renamed sheet): the Corrections sheet cannot link to its cells."""
    workdir = make_campaign()
    path = return_path(workdir, "semiga")
    title = "Attributions " + "saisies par l'agence de La Grand-Combe, à reprendre " * 5

    def edit(wb):
        ws = wb["Attributions"]
        ws.title = title
        ws["D5"] = "Bail signé ?"

    edit_return(path, edit)
    assert len(title) > MAX_LOCATION
    _json(workdir)

    copy = workdir / OUT / "retours" / f"{path.stem}-corrections.xlsx"
    assert [p for p in limits_broken(copy) if "link" in p] == []
    wb = openpyxl.load_workbook(copy)
    (cell,) = [
        row[4]
        for row in wb["Corrections"].iter_rows(min_row=CORRECTIONS_HEADER_ROW + 1)
        if row[2].value == "VALEUR_HORS_LISTE"
    ]
    assert cell.value == "D5" and cell.hyperlink is None  # the cell named, without a link Excel refuses
