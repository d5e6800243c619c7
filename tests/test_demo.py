"""`cia-workbook demo`: the whole cycle on the embedded default, as `make demo` runs it."""

from __future__ import annotations

import re

import openpyxl
import pytest
from click.testing import CliRunner
from docx import Document

from cia_workbook.cli.commands import main


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(
        main, ["--dir", str(folder), "demo", "--year", "2021"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return folder, result.output


def test_demo_runs_the_cycle_and_says_where_the_reports_are(demo):
    tmp_path, out = demo
    # Both years of the trend were generated, validated and consolidated.
    assert {p.name for p in (tmp_path / "forms").iterdir()} == {"2020", "2021"}
    # The typical mistakes show: one return excluded for errors, one partner missing.
    assert "Un Toit pour Tous" in out and "avec erreurs" in out
    assert re.search(r"Commune de La Grand-Combe\s+manquant", out)
    assert "CONTINGENT_ECART" in out
    # The last line names every Word report, and each opens with a real reader.
    reports = out.strip().splitlines()[-1].removeprefix("Rapports Word : ").split(", ")
    names = sorted(p.rsplit("/", 1)[-1] for p in reports)
    assert names == [
        "annexes-charte-relogement-2021-publique.docx",
        "annexes-charte-relogement-2021.docx",
        "bilan-cia-2021-publique.docx",
        "bilan-cia-2021.docx",
    ]
    for path in reports:
        assert Document(path).tables, path
    assert (tmp_path / "outputs" / "2021" / "consolidation-2021.xlsx").is_file()
    assert list((tmp_path / "outputs" / "2021" / "retours").glob("*-corrections.xlsx"))


def test_demo_shows_a_corrected_version_retained_and_an_excluded_return_told(demo):
    """Issue 13's acceptance: the partner excluded in the year sends a corrected version, which is
    retained; another return stays excluded, and the annexes say which households it leaves
    without a state of the year."""
    tmp_path, out = demo
    forms = tmp_path / "forms" / "2021"
    first, corrected = (
        forms / "cia-2021-un-toit-pour-tous.xlsx",
        forms / "cia-2021-un-toit-pour-tous-corrige.xlsx",
    )
    assert first.is_file() and corrected.is_file()
    answered = [openpyxl.load_workbook(p)["Identification"]["B8"].value for p in (first, corrected)]
    assert answered[1] > answered[0]  # the correction is answered later
    # The console says the corrected version is used and replaces the first one.
    assert re.search(
        r"Un Toit pour Tous\s+reçu, valide — fichier utilisé : cia-2021-un-toit-pour-tous-corrige\.xlsx ; "
        r"remplace cia-2021-un-toit-pour-tous\.xlsx",
        out,
    ), out
    assert re.search(r"Opérateur de relogement du parc privé \(MOUS\)\s+reçu, avec erreurs", out)
    # The consolidation uses the corrected version (second version received).
    wb = openpyxl.load_workbook(tmp_path / "outputs" / "2021" / "consolidation-2021.xlsx")
    used = {r[0]: r for r in wb["Retours utilisés"].iter_rows(values_only=True) if r and r[0]}
    assert used["Un Toit pour Tous"][1:3] == ("cia-2021-un-toit-pour-tous-corrige.xlsx", "v2")
    excluded = {r[0]: r for r in wb["Retours exclus"].iter_rows(values_only=True) if r and r[0]}
    assert "Opérateur de relogement du parc privé (MOUS)" in excluded and "Un Toit pour Tous" not in excluded
    # The annexes of the year: the excluded return and the households it leaves apart.
    doc = Document(str(tmp_path / "outputs" / "2021" / "annexes-charte-relogement-2021.docx"))
    text = "\n".join(p.text for p in doc.paragraphs).replace("\xa0", " ").replace("\u202f", " ")
    assert "Opérateur de relogement du parc privé (MOUS) : retour 2021 écarté" in text
    assert "Un Toit pour Tous : retour 2021 utilisé (cia-2021-un-toit-pour-tous-corrige.xlsx" in text
    apart = next(
        t
        for t in doc.tables
        if [c.text for c in t.rows[0].cells][:3] == ["Identifiant", "Opération", "Dernier état connu"]
    )
    n = len(apart.rows) - 1
    assert n > 0 and re.search(rf"Situation non actualisée : {n} ménages\b", text)
    assert all(
        row.cells[5].text == "retour 2021 écarté (Opérateur de relogement du parc privé (MOUS))"
        for row in apart.rows[1:]
    )
