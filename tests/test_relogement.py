"""NPNRU rehousing: a known set of households over two years, every charter figure checked.

Returns are written as partners send them (tests/workbooks.py), read by the real intake, then
consolidated by `relogement.rehousing_bilan`; expected figures are computed here, from the
households' own attributes, independently of the module.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest
from workbooks import CONVENTION, attribution, make_return, relogement

from cia_workbook.consolidate.rehousing import Household, criteria, rehousing_bilan, rest_to_pay_controlled
from cia_workbook.convention.settings import ConventionError, embedded_convention_text, parse_convention
from cia_workbook.intake.campaign import collect_campaign

PSJ = "LC-PSJ – Démolitions Logis Cévenols – Près Saint-Jean"
FBG = "PRIVE-FBG – Parc privé dégradé – faubourgs du centre-ville d'Alès"
D = dt.date
NOT_YET = {k: None for k in relogement() if k.startswith("destination_")} | {"date_relogement": None}


def household(ident: str, *, rent_after: int = 350, apl_after: int = 170, **overrides):
    """A household of the Près Saint-Jean operation; reste à charge before: 320 + 80 − 150 = 250 €."""
    return relogement(identifiant=ident, destination_loyer=rent_after, destination_apl=apl_after, **overrides)


def private(ident: str, **overrides):
    return household(ident, operation=FBG, origine_parc="Parc privé", **overrides)


def waiting(ident: str, status: str = "À reloger", **overrides):
    return relogement(identifiant=ident, statut=status, **{**NOT_YET, **overrides})


# What each household rehoused definitively is, by construction (hors QPV, hors quartier,
# neuf < 5 ans, reste à charge after − before in euros): the test's own truth.
TRUTH = {
    # 2023
    "PSJ-001": dict(year=2023, qpv=False, same=False, recent=True, rac_gap=(350 + 75 - 170) - 250),  # +5
    "FBG-001": dict(
        year=2023, qpv=True, same=True, recent=False, rac_gap=(400 + 75 - 170) - (320 + 80 - 100)
    ),
    # 2024
    "PSJ-002": dict(year=2024, qpv=False, same=False, recent=False, rac_gap=(320 + 75 - 170) - 250),  # −25
    "PSJ-005": dict(year=2024, qpv=True, same=False, recent=True, rac_gap=(380 + 75 - 150) - 250),  # +55
    "FBG-002": dict(
        year=2024, qpv=False, same=True, recent=False, rac_gap=(330 + 75 - 170) - (320 + 80 - 100)
    ),
}


def _campaigns(tmp_path: Path) -> dict:
    base = tmp_path / "forms"
    lc23 = [
        household("PSJ-001", date_relogement=D(2023, 5, 10)),
        waiting("PSJ-002", date_entree=D(2023, 1, 9)),
        waiting("PSJ-003", "Proposition faite", propositions=1, refus=1),
    ]
    op23 = [
        private("FBG-001", date_relogement=D(2023, 9, 1), origine_apl=100, rent_after=400,
                destination_qpv="Oui", destination_meme_quartier="Oui", destination_recent="Non",
                destination_commune="Alès (30007)"),
    ]  # fmt: skip
    lc24 = [
        household("PSJ-001", date_relogement=D(2023, 5, 10)),
        household("PSJ-002", date_entree=D(2023, 1, 9), date_relogement=D(2024, 3, 1), rent_after=320,
                  destination_recent="Non"),
        waiting("PSJ-003", "Proposition faite", propositions=3, refus=3, bloque="Oui",
                motif_blocage="Dette locative ou impayés", commentaire="Plan d'apurement en cours."),
        waiting("PSJ-004", date_entree=D(2024, 6, 1)),
    ]  # fmt: skip
    utpt24 = [
        household("PSJ-005", date_relogement=D(2024, 11, 20), rent_after=380, apl_after=150,
                  destination_qpv="Oui", destination_commune="Alès (30007)"),
        waiting("psj-003 ", "Proposition faite", propositions=1, refus=0),  # also returned by Logis Cévenols
    ]  # fmt: skip
    op24 = [
        private("FBG-002", date_relogement=D(2024, 2, 2), origine_apl=100, rent_after=330,
                destination_meme_quartier="Oui", destination_recent="Non"),
    ]  # fmt: skip
    for year, partner, rows in (
        (2023, "logis-cevenols", lc23), (2023, "operateur-relogement", op23),
        (2024, "logis-cevenols", lc24), (2024, "un-toit-pour-tous", utpt24),
        (2024, "operateur-relogement", op24),
    ):  # fmt: skip
        attributions = [attribution(reference=f"R-{year}", date_cal=D(year, 3, 15), date_bail=D(year, 4, 2))]
        if partner == "operateur-relogement":
            make_return(base / str(year) / f"{partner}.xlsx", partner, rows, year=year)
        else:
            make_return(
                base / str(year) / f"{partner}.xlsx", partner, attributions, year=year, relogements=rows
            )
    return {y: collect_campaign(CONVENTION, y, [base / str(y)]) for y in (2023, 2024)}


@pytest.fixture(scope="module")
def campaigns(tmp_path_factory):
    return _campaigns(tmp_path_factory.mktemp("relogement"))


@pytest.fixture(scope="module")
def bilan(campaigns):
    return rehousing_bilan(CONVENTION, campaigns, 2024)


def test_every_return_is_clean_except_the_duplicate(campaigns):
    for campaign in campaigns.values():
        assert [f.text for rf in campaign.files for f in rf.findings] == []
    assert [(f.code, f.file) for f in campaigns[2024].cross_findings] == [
        ("RELOGEMENT_DOUBLON_PARTENAIRES", "un-toit-pour-tous.xlsx")
    ]


def _expected(ids: list[str]) -> dict[str, tuple[int, int]]:
    """Criterion → (numerator, denominator) from TRUTH and the charter's rule (stable, 10 € tolerance)."""
    tolerance = CONVENTION.rehousing.rest_to_pay.tolerance
    rows = [TRUTH[i] for i in ids]
    return {
        "hors_qpv": (sum(not r["qpv"] for r in rows), len(rows)),
        "hors_quartier": (sum(not r["same"] for r in rows), len(rows)),
        "logement_recent": (sum(r["recent"] for r in rows), len(rows)),
        "reste_a_charge": (sum(r["rac_gap"] <= tolerance for r in rows), len(rows)),
    }


def test_criteria_of_the_year_and_since_the_start(bilan):
    in_2024 = [i for i, t in TRUTH.items() if t["year"] == 2024]
    for code, (num, den) in _expected(in_2024).items():
        rate = bilan.year_criteria[code]
        assert (rate.numerator, rate.denominator, rate.unknown) == (num, den, 0), code
        assert rate.target == CONVENTION.rehousing.targets[code]
    for code, (num, den) in _expected(list(TRUTH)).items():
        rate = bilan.cumulative_criteria[code]
        assert (rate.numerator, rate.denominator) == (num, den), code
    # 2 of 3 outside QPV against a 50 % target: met; reste à charge 2 of 3 against 80 %: not met.
    assert bilan.year_criteria["hors_qpv"].status == "atteint"
    assert bilan.year_criteria["reste_a_charge"].status == "non atteint"


def test_progress_history_and_blocked_cases(bilan):
    t = bilan.total
    assert t.planned == 76 + 90
    assert t.followed == 7  # PSJ-001 to 005, FBG-001 and 002; the duplicate counts once
    assert (t.rehoused, t.rehoused_in_year, t.in_progress, t.blocked) == (5, 3, 2, 1)
    assert t.not_yet_followed == 166 - 7
    by_op = {p.label: p for p in bilan.operations}
    psj = by_op["Démolitions Logis Cévenols – Près Saint-Jean"]
    assert (psj.planned, psj.followed, psj.rehoused) == (44, 5, 3)
    assert by_op["Démolitions Logis Cévenols – Cévennes, Tamaris"].followed == 0
    assert bilan.sectors["prive"].rehoused == 2
    # The latest status wins and the history of each household is kept across years.
    h = {x.id.upper().strip(): x for x in bilan.households}
    assert h["PSJ-002"].status == "RELOGE_DEFINITIF" and h["PSJ-002"].year == 2024
    assert [(y, s) for y, _, s in h["PSJ-002"].history] == [(2023, "A_RELOGER"), (2024, "RELOGE_DEFINITIF")]
    assert h["FBG-001"].year == 2023 and h["FBG-001"].rehoused  # not returned in 2024, still counted
    assert [b.id for b in bilan.blocked] == ["PSJ-003"]
    assert bilan.blocked[0].get("motif_blocage") == "DETTE" and bilan.blocked[0].get("propositions") == 3
    assert bilan.blocked[0].partner == "logis-cevenols"  # kept from the first partner in the convention
    assert [(d.id, d.kept, d.dropped) for d in bilan.duplicates] == [
        ("psj-003", "logis-cevenols", "un-toit-pour-tous")
    ]
    assert bilan.not_reported == []
    assert bilan.returns_used == ["logis-cevenols", "un-toit-pour-tous", "operateur-relogement"]
    assert "3 ménages relogés définitivement dans l'année, 5 depuis 2020 sur 166" in bilan.headline()
    assert "2 en cours, 1 dossier bloqué." in bilan.headline() and "(s)" not in bilan.headline()


def test_an_earlier_year_sees_only_its_own_returns(campaigns):
    b = rehousing_bilan(CONVENTION, campaigns, 2023)
    assert (b.total.followed, b.total.rehoused, b.total.rehoused_in_year, b.total.blocked) == (4, 2, 2, 0)
    assert b.year_criteria["hors_qpv"].numerator == 1 and b.year_criteria["hors_qpv"].denominator == 2


def test_rest_to_pay_before_and_after(bilan):
    gaps = [TRUTH[i]["rac_gap"] for i in TRUTH if TRUTH[i]["year"] == 2024]
    r = bilan.year_rest_to_pay
    assert r.households == 3
    assert r.after - r.before == pytest.approx(sum(gaps) / 3)


def _convention(old: str, new: str):
    text = embedded_convention_text()
    assert old in text
    return parse_convention(tomllib.loads(text.replace(old, new)), "test")


def _rehoused(**record) -> Household:
    base = {"statut": "RELOGE_DEFINITIF", "destination_qpv": "NON", "destination_meme_quartier": "NON",
            "destination_recent": "OUI", "nb_14_plus": 2, "nb_moins_14": 1,
            "origine_loyer": 300.0, "origine_charges": 100.0, "origine_apl": 100.0, "origine_surface": 60.0,
            "destination_loyer": 360.0, "destination_charges": 100.0, "destination_apl": 130.0,
            "destination_surface": 66.0}  # fmt: skip
    return Household("X-1", 2024, "logis-cevenols", "f.xlsx", 4, base | record)


@pytest.mark.parametrize(
    ("mode", "tolerance", "expected"),
    [
        # Before 300 €, after 330 €: +30 € a month.
        ("stable", 10, False),
        ("stable", 30, True),
        # Per m²: 330 / 66 − 300 / 60 = 0 €/m².
        ("par_m2", 0, True),
        # Per UC (2 persons of 14+ and a child: 1.8 UC): 30 / 1.8 = 16.7 €.
        ("par_uc", 15, False),
        ("par_uc", 17, True),
    ],
)
def test_rest_to_pay_rule_is_a_setting(mode, tolerance, expected):
    c = _convention('mode = "stable"\ntolerance = 10', f'mode = "{mode}"\ntolerance = {tolerance}')
    assert rest_to_pay_controlled(c, _rehoused()) is expected


def test_unknown_values_stay_in_the_universe():
    c = _convention('mode = "stable"\ntolerance = 10', 'mode = "par_m2"\ntolerance = 1')
    rates = criteria(c, [_rehoused(), _rehoused(destination_surface=None, destination_recent=None)])
    assert (rates["reste_a_charge"].numerator, rates["reste_a_charge"].denominator) == (1, 2)
    assert rates["reste_a_charge"].unknown == 1 and rates["logement_recent"].unknown == 1


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            '"un-toit-pour-tous", "operateur',
            '"inconnu", "operateur',
            "[charte_relogement.partenaires] « inconnu » n'est pas un partenaire",
        ),
        ("hors_qpv = 50, ", "", "la cible du critère « hors_qpv » manque"),
        (
            'mode = "stable"',
            'mode = "par_piece"',
            "[charte_relogement.reste_a_charge.mode] valeur non autorisée",
        ),
        (
            'bailleur = "logis-cevenols"\ncommune',
            'bailleur = "etat"\ncommune',
            "« etat » n'est pas un bailleur",
        ),
    ],
)
def test_a_faulty_charter_is_refused_in_french(old, new, expected):
    with pytest.raises(ConventionError) as err:
        _convention(old, new)
    assert expected in str(err.value)


def test_the_consolidated_workbook_carries_the_charter_and_the_rows(campaigns, tmp_path):
    """The rehousing figures and the validated household rows reach the consolidated workbook."""
    import openpyxl

    from cia_workbook.consolidate import consolidate
    from cia_workbook.consolidate.rehousing import CRITERIA
    from cia_workbook.render.workbook import write_consolidation_xlsx

    full = consolidate(CONVENTION, campaigns, 2024)
    path = write_consolidation_xlsx(CONVENTION, full, campaigns[2024], tmp_path / "consolidation.xlsx")
    wb = openpyxl.load_workbook(path, read_only=True)
    by_title = {}
    for ws in wb.worksheets:
        rows = list(ws.values)
        if rows and rows[0] and rows[0][0]:
            by_title[rows[0][0]] = rows
    cumul = next(
        rows for title, rows in by_title.items() if "depuis" in str(title) and "Critères" in str(title)
    )
    expected = _expected(list(TRUTH))
    for code, (num, den) in expected.items():
        line = next(r for r in cumul if r and r[0] == CRITERIA[code])
        assert line[1:3] == (num, den), code
    data = list(wb["Données relogements"].values)
    ids = [r[data[0].index("Identifiant du ménage")] for r in data[1:]]
    assert sorted(ids) == sorted(
        ["PSJ-001", "PSJ-002", "PSJ-003", "PSJ-004", "PSJ-005", "psj-003", "FBG-002"]
    )
