"""The register of a year's submissions: versions, wrong files, missing partners, cross-checks."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from workbooks import CONVENTION, attribution, contingent_row, make_return

from cia_workbook.cli import console
from cia_workbook.intake.campaign import collect_campaign
from cia_workbook.intake.crosscheck import contingents_counts
from cia_workbook.intake.files import expand_sources, read_return


def test_newest_version_is_used_and_older_ones_listed(tmp_path):
    make_return(tmp_path / "logis-v1.xlsx", rows=[attribution()], form={"date_reponse": dt.date(2025, 2, 1)})
    make_return(
        tmp_path / "logis-v2.xlsx", rows=[attribution(suite="??")], form={"date_reponse": dt.date(2025, 3, 1)}
    )
    # Same answer date: the file time breaks the tie.
    make_return(tmp_path / "hdg-a.xlsx", "habitat-du-gard", rows=[attribution()])
    make_return(tmp_path / "hdg-b.xlsx", "habitat-du-gard", rows=[attribution()])
    os.utime(tmp_path / "hdg-a.xlsx", (2_000_000_000, 2_000_000_000))
    os.utime(tmp_path / "hdg-b.xlsx", (1_900_000_000, 1_900_000_000))
    campaign = collect_campaign(CONVENTION, 2024, [tmp_path])
    assert campaign.used["logis-cevenols"].name == "logis-v2.xlsx"
    assert [rf.name for rf in campaign.superseded["logis-cevenols"]] == ["logis-v1.xlsx"]
    assert campaign.used["habitat-du-gard"].name == "hdg-a.xlsx"
    # The newest version has errors: the partner is excluded, not silently counted with v1.
    assert "logis-cevenols" in campaign.excluded() and "habitat-du-gard" in campaign.usable()
    text = console.campaign_text(CONVENTION, campaign, [])
    assert "logis-v2.xlsx ; remplace logis-v1.xlsx" in text
    assert "Un Toit pour Tous" in text and "manquant" in text


def test_every_file_is_listed_with_its_hash_and_wrong_files_are_used_for_no_one(tmp_path):
    make_return(tmp_path / "logis-2023.xlsx", rows=[attribution()], identity={"annee": 2023})
    make_return(tmp_path / "inconnu.xlsx", "bailleur-fantome", rows=[attribution()])
    (tmp_path / "~$logis.xlsx").write_bytes(b"lock")
    (tmp_path / "vide.xlsx").write_bytes(b"")
    campaign = collect_campaign(CONVENTION, 2024, [tmp_path])
    assert sorted(rf.name for rf in campaign.files) == [
        "inconnu.xlsx",
        "logis-2023.xlsx",
        "vide.xlsx",
        "~$logis.xlsx",
    ]
    assert all(len(rf.sha256) == 64 and rf.size >= 0 for rf in campaign.files)
    assert campaign.used == {}
    assert campaign.missing == [p.id for p in CONVENTION.partners]
    status = {rf.name: rf.status for rf in campaign.files}
    assert status == {
        "inconnu.xlsx": "erreurs",
        "logis-2023.xlsx": "erreurs",
        "vide.xlsx": "illisible",
        "~$logis.xlsx": "ignore",
    }
    data = json.loads(console.campaign_json(CONVENTION, campaign, []))
    assert {f["fichier"]: f["utilise"] for f in data["fichiers"]}["logis-2023.xlsx"] is False
    assert data["fichiers"][0]["constats"][0]["code"] in {
        "MODELE_PARTENAIRE",
        "MODELE_ANNEE",
        "FICHIER_VIDE",
        "FICHIER_VERROU",
    }
    assert {p["partenaire"]: p["statut"] for p in data["partenaires"]}["logis-cevenols"] == "manquant"


def test_files_and_folders_mixed(tmp_path):
    folder = tmp_path / "forms"
    make_return(folder / "logis.xlsx", rows=[attribution()])
    other = make_return(tmp_path / "hdg.xlsx", "habitat-du-gard", rows=[attribution()])
    campaign = collect_campaign(CONVENTION, 2024, [folder, other, folder / "logis.xlsx"])
    assert [rf.name for rf in campaign.files] == ["logis.xlsx", "hdg.xlsx"]
    assert set(campaign.used) == {"logis-cevenols", "habitat-du-gard"}


def test_files_are_found_in_path_order_once_each(tmp_path):
    forms = tmp_path / "forms"
    for name in ["b.xlsx", "a/z.xlsx", "a.xlsx", ".cachés/x.xlsx", "a/.~lock.z.xlsx#", "c/d/e.ods"]:
        (forms / name).parent.mkdir(parents=True, exist_ok=True)
        (forms / name).write_bytes(b"x")
    (forms / "lien.xlsx").symlink_to(forms / "b.xlsx")  # the same file twice
    (forms / "lien-dossier").symlink_to(forms / "c", target_is_directory=True)  # not followed
    (forms / "cassé.xlsx").symlink_to(forms / "absent.xlsx")  # listed, to be said broken
    found = expand_sources([forms / "a.xlsx", forms])
    assert [p.relative_to(forms).as_posix() for p in found] == [
        "a.xlsx",
        "a/.~lock.z.xlsx#",
        "a/z.xlsx",
        "b.xlsx",
        "c/d/e.ods",
        "cassé.xlsx",
    ]
    assert expand_sources([forms / "c"]) == [forms / "c" / "d" / "e.ods"]


def test_contingent_cross_check(tmp_path):
    al = "Action Logement Services"
    make_return(
        tmp_path / "logis.xlsx",
        rows=[
            attribution(
                reference="R1", contingent=al, quartile="1", ressources=5000, categorie="Ménage reconnu DALO"
            ),
            attribution(reference="R2", contingent=al),
            attribution(reference="R3", contingent=al, suite="Refus du ménage", date_bail=None),
            attribution(reference="R4"),  # own contingent
            attribution(reference="R5", contingent=al, qpv="QN03001I", quartile="3", ressources=26000),
        ],
    )
    make_return(tmp_path / "hdg.xlsx", "habitat-du-gard", rows=[attribution(contingent=al)])
    make_return(
        tmp_path / "al.xlsx",
        "action-logement",
        rows=[
            contingent_row(
                bailleur="Logis Cévenols", baux_signes=3, prioritaires_dalo=1, q1_hors_qpv=1, q234_qpv=2
            ),
        ],
    )
    campaign = collect_campaign(CONVENTION, 2024, [tmp_path])
    assert all(not rf.has_errors for rf in campaign.files)
    got = sorted(
        (f.cell, dict(f.params)["measure"], dict(f.params)["declared"], dict(f.params)["counted"])
        for f in campaign.cross_findings
    )
    assert got == [
        ("", "Attributions suivies d'un bail signé", 0, 1),  # Habitat du Gard: no line declared
        ("J4", "Dont quartiles 2 à 4 en QPV ou zone locale", 2, 1),
    ]
    counts = contingents_counts(
        CONVENTION, 2024, campaign.used["logis-cevenols"].tables["attributions"], ["action-logement"]
    )["action-logement"]
    assert counts["baux_signes"] == 3 and counts["prioritaires_dalo"] == 1 and counts["q1_hors_qpv"] == 1
    assert "Contrôles croisés" in console.campaign_text(CONVENTION, campaign, [])


def _fill_template(template, target, rows):
    """What a partner does: open the template sent to them, type in the cells, save."""
    from cia_workbook.schema.sheets import ATTRIBUTIONS, IDENTIFICATION

    wb = openpyxl.load_workbook(template)
    ident = wb[IDENTIFICATION.title]
    ident[IDENTIFICATION.form_cell("repondant")] = "Chargée de gestion locative"
    ident[IDENTIFICATION.form_cell("date_reponse")] = dt.date(2025, 2, 14)
    ws = wb[ATTRIBUTIONS.title]
    for offset, row in enumerate(rows):
        for index, col in enumerate(ATTRIBUTIONS.columns, start=1):
            if row.get(col.key) is not None:
                ws.cell(ATTRIBUTIONS.first_data_row + offset, index, row[col.key])
    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(target)
    return target


def test_a_real_template_filled_by_a_partner(tmp_path):
    from cia_workbook.partners.templates import write_templates

    [template] = write_templates(CONVENTION, 2024, tmp_path / "templates", partner_ids=["logis-cevenols"])
    forms = tmp_path / "forms"
    _fill_template(
        template,
        forms / "logis.xlsx",
        [attribution(), attribution(reference="LC-2", date_cal="16/03/2024", suite="Bail sgné")],
    )
    campaign = collect_campaign(CONVENTION, 2024, [forms])
    rf = campaign.used["logis-cevenols"]
    assert rf.reader == "calamine" and rf.identity.year == 2024
    assert sorted((f.sheet, f.cell, f.code) for f in rf.findings) == [
        ("Attributions", "B5", "DATE_TEXTE"),
        ("Attributions", "D5", "VALEUR_HORS_LISTE"),
    ]
    table = rf.tables["attributions"]
    assert table.rows == [4, 5] and table.columns["date_cal"] == [dt.date(2024, 3, 15), dt.date(2024, 3, 16)]
    # The template's 1 500 pre-formatted rows, dropdowns and live Synthèse sheet are not data.
    assert rf.forms["identification"]["date_reponse"] == dt.date(2025, 2, 14)


LIBREOFFICE = Path(__file__).resolve().parent / "fixtures" / "libreoffice"


@pytest.mark.parametrize(
    "name", sorted(p.name for p in LIBREOFFICE.glob("*")) if LIBREOFFICE.is_dir() else []
)
def test_files_saved_by_libreoffice_are_recognised(name):
    rf = read_return(CONVENTION, 2024, LIBREOFFICE / name)
    assert rf.identity is not None and rf.identity.year == 2024
    assert not [
        f
        for f in rf.findings
        if f.code.startswith(("MODELE", "FICHIER", "IDENTIFICATION", "FEUILLE", "COLONNE"))
    ]
    main = "attributions" if rf.identity.kind == "bailleur" else "contingent"
    assert len(rf.tables[main]) > 0


def test_libreoffice_xlsx_and_ods_give_the_same_verdict():
    pairs = {}
    for path in sorted(LIBREOFFICE.glob("*")) if LIBREOFFICE.is_dir() else []:
        rf = read_return(CONVENTION, 2024, path)
        pairs.setdefault(path.stem, []).append(
            (
                sorted((f.sheet, f.cell, f.code) for f in rf.findings),
                {k: t.columns for k, t in rf.tables.items()},
            )
        )
    if not pairs:
        pytest.skip("no LibreOffice fixtures")
    for stem, verdicts in pairs.items():
        assert len(verdicts) == 2 and verdicts[0] == verdicts[1], stem


def test_console_counts_a_problem_repeated_down_a_column(tmp_path):
    """A column wrong on every row: three lines shown, the rest counted; JSON keeps them all."""
    import json

    from workbooks import CONVENTION, attribution, make_return

    from cia_workbook.cli.console import campaign_json, campaign_text
    from cia_workbook.intake.campaign import collect_campaign

    rows = [attribution(reference=f"LC-{i}", quartile="Q2") for i in range(12)]
    make_return(tmp_path / "logis.xlsx", "logis-cevenols", rows)
    campaign = collect_campaign(CONVENTION, 2024, [tmp_path])
    text = campaign_text(CONVENTION, campaign, [])
    assert text.count("[VALEUR_HORS_LISTE]") == 4  # 3 shown + the counting line
    assert "… et 9 autres cellules de la colonne I de la feuille « Attributions »" in text
    data = json.loads(campaign_json(CONVENTION, campaign, []))
    codes = [c["code"] for f in data["fichiers"] for c in f["constats"]]
    assert codes.count("VALEUR_HORS_LISTE") == 12


def test_the_returns_tables_put_end_to_end_keep_each_return_its_own_rows(tmp_path):
    """`campaign_of` holds each table of the returns as one frame per table (a national
    campaign's thousand small frames cost four times their rows): each return still sees its
    own rows, in its order, and only them."""
    make_return(tmp_path / "logis.xlsx", rows=[attribution(reference=f"LC-{i}") for i in range(3)])
    make_return(
        tmp_path / "hdg.xlsx", "habitat-du-gard", rows=[attribution(reference=f"HG-{i}") for i in range(2)]
    )
    make_return(tmp_path / "sfhe.xlsx", "sfhe", rows=[])
    campaign = collect_campaign(CONVENTION, 2024, [tmp_path], workers=1)
    refs = {
        pid: rf.tables["attributions"].frame["reference"].to_list()
        for pid, rf in campaign.used.items()
        if "attributions" in rf.tables
    }
    assert refs["logis-cevenols"] == ["LC-0", "LC-1", "LC-2"]
    assert refs["habitat-du-gard"] == ["HG-0", "HG-1"]
    assert refs.get("sfhe", []) == []
    lines = {pid: campaign.used[pid].tables["attributions"].frame["_ligne"].to_list() for pid in refs}
    assert lines["logis-cevenols"][:2] == lines["habitat-du-gard"]  # each return its own sheet rows


def test_returns_put_end_to_end_as_they_come_keep_their_rows_and_codes(tmp_path, monkeypatch):
    """The campaign compacts the returns a batch at a time while the others are read (here two
    at a time, so three returns make two batches): each return keeps its own rows, and its coded
    columns, held as categoricals, still give the partner's codes."""
    from cia_workbook.intake import pool

    monkeypatch.setattr(pool, "ARRIVED_BATCH", 2)
    make_return(tmp_path / "logis.xlsx", rows=[attribution(reference=f"LC-{i}") for i in range(3)])
    make_return(
        tmp_path / "hdg.xlsx", "habitat-du-gard", rows=[attribution(reference=f"HG-{i}") for i in range(2)]
    )
    make_return(tmp_path / "sfhe.xlsx", "sfhe", rows=[attribution(reference="SF-0")])
    campaign = collect_campaign(CONVENTION, 2024, [tmp_path], workers=1)
    frames = {pid: rf.tables["attributions"].frame for pid, rf in campaign.used.items()}
    assert frames["logis-cevenols"]["reference"].to_list() == ["LC-0", "LC-1", "LC-2"]
    assert frames["habitat-du-gard"]["reference"].to_list() == ["HG-0", "HG-1"]
    assert frames["sfhe"]["reference"].to_list() == ["SF-0"]
    # Both batches compacted (the files come in name order: hdg and logis, then sfhe).
    assert all(frame["suite"].dtype == pl.Categorical for frame in frames.values())
    assert frames["sfhe"]["suite"].to_list() == ["BAIL_SIGNE"]
