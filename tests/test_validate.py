"""The rules of a return, each on a small workbook written inline: exact codes and cells."""

from __future__ import annotations

import datetime as dt

import pytest
from workbooks import CONVENTION, attribution, contingent_row, flat, make_return

from cia_workbook.intake.cells import parse_date, parse_number
from cia_workbook.intake.reader import read_workbook
from cia_workbook.intake.rules import looks_like_a_name
from cia_workbook.intake.validate import validate_workbook
from cia_workbook.schema.sheets import ATTRIBUTIONS

A = "Attributions"


def check(tmp_path, rows=None, partner="logis-cevenols", year=2024, **kwargs):
    path = make_return(tmp_path / "retour.xlsx", partner, rows, year=year, **kwargs)
    result = read_workbook(path)
    assert result.findings == []
    return validate_workbook(CONVENTION, year, result.workbook)


def test_a_clean_return_has_no_finding_and_typed_columns(tmp_path):
    v = check(
        tmp_path,
        [
            attribution(),
            attribution(
                reference="LC-2024-0002",
                qpv="QN03001I – Près Saint Jean - Cévennes - Tamaris - Cauvel-la Royale - Rochebelle - Centre ville",
                quartile="3",
                ressources=26000,
            ),
        ],
    )
    assert flat(v.findings) == []
    table = v.tables["attributions"]
    assert table.rows == [4, 5]
    assert table.columns["suite"] == ["BAIL_SIGNE", "BAIL_SIGNE"]
    assert table.columns["qpv"] == ["HORS_QPV", "QN03001I"]
    assert table.columns["commune"] == ["30007", "30007"]
    assert table.columns["contingent"] == ["PROPRE", "PROPRE"]
    assert table.columns["categorie"] == ["AUCUNE", "AUCUNE"]
    assert table.columns["date_cal"] == [dt.date(2024, 3, 15)] * 2
    assert table.columns["taille_menage"] == [3, 3] and isinstance(table.columns["taille_menage"][0], int)
    assert table.columns["ressources"] == [14500.0, 26000.0]
    assert table.columns["mutation"] == ["NON", "NON"]
    assert v.forms["identification"]["date_reponse"] == dt.date(2025, 2, 15)
    assert v.identity.partner_id == "logis-cevenols"


def test_codes_typed_as_codes_or_variants_are_accepted(tmp_path):
    row = attribution(
        suite="bail SIGNE",
        commune=30007,
        qpv="hors qpv",
        quartile=2,
        contingent="action-logement",
        categorie="DALO",
        mutation="OUI",
    )
    v = check(tmp_path, [row])
    assert flat(v.findings) == []
    cols = v.tables["attributions"].columns
    assert (cols["suite"], cols["commune"], cols["quartile"], cols["contingent"], cols["categorie"]) == (
        ["BAIL_SIGNE"],
        ["30007"],
        ["2"],
        ["action-logement"],
        ["DALO"],
    )


def test_value_not_in_list_suggests_the_closest(tmp_path):
    v = check(tmp_path, [attribution(suite="Bail signe!", commune="Alais")])
    assert flat(v.findings) == [(A, "D4", "VALEUR_HORS_LISTE"), (A, "E4", "VALEUR_HORS_LISTE")]
    assert "Valeur la plus proche : « Bail signé »" in v.findings[0].message


def test_required_cells_including_the_lease_date_when_signed(tmp_path):
    v = check(
        tmp_path,
        [
            attribution(reference=None, date_bail=None),
            attribution(reference="X-2", suite="Refus du ménage", date_bail=None),
        ],
    )
    assert flat(v.findings) == [(A, "A4", "CELLULE_OBLIGATOIRE"), (A, "C4", "CELLULE_OBLIGATOIRE")]
    assert "si la suite donnée est « Bail signé »" in v.findings[1].message


def test_numbers_and_dates_typed_as_text_are_read_with_a_warning(tmp_path):
    v = check(
        tmp_path,
        [
            attribution(
                date_cal="15/03/2024",
                date_bail="2024-04-02",
                ressources="14\u202f500,00",
                taille_menage=" 3 ",
            )
        ],
    )
    assert flat(v.findings) == [
        (A, "B4", "DATE_TEXTE"),
        (A, "C4", "DATE_TEXTE"),
        (A, "L4", "NOMBRE_TEXTE"),
        (A, "M4", "NOMBRE_TEXTE"),
    ]
    cols = v.tables["attributions"].columns
    assert (
        cols["date_cal"] == [dt.date(2024, 3, 15)]
        and cols["ressources"] == [14500.0]
        and cols["taille_menage"] == [3]
    )
    assert "15 mars 2024" in v.findings[0].message


def test_invalid_numbers_dates_and_bounds(tmp_path):
    v = check(
        tmp_path,
        [attribution(date_cal="31/02/2024", ressources="beaucoup", taille_menage=2.5, age_titulaire=150)],
    )
    assert flat(v.findings) == [
        (A, "B4", "DATE_INVALIDE"),
        (A, "L4", "NOMBRE_INVALIDE"),
        (A, "M4", "NOMBRE_INVALIDE"),
        (A, "Q4", "NOMBRE_HORS_BORNES"),
    ]


def test_dates_outside_the_year_and_lease_before_decision(tmp_path):
    v = check(
        tmp_path,
        [
            attribution(date_cal=dt.date(2023, 5, 1), date_bail=dt.date(2023, 6, 1)),
            attribution(
                reference="R2", date_cal=dt.date(2023, 12, 10), date_bail=dt.date(2024, 1, 8)
            ),  # counts in 2024
            attribution(reference="R3", date_cal=dt.date(2024, 5, 1), date_bail=dt.date(2024, 4, 1)),
            attribution(reference="R4", suite="Refus du ménage"),
        ],
    )
    assert flat(v.findings) == [
        (A, "B4", "DATE_HORS_ANNEE"),
        (A, "C6", "BAIL_AVANT_CAL"),
        (A, "C7", "BAIL_SANS_SUITE"),
    ]


def test_quartile_checked_against_resources_and_composition(tmp_path):
    # 6 000 € for 1.8 UC = 3 333 €/UC: 1st quartile in 2024, declared 3.
    v = check(tmp_path, [attribution(quartile="3", ressources=6000)])
    assert flat(v.findings) == [(A, "I4", "QUARTILE_INCOHERENT")]
    assert "3\u202f333" in v.findings[0].message and "quartile 1" in v.findings[0].message


def test_quartile_not_checked_when_thresholds_are_incomplete(tmp_path):
    # 2023 has no thresholds in the Alès convention (2018 has only q1).
    v = check(
        tmp_path,
        [
            attribution(
                quartile="3", ressources=6000, date_cal=dt.date(2023, 3, 1), date_bail=dt.date(2023, 4, 1)
            )
        ],
        year=2023,
    )
    assert flat(v.findings) == []


def test_inconsistent_composition(tmp_path):
    v = check(
        tmp_path, [attribution(nb_adultes=3, nb_14_plus=2), attribution(reference="R2", taille_menage=5)]
    )
    assert flat(v.findings) == [(A, "L5", "COMPOSITION_INCOHERENTE"), (A, "N4", "COMPOSITION_INCOHERENTE")]


def test_geography_rules(tmp_path):
    v = check(
        tmp_path,
        [
            attribution(qpv="QN03002M", commune="Alès (30007)"),  # Anduze's QPV in Alès
            attribution(reference="R2", qpv="QP030001"),  # 2015 code in 2024
            attribution(reference="R3", commune="Anduze (30010)", zone_locale="Quartier des Promelles"),
            attribution(reference="R4", qpv="QN03001I", zone_locale="Quartier des Promelles"),
        ],
    )
    assert flat(v.findings) == [
        (A, "F4", "QPV_HORS_COMMUNE"),
        (A, "F5", "QPV_PERIME"),
        (A, "G6", "ZONE_HORS_COMMUNE"),
        (A, "G7", "ZONE_ET_QPV"),
    ]
    stale = next(f for f in v.findings if f.code == "QPV_PERIME")
    assert "QN03001I" in stale.message and "2023-1314" in stale.message


def test_a_2024_code_in_2020_is_stale_too(tmp_path):
    v = check(
        tmp_path,
        [attribution(qpv="QN03001I", date_cal=dt.date(2020, 3, 1), date_bail=dt.date(2020, 4, 1))],
        year=2020,
    )
    assert flat(v.findings) == [(A, "F4", "QPV_PERIME")]


def test_duplicate_and_nominative_references(tmp_path):
    v = check(
        tmp_path,
        [
            attribution(),
            attribution(),
            attribution(reference="M. Dupont"),
            attribution(reference="DUPONT Jean"),
        ],
    )
    assert flat(v.findings) == [
        (A, "A5", "REFERENCE_DOUBLON"),
        (A, "A6", "REFERENCE_NOMINATIVE"),
        (A, "A7", "REFERENCE_NOMINATIVE"),
    ]


@pytest.mark.parametrize(
    "ref", ["LC-2024-0012", "HDG 12345", "BAIL-A", "DOSSIER URGENT 3", "ALES NORD", "T3-2024"]
)
def test_references_are_not_taken_for_names(ref):
    assert not looks_like_a_name(ref)


@pytest.mark.parametrize("ref", ["M. Dupont", "Mme Martin", "DUPONT Jean", "Jean DUPONT", "Madame Leblanc"])
def test_names_are_recognised(ref):
    assert looks_like_a_name(ref)


def test_blank_rows_inside_keep_true_row_numbers_and_trailing_rows_are_ignored(tmp_path):
    v = check(
        tmp_path,
        [attribution(), {"_blank": True}, {"_blank": True}, attribution(reference="R2", suite="Bail sign")],
    )
    assert flat(v.findings) == [(A, "A5:A6", "LIGNE_VIDE"), (A, "D7", "VALEUR_HORS_LISTE")]
    assert v.tables["attributions"].rows == [4, 7]


def test_trailing_formatted_rows_are_not_data(tmp_path):
    from openpyxl.styles import PatternFill

    def format_many(wb):
        ws = wb["Attributions"]
        for r in range(5, 3000):
            ws.cell(r, 1).fill = PatternFill("solid", start_color="FFFF00")
        ws.cell(3000, 2, " ")  # a lone space far below

    v = check(tmp_path, [attribution()], edit=format_many)
    assert flat(v.findings) == []
    assert v.tables["attributions"].rows == [4]


def test_no_data_at_all(tmp_path):
    v = check(tmp_path, [])
    assert flat(v.findings) == [(A, "A4", "AUCUNE_DONNEE")]


def test_deleted_and_extra_columns_shift_the_others_silently(tmp_path):
    # The typologie column is dropped and one is added at the end: later columns shift left
    # but keep their order, so they are read without a "moved" warning.
    v = check(tmp_path, [attribution()], headers={"typologie": None}, extra_headers=["Observations"])
    assert flat(v.findings) == [(A, "K3", "COLONNE_ABSENTE"), (A, "W3", "COLONNE_EN_TROP")]
    assert v.tables["attributions"].columns["taille_menage"] == [3]
    assert v.tables["attributions"].letters["taille_menage"] == "K"
    assert v.tables["attributions"].columns["typologie"] == [None]


def test_swapped_columns_are_read_with_a_warning(tmp_path):
    keys = [c.key for c in ATTRIBUTIONS.columns]
    order = [*keys[:10], "taille_menage", "typologie", *keys[12:]]
    v = check(tmp_path, [attribution()], column_order=order)
    assert flat(v.findings) == [(A, "K3", "COLONNE_DEPLACEE")]
    cols = v.tables["attributions"].columns
    assert cols["taille_menage"] == [3] and cols["typologie"] == ["T3"]


def test_renamed_sheet_is_read_by_its_headers_and_missing_sheet_reported(tmp_path):
    v = check(tmp_path, [attribution()], sheet_titles={"attributions": "Attrib 2024"})
    assert flat(v.findings) == [("Attrib 2024", "", "FEUILLE_RENOMMEE")]
    assert v.tables["attributions"].rows == [4]
    v = check(tmp_path, [attribution()], sheet_titles={"attributions": None})
    assert flat(v.findings) == [("", "", "FEUILLE_ABSENTE")]


def test_merged_cells_and_formulas_in_the_data(tmp_path):
    def damage(wb):
        ws = wb["Attributions"]
        ws.merge_cells("E4:E5")
        ws["L5"] = "=1+2"

    v = check(tmp_path, [attribution(), attribution(reference="R2")], edit=damage)
    codes = flat(v.findings)
    assert (A, "E4:E5", "CELLULES_FUSIONNEES") in codes
    assert (A, "L5", "FORMULE_DONNEES") in codes
    assert (A, "E5", "CELLULE_OBLIGATOIRE") in codes  # only the first merged cell holds the commune


@pytest.mark.parametrize(
    ("identity", "year", "code"),
    [
        ({"annee": 2023}, 2024, "MODELE_ANNEE"),
        ({"annee": "2024"}, 2024, None),
        ({"partenaire": "inconnu"}, 2024, "MODELE_PARTENAIRE"),
        ({"version_schema": "0.9"}, 2024, "MODELE_VERSION"),
        ({"convention": "autre-cia"}, 2024, "MODELE_CONVENTION"),
        ({"type": "reservataire"}, 2024, "MODELE_TYPE"),
        ({"modele": "autre-outil"}, 2024, "MODELE_INCONNU"),
    ],
)
def test_identity_checks(tmp_path, identity, year, code):
    path = make_return(tmp_path / "retour.xlsx", rows=[attribution()], identity=identity)
    v = validate_workbook(CONVENTION, year, read_workbook(path).workbook)
    assert [f.code for f in v.findings] == ([code] if code else [])
    if code:
        assert v.tables == {}


def test_identity_falls_back_from_hidden_sheet_to_names_to_properties(tmp_path):
    v = check(tmp_path, [attribution()], id_sheet=False)
    assert flat(v.findings) == [] and v.identity.year == 2024
    v = check(tmp_path, [attribution()], id_sheet=False, defined_names=False)
    assert flat(v.findings) == [] and v.identity.partner_id == "logis-cevenols"


def test_identity_from_the_visible_sheet_as_last_resort(tmp_path):
    v = check(tmp_path, [attribution()], id_sheet=False, defined_names=False, properties=False)
    assert flat(v.findings) == [("Identification", "", "IDENTIFICATION_RECONSTITUEE")]
    assert v.identity.partner_id == "logis-cevenols" and v.tables["attributions"].rows == [4]
    v = check(
        tmp_path,
        [attribution()],
        id_sheet=False,
        defined_names=False,
        properties=False,
        form={"partenaire": "Quelqu'un d'autre"},
    )
    assert [f.code for f in v.findings] == ["MODELE_INCONNU"]


def test_reservataire_contingent_sheet(tmp_path):
    v = check(
        tmp_path,
        [
            contingent_row(),
            contingent_row(bailleur="Habitat du Gard"),
            contingent_row(bailleur="logis-cevenols"),
        ],
        partner="action-logement",
    )
    assert flat(v.findings) == [("Contingent", "A6", "BAILLEUR_DOUBLON")]
    assert v.tables["contingent"].columns["bailleur"] == [
        "logis-cevenols",
        "habitat-du-gard",
        "logis-cevenols",
    ]


def test_date_stored_as_a_bare_number(tmp_path):
    v = check(tmp_path, [attribution(date_cal=45366)])  # 15/03/2024 without its date format
    assert flat(v.findings) == [(A, "B4", "DATE_NOMBRE")]
    assert v.tables["attributions"].columns["date_cal"] == [dt.date(2024, 3, 15)]


def test_mac_1904_dates_come_out_right(tmp_path):
    v = check(tmp_path, [attribution()], date1904=True)
    assert flat(v.findings) == []
    assert v.tables["attributions"].columns["date_cal"] == [dt.date(2024, 3, 15)]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1 234,50", 1234.5),
        ("1\u00a0234", 1234.0),
        ("12.5", 12.5),
        ("14 500 €", 14500.0),
        ("abc", None),
        ("1,2,3", None),
    ],
)
def test_parse_number(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("15/03/2024", dt.date(2024, 3, 15)),
        ("2024-03-15", dt.date(2024, 3, 15)),
        ("15.03.24", dt.date(2024, 3, 15)),
        ("31/02/2024", None),
        ("mars", None),
    ],
)
def test_parse_date(text, value):
    assert parse_date(text) == value


def test_prefilled_bailleur_rows_left_empty_are_not_data(tmp_path):
    rows = [
        contingent_row(),
        {"bailleur": "Habitat du Gard"},
        contingent_row(bailleur="SEMIGA"),
        {"bailleur": "SFHE"},
    ]
    v = check(tmp_path, rows, partner="action-logement")
    assert flat(v.findings) == []
    assert v.tables["contingent"].rows == [4, 6]


def test_a_huge_pasted_number_is_reported_not_a_crash(tmp_path):
    # Found by hypothesis on a fresh clone: Babel cannot format 1e25 with its default context.
    v = check(tmp_path, [attribution(taille_menage="9999999999999999832227841")])
    assert ("Attributions", "L4", "NOMBRE_HORS_BORNES") in flat(v.findings)
