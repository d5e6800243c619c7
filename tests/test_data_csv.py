"""National-size campaigns: beyond DATA_SHEET_MAX_ROWS validated rows, the « Données » sheet points
to donnees-<year>.csv, which holds every row with its source in the shape a French Excel opens."""

from __future__ import annotations

import csv
import datetime as dt

import openpyxl
import pytest
from bilan_cases import CONVENTION
from bilan_helpers import attribution, campaign, return_file
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cia_workbook.cli.commands import main
from cia_workbook.consolidate import consolidate
from cia_workbook.partners.demo import generate_campaign, is_missing, write_filled_return
from cia_workbook.partners.templates import template_filename
from cia_workbook.render import workbook as report_xlsx
from cia_workbook.render.workbook import (
    DATA_SHEET,
    data_in_csv,
    write_consolidation_xlsx,
    write_data_csvs,
)
from cia_workbook.schema.sheets import ATTRIBUTIONS

YEAR = 2024
TRICKY = ['=HYPERLINK("http://x")', "+33 4 66", "-12", "@SUM(A1)", "\tA", "0042", 'dossier; n° "7"\n']


def read_csv(path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh, delimiter=";"))


@pytest.fixture
def big(monkeypatch):
    """A campaign « too large » for the sheet once the threshold is lowered to 5 rows."""
    monkeypatch.setattr(report_xlsx, "DATA_SHEET_MAX_ROWS", 5)
    rows = [attribution(YEAR, i, reference=ref) for i, ref in enumerate(TRICKY)]
    rows[0] |= {"ressources": 12345.5, "date_cal": dt.date(YEAR, 2, 3), "mutation": "OUI"}
    other = [attribution(YEAR, 100 + i) for i in range(3)]
    camp = campaign(
        YEAR,
        [
            return_file("logis-cevenols", "bailleur", YEAR, {"attributions": rows}),
            return_file("semiga", "bailleur", YEAR, {"attributions": other}),
            return_file("un-toit", "bailleur", YEAR, {"attributions": other}, errors=1),  # excluded
        ],
    )
    return camp, rows


def test_rows_beyond_the_threshold_go_to_a_french_csv_with_their_source(big, tmp_path):
    camp, rows = big
    assert data_in_csv(camp)
    [path] = write_data_csvs(CONVENTION, camp, {"attributions": tmp_path / "donnees-2024.csv"})
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the accents
    table = read_csv(path)
    assert table[0] == [
        "Fichier",
        "Partenaire",
        "Feuille",
        "Ligne",
        *(c.header for c in ATTRIBUTIONS.columns),
    ]
    assert len(table) - 1 == len(rows) + 3  # the excluded return's rows are not there
    first = dict(zip(table[0], table[1], strict=True))
    assert (first["Fichier"], first["Partenaire"], first["Feuille"], first["Ligne"]) == (
        "logis-cevenols-2024.xlsx",
        "Logis Cévenols",
        "Attributions",
        "4",
    )
    assert first["Date de décision CAL"] == "03/02/2024"
    assert first["Ressources annuelles (€)"] == "12345,5"
    assert first["Suite donnée"] == "Bail signé"
    assert first["Commune du logement"] == "Alès (30007)"
    assert first["Taille du ménage"] == "2"
    assert first["Mutation interne"] == "Oui"
    # Partner text can never become a formula in the spreadsheet that opens the file.
    references = [r[table[0].index("Référence du dossier")] for r in table[1 : 1 + len(TRICKY)]]
    assert references == ["'" + t for t in TRICKY[:5]] + TRICKY[5:]


def test_a_file_or_sheet_name_that_looks_like_a_formula_is_written_as_text(tmp_path):
    """The file's and the sheet's names are made once per distinct value (a few per return), not
    per row: they are neutralised as any partner text, whatever row of which return they are on."""
    import dataclasses

    rows = [attribution(YEAR, i) for i in range(3)]
    named = return_file(
        "logis-cevenols", "bailleur", YEAR, {"attributions": rows}, name='=HYPERLINK("x").xlsx'
    )
    plain = return_file("semiga", "bailleur", YEAR, {"attributions": rows[:2]})
    table = named.tables["attributions"]
    table.placements[0] = dataclasses.replace(table.placements[0], sheet_title="+Attributions")
    [path] = write_data_csvs(CONVENTION, campaign(YEAR, [named, plain]), {"attributions": tmp_path / "d.csv"})
    fields = [row[:3] for row in read_csv(path)[1:]]
    assert (
        fields
        == [['\'=HYPERLINK("x").xlsx', "Logis Cévenols", "'+Attributions"]] * 3
        + [["semiga-2024.xlsx", "SEMIGA", "Attributions"]] * 2
    )


def test_the_data_sheet_then_says_where_the_rows_are(big, tmp_path):
    camp, _ = big
    bilan = consolidate(CONVENTION, {YEAR: camp}, YEAR)
    path = write_consolidation_xlsx(
        CONVENTION, bilan, camp, tmp_path / "c.xlsx", data_csv={"attributions": "donnees-2024.csv"}
    )
    wb = openpyxl.load_workbook(path)
    text = " ".join(str(c.value) for row in wb[DATA_SHEET].iter_rows() for c in row if c.value)
    assert "Les 10 lignes validées sont dans le fichier « donnees-2024.csv »" in text
    assert "Au-delà de 5 lignes" in text
    assert "Référence du dossier" not in text
    assert wb["Données patrimoine"].max_row >= 1  # the other data sheets are unchanged


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("travail")
    forms = root / "forms" / str(YEAR)
    for filled in generate_campaign(CONVENTION, YEAR, seed=3):
        if not is_missing(filled) and filled.partner.is_bailleur:
            write_filled_return(CONVENTION, filled, forms / template_filename(filled.partner, YEAR))
    return root


def test_consolidate_lists_the_csv_and_drops_it_when_the_sheet_suffices(workdir, monkeypatch):
    args = ["--dir", str(workdir), "consolidate", "--year", str(YEAR), "--sans-word"]
    monkeypatch.setattr(report_xlsx, "DATA_SHEET_MAX_ROWS", 10)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    out = workdir / "outputs" / str(YEAR)
    csv_path = out / "donnees-2024.csv"
    others = [out / "donnees-patrimoine-2024.csv", out / "donnees-contingents-2024.csv"]
    for path in (csv_path, *others):
        assert f"  {path}" in result.output.splitlines()
    rows = len(read_csv(csv_path)) - 1
    assert rows > 10
    patrimoine = read_csv(others[0])
    assert patrimoine[0][:4] == ["Fichier", "Partenaire", "Feuille", "Ligne"] and len(patrimoine) > 2
    wb = openpyxl.load_workbook(out / "consolidation-2024.xlsx", read_only=True)
    note = [r[0] for r in wb["Données patrimoine"].values if r and r[0]]
    assert note[0] == "Lignes validées des feuilles Patrimoine"
    assert (
        f"Les {len(patrimoine) - 1} lignes validées sont dans le fichier « donnees-patrimoine-2024.csv »"
        in note[1]
    )

    monkeypatch.setattr(report_xlsx, "DATA_SHEET_MAX_ROWS", 1_000_000)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert not csv_path.exists() and "donnees-2024.csv" not in result.output
    assert not any(p.exists() for p in others) and "donnees-patrimoine-2024.csv" not in result.output
    ws = openpyxl.load_workbook(workdir / "outputs" / str(YEAR) / "consolidation-2024.xlsx", read_only=True)[
        DATA_SHEET
    ]
    assert sum(1 for _ in ws.values) - 1 == rows


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8),
            st.sampled_from(TRICKY),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_any_partner_text_reads_back_as_written_never_as_a_formula(tmp_path_factory, values):
    rows = [attribution(YEAR, i, reference=v) for i, v in enumerate(values)]
    camp = campaign(YEAR, [return_file("logis-cevenols", "bailleur", YEAR, {"attributions": rows})])
    path = tmp_path_factory.mktemp("csv") / "donnees.csv"
    write_data_csvs(CONVENTION, camp, {"attributions": path})
    table = read_csv(path)
    column = table[0].index("Référence du dossier")
    expected = ["" if not v else "'" + v if v.startswith(report_xlsx.FORMULA_TRIGGERS) else v for v in values]
    assert [row[column] for row in table[1:]] == expected


def test_the_parquet_files_hold_the_same_rows_typed(big, tmp_path):
    import polars as pl

    camp, rows = big
    [path] = report_xlsx.write_data_parquet(
        CONVENTION, camp, {"attributions": tmp_path / "donnees-2024.parquet"}
    )
    frame = pl.read_parquet(path)
    assert frame.columns[:5] == ["fichier", "partenaire_id", "partenaire", "feuille", "ligne"]
    assert frame.height == len(rows) + 3
    first = frame.row(0, named=True)
    assert (first["partenaire"], first["ligne"], first["ressources"]) == ("Logis Cévenols", 4, 12345.5)
    assert first["date_cal"] == dt.date(YEAR, 2, 3) and first["suite"] == "BAIL_SIGNE"
    # Codes and sources as text, as the returns give them, though the campaign holds them as
    # categoricals.
    assert frame.schema["suite"] == pl.String and frame.schema["commune"] == pl.String
    assert all(frame.schema[c] == pl.String for c in ("fichier", "partenaire_id", "partenaire", "feuille"))
    assert frame["reference"].to_list()[: len(TRICKY)] == TRICKY  # data, not a spreadsheet: as written


def test_a_csv_written_in_slices_equals_one_written_at_once(big, tmp_path, monkeypatch):
    """A national campaign's rows are turned into text a slice at a time (memory): the file is
    the same, one header and one byte-order mark, every row once, in order."""
    camp, _rows = big
    [whole] = write_data_csvs(CONVENTION, camp, {"attributions": tmp_path / "a" / "donnees-2024.csv"})
    monkeypatch.setattr(report_xlsx, "CSV_SLICE_ROWS", 2)  # 10 rows: five slices
    [sliced] = write_data_csvs(CONVENTION, camp, {"attributions": tmp_path / "b" / "donnees-2024.csv"})
    assert sliced.read_bytes() == whole.read_bytes()
    assert sliced.read_bytes().count(b"\xef\xbb\xbf") == 1 and len(read_csv(sliced)) == 1 + 10
