"""Class 4 of issue 13: annotated copies never contradict the current file.

A partner sends a faulty return, gets its annotated copy, then sends a corrected version. The
corrected version is retained; the old one is listed as replaced by it, its findings are no
longer shown nor counted, and no annotated copy of it is left for the officer to send back.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import openpyxl
from campaign import CONVENTION, YEAR, edit_return, return_path, run

from cia_workbook.partners.control import SUMMARY_HEADER_ROW
from cia_workbook.schema.sheets import IDENTIFICATION, schema_for

ATTRIBUTIONS = schema_for(CONVENTION, "bailleur", YEAR).sheet("attributions")


def _answered(day: dt.date, faulty: bool):
    """The partner's edit: the answer date typed in Identification, and for a faulty version a
    value outside the dropdown list in the first row's « suite » column."""

    def edit(wb):
        wb[IDENTIFICATION.title][IDENTIFICATION.form_cell("date_reponse")] = day
        if faulty:
            column = [c.key for c in ATTRIBUTIONS.columns].index("suite") + 1
            wb[ATTRIBUTIONS.title].cell(ATTRIBUTIONS.first_data_row, column, "Bail signé ??")

    return edit


def _two_versions(workdir):
    """SEMIGA's first return (faulty, answered 3 February) is validated, then its corrected
    version (answered 20 February) arrives beside it."""
    first = return_path(workdir, "semiga")
    clean = workdir / "semiga-clean.xlsx"  # kept out of forms/ until it is sent
    shutil.copy(first, clean)
    edit_return(first, _answered(dt.date(YEAR + 1, 2, 3), faulty=True))
    result = run(workdir, "validate", "--year", str(YEAR))
    copy = workdir / "outputs" / str(YEAR) / "retours" / f"{first.stem}-corrections.xlsx"
    assert result.exit_code == 1 and copy.is_file()  # the partner's first answer: faulty
    corrected = first.with_name(f"{first.stem}-corrige.xlsx")
    edit_return(clean, _answered(dt.date(YEAR + 1, 2, 20), faulty=False), corrected)
    clean.unlink()
    return first, corrected, copy


def test_the_replaced_version_shows_no_finding_and_keeps_no_copy(make_campaign):
    workdir = make_campaign()
    first, corrected, copy = _two_versions(workdir)
    result = run(workdir, "validate", "--year", str(YEAR))
    out = result.output
    # No copy the officer could send back for the old file; its earlier copy is removed.
    assert not copy.exists() and str(copy) in out.split("Copies annotées retirées")[1]
    # Its errors no longer apply: not listed, not counted in the exit code.
    assert "VALEUR_HORS_LISTE" not in out and f"  {first.name} (" not in out
    assert result.exit_code == 0, out
    assert f"fichier utilisé : {corrected.name} ; remplace {first.name}" in out
    assert f"{first.name} : remplacé par {corrected.name}" in out
    assert list((workdir / "outputs" / str(YEAR) / "retours").glob("*")) == []
    # The officer's summary workbook says the same.
    wb = openpyxl.load_workbook(workdir / "outputs" / str(YEAR) / f"controle-{YEAR}.xlsx")
    files = {
        row[0]: row[3] for row in wb["Fichiers"].iter_rows(min_row=SUMMARY_HEADER_ROW + 1, values_only=True)
    }
    assert files[first.name] == f"remplacé par {corrected.name}"
    assert [
        row
        for row in wb["Constats"].iter_rows(min_row=SUMMARY_HEADER_ROW + 1, values_only=True)
        if row[0] == first.name
    ] == []


def test_the_json_lists_the_replaced_version_without_its_findings(make_campaign):
    workdir = make_campaign()
    first, corrected, _copy = _two_versions(workdir)
    result = run(workdir, "validate", "--year", str(YEAR), "--json")
    data = json.loads(result.stdout)
    old = next(f for f in data["fichiers"] if f["fichier"] == first.name)
    assert old["statut"] == "remplacé" and old["remplace_par"] == corrected.name
    assert old["constats"] == [] and result.exit_code == 0


def test_files_given_by_name_get_no_copy_for_the_replaced_version(make_campaign):
    """`validate FILE…` (not the whole folder) removes the replaced version's copy too."""
    workdir = make_campaign()
    first, corrected, copy = _two_versions(workdir)
    result = run(workdir, "validate", "--year", str(YEAR), str(first), str(corrected))
    assert result.exit_code == 0, result.output
    assert not copy.exists()
    assert f"{first.name} : remplacé par {corrected.name}" in result.output


def test_a_faulty_correction_gets_the_copy_and_the_old_version_none(make_campaign):
    """The newest version is retained even with errors: its copy is written under its own name,
    and the older (valid) version gets none."""
    workdir = make_campaign()
    first = return_path(workdir, "semiga")
    edit_return(first, _answered(dt.date(YEAR + 1, 2, 3), faulty=False))
    newer = edit_return(
        first, _answered(dt.date(YEAR + 1, 3, 1), faulty=True), first.with_name("semiga-v2.xlsx")
    )
    result = run(workdir, "validate", "--year", str(YEAR))
    assert result.exit_code == 1
    retours = workdir / "outputs" / str(YEAR) / "retours"
    assert sorted(p.name for p in retours.glob("*")) == ["semiga-v2-corrections.xlsx"]
    assert f"{first.name} : remplacé par {newer.name}" in result.output
