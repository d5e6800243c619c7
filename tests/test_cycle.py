"""The whole yearly cycle through the CLI: templates → filled returns → validate → consolidate.

Partners' returns are written the way a partner does it: cells typed with openpyxl into the
generated template. The expected rates are computed here, independently, from the rows written.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from docx import Document

from cia_workbook.cli.commands import main
from cia_workbook.convention.settings import load_convention
from cia_workbook.partners.templates import template_filename
from cia_workbook.schema.sheets import schema_for

YEAR = 2024
CONVENTION = load_convention()
D = dt.date


def run(workdir: Path, *args: str):
    return CliRunner().invoke(main, ["--dir", str(workdir), *args], catch_exceptions=False)


def fill(template: Path, target: Path, rows: list[dict], kind: str = "bailleur", year: int = YEAR) -> Path:
    """Type rows (labels as in the dropdowns) into the Attributions sheet of a template."""
    schema = schema_for(CONVENTION, kind, year)
    sheet = schema.sheet("attributions")
    wb = openpyxl.load_workbook(template)
    ws = wb[sheet.title]
    ident = schema.sheet("identification")
    wb[ident.title][ident.form_cell("repondant")] = "Service gestion locative"
    wb[ident.title][ident.form_cell("date_reponse")] = D(year + 1, 2, 10)
    for r, row in enumerate(rows):
        for c, column in enumerate(sheet.columns, start=1):
            if column.key in row:
                ws.cell(row=sheet.first_data_row + r, column=c, value=row[column.key])
    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(target)
    return target


def row(ref, cal, bail, qpv="Hors QPV", quartile="2", categorie="Aucune catégorie prioritaire",
        contingent="Contingent propre du bailleur", commune="Alès (30007)", zone="Aucune", suite=None):  # fmt: skip
    return {
        "reference": ref,
        "date_cal": cal,
        "date_bail": bail,
        "suite": suite or ("Bail signé" if bail else "Refus du ménage"),
        "commune": commune,
        "qpv": qpv,
        "zone_locale": zone,
        "contingent": contingent,
        "quartile": quartile,
        "categorie": categorie,
    }


QPV_ALES = "QN03001I – Près Saint Jean - Cévennes - Tamaris - Cauvel-la Royale - Rochebelle - Centre ville"
NPNRU = "Ménage relogé dans le cadre du NPNRU"
DALO = "Ménage reconnu DALO"

LOGIS = [
    # outside QPV, leases signed in 2024
    row("LC-1", D(2024, 1, 10), D(2024, 2, 1), quartile="1"),
    row("LC-2", D(2024, 2, 10), D(2024, 3, 1), quartile="3", categorie=NPNRU),
    row("LC-3", D(2024, 3, 10), D(2024, 4, 1), quartile="2", categorie=DALO),
    row("LC-4", D(2024, 4, 10), D(2024, 5, 1), quartile="Inconnu"),
    row("LC-5", D(2023, 12, 12), D(2024, 1, 8), quartile="1", contingent="Action Logement Services"),
    row("LC-6", D(2024, 5, 10), D(2024, 6, 1), quartile="4", zone="Quartier des Promelles"),
    row("LC-7", D(2024, 6, 10), None, quartile="1"),  # refused: no lease
    # in QPV: decisions of 2024
    row("LC-8", D(2024, 1, 15), D(2024, 2, 15), qpv=QPV_ALES, quartile="2"),
    row("LC-9", D(2024, 2, 15), None, qpv=QPV_ALES, quartile="1"),
    row("LC-10", D(2024, 3, 15), D(2024, 4, 15), qpv=QPV_ALES, quartile="4", categorie=DALO),
    row(
        "LC-11",
        D(2024, 12, 15),
        None,
        qpv=QPV_ALES,
        quartile="3",
        suite="Autre (en attente, désistement, annulation)",
    ),
]


def expected(rows: list[dict]) -> dict[str, tuple[int, int]]:
    """The three objectives computed from the rows as DOMAIN.md defines them."""

    def leased(r):
        return r["suite"] == "Bail signé" and r["date_bail"] and r["date_bail"].year == YEAR

    hors = [r for r in rows if leased(r) and r["qpv"] == "Hors QPV" and r["zone_locale"] == "Aucune"]
    qpv = [
        r
        for r in rows
        if r["date_cal"].year == YEAR and (r["qpv"] != "Hors QPV" or r["zone_locale"] != "Aucune")
    ]
    own = [r for r in rows if leased(r) and r["contingent"] == "Contingent propre du bailleur"]
    return {
        "hors_qpv_q1": (sum(r["quartile"] == "1" or r["categorie"] == NPNRU for r in hors), len(hors)),
        "qpv_q234": (sum(r["quartile"] in ("2", "3", "4") for r in qpv), len(qpv)),
        "publics_prioritaires": (
            sum(r["categorie"] != "Aucune catégorie prioritaire" for r in own),
            len(own),
        ),
    }


def percent(num: int, den: int) -> str:
    return f"{100 * num / den:.1f}".replace(".", ",") + "\u00a0%"


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    wd = tmp_path_factory.mktemp("agglo")
    assert run(wd, "init").exit_code == 0
    result = run(wd, "templates", "--year", str(YEAR))
    assert result.exit_code == 0, result.output
    tdir = wd / "templates" / str(YEAR)
    forms = wd / "forms" / str(YEAR)
    partners = CONVENTION.partners_by_id
    fill(tdir / template_filename(partners["logis-cevenols"], YEAR), forms / "logis.xlsx", LOGIS)
    # Habitat du Gard sends a return with an error: excluded and named.
    bad = [row("HG-1", D(2024, 3, 3), D(2024, 3, 20), quartile="7")]
    fill(tdir / template_filename(partners["habitat-du-gard"], YEAR), forms / "hdg.xlsx", bad)
    # FDI Habitat sends last year's template: wrong year.
    old = wd / "templates-2023"
    run(wd, "templates", "--year", "2023")
    shutil.move(wd / "templates" / "2023", old)
    fill(old / template_filename(partners["fdi-habitat"], 2023), forms / "fdi.xlsx",
         [row("FD-1", D(2023, 3, 3), D(2023, 3, 20))], year=2023)  # fmt: skip
    hashes = {p.name: p.read_bytes() for p in forms.iterdir()}
    validation = run(wd, "validate", "--year", str(YEAR))
    consolidation = run(wd, "consolidate", "--year", str(YEAR))
    return wd, validation, consolidation, hashes


def test_cli_lists_the_commands_in_french():
    result = CliRunner().invoke(main, ["--help"])
    for command in ("init", "templates", "validate", "consolidate", "demo"):
        assert command in result.output
    assert "Affiche cette aide" in result.output and "Commandes" in result.output


def test_validate_names_errors_and_exits_1(cycle):
    _, validation, _, _ = cycle
    assert validation.exit_code == 1
    out = validation.output
    assert "hdg.xlsx" in out and "VALEUR_HORS_LISTE" in out
    assert "fdi.xlsx" in out and "MODELE_ANNEE" in out
    assert "Promologis" in out  # a partner with no return is named


def test_validate_json_for_programs(cycle):
    wd = cycle[0]
    result = CliRunner().invoke(main, ["--dir", str(wd), "validate", "--year", str(YEAR), "--json"])
    data = json.loads(result.stdout)
    text = json.dumps(data, ensure_ascii=False)
    assert "VALEUR_HORS_LISTE" in text and "logis.xlsx" in text
    # French keys throughout, the findings' too.
    finding = next(c for f in data["fichiers"] for c in f["constats"] if c["code"] == "VALEUR_HORS_LISTE")
    assert set(finding) == {"code", "gravite", "fichier", "feuille", "cellule", "message", "titre"}
    assert finding["gravite"] in ("erreur", "avertissement") and finding["feuille"] == "Attributions"


def test_received_files_are_never_modified(cycle):
    wd, _, _, hashes = cycle
    forms = wd / "forms" / str(YEAR)
    assert {p.name: p.read_bytes() for p in forms.iterdir()} == hashes


def _docx_tables(path: Path) -> list[list[list[str]]]:
    return [[[c.text for c in r.cells] for r in t.rows] for t in Document(path).tables]


def test_bilan_rates_match_the_rows_written(cycle):
    wd, _, consolidation, _ = cycle
    assert consolidation.exit_code == 0, consolidation.output
    docx = wd / "outputs" / str(YEAR) / f"bilan-cia-{YEAR}.docx"
    assert (wd / "outputs" / str(YEAR) / f"consolidation-{YEAR}.xlsx").is_file()
    tables = _docx_tables(docx)
    logis_rows = [r for t in tables for r in t if r and r[0] == "Logis Cévenols"]
    assert logis_rows, "the bilan has no row for Logis Cévenols"
    cells = {c for r in logis_rows for c in r}
    for num, den in expected(LOGIS).values():
        assert percent(num, den) in cells, (percent(num, den), logis_rows)


def test_bilan_lists_excluded_and_missing_partners(cycle):
    wd = cycle[0]
    doc = Document(wd / "outputs" / str(YEAR) / f"bilan-cia-{YEAR}.docx")
    text = "\n".join(p.text for p in doc.paragraphs) + "\n".join(
        c.text for t in doc.tables for r in t.rows for c in r.cells
    )
    assert "hdg.xlsx" in text  # excluded return, named
    for missing in ("Promologis", "SEMIGA", "Action Logement Services"):
        assert missing in text
