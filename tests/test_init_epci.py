"""`init --epci`: a convention for any EPCI from the shipped reference data, and `epci` to find one."""

from __future__ import annotations

import csv
import gzip
import io
import re
import tomllib
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from cia_workbook.cli.commands import main
from cia_workbook.convention.settings import ConventionError, load_convention

SHIPPED = Path(__file__).resolve().parents[1] / "cia_workbook" / "data" / "reference"
# The reference data as the project keeps it (shared/ beside the repository, as in CI).
SHARED = Path(__file__).resolve().parents[2] / "shared" / "reference"

PARTNER = """
[[partenaires]]
identifiant = "habitat-test"
nom = "Habitat Test"
type = "bailleur"
categorie = "OPH"
"""


def _csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))


def _reference(name: str) -> list[dict[str, str]]:
    """A reference file as published (shared/) when present, else the copy the package ships."""
    if (SHARED / name).is_file():
        return _csv(SHARED / name)
    return _csv(SHIPPED / (name + ".gz" if not (SHIPPED / name).is_file() else name))


def _expected(siren: str):
    """Communes, QPV codes and thresholds of an EPCI, computed here from the reference files."""
    communes = {r["commune_insee"] for r in _reference("epci-2026-communes.csv") if r["epci_siren"] == siren}
    merged = {r["ancien_insee"]: r["nouvel_insee"] for r in _csv(SHIPPED / "communes-fusionnees.csv")}
    qpvs = {
        r["code"]
        for r in _reference("qpv-2024-france.csv")
        if {merged.get(c, c) for c in r["communes_insee"].split(";")} & communes
    }
    return communes, qpvs


def _init(tmp_path: Path, query: str, *extra: str):
    folder = tmp_path / "dossier"
    result = CliRunner().invoke(main, ["init", str(folder), "--epci", query, *extra])
    return folder, result


@pytest.mark.parametrize(
    ("query", "siren", "kind", "thresholds_2025"),
    [
        # A CC: 5 communes, 2 QPVs.
        ("beaucaire terre d'argence", "243000585", "CC", None),
        # A CA, named as the issue names it.
        ("CA de Nîmes Métropole", "243000643", "CA", None),
        # A métropole of 130 communes: its thresholds are those of Paris and its territories
        # (établissements publics territoriaux) in the arrêtés, a commune merged since the QPV
        # list, QPVs that straddle another EPCI.
        ("200054781", "200054781", "METRO", (12000, 17600, 23202)),
    ],
)
def test_init_epci_writes_a_convention_of_that_territory(tmp_path, query, siren, kind, thresholds_2025):
    folder, result = _init(tmp_path, query, "--annees", "2024-2029")
    assert result.exit_code == 0, result.output
    assert f"SIREN {siren}" in result.output
    assert (folder / "modele-bilan.docx").is_file()
    assert all((folder / d).is_dir() for d in ("templates", "forms", "outputs"))
    path = folder / "convention.toml"
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    communes, qpvs = _expected(siren)
    assert data["epci"]["siren"] == siren
    assert {c["insee"] for c in data["epci"]["communes"]} == communes
    [geography] = data["geographies_qpv"]
    assert {q["code"] for q in geography["qpv"]} == qpvs and qpvs
    assert all(set(q["communes"]) <= communes for q in geography["qpv"])
    assert {o["code"]: o["cibles"] for o in data["objectifs"]} == {
        code: {str(y): target for y in range(2024, 2030)}
        for code, target in (("hors_qpv_q1", 25), ("qpv_q234", 50), ("publics_prioritaires", 25))
    }
    rows = [r for r in _reference("quartile-thresholds-epci.csv") if r["epci"] == data["epci"]["nom"]]
    seuils = {t["annee"]: (t["q1"], t.get("q2"), t.get("q3")) for t in data["seuils_quartiles"]}
    assert sorted(seuils) == [2024, 2025, 2026]
    for row in rows:
        assert seuils[int(row["year"])] == tuple(int(row[f"q{i}_eur_per_uc_year"]) for i in (1, 2, 3))
    if thresholds_2025:
        assert seuils[2025] == thresholds_2025
    # Where the data comes from, for the bilan's method section.
    assert "decoupage-administratif 6.0.0" in data["sources"][0]["origine"]
    assert "MIT" in data["sources"][0]["licence"]
    # Nothing of the embedded example convention.
    for word in ("Alès", "Promelles", "Cévenols", "QP030", "30007", "logis-cevenols"):
        assert word not in text, word

    # Refused as it stands, for one reason only: no partner yet, said with what to write.
    with pytest.raises(ConventionError) as err:
        load_convention(path)
    assert str(err.value).count("\n  - ") == 1
    assert "[partenaires] aucun partenaire : ajoutez au moins un bailleur" in str(err.value)

    # One partner and the return address filled in: templates are written for it.
    text = text.replace('courriel_contact = ""', 'courriel_contact = "habitat@epci.example"')
    path.write_text(text + PARTNER, encoding="utf-8")
    convention = load_convention(path)
    assert convention.epci.name == data["epci"]["nom"]
    assert convention.sources[0].subject == "Communes membres de l'EPCI"
    result = CliRunner().invoke(main, ["--dir", str(folder), "templates", "--year", "2025"])
    assert result.exit_code == 0, result.output
    workbook = folder / "templates" / "2025" / "cia-2025-habitat-test.xlsx"
    cells = [
        str(c.value)
        for ws in openpyxl.load_workbook(workbook, read_only=True)
        for r in ws.iter_rows()
        for c in r
        if c.value is not None
    ]
    assert any(data["epci"]["nom"] in c for c in cells)


def test_a_qpv_over_two_epcis_keeps_its_part_and_says_so(tmp_path):
    folder, result = _init(tmp_path, "Métropole du Grand Paris")
    assert result.exit_code == 0, result.output
    text = (folder / "convention.toml").read_text(encoding="utf-8")
    # Justice - Butte Blanche: Argenteuil (in the métropole) and 95063 (another EPCI).
    assert '{ code = "QN09502I", nom = "Justice - Butte Blanche", communes = ["95018"] }' in text
    assert re.search(r"# QN09502I s'étend aussi sur 95063 \(.+\) : seule sa partie dans l'EPCI", text)
    # A QPV listed under the code of a commune since merged: joined by the new commune.
    qpv = next(q for q in tomllib.loads(text)["geographies_qpv"][0]["qpv"] if q["code"] == "QN09336I")
    assert qpv["communes"] == ["93066"]
    assert "Communes fusionnées" in text


def test_an_epci_absent_from_the_arretes_gets_commented_thresholds_and_a_warning(tmp_path):
    folder, result = _init(tmp_path, "Quatre Rivières en Bray", "--annees", "2025-2026")
    assert result.exit_code == 0, result.output
    path = folder / "convention.toml"
    text = path.read_text(encoding="utf-8")
    assert "cet EPCI n'est nommé dans aucun des arrêtés fournis" in text
    assert "qpv = []" in text
    text = text.replace('courriel_contact = ""', 'courriel_contact = "habitat@epci.example"')
    path.write_text(text + PARTNER, encoding="utf-8")
    assert load_convention(path).quartile_thresholds == []
    result = CliRunner().invoke(main, ["--dir", str(folder), "templates", "--year", "2025"])
    assert result.exit_code == 0, result.output
    assert "Attention : Année 2025 sans seuils de quartile dans la convention" in result.stderr


def test_several_matches_list_them_and_write_nothing(tmp_path):
    folder, result = _init(tmp_path, "quatre rivieres")
    assert result.exit_code == 1
    assert "3 EPCI correspondent à « quatre rivieres » : précisez le nom ou donnez le SIREN" in result.output
    # Two CCs share the name: their SIREN and département tell them apart.
    assert "247000623  CC     CC des Quatre Rivières (dép. 70)" in result.output
    assert "247400666  CC     CC des Quatre Rivières (dép. 74)" in result.output
    assert not folder.exists()


def test_no_match_gives_the_closest_names(tmp_path):
    folder, result = _init(tmp_path, "Nimmes Metropol")
    assert result.exit_code == 1
    assert "Aucun EPCI ne correspond à « Nimmes Metropol » (aucun fichier n'a été écrit)" in result.output
    assert "243000643  CA     CA de Nîmes Métropole" in result.output
    assert not folder.exists()


def test_a_period_before_the_2024_geography_is_refused(tmp_path):
    folder, result = _init(tmp_path, "Nîmes", "--annees", "2020-2026")
    assert result.exit_code == 1
    assert "La première année ne peut précéder 2024" in result.output
    result = CliRunner().invoke(main, ["init", str(folder), "--epci", "Nîmes", "--annees", "2025"])
    assert result.exit_code == 2 and "écrivez la période ainsi : 2025-2030" in result.output


def test_an_existing_convention_is_kept(tmp_path):
    folder = tmp_path / "dossier"
    folder.mkdir()
    (folder / "convention.toml").write_text("# modifié\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["init", str(folder), "--epci", "Nîmes"])
    assert result.exit_code == 0 and "il est conservé (--force pour le remplacer)" in result.output
    assert (folder / "convention.toml").read_text(encoding="utf-8") == "# modifié\n"
    CliRunner().invoke(main, ["init", str(folder), "--epci", "Nîmes", "--force"])
    assert "CA de Nîmes Métropole" in (folder / "convention.toml").read_text(encoding="utf-8")


def test_epci_lists_the_matches():
    result = CliRunner().invoke(main, ["epci", "NIMES métropole"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "1 EPCI correspond à « NIMES métropole » :",
        "  243000643  CA     CA de Nîmes Métropole (dép. 30) : 39 communes, 7 QPV, seuils 2024-2026",
    ]
    result = CliRunner().invoke(main, ["epci", "quatre rivières"])
    assert result.output.startswith("3 EPCI correspondent à « quatre rivières » :")
    assert "CC des Quatre Rivières en Bray (dép. 27, 76) : 52 communes, 0 QPV, pas de seuils de quartile" in (
        result.output
    )
    result = CliRunner().invoke(main, ["epci", "Zzyzx"])
    assert (
        result.exit_code == 1
        and "Aucun EPCI ne correspond à « Zzyzx ». Noms les plus proches :" in result.output
    )


def test_the_shipped_reference_data_is_the_published_one():
    """The package ships the reference files unchanged (the large one compressed)."""
    if not SHARED.is_dir():
        pytest.skip("shared/reference is not beside the repository")
    for name in ("epci-2026-communes.csv", "qpv-2024-france.csv", "quartile-thresholds-epci.csv"):
        shipped = SHIPPED / name
        data = (
            shipped.read_bytes()
            if shipped.is_file()
            else gzip.decompress((SHIPPED / (name + ".gz")).read_bytes())
        )
        assert data == (SHARED / name).read_bytes(), name


def test_thresholds_join_most_epcis_of_the_arretes():
    """Every EPCI the arrêtés name is found but one (named in 2026 only, « Thionville Fensch
    Agglomération », for which the 2026 list of EPCIs has no such EPCI); 417 of the 1,255 EPCIs
    get thresholds."""
    from cia_workbook.convention.territory import reference

    ref = reference()
    matched = {n for years in ref.thresholds.values() for t in years.values() for n in t.names}
    names = {r["epci"] for r in _csv(SHIPPED / "quartile-thresholds-epci.csv")}
    assert names - matched == {"Thionville Fensch Agglomération"}
    assert len(ref.epcis) == 1255
    assert len(ref.thresholds) == 417
