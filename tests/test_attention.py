"""Issue 17, item 1 and the social mix of item 4: the attention groups per priority category and
per contingent, and the holders' profiles in QPV and outside over the years, read back from the
consolidated workbook and the Word bilan of a campaign whose rows are written by the test."""

from __future__ import annotations

import pytest
from attention_campaign import YEARS, attention_counts, decided, leased, sheet_rows, write_campaign
from campaign import CONVENTION, run
from docx import Document

GROUP_HEADERS = {
    "sans_emploi": ("Sans emploi", "Sans emploi (part)", "Emploi non renseigné"),
    "familles_nombreuses": (
        "Familles nombreuses (3 enfants ou plus)",
        "Familles nombreuses (part)",
        "Composition non renseignée",
    ),
    "handicap": ("Personne handicapée", "Personne handicapée (part)", "Handicap non renseigné"),
    "ages": ("Titulaire de 65 ans ou plus", "65 ans ou plus (part)", "Âge non renseigné"),
}


@pytest.fixture(scope="module")
def consolidated(tmp_path_factory, campaign_factory_root):
    from campaign import campaign_folder

    workdir = campaign_folder(tmp_path_factory.mktemp("attention"), campaign_factory_root, YEARS)
    written = write_campaign(workdir)
    for year in YEARS:
        result = run(workdir, "consolidate", "--year", str(year))
        assert result.exit_code == 0, result.output
    return workdir, written


def _check_attention_row(got: dict, rows: list[dict]) -> None:
    want = attention_counts(rows)
    assert got["Baux signés"] == want["baux"]
    for key, (count, part, unknown) in GROUP_HEADERS.items():
        assert got[count] == want[key], key
        assert got[unknown] == want[f"{key}_nr"], key
        # The rows not filled in stay in the universe: the part is of every lease of the row.
        assert got[part] == pytest.approx(want[key] / want["baux"]) if want["baux"] else got[part] is None


@pytest.mark.parametrize("year", YEARS)
def test_attention_groups_per_category_and_contingent(consolidated, year):
    workdir, written = consolidated
    path = workdir / "outputs" / str(year) / f"consolidation-{year}.xlsx"
    rows = leased(written[year], year)
    assert {r["handicap"] for r in rows} >= {"OUI", "NON", "INCONNU", None}
    by_category = sheet_rows(path, "Attention par catégorie")
    for cat in CONVENTION.priority_categories:
        _check_attention_row(by_category[cat.label], [r for r in rows if r["categorie"] == cat.code])
    _check_attention_row(by_category["Ensemble des baux signés"], rows)
    by_contingent = sheet_rows(path, "Attention par contingent")
    _check_attention_row(
        by_contingent["Contingent propre des bailleurs"], [r for r in rows if r["contingent"] == "PROPRE"]
    )
    # One line per contingent of the convention (the State's two among them).
    assert {r["contingent"] for r in rows} >= {"PROPRE", "action-logement", "etat-fonctionnaires"}
    for line in CONVENTION.contingents:
        _check_attention_row(by_contingent[line.label], [r for r in rows if r["contingent"] == line.code])
    _check_attention_row(by_contingent["Tous contingents"], rows)


def test_attention_section_of_the_bilan(consolidated):
    workdir, written = consolidated
    doc = Document(str(workdir / "outputs" / "2024" / "bilan-cia-2024.docx"))
    texts = [p.text for p in doc.paragraphs]
    assert "Publics appelant une attention particulière" in texts
    want = attention_counts(leased(written[2024], 2024))
    sentence = next(t for t in texts if t.startswith("Sur les ") and "baux signés en 2024" in t)
    share = f"{100 * want['sans_emploi'] / want['baux']:.1f}".replace(".", ",")
    assert f"{share}\u00a0% ont pour titulaire un demandeur d'emploi" in sentence, sentence
    assert f"{want['handicap_nr']} pour le handicap" in sentence, sentence
    captions = [t for t in texts if t.startswith("Tableau ")]
    assert any("par catégorie de public prioritaire" in c for c in captions)
    assert any("attention particulière, par contingent" in c for c in captions)


PROFILE_SHEETS = {
    "Mixité QPV âge": {
        "Moins de 30 ans": lambda r: r["age_titulaire"] is not None and r["age_titulaire"] < 30,
        "65 ans ou plus": lambda r: r["age_titulaire"] is not None and r["age_titulaire"] >= 65,
        "Non renseigné": lambda r: r["age_titulaire"] is None,
    },
    "Mixité QPV composition": {
        "Personne seule": lambda r: r["taille_menage"] == 1,
        "Famille monoparentale": lambda r: r["nb_adultes"] == 1 and r["taille_menage"] > 1,
        "Non renseigné": lambda r: r["taille_menage"] >= 2 and r["nb_adultes"] is None,
    },
    "Mixité QPV emploi": {
        "En emploi": lambda r: r["emploi"] == "EMPLOI",
        "Demandeur d'emploi": lambda r: r["emploi"] == "CHOMAGE",
        "Non renseigné": lambda r: r["emploi"] in (None, "INCONNU"),
    },
}


@pytest.mark.parametrize("sheet", sorted(PROFILE_SHEETS))
def test_social_mix_in_qpv_over_the_years(consolidated, sheet):
    """The bilan of 2024 gives 2023 and 2024, in QPV and outside, from each year's campaign."""
    workdir, written = consolidated
    path = workdir / "outputs" / "2024" / "consolidation-2024.xlsx"
    got = sheet_rows(path, sheet)
    for year in YEARS:
        for sector, inside in (("En QPV ou Quartier des Promelles", True), ("Hors QPV", False)):
            rows = [r for r in decided(written[year], year) if (r["qpv"] != "HORS_QPV") == inside]
            row = got[f"{year} {sector}"]
            assert row["Attributions prononcées"] == len(rows)
            for header, test in PROFILE_SHEETS[sheet].items():
                n = sum(map(test, rows))
                if header == "Non renseigné":
                    assert row[header] == n
                else:
                    assert row[f"{header} : ménages"] == n
                    assert row[header] == pytest.approx(n / len(rows))
