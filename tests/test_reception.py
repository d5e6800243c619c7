"""Issue 17, item 4: the reception points (a sheet in the workbook of the partner that runs one,
applicants per point and quarter over the years) and the refusal rates by motive, in and outside
QPV, read back from the consolidated workbook of a campaign whose figures are written by the test."""

from __future__ import annotations

import openpyxl
import pytest
from attention_campaign import RECEPTION, YEARS, decided, sheet_rows, write_campaign
from campaign import CONVENTION, edit_return, return_path, run

from cia_workbook.schema.identity import template_file_name

POINT_NAMES = {
    p.code: f"{p.name} ({CONVENTION.partners_by_id[p.partner].name})" for p in CONVENTION.reception_points
}


@pytest.fixture(scope="module")
def consolidated(tmp_path_factory, campaign_factory_root):
    from campaign import campaign_folder

    workdir = campaign_folder(tmp_path_factory.mktemp("reception"), campaign_factory_root, YEARS)
    written = write_campaign(workdir)
    for year in YEARS:
        result = run(workdir, "consolidate", "--year", str(year))
        assert result.exit_code == 0, result.output
    return workdir, written


def test_the_sheet_is_in_the_workbook_of_the_partner_running_a_point_only(tmp_path):
    result = run(tmp_path, "templates", "--year", "2024")
    assert result.exit_code == 0, result.output
    runners = {p.partner: p for p in CONVENTION.reception_points}
    for partner in CONVENTION.partners:
        wb = openpyxl.load_workbook(tmp_path / "templates" / "2024" / template_file_name(partner.id, 2024))
        if partner.id not in runners:
            assert "Lieux d'accueil" not in wb.sheetnames, partner.id
            continue
        ws = wb["Lieux d'accueil"]
        prefilled = [(ws.cell(r, 1).value, ws.cell(r, 2).value) for r in range(4, 9)]
        name = runners[partner.id].name
        assert prefilled == [
            (name, "1er trimestre"), (name, "2e trimestre"), (name, "3e trimestre"), (name, "4e trimestre"), (None, None)
        ]  # fmt: skip


@pytest.mark.parametrize("year", YEARS)
def test_applicants_per_point_and_quarter(consolidated, year):
    workdir, _ = consolidated
    got = sheet_rows(workdir / "outputs" / str(year) / f"consolidation-{year}.xlsx", "Lieux d'accueil")
    total_received = total_informed = 0
    for points in RECEPTION[year].values():
        for code, quarters in points.items():
            row = got[POINT_NAMES[code]]
            assert [row[q] for q in ("1er trimestre", "2e trimestre", "3e trimestre", "4e trimestre")] == [
                q[0] for q in quarters
            ]
            received, informed = sum(q[0] for q in quarters), sum(q[1] for q in quarters)
            assert row["Demandeurs reçus dans l'année"] == received
            assert row["Dont informés sur le parc en QPV"] == informed
            assert row["Part informée"] == pytest.approx(informed / received)
            total_received += received
            total_informed += informed
    # Un Toit pour Tous' return was removed: its point says nothing, never zero.
    lacking = got[POINT_NAMES["ALES_UN_TOIT"]]
    assert lacking["Demandeurs reçus dans l'année"] is None
    total = got["Ensemble des lieux d'accueil"]
    assert (total["Demandeurs reçus dans l'année"], total["Dont informés sur le parc en QPV"]) == (
        total_received,
        total_informed,
    )


def test_applicants_over_the_years(consolidated):
    workdir, _ = consolidated
    got = sheet_rows(workdir / "outputs" / "2024" / "consolidation-2024.xlsx", "Lieux d'accueil évolution")
    for year in YEARS:
        quarters = [q for points in RECEPTION[year].values() for qs in points.values() for q in qs]
        received, informed = sum(q[0] for q in quarters), sum(q[1] for q in quarters)
        assert got[str(year)]["Demandeurs reçus"] == received
        assert got[str(year)]["Part informée"] == pytest.approx(informed / received)
        assert got[str(year)]["Lieux d'accueil ayant répondu"] == "2 sur 3"


MOTIVES = {"Localisation": "LOCALISATION", "Image de la résidence": "IMAGE", "Loyer ou charges": "LOYER",
           "Typologie": "TYPOLOGIE", "Motif non renseigné": None}  # fmt: skip


@pytest.mark.parametrize("year", YEARS)
def test_refusal_rates_by_motive_in_and_outside_qpv(consolidated, year):
    workdir, written = consolidated
    got = sheet_rows(workdir / "outputs" / str(year) / f"consolidation-{year}.xlsx", "Refus par motif")
    rows = decided(written[year], year)
    inside = [r for r in rows if r["qpv"] != "HORS_QPV"]
    outside = [r for r in rows if r["qpv"] == "HORS_QPV"]
    qpv = "en QPV ou Quartier des Promelles"
    for label, code in MOTIVES.items():
        for sector, universe in ((qpv, inside), ("hors QPV", outside)):
            n = sum(r["suite"] == "REFUS" and r["motif_refus"] == code for r in universe)
            assert got[label][f"Refus {sector}"] == n, (label, sector)
            assert got[label][f"Taux de refus {sector}"] == pytest.approx(n / len(universe))
    total = got["Ensemble des refus"]
    assert total[f"Refus {qpv}"] == sum(r["suite"] == "REFUS" for r in inside)
    assert total[f"Décisions CAL {qpv}"] == len(inside)


def test_more_informed_than_received_is_an_error(make_campaign):
    workdir = make_campaign()
    path = return_path(workdir, "habitat-du-gard")

    def edit(wb):
        ws = wb["Lieux d'accueil"]
        ws["C5"], ws["D5"] = 10, 12
        ws["A9"], ws["B9"], ws["C9"], ws["D9"] = ws["A4"].value, "1er trimestre", 3, 1

    edit_return(path, edit)
    out = run(workdir, "validate", "--year", "2024").output
    lines = [ln.strip() for ln in out.splitlines() if "[ACCUEIL_" in ln]
    assert any(
        ln.startswith("Lieux d'accueil D5 [ACCUEIL_INFORMES] erreur")
        and "12 demandeurs informés sur le parc en QPV pour 10 demandeurs reçus" in ln
        for ln in lines
    ), out
    assert any(
        ln.startswith("Lieux d'accueil A9 [ACCUEIL_DOUBLON] erreur")
        and "a déjà une ligne pour le 1er trimestre (ligne 4)" in ln
        for ln in lines
    ), out
