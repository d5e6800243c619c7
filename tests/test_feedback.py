"""Answers for people: corrected copies, the officer's summary, safety of outputs and inputs."""

from __future__ import annotations

import datetime as dt
import hashlib
import time

import openpyxl
import pytest
from workbooks import CONVENTION, attribution, make_return

from cia_workbook import feedback
from cia_workbook.feedback import write_feedback
from cia_workbook.intake import collect_campaign


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def forms(tmp_path):
    folder = tmp_path / "forms"
    make_return(
        folder / "logis.xlsx",
        rows=[
            attribution(),
            attribution(reference='=HYPERLINK("http://x")', suite="Bail sgné"),
            attribution(reference="R3", date_cal="15/03/2024"),
        ],
    )
    make_return(folder / "hdg.xlsx", "habitat-du-gard", rows=[attribution()])
    (folder / "vide.xlsx").write_bytes(b"")
    return folder


def test_corrected_copy_marks_cells_and_lists_findings_first(tmp_path, forms):
    campaign = collect_campaign(CONVENTION, 2024, [forms])
    written = write_feedback(CONVENTION, campaign, tmp_path / "out")
    names = sorted(p.name for p in written)
    assert names == ["controle-2024.xlsx", "logis-corrections.xlsx"]  # hdg is valid, vide is unreadable
    wb = openpyxl.load_workbook(tmp_path / "out" / "retours" / "logis-corrections.xlsx")
    assert wb.sheetnames[0] == "Corrections"
    rows = list(wb["Corrections"].iter_rows(min_row=2, values_only=True))
    assert [(r[2], r[3], r[4]) for r in rows] == [
        ("VALEUR_HORS_LISTE", "Attributions", "D5"),
        ("DATE_TEXTE", "Attributions", "B6"),
    ]
    link = wb["Corrections"]["E2"].hyperlink
    assert link.location == "'Attributions'!D5"
    sheet = wb["Attributions"]
    assert sheet["D5"].fill.start_color.rgb.endswith(feedback.ERROR_FILL)
    assert sheet["B6"].fill.start_color.rgb.endswith(feedback.WARNING_FILL)
    assert "Bail signé" in sheet["D5"].comment.text
    # Partner text stays text: never a formula in an output.
    assert sheet["A5"].data_type == "s" and sheet["A5"].value.startswith("=HYPERLINK")


def test_summary_workbook_lists_partners_files_and_findings(tmp_path, forms):
    campaign = collect_campaign(CONVENTION, 2024, [forms])
    write_feedback(CONVENTION, campaign, tmp_path / "out")
    wb = openpyxl.load_workbook(tmp_path / "out" / "controle-2024.xlsx")
    assert wb.sheetnames == ["Partenaires", "Fichiers", "Constats"]
    partners = {r[0]: r for r in wb["Partenaires"].iter_rows(min_row=2, values_only=True)}
    assert partners["Logis Cévenols"][2] == "avec erreurs"
    assert partners["Habitat du Gard"][2] == "valide" and partners["Habitat du Gard"][4] == sha(
        forms / "hdg.xlsx"
    )
    assert partners["SFHE"][2] == "manquant"
    files = {r[0]: r for r in wb["Fichiers"].iter_rows(min_row=2, values_only=True)}
    assert files["vide.xlsx"][3] == "illisible"
    found = [(r[0], r[3], r[4]) for r in wb["Constats"].iter_rows(min_row=2, values_only=True)]
    assert ("vide.xlsx", None, "FICHIER_VIDE") in found and ("logis.xlsx", "D5", "VALEUR_HORS_LISTE") in found
    assert wb["Constats"].auto_filter.ref


def test_two_runs_give_byte_identical_outputs_and_inputs_are_untouched(tmp_path, forms):
    before = {p.name: sha(p) for p in forms.iterdir()}
    first = write_feedback(CONVENTION, collect_campaign(CONVENTION, 2024, [forms]), tmp_path / "a")
    time.sleep(1.1)  # document and zip times have a one-second resolution: make them differ
    second = write_feedback(CONVENTION, collect_campaign(CONVENTION, 2024, [forms]), tmp_path / "b")
    assert [sha(p) for p in first] == [sha(p) for p in second]
    assert {p.name: sha(p) for p in forms.iterdir()} == before


def test_ods_copy_is_rebuilt_as_xlsx(tmp_path):
    from cia_workbook.findings import finding
    from cia_workbook.model import ReturnFile

    # Any file openpyxl cannot open is rebuilt from the values calamine read.
    src = make_return(tmp_path / "r.xlsx", rows=[attribution()])
    rf = ReturnFile(src, sha(src), 1, dt.datetime(2025, 1, 1))
    target = tmp_path / "copie.xlsx"
    ods_like = tmp_path / "r.ods"
    ods_like.write_bytes(src.read_bytes())
    rf.path = ods_like
    feedback.write_corrected_copy(
        rf.path,
        [finding("DATE_TEXTE", "r.ods", "Attributions", "B4", value="x", column="c", parsed="p")],
        target,
        dt.datetime(2025, 1, 1),
    )
    wb = openpyxl.load_workbook(target)
    assert (
        wb.sheetnames[:2] == ["Corrections", "Lisez-moi"] and wb["Attributions"]["A4"].value == "LC-2024-0001"
    )


def test_an_interrupted_run_leaves_no_half_written_output(tmp_path, forms, monkeypatch):
    campaign = collect_campaign(CONVENTION, 2024, [forms])
    out = tmp_path / "out"

    def boom(*args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(feedback, "normalize_zip", boom)
    with pytest.raises(RuntimeError):
        write_feedback(CONVENTION, campaign, out)
    leftovers = [p for p in out.rglob("*") if p.is_file()]
    assert leftovers == []
