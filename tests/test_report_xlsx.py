"""The consolidated workbook, read back with openpyxl."""

import zipfile

import openpyxl
import pytest
from bilan_cases import CONVENTION, bilan_case
from bilan_helpers import attribution, campaign, return_file

from cia_workbook.consolidate import consolidate
from cia_workbook.render.workbook import DATA_SHEET, SHEET_NAMES, _rehousing_tables, write_consolidation_xlsx
from cia_workbook.schema.sheets import ATTRIBUTIONS

YEAR = 2024
HEADER_ROW = 4


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    bilan, expected, campaigns, by_bailleur = bilan_case(YEAR)
    path = tmp_path_factory.mktemp("xlsx") / "consolidation-2024.xlsx"
    write_consolidation_xlsx(CONVENTION, bilan, campaigns[YEAR], path)
    return bilan, expected, path, by_bailleur


def test_every_indicator_sheet_holds_the_figures_as_numbers(made):
    bilan, expected, path, _ = made
    wb = openpyxl.load_workbook(path)
    for key, rows in expected.items():
        ws = wb[SHEET_NAMES[key]]
        indicator = bilan.table(key)
        header = [c.value for c in ws[HEADER_ROW]]
        assert header == [c.label for c in indicator.columns]
        body = {r[0].value: r for r in ws.iter_rows(min_row=HEADER_ROW + 1) if r[0].value is not None}
        position = {c.key: i for i, c in enumerate(indicator.columns)}
        for label, values in rows.items():
            for col, value in values.items():
                cell = body[label][position[col]]
                assert cell.value == pytest.approx(value), (key, label, col)
                kind = indicator.column(col).kind
                if kind == "rate" and value is not None:
                    assert cell.number_format == "0.0%"
                if kind == "count" and value is not None:
                    assert cell.number_format == "#,##0"


def test_indicator_sheets_carry_native_charts(made):
    bilan, _, path, _ = made
    with zipfile.ZipFile(path) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == sum(1 for t in [*bilan.tables, *_rehousing_tables(bilan)] if t.chart)
    assert len(charts) >= 4


def test_data_sheet_lists_every_validated_row_with_its_source(made):
    _, _, path, by_bailleur = made
    ws = openpyxl.load_workbook(path, read_only=True)[DATA_SHEET]
    rows = list(ws.values)
    assert rows[0][:4] == ("Fichier", "Partenaire", "Feuille", "Ligne")
    assert list(rows[0][4:]) == [c.header for c in ATTRIBUTIONS.columns]
    assert len(rows) - 1 == sum(len(v) for v in by_bailleur.values())  # SEMIGA's excluded rows are not there
    first = rows[1]
    assert first[:4] == ("logis-cevenols-2024.xlsx", "Logis Cévenols", "Attributions", 4)
    reference = rows[0].index("Référence du dossier")
    assert first[reference] == by_bailleur["logis-cevenols"][0]["reference"]
    assert first[rows[0].index("Date de décision CAL")].date() == by_bailleur["logis-cevenols"][0]["date_cal"]


@pytest.mark.parametrize("streamed", [False, True], ids=["en-memoire", "constant-memory"])
def test_partner_text_is_always_written_as_text(tmp_path, monkeypatch, streamed):
    if streamed:
        monkeypatch.setattr("cia_workbook.render.workbook.CONSTANT_MEMORY_ROWS", 0)
    tricky = ['=HYPERLINK("http://x")', "+33 4 66", "-12", "@SUM(A1)", "http://exemple.fr", "0042"]
    rows = [attribution(YEAR, i, reference=ref) for i, ref in enumerate(tricky)]
    camp = campaign(YEAR, [return_file("semiga", "bailleur", YEAR, {"attributions": rows})])
    bilan = consolidate(CONVENTION, {YEAR: camp}, YEAR)
    path = write_consolidation_xlsx(CONVENTION, bilan, camp, tmp_path / "c.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb[SHEET_NAMES["objectif_hors_qpv_q1"]]["B6"].value == len(tricky)  # territory universe
    ws = wb[DATA_SHEET]
    col = [c.value for c in ws[1]].index("Référence du dossier") + 1
    cells = [ws.cell(row=r, column=col) for r in range(2, 2 + len(tricky))]
    assert [c.value for c in cells] == tricky
    assert all(c.data_type == "s" and c.hyperlink is None for c in cells)
    with zipfile.ZipFile(path) as z:
        assert not any("<f>" in z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
