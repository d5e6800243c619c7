"""Demand and tension (Action 4): the EPCI's Demande workbook, from its template to the bilan.

A known campaign of two years, the Demande rows written here for a few communes; the tension per
commune and per sector, its evolution and the typology gap are checked against values computed
here, read back from the consolidated workbook and the Word bilan.
"""

from __future__ import annotations

import openpyxl
import pytest
from campaign import CONVENTION, edit_return, run
from docx import Document

from cia_workbook.partners.demo import to_display, write_filled_return
from cia_workbook.partners.template_sheets import FilledReturn
from cia_workbook.schema.demand import demand_file_name, demand_partner
from cia_workbook.schema.sheets import demand_schema

YEARS = (2023, 2024)
SECTORS = {s.name: set(s.communes) for s in CONVENTION.sectors}
# commune → (demandes, attributions, demandes T1..T5, attributions T1..T5) per year
ROWS = {
    2023: {
        "30007": (400, 160, (40, 120, 140, 70, 30), (10, 30, 60, 45, 15)),
        "30243": (90, 30, (10, 35, 25, 15, 5), (2, 6, 10, 9, 3)),
        "30348": (30, 12, (3, 12, 9, 4, 2), (1, 2, 4, 4, 1)),
        "30132": (50, 25, (5, 15, 15, 10, 5), (2, 5, 8, 7, 3)),
    },
    2024: {
        "30007": (420, 150, (42, 130, 140, 75, 33), (9, 28, 55, 43, 15)),
        "30243": (110, 28, (12, 45, 30, 17, 6), (2, 5, 10, 8, 3)),
        "30348": (40, 10, (4, 16, 12, 6, 2), (1, 2, 3, 3, 1)),
        "30132": (55, 22, (5, 17, 17, 11, 5), (2, 4, 7, 6, 3)),
    },
}
TYPES = ("t1", "t2", "t3", "t4", "t5")


def demand_rows(year: int) -> list[dict]:
    rows = []
    for commune, (d, a, dt_, at) in ROWS[year].items():
        row = {"commune": commune, "demandes": d, "attributions": a}
        row.update({f"demandes_{t}": n for t, n in zip(TYPES, dt_, strict=True)})
        row.update({f"attributions_{t}": n for t, n in zip(TYPES, at, strict=True)})
        rows.append(row)
    return rows


def write_demand(workdir, year: int, rows: list[dict]):
    filled = FilledReturn(demand_partner(CONVENTION), year)
    filled.forms["identification"] = {"partenaire": filled.partner.name, "annee": year, "repondant": "Chargée de mission",
                                      "date_reponse": __import__("datetime").date(year + 1, 1, 20)}  # fmt: skip
    filled.tables["demande"] = [dict(r) for r in rows]
    to_display(filled, demand_schema(CONVENTION, year))
    return write_filled_return(CONVENTION, filled, workdir / "forms" / str(year) / demand_file_name(year))


def sector_of(commune: str) -> str:
    return next((name for name, communes in SECTORS.items() if commune in communes), "Autres communes")


def expected_tension(year: int) -> dict[str, float]:
    sums: dict[str, list[int]] = {}
    for commune, (d, a, _, _) in ROWS[year].items():
        s = sums.setdefault(sector_of(commune), [0, 0])
        s[0] += d
        s[1] += a
    total = [sum(v[0] for v in sums.values()), sum(v[1] for v in sums.values())]
    out = {name: d / a for name, (d, a) in sums.items()}
    out["Ensemble du territoire"] = total[0] / total[1]
    return out


def expected_gap(year: int) -> dict[str, float]:
    dem = [sum(r[2][i] for r in ROWS[year].values()) for i in range(5)]
    att = [sum(r[3][i] for r in ROWS[year].values()) for i in range(5)]
    labels = ("T1", "T2", "T3", "T4", "T5 et plus")
    return {labels[i]: (att[i] / sum(att) - dem[i] / sum(dem)) * 100 for i in range(5)}


def sheet_rows(ws) -> dict[str, list]:
    return {r[0]: list(r) for r in ws.iter_rows(min_row=5, values_only=True) if r[0]}


@pytest.fixture(scope="module")
def consolidated(tmp_path_factory, campaign_factory_root):
    from campaign import campaign_folder

    workdir = campaign_folder(tmp_path_factory.mktemp("demand"), campaign_factory_root, YEARS)
    for year in YEARS:
        write_demand(workdir, year, demand_rows(year))
    for year in YEARS:
        result = run(workdir, "consolidate", "--year", str(year))
        assert result.exit_code == 0, result.output
    return workdir


def test_template_is_written_with_one_row_per_commune(tmp_path):
    from cia_workbook.partners.templates import write_templates

    paths = write_templates(CONVENTION, 2024, tmp_path)
    path = tmp_path / demand_file_name(2024)
    assert path in paths
    wb = openpyxl.load_workbook(path)
    assert "Demande" in wb.sheetnames and "Lisez-moi" in wb.sheetnames
    ws = wb["Demande"]
    assert ws["A3"].value == "Commune"
    assert ws["B3"].value == "Demandes en attente au 31 décembre"
    communes = [ws.cell(row=r, column=1).value for r in range(4, 4 + len(CONVENTION.epci.communes))]
    assert communes[0] == "Alès (30007)" and len(set(communes)) == len(CONVENTION.epci.communes)
    readme = " ".join(str(c.value) for row in wb["Lisez-moi"].iter_rows() for c in row if c.value)
    assert "infocentre du SNE" in readme


@pytest.mark.parametrize("year", YEARS)
def test_tension_per_sector_in_the_workbook(consolidated, year):
    wb = openpyxl.load_workbook(consolidated / "outputs" / str(year) / f"consolidation-{year}.xlsx")
    rows = sheet_rows(wb["Tension par secteur"])
    for sector, tension in expected_tension(year).items():
        assert rows[sector][3] == pytest.approx(tension), sector
    if year == 2024:  # evolution since the first year with a Demande workbook
        before = expected_tension(2023)
        for sector, tension in expected_tension(2024).items():
            assert rows[sector][6] == pytest.approx(before[sector])
            assert rows[sector][7] == pytest.approx(tension - before[sector])
    communes = sheet_rows(wb["Demande par commune"])
    d, a, _, _ = ROWS[year]["30243"]
    assert communes["Saint-Christol-lès-Alès"][1] == "Couronne périurbaine"
    assert communes["Saint-Christol-lès-Alès"][4] == pytest.approx(d / a)
    assert "Aujac" not in communes  # no demand, no attribution: not listed


@pytest.mark.parametrize("year", YEARS)
def test_typology_gap(consolidated, year):
    wb = openpyxl.load_workbook(consolidated / "outputs" / str(year) / f"consolidation-{year}.xlsx")
    rows = sheet_rows(wb["Typologies demandées"])
    for label, gap in expected_gap(year).items():
        assert rows[label][5] == pytest.approx(gap), label


def test_bilan_section_in_french(consolidated):
    doc = Document(consolidated / "outputs" / "2024" / "bilan-cia-2024.docx")
    text = (
        "\n".join(p.text for p in doc.paragraphs)
        .replace("’", "'")
        .replace("\u00a0", " ")
        .replace("\u202f", " ")
    )
    assert "Demande et tension locative" in text
    t = expected_tension(2024)["Ensemble du territoire"]
    before = expected_tension(2023)["Ensemble du territoire"]
    assert f"{t:.1f}".replace(".", ",") + " demandes par attribution sur le territoire" in text
    assert f"({before:.1f}".replace(".", ",") + " en 2023)" in text
    gap = expected_gap(2024)
    low = min(gap, key=gap.get)
    assert f"Les {low} représentent" in text
    titles = [t.rows[0].cells[0].text for t in doc.tables]
    assert "Secteur" in titles and "Typologie" in titles


def test_public_bilan_masks_small_counts(consolidated):
    result = run(consolidated, "consolidate", "--year", "2024", "--diffusion", "publique")
    assert result.exit_code == 0, result.output
    doc = Document(next((consolidated / "outputs" / "2024").glob("bilan-cia-2024*publi*.docx")))
    table = next(t for t in doc.tables if t.rows[0].cells[-1].text.startswith("Évolution"))
    south = next(r for r in table.rows if r.cells[0].text.startswith("Sud"))
    # 10 attributions in the south in 2024: under the threshold of 11, masked, its tension hidden
    assert south.cells[2].text == "< 11"
    assert south.cells[3].text == "secret statistique"
    assert south.cells[5].text == "secret statistique"  # its evolution too
    trend = next(t for t in doc.tables if [c.text for c in t.rows[0].cells] == ["Secteur", "2023", "2024"])
    south = next(r for r in trend.rows if r.cells[0].text.startswith("Sud"))
    assert [c.text for c in south.cells[1:]] == ["2,5", "secret statistique"]


def test_no_demand_workbook_says_so(make_campaign):
    workdir = make_campaign()
    result = run(workdir, "consolidate", "--year", "2024")
    assert result.exit_code == 0, result.output
    doc = Document(workdir / "outputs" / "2024" / "bilan-cia-2024.docx")
    text = (
        "\n".join(p.text for p in doc.paragraphs)
        .replace("’", "'")
        .replace("\u00a0", " ")
        .replace("\u202f", " ")
    )
    assert "Aucun classeur « Demande » n'a été reçu pour 2024" in text


def test_part_above_total_is_an_error_with_its_cell(make_campaign):
    workdir = make_campaign()
    rows = demand_rows(2024)
    rows[1]["demandes_t2"] = 500  # the typologies now add up beyond the 110 demands
    path = write_demand(workdir, 2024, rows)

    def doubled(wb):
        ws = wb["Demande"]
        ws["A7"] = ws["A4"].value  # Alès twice

    edit_return(path, doubled)
    result = run(workdir, "validate", "--year", "2024")
    out = result.output
    assert "DEMANDE_PART_SUPERIEURE" in out or "Détail supérieur au total" in out
    assert "COMMUNE_DOUBLON" in out or "Commune en double" in out
    wb = openpyxl.load_workbook(workdir / "outputs" / "2024" / "controle-2024.xlsx")
    findings = [tuple(c.value for c in row) for row in wb["Constats"].iter_rows(min_row=1)]
    flat = " ".join(str(v) for row in findings for v in row if v)
    assert "Demande" in flat and "F5" in flat
    assert "dépassent le total de la ligne (110)" in flat
