"""`cia-workbook demo`: the whole cycle on the embedded default, as `make demo` runs it."""

from __future__ import annotations

import re

from click.testing import CliRunner
from docx import Document

from cia_workbook.cli import main


def test_demo_runs_the_cycle_and_says_where_the_reports_are(tmp_path):
    result = CliRunner().invoke(
        main, ["--dir", str(tmp_path), "demo", "--year", "2021"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    out = result.output
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
