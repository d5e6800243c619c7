"""The consolidation stage: every indicator against figures recomputed independently from the rows."""

import pytest
from bilan_cases import BAILLEURS, CONVENTION, NAMES, bilan_case, build_campaign
from bilan_helpers import attribution, campaign, return_file, table

from cia_workbook.consolidate import (
    SECRET,
    Col,
    Rate,
    consolidate,
    mask_rows,
    objective_rates,
)


def _bilan(year):
    bilan, expected, _, _ = bilan_case(year)
    return bilan, expected


@pytest.fixture(scope="module", params=[2023, 2024], ids=["2023-geographie-2015", "2024-geographie-2024"])
def case(request):
    return _bilan(request.param)


def _rows_by_label(indicator):
    first = indicator.columns[0].key
    return {row[first]: row for row in indicator.rows}


def test_every_indicator_matches_the_independent_computation(case):
    bilan, expected = case
    for key, rows in expected.items():
        actual = _rows_by_label(bilan.table(key))
        for label, values in rows.items():
            assert label in actual, (key, label)
            for col, value in values.items():
                assert actual[label][col] == pytest.approx(value), (key, label, col)
        # No unexpected row either (except the "total" rows the test does not list).
        assert set(actual) - set(rows) <= {"Tous contingents"}, key


def test_objectives_per_bailleur_and_territory(case):
    bilan, expected = case
    for code in ("hors_qpv_q1", "qpv_q234", "publics_prioritaires"):
        for b in BAILLEURS:
            rate = bilan.objectives[code][b]
            assert (rate.numerator, rate.denominator) == (
                expected[f"objectif_{code}"][NAMES[b]]["menages"],
                expected[f"objectif_{code}"][NAMES[b]]["univers"],
            )
        territory = bilan.objectives[code]["territoire"]
        assert territory.denominator == sum(bilan.objectives[code][b].denominator for b in BAILLEURS)


def test_each_year_uses_its_own_geography(case):
    bilan, _ = case
    codes = [q.code for q in CONVENTION.geography(bilan.year).qpvs]
    labels = list(_rows_by_label(bilan.table("zoom_qpv")))
    assert all(any(code in label for label in labels) for code in codes)
    prefix = "QP0" if bilan.year == 2023 else "QN0"
    assert all(code.startswith(prefix) for code in codes)
    # 2023 has no quartile thresholds in the convention; 2024 has them.
    assert (bilan.thresholds is None) == (bilan.year == 2023)


def test_register_lists_used_excluded_and_missing(case):
    bilan, _ = case
    assert [e.partner_id for e in bilan.register] == [*BAILLEURS, "action-logement"]
    assert all(len(e.sha256) == 64 and e.version == 1 for e in bilan.register)
    assert [(e.partner, e.errors, e.rows) for e in bilan.excluded] == [("SEMIGA", 3, 5)]
    assert [(r["erreurs"], r["lignes"]) for r in bilan.table("exclus").rows] == [("3 erreurs", 5)]
    assert "SFHE" in bilan.missing and "SEMIGA" not in bilan.missing
    # The excluded return's rows are counted nowhere.
    assert bilan.rows_used == sum(len(rf.tables["attributions"]) for rf in _used_bailleur_returns(bilan.year))
    assert _rows_by_label(bilan.table("qualite"))["Territoire"]["lignes"] == bilan.rows_used


def _used_bailleur_returns(year):
    camp, _, _ = build_campaign(year)
    return [rf for pid, rf in camp.usable().items() if pid in BAILLEURS]


def test_trend_has_one_row_per_year_with_that_years_target():
    bilan, _ = _bilan(2024)
    assert [t.year for t in bilan.trend] == [2023, 2024]
    rows = _rows_by_label(bilan.table("evolution"))
    assert rows["2023"]["qpv_cible"] == pytest.approx(0.70)


def test_a_year_test_target_of_60_percent_applies_in_2020():
    rows = [attribution(2020, i, qpv="QP030001", quartile=q) for i, q in enumerate("2223344111")]
    camp = campaign(2020, [return_file("logis-cevenols", "bailleur", 2020, {"attributions": rows})])
    rate = consolidate(CONVENTION, {2020: camp}, 2020).objectives["qpv_q234"]["logis-cevenols"]
    assert (rate.numerator, rate.denominator, rate.target, rate.status) == (7, 10, 60, "atteint")


@pytest.mark.parametrize(
    ("num", "den", "status"),
    [
        (1, 4, "atteint"),
        (21, 100, "proche"),
        (20, 100, "proche"),
        (19, 100, "non atteint"),
        (0, 0, "sans objet"),
    ],
)
def test_met_close_not_met(num, den, status):
    assert Rate(num, den, target=25, close_gap=5).status == status


def test_unknown_quartile_stays_in_the_denominator_and_is_never_quartile_1():
    rows = [
        attribution(2024, 1, quartile="1"),
        attribution(2024, 2, quartile="INCONNU"),
        attribution(2024, 3, quartile="INCONNU", categorie="NPNRU"),  # counted: NPNRU rehousing
        attribution(2024, 4, quartile="3"),
    ]
    rate = objective_rates(CONVENTION, table("attributions", rows), 2024)["hors_qpv_q1"]
    assert (rate.numerator, rate.denominator, rate.unknown) == (2, 4, 2)


def test_dates_decide_the_year_of_each_objective():
    december_lease_january = attribution(
        2024, 1, qpv="QN03001I", date_cal=__import__("datetime").date(2023, 12, 20)
    )
    rates = objective_rates(CONVENTION, table("attributions", [december_lease_january]), 2024)
    # The lease is in 2024 (priority publics universe), the CAL decision is not (QPV objective).
    assert rates["publics_prioritaires"].denominator == 1
    assert rates["qpv_q234"].denominator == 0


def test_reservataire_rates_use_only_its_contingent():
    rows = [
        attribution(2024, 1, contingent="etat", categorie="DALO"),
        attribution(2024, 2, contingent="etat"),
        attribution(2024, 3, contingent="PROPRE", categorie="DALO"),
    ]
    rates = objective_rates(CONVENTION, table("attributions", rows), 2024, contingent="etat")
    assert (rates["publics_prioritaires"].numerator, rates["publics_prioritaires"].denominator) == (1, 2)
    assert rates["hors_qpv_q1"].denominator == 2


def test_masking_hides_small_counts_rates_and_what_would_reveal_them():
    cols = [
        Col("label", "", "text"),
        Col("a", "A", part_of="total"),
        Col("b", "B", part_of="total"),
        Col("c", "C", part_of="total"),
        Col("total", "Total"),
        Col("rate", "Taux", "rate", of=("a", "total")),
        Col("status", "Objectif", "status", of=("a", "total")),
    ]
    rows = [
        {"label": "x", "a": 4, "b": 30, "c": 50, "total": 84, "rate": 4 / 84, "status": "non atteint"},
        {"label": "y", "a": 20, "b": 40, "c": 0, "total": 60, "rate": 1 / 3, "status": "atteint"},
        {"label": "Total", "a": 24, "b": 70, "c": 50, "total": 144, "rate": 1 / 6, "status": ""},
    ]
    masked = mask_rows(cols, rows, 11, total_row=True)
    assert masked[0]["a"] == "< 11"
    assert masked[0]["rate"] == SECRET and masked[0]["status"] == SECRET
    assert masked[0]["b"] == SECRET  # the smallest other part: a = total - b - c otherwise
    assert masked[1]["a"] == SECRET  # down the column: a(x) = total - a(y) otherwise
    assert masked[1]["c"] == 0  # zero is not secret
    assert masked[2]["total"] == 144


def test_every_rate_is_hidden_with_the_counts_it_is_made_of():
    """In the public bilan a rate shown beside its unmasked denominator would give back a masked
    numerator (3 vacant dwellings out of 500 is 0.6 %): every rate names its counts."""
    bilan, _ = _bilan(2024)
    for t in bilan.tables:
        for c in t.columns:
            if c.kind in ("rate", "status"):
                assert c.of, (t.key, c.key)
    vacancy = next(t for t in bilan.tables if t.key == "vacance")
    rows = [dict(r) for r in vacancy.rows]
    rows[0] |= {"vacants_3_mois": 3, "taux_3_mois": 3 / rows[0]["logements"]}
    masked = mask_rows(vacancy.columns, rows, 11, vacancy.total_row)
    assert masked[0]["vacants_3_mois"] == "< 11" and masked[0]["taux_3_mois"] == SECRET


def test_summary_lines_are_french_and_list_every_bailleur():
    bilan, _ = _bilan(2023)
    text = bilan.summary_text()
    assert "Bilan 2023 — Alès Agglomération" in text
    for b in BAILLEURS:
        assert NAMES[b] in text
    rate = bilan.objectives["hors_qpv_q1"]["territoire"]
    assert f"{rate.value * 100:.1f}".replace(".", ",") + "\u00a0%" in text
    assert "partenaires sans retour" in text
