"""The mid-term re-evaluation (action 6): `cia-workbook mi-parcours --year 2022` on returns written
here for 2021 and 2022, read back with python-docx: the rates per bailleur over the years, the gap
to the target, « what it would have taken » (ceil(target × universe) − numerator, computed here),
the actions' indicators over the same years, the proposed targets pre-filled with the current ones.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from campaign import run
from docx import Document
from docx.oxml.ns import qn
from workbooks import CONVENTION, attribution, make_return

from cia_workbook.render.midterm import midterm_docx_name

NBSP, NNBSP = "\u00a0", "\u202f"
YEARS = (2021, 2022)
# (bailleur, year) → (baux signés hors QPV on the bailleur's own stock, of which 1st quartile).
ROWS = {
    ("logis-cevenols", 2021): (4, 0),
    ("logis-cevenols", 2022): (10, 1),
    ("sfhe", 2021): (2, 1),
    ("sfhe", 2022): (3, 0),
}


# Leases of FDI Habitat on the State's priority-publics contingent: (n, of which 1st quartile).
STATE = "État – publics prioritaires"
STATE_ROWS = {2021: (2, 1), 2022: (4, 3)}


def leases(year: int, n: int, q1: int, prefix: str, **more) -> list[dict]:
    return [
        attribution(
            reference=f"{prefix}-{year}-{i}", date_cal=dt.date(year, 3, 15), date_bail=dt.date(year, 4, 2),
            quartile="1" if i < q1 else "3", ressources=None, **more,
        )
        for i in range(n)
    ]  # fmt: skip


def plain(text: str) -> str:
    return text.replace(NBSP, " ").replace(NNBSP, " ")


def captioned_tables(path) -> dict[str, list[list[str]]]:
    """Caption (« Tableau n – … » without its number) → the table that follows it."""
    doc = Document(str(path))
    out, caption = {}, None
    for child in doc.element.body.iterchildren():
        if child.tag == qn("w:p"):
            text = plain("".join(t.text or "" for t in child.iter(qn("w:t"))))
            if text.startswith("Tableau "):
                caption = text.split(" – ", 1)[1]
        elif child.tag == qn("w:tbl") and caption:
            rows = [
                [plain("".join(t.text or "" for t in tc.iter(qn("w:t")))) for tc in tr.iter(qn("w:tc"))]
                for tr in child.iter(qn("w:tr"))
            ]
            out[caption] = rows
            caption = None
    return out


def by_partner(table) -> dict[str, dict[str, str]]:
    return {row[0]: dict(zip(table[0], row, strict=True)) for row in table[1:]}


def percent(num: int, den: int) -> str:
    return f"{num / den * 100:.1f} %".replace(".", ",")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mi-parcours")
    for (pid, year), (n, q1) in ROWS.items():
        make_return(
            folder / "forms" / str(year) / f"{pid}.xlsx", pid, leases(year, n, q1, pid[:2].upper()), year=year
        )
    for year, (n, q1) in STATE_ROWS.items():
        rows = leases(year, n, q1, "FDI", contingent=STATE)
        make_return(folder / "forms" / str(year) / "fdi-habitat.xlsx", "fdi-habitat", rows, year=year)
    result = run(folder, "mi-parcours", catch=False)  # the year: the convention's annee_mi_parcours
    assert result.exit_code == 0, result.output
    path = folder / "outputs" / "2022" / midterm_docx_name(2022)
    assert str(path) in plain(result.output).replace("\n", "")
    return captioned_tables(path), plain("\n".join(p.text for p in Document(str(path)).paragraphs))


def test_rates_per_bailleur_over_the_years_and_gap_to_target(report):
    tables, _ = report
    title = next(t for t in tables if t.endswith(": taux par année") and t.startswith("1er quartile"))
    rows = by_partner(tables[title])
    assert tables[title][0][1:3] == ["2021", "2022"]
    target = CONVENTION.target("hors_qpv_q1", 2022)
    for pid in ("logis-cevenols", "sfhe"):
        name = CONVENTION.partners_by_id[pid].name
        for year in YEARS:
            n, q1 = ROWS[(pid, year)]
            assert rows[name][str(year)] == percent(q1, n)
        n, q1 = ROWS[(pid, 2022)]
        gap = round(q1 / n * 100 - target, 1)
        figure = f"{gap:.0f}" if gap.is_integer() else f"{gap:.1f}".replace(".", ",")
        unit = "points" if abs(gap) >= 2 else "point"
        assert rows[name]["Écart à la cible 2022"].replace("\u2212", "-") == f"{figure} {unit}"
    # The réservataires per contingent, as in the bilan: the State's priority-publics one.
    for year, (n, q1) in STATE_ROWS.items():
        assert rows[STATE][str(year)] == percent(q1, n), year
    # The State's civil servants' contingent is not held to the priority-publics target.
    title = next(t for t in tables if t.endswith(": taux par année") and t.startswith("Publics prioritaires"))
    civil = by_partner(tables[title])["État – fonctionnaires et agents de l'État"]
    assert civil["Écart à la cible 2022"] == "sans objectif" and civil["Cible 2022"] in ("", "–")
    assert by_partner(tables[title])[STATE]["Cible 2022"] != civil["Cible 2022"]


def test_what_it_would_have_taken(report):
    tables, _ = report
    title = next(t for t in tables if t.startswith("Ce qu'il aurait fallu : baux signés hors QPV"))
    rows = by_partner(tables[title])
    for pid in ("logis-cevenols", "sfhe"):
        name = CONVENTION.partners_by_id[pid].name
        total = universe = 0
        for year in YEARS:
            n, q1 = ROWS[(pid, year)]
            missing = max(math.ceil(CONVENTION.target("hors_qpv_q1", year) * n / 100) - q1, 0)
            assert rows[name][str(year)] == f"{missing} sur {n}"
            total, universe = total + missing, universe + n
        assert rows[name]["2021–2022"] == f"{total} sur {universe}"
    # Priority publics: no household of these rows is one, each lease on the own stock counted.
    title = next(t for t in tables if t.startswith("Ce qu'il aurait fallu : baux signés sur le contingent"))
    rows = by_partner(tables[title])
    n, _ = ROWS[("logis-cevenols", 2022)]
    need = math.ceil(CONVENTION.target("publics_prioritaires", 2022) * n / 100)
    assert rows["Logis Cévenols"]["2022"] == f"{need} sur {n}"


def test_actions_indicators_over_the_years(report):
    tables, _ = report
    actions = [t for t in tables if t.startswith("Action ")]
    assert [t.split(" – ")[0] for t in actions] == [
        f"Action {a.number}" for a in CONVENTION.actions if a.indicators
    ]
    action3 = tables[next(t for t in actions if t.startswith("Action 3"))]
    assert action3[0] == ["Indicateur", "2021", "2022"]
    rows = by_partner(action3)
    assert any(label.startswith("Quartiles 2 à 4") for label in rows)


def test_proposed_targets_are_pre_filled_with_the_current_ones(report):
    tables, text = report
    title = next(t for t in tables if t.startswith("Cibles proposées"))
    assert title == "Cibles proposées par bailleur et par réservataire à partir de 2023"
    rows = by_partner(tables[title])
    assert list(rows)[: len(CONVENTION.bailleurs)] == [p.name for p in CONVENTION.bailleurs]
    for i, code in enumerate(("hors_qpv_q1", "qpv_q234", "publics_prioritaires"), start=1):
        target = f"{CONVENTION.target(code, 2023):.0f} %"
        for row in rows.values():
            assert row[f"Objectif {i} : cible 2023"] == target
            assert row[f"Objectif {i} : cible proposée"] == target
    assert "réévaluation à mi-parcours" in text and "années test 2020 et 2021" in text


def test_a_convention_without_mid_term_year_asks_for_one(tmp_path):
    text = CONVENTION_TEXT.replace("annee_mi_parcours = 2022", "")
    (tmp_path / "convention.toml").write_text(text, encoding="utf-8")
    result = run(tmp_path, "mi-parcours")
    assert result.exit_code != 0 and "annee_mi_parcours" in result.output


CONVENTION_TEXT = (
    __import__("importlib.resources").resources.files("cia_workbook") / "data" / "convention.toml"
).read_text(encoding="utf-8")
