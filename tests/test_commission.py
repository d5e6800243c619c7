"""The coordination commission's work (action 2): its workbook written with the annexes, filled
in session (here with openpyxl), read back and checked at the next consolidation, its decisions
shown in the next annexes, and its three indicators against values computed here.

Three years of one bailleur's rehousing rows: PSJ-010 and PSJ-011 blocked at the end of 2022,
examined in 2023; PSJ-010 rehoused in 2023; PSJ-011 and PSJ-012 blocked at the end of 2023,
examined in 2024; PSJ-011 rehoused in 2024, PSJ-012 still blocked.
"""

from __future__ import annotations

import datetime as dt
import shutil
import statistics

import openpyxl
import pytest
from campaign import run
from docx import Document
from test_relogement import NOT_YET
from workbooks import attribution, make_return, relogement

from cia_workbook.partners.commission import CASES_SHEET, FIRST_ROW, HEADER_ROW, columns
from cia_workbook.render.names import annexes_docx_name

D = dt.date
NBSP, NNBSP = "\u00a0", "\u202f"


def blocked(ident: str, entered: dt.date, **overrides):
    return relogement(
        identifiant=ident, statut="À reloger", date_entree=entered, bloque="Oui",
        motif_blocage="Dette locative ou impayés", **{**NOT_YET, **overrides},
    )  # fmt: skip


def waiting(ident: str, entered: dt.date):
    return relogement(identifiant=ident, statut="À reloger", date_entree=entered, **NOT_YET)


def rehoused(ident: str, entered: dt.date, on: dt.date):
    return relogement(identifiant=ident, date_entree=entered, date_relogement=on)


ENTERED = {"PSJ-010": D(2021, 5, 3), "PSJ-011": D(2021, 11, 8), "PSJ-012": D(2022, 2, 1)}
REHOUSED = {"PSJ-010": D(2023, 9, 1), "PSJ-011": D(2024, 10, 1)}
ROWS = {
    2022: [blocked("PSJ-010", ENTERED["PSJ-010"]), blocked("PSJ-011", ENTERED["PSJ-011"]),
           waiting("PSJ-012", ENTERED["PSJ-012"])],
    2023: [rehoused("PSJ-010", ENTERED["PSJ-010"], REHOUSED["PSJ-010"]),
           blocked("PSJ-011", ENTERED["PSJ-011"]), blocked("PSJ-012", ENTERED["PSJ-012"])],
    2024: [rehoused("PSJ-010", ENTERED["PSJ-010"], REHOUSED["PSJ-010"]),
           rehoused("PSJ-011", ENTERED["PSJ-011"], REHOUSED["PSJ-011"]),
           blocked("PSJ-012", ENTERED["PSJ-012"])],
}  # fmt: skip
# The decisions each workbook receives: (case, session, decision, text); and the faulty rows,
# typed on the spare rows under the list, with the finding each gets.
DECISIONS = {
    2022: [("PSJ-010", D(2023, 3, 10), "Accompagnement social", "Suivi renforcé par le CCAS"),
           ("PSJ-011", D(2023, 6, 5), "Proposition inter-bailleurs", "")],
    2023: [("PSJ-011", D(2024, 2, 1), "Habitat spécifique", "Pension de famille"),
           ("PSJ-012", D(2024, 4, 15), "Autre", "Visite à domicile")],
}  # fmt: skip
FAULTY = {
    2022: [("PSJ-999", D(2023, 5, 2), "Autre", "", "A", "COMMISSION_DOSSIER_INCONNU"),
           ("PSJ-011", D(2022, 12, 1), "Autre", "", "L", "COMMISSION_DATE_HORS_ANNEE"),
           ("PSJ-010", D(2023, 5, 2), "Expulsion", "", "M", "COMMISSION_DECISION_INCONNUE"),
           ("PSJ-010", None, "Autre", "Sans date", "L", "COMMISSION_LIGNE_INCOMPLETE")],
}  # fmt: skip


def months(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def expected(year: int) -> dict[str, tuple[int, int, float | None]]:
    """Sessions label → (examined, rehoused after examination by 31/12/year, median months),
    from the decisions and rows of this test."""
    out = {}
    sessions = [(c, s) for book in DECISIONS.values() for c, s, *_ in book if s.year <= year]
    groups = {
        f"Séances de {y}": [x for x in sessions if x[1].year == y]
        for y in sorted({s.year for _, s in sessions})
    }
    if len(groups) > 1:
        groups[f"Depuis {min(s.year for _, s in sessions)}"] = sessions
    for label, group in groups.items():
        first = {}
        for case, session in group:
            first[case] = min(first.get(case, session), session)
        delays = [
            months(first[c], REHOUSED[c]) for c in first if c in REHOUSED and REHOUSED[c].year <= year
            and REHOUSED[c] >= first[c]
        ]  # fmt: skip
        out[label] = (len(first), len(delays), statistics.median(delays) if delays else None)
    return out


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("commission")
    for year, rows in ROWS.items():
        attributions = [attribution(reference=f"R-{year}", date_cal=D(year, 3, 15), date_bail=D(year, 4, 2))]
        make_return(
            folder / "forms" / str(year) / "logis-cevenols.xlsx", "logis-cevenols", attributions, year=year,
            relogements=rows,
        )  # fmt: skip
    return folder


def fill(workdir, year: int) -> None:
    """What the officer does after the sessions: the workbook of `year` filled, saved in commission/."""
    source = workdir / "outputs" / str(year) / f"commission-{year}.xlsx"
    wb = openpyxl.load_workbook(source)
    ws = wb[CASES_SHEET]
    index = {c.key: i + 1 for i, c in enumerate(columns(year))}
    rows = {ws.cell(r, 1).value: r for r in range(FIRST_ROW, ws.max_row + 1) if ws.cell(r, 1).value}
    spare = max(rows.values()) + 1
    for case, session, decision, text in DECISIONS[year]:
        r = rows[case]
        ws.cell(r, index["date_seance"], session)
        ws.cell(r, index["decision"], decision)
        ws.cell(r, index["precisions"], text or None)
    for i, (case, session, decision, text, *_) in enumerate(FAULTY.get(year, [])):
        ws.cell(spare + i, 1, case)
        ws.cell(spare + i, index["date_seance"], session)
        ws.cell(spare + i, index["decision"], decision)
        ws.cell(spare + i, index["precisions"], text or None)
    target = workdir / "commission" / f"commission-{year}.xlsx"
    target.parent.mkdir(exist_ok=True)
    wb.save(target)


def plain(text: str) -> str:
    return text.replace(NBSP, " ").replace(NNBSP, " ")


def tables(path):
    doc = Document(str(path))
    return [[[plain(c.text) for c in row.cells] for row in t.rows] for t in doc.tables], plain(
        "\n".join(p.text for p in doc.paragraphs)
    )


def by_header(found, first: str):
    return next(t for t in found if t[0][0] == first)


def figures(found) -> dict[str, tuple[int, int, str]]:
    table = by_header(found, "Séances")
    return {row[0]: (int(row[1]), int(row[2]), row[3]) for row in table[1:]}


def median_text(value: float | None) -> str:
    return (
        "–"
        if value is None
        else (str(int(value)) if float(value).is_integer() else f"{value:.1f}".replace(".", ","))
    )


@pytest.fixture(scope="module")
def cycle(workdir):
    """Three consolidations, the commission's workbooks filled between them: the outputs of each."""
    out = {}
    for year in (2022, 2023, 2024):
        result = run(workdir, "consolidate", "--year", str(year), catch=False)
        assert result.exit_code == 0, result.output
        out[year] = result.output
        shutil.copy(
            workdir / "outputs" / str(year) / f"commission-{year}.xlsx", workdir / f"blank-{year}.xlsx"
        )
        if year in DECISIONS:
            fill(workdir, year)
    return out


def test_the_workbook_lists_the_blocked_cases_with_their_history(workdir, cycle):
    wb = openpyxl.load_workbook(workdir / "blank-2023.xlsx")
    assert wb.sheetnames[:2] == ["Lisez-moi", CASES_SHEET]
    ws = wb[CASES_SHEET]
    heads = [ws.cell(HEADER_ROW, i + 1).value for i in range(len(columns(2023)))]
    assert heads == [c.header for c in columns(2023)]
    cases = {ws.cell(r, 1).value: r for r in range(FIRST_ROW, ws.max_row + 1) if ws.cell(r, 1).value}
    assert list(cases) == ["PSJ-011", "PSJ-012"]
    col = {c.key: i + 1 for i, c in enumerate(columns(2023))}
    r = cases["PSJ-011"]
    assert plain(ws.cell(r, col["historique"]).value) == "2022 : à reloger, bloqué ; 2023 : à reloger, bloqué"
    assert ws.cell(r, col["mois"]).value == str(months(ENTERED["PSJ-011"], D(2023, 12, 31)))
    assert plain(ws.cell(r, col["anterieures"]).value) == "05/06/2023 : proposition inter-bailleurs"
    assert ws.cell(cases["PSJ-012"], col["anterieures"]).value in (None, "")
    lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert lists and "M" in str(lists[0].sqref)
    dates = next(dv for dv in ws.data_validations.dataValidation if dv.type == "date")
    assert "L" in str(dates.sqref)
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"
    readme = plain(" ".join(str(c.value) for row in wb["Lisez-moi"].iter_rows() for c in row if c.value))
    assert "séance en 2024" in readme and "commission-2023.xlsx" in readme and "« commission »" in readme


def test_faulty_rows_are_named_in_french_and_left_out(cycle):
    output = plain(cycle[2023])
    assert "2 décisions reprises, 4 constats (lignes non reprises)" in output
    for *_, column, code in FAULTY[2022]:
        line = next(line for line in output.splitlines() if f"[{code}]" in line)
        assert f"feuille « {CASES_SHEET} »" in line and f"cellule {column}" in line, line
    assert "« PSJ-999 »" in output and "« Expulsion »" in output and "n'est pas en 2023" in output
    assert "la date de la séance manque" in output


@pytest.mark.parametrize("year", [2023, 2024])
def test_the_three_indicators(workdir, cycle, year):
    found, _ = tables(workdir / "outputs" / str(year) / annexes_docx_name(year))
    want = {label: (n, r, median_text(m)) for label, (n, r, m) in expected(year).items()}
    assert figures(found) == want


def test_the_annexes_show_the_decisions(workdir, cycle):
    found, text = tables(workdir / "outputs" / "2024" / annexes_docx_name(2024))
    blocked = by_header(found, "Identifiant")
    suite = blocked[0].index("Suite décidée par la commission")
    rows = {row[0].replace("\u2011", "-"): row for row in blocked[1:]}
    assert list(rows) == ["PSJ-012"]
    assert rows["PSJ-012"][suite] == "15/04/2024 : autre (Visite à domicile)"
    history = next(t for t in found if t[0][:4] == ["Identifiant", "Suivi par", "Séance", "Décision"])
    assert [(r[0].replace("\u2011", "-"), r[2], r[3], r[5]) for r in history[1:]] == [
        ("PSJ-010", "10/03/2023", "Accompagnement social", "Relogé définitivement le 01/09/2023"),
        ("PSJ-011", "05/06/2023", "Proposition inter-bailleurs", "Relogé définitivement le 01/10/2024"),
        ("PSJ-011", "01/02/2024", "Habitat spécifique", "Relogé définitivement le 01/10/2024"),
        ("PSJ-012", "15/04/2024", "Autre", "À reloger, bloqué"),
    ]


def test_the_public_annexes_give_counts_only(workdir, cycle):
    result = run(workdir, "consolidate", "--year", "2024", "--diffusion", "publique", catch=False)
    assert result.exit_code == 0, result.output
    found, text = tables(workdir / "outputs" / "2024" / annexes_docx_name(2024, "publique"))
    assert not any("PSJ" in cell for t in found for row in t for cell in row) and "PSJ" not in text
    assert set(figures_masked(found)) == {"Séances de 2023", "Séances de 2024", "Depuis 2023"}
    assert all(row == ("< 11", "< 11", "secret statistique") for row in figures_masked(found).values())


def figures_masked(found):
    table = by_header(found, "Séances")
    return {row[0]: tuple(row[1:]) for row in table[1:]}


def test_the_first_annexes_have_no_decision_yet(workdir, cycle):
    _, text = tables(workdir / "outputs" / "2022" / annexes_docx_name(2022))
    assert "Aucune décision de la commission" in text


def test_a_workbook_that_is_not_the_commissions_is_told_and_left_out(workdir, cycle, tmp_path):
    from cia_workbook.intake.commission import read_commission

    broken = tmp_path / "commission-2023.xlsx"
    broken.write_text("ceci n'est pas un classeur")
    decisions, found = read_commission(broken, 2023, set(), 2024)
    assert decisions == [] and [f.code for f in found] == ["COMMISSION_MODELE"]
    assert "fichier illisible" in found[0].message and "commission-2023.xlsx" in found[0].message
    # The filled workbook of 2023 dropped as that of 2022: its identification says 2023.
    other = tmp_path / "commission-2022.xlsx"
    shutil.copy(workdir / "commission" / "commission-2023.xlsx", other)
    decisions, found = read_commission(other, 2022, set(), 2024)
    assert decisions == [] and [f.code for f in found] == ["COMMISSION_MODELE"]
    assert "son identification désigne" in found[0].message and "2023" in found[0].message


def test_a_session_date_typed_with_its_time_is_read(workdir, cycle, tmp_path):
    from cia_workbook.intake.commission import read_commission
    from cia_workbook.intake.rehousing_rules import household_key

    wb = openpyxl.load_workbook(workdir / "commission" / "commission-2023.xlsx")
    ws = wb[CASES_SHEET]
    col = {c.key: i + 1 for i, c in enumerate(columns(2023))}
    row = next(r for r in range(FIRST_ROW, ws.max_row + 1) if ws.cell(r, 1).value == "PSJ-011")
    ws.cell(row, col["date_seance"], dt.datetime(2024, 2, 1, 14, 30))
    path = tmp_path / "commission-2023.xlsx"
    wb.save(path)
    decisions, found = read_commission(path, 2023, {household_key(c) for c in ENTERED}, 2024)
    assert {(d.case, d.session) for d in decisions} == {
        ("PSJ-011", D(2024, 2, 1)),
        ("PSJ-012", D(2024, 4, 15)),
    }
    assert found == []
