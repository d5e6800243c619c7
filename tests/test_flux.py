"""The partners' own reports: each bailleur's flux per réservataire (art. R. 441-5-1 CCH), each
réservataire's contribution to the objectives; written by `consolidate` into outputs/<année>/flux/.

A known campaign of two years: SFHE's rows and Action Logement's declaration are written here;
the figures of the reports, read back with openpyxl, are computed here from those rows.
"""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from campaign import edit_return, return_path, run
from workbooks import attribution, contingent_row, make_return

YEARS = (2023, 2024)
AL = "Action Logement Services"
# (contingent, typology, commune, qpv, suite, quartile, category) per row; CAL in March of the year,
# lease in April when « Bail signé »
SPEC = {
    2023: [
        (AL, "T2", "Alès (30007)", "Hors QPV", "Bail signé", "1", "Aucune catégorie prioritaire"),
        (
            AL,
            "T2",
            "Alès (30007)",
            "QP030001 – Près Saint Jean - Cévennes - Tamaris - Cauvel-la Royale - Rochebelle - Centre ville",
            "Bail signé",
            "3",
            "Aucune catégorie prioritaire",
        ),
        (AL, "T3", "Anduze (30010)", "Hors QPV", "Refus du ménage", "2", "Aucune catégorie prioritaire"),
        (
            "Contingent propre du bailleur",
            "T3",
            "Alès (30007)",
            "Hors QPV",
            "Bail signé",
            "2",
            "Aucune catégorie prioritaire",
        ),
    ],
    2024: [
        (AL, "T2", "Alès (30007)", "Hors QPV", "Bail signé", "2", "Aucune catégorie prioritaire"),
        (AL, "T4", "Alès (30007)", "Hors QPV", "Bail signé", "1", "Aucune catégorie prioritaire"),
        (AL, "T4", "Anduze (30010)", "Hors QPV", "Bail signé", "1", "Aucune catégorie prioritaire"),
        (
            AL,
            "T3",
            "Alès (30007)",
            "QN03001I – Près Saint Jean - Cévennes - Tamaris - Cauvel-la Royale - Rochebelle - Centre ville",
            "Bail signé",
            "4",
            "Aucune catégorie prioritaire",
        ),
        (
            AL,
            "T3",
            "Alès (30007)",
            "QN03001I – Près Saint Jean - Cévennes - Tamaris - Cauvel-la Royale - Rochebelle - Centre ville",
            "Autre (en attente, désistement, annulation)",
            "1",
            "Aucune catégorie prioritaire",
        ),
        (
            "Contingent propre du bailleur",
            "T1",
            "Alès (30007)",
            "Hors QPV",
            "Bail signé",
            "2",
            "Aucune catégorie prioritaire",
        ),
    ],
}
# The State declares two contingents: each is its own line of the flux report, and its civil
# servants' one is not held to the priority-publics target in its contribution.
PP, FONC = "État – publics prioritaires", "État – fonctionnaires et agents de l'État"
PRIORITY = "Ménage reconnu DALO"
for _year in SPEC:
    SPEC[_year] += [
        (PP, "T2", "Alès (30007)", "Hors QPV", "Bail signé", "1", PRIORITY),
        (PP, "T3", "Alès (30007)", "Hors QPV", "Bail signé", "2", "Aucune catégorie prioritaire"),
        (FONC, "T3", "Anduze (30010)", "Hors QPV", "Bail signé", "3", "Aucune catégorie prioritaire"),
    ]
MADE_AVAILABLE = {2023: 6, 2024: 9}
STATE_MADE_AVAILABLE = {PP: 4, FONC: 2}


def rows_of(year: int) -> list[dict]:
    out = []
    for i, (contingent, typ, commune, qpv, suite, quartile, cat) in enumerate(SPEC[year], start=1):
        out.append(attribution(
            reference=f"SFHE-{year}-{i:03d}", contingent=contingent, typologie=typ, commune=commune, qpv=qpv,
            suite=suite, quartile=quartile, categorie=cat, ressources=None, date_cal=dt.date(year, 3, 15),
            date_bail=dt.date(year, 4, 2) if suite == "Bail signé" else None,
        ))  # fmt: skip
    return out


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, campaign_factory_root):
    from campaign import campaign_folder

    folder = campaign_folder(tmp_path_factory.mktemp("flux"), campaign_factory_root, YEARS)
    for year in YEARS:
        make_return(return_path(folder, "sfhe", year), "sfhe", rows_of(year), year=year)
        declared = [
            contingent_row(bailleur="SFHE", logements_mis_a_disposition=MADE_AVAILABLE[year], baux_signes=1)
        ]
        make_return(return_path(folder, "action-logement", year), "action-logement", declared, year=year)
        state = [
            contingent_row(bailleur="SFHE", contingent=c, logements_mis_a_disposition=n, baux_signes=1)
            for c, n in STATE_MADE_AVAILABLE.items()
        ]
        make_return(return_path(folder, "etat", year), "etat", state, year=year)
        result = run(folder, "consolidate", "--year", str(year))
        assert result.exit_code == 0, result.output
    return folder


def table(ws) -> list[list]:
    return [list(r) for r in ws.iter_rows(min_row=5, values_only=True) if r[0] is not None]


def expected(year: int, contingent: str) -> list[int]:
    rows = [r for r in SPEC[year] if r[0] == contingent]
    qpv = [not r[3].startswith("Hors") for r in rows]
    lease = [r[4] == "Bail signé" for r in rows]
    return [len(rows), sum(qpv), len(rows) - sum(qpv), sum(lease),
            sum(q and b for q, b in zip(qpv, lease, strict=True)), sum(not q and b for q, b in zip(qpv, lease, strict=True))]  # fmt: skip


@pytest.mark.parametrize("year", YEARS)
def test_flux_report_per_reservataire(workdir, year):
    path = workdir / "outputs" / str(year) / "flux" / f"flux-{year}-sfhe.xlsx"
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Par réservataire", "Par typologie", "Par commune"]
    ws = wb["Par réservataire"]
    assert "SFHE" in ws["A1"].value and str(year) in ws["A1"].value
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == "$4:$4"
    rows = {r[0]: r[1:] for r in table(ws)}
    assert rows[AL] == [MADE_AVAILABLE[year], *expected(year, AL)]
    own = rows["Contingent propre du bailleur"]
    assert own[0] is None and own[1:] == expected(year, "Contingent propre du bailleur")
    for line, made in STATE_MADE_AVAILABLE.items():  # each of the State's contingents
        assert rows[line] == [made, *expected(year, line)], line
    assert rows["Total"][1] == len(SPEC[year])


@pytest.mark.parametrize("year", YEARS)
def test_flux_by_typology_and_commune(workdir, year):
    wb = openpyxl.load_workbook(workdir / "outputs" / str(year) / "flux" / f"flux-{year}-sfhe.xlsx")
    typ = {(r[0], r[1]): r[2] for r in table(wb["Par typologie"])}
    want: dict = {}
    for r in SPEC[year]:
        name = r[0]
        want[(name, r[1])] = want.get((name, r[1]), 0) + 1
    assert typ == want
    com = {(r[0], r[1]): (r[3], r[4]) for r in table(wb["Par commune"])}
    al_anduze = [r for r in SPEC[year] if r[0] == AL and r[2].startswith("Anduze")]
    assert com[(AL, "Anduze")] == (0, len(al_anduze))  # in QPV, outside QPV


@pytest.mark.parametrize("year", YEARS)
def test_reservataire_contribution(workdir, year):
    wb = openpyxl.load_workbook(
        workdir / "outputs" / str(year) / "flux" / f"contribution-{year}-action-logement.xlsx"
    )
    rows = {r[0]: r[1:] for r in table(wb["Contribution"])}
    sfhe = rows["SFHE"]
    mine = [r for r in SPEC[year] if r[0] == AL]
    leases_out = [r for r in mine if r[4] == "Bail signé" and r[3].startswith("Hors")]
    q1 = [r for r in leases_out if r[5] == "1"]
    in_qpv = [r for r in mine if not r[3].startswith("Hors")]
    q234 = [r for r in in_qpv if r[5] in ("2", "3", "4")]
    assert sfhe[0:3] == [len(leases_out), len(q1), pytest.approx(len(q1) / len(leases_out))]
    assert sfhe[4:7] == [len(in_qpv), len(q234), pytest.approx(len(q234) / len(in_qpv))]
    assert sfhe[3] == pytest.approx(0.25)  # the target of the objective outside QPV
    assert "Ensemble des bailleurs" in rows


@pytest.mark.parametrize("year", YEARS)
def test_state_contribution_holds_only_its_priority_contingent_to_the_target(workdir, year):
    wb = openpyxl.load_workbook(workdir / "outputs" / str(year) / "flux" / f"contribution-{year}-etat.xlsx")
    rows = {r[0]: r[1:] for r in table(wb["Contribution"])}
    sfhe = rows["SFHE"]
    mine = [r for r in SPEC[year] if r[0] in (PP, FONC) and r[4] == "Bail signé"]
    out_qpv = [r for r in mine if r[3].startswith("Hors")]
    assert sfhe[0:2] == [len(out_qpv), sum(r[5] == "1" for r in out_qpv)]  # both contingents
    held = [r for r in mine if r[0] == PP]  # the civil servants' contingent is exempt
    assert sfhe[8:10] == [len(held), sum(r[6] == PRIORITY for r in held)]


def test_every_name_and_header_of_a_report_shows_whole_when_printed(workdir):
    """LibreOffice keeps a row's height: a contingent's name wrapped on two lines overflowed
    its row, and the contribution's long headers were cut in a 45-point header row. Each text
    column is as wide as its longest name; the header row as tall as its most wrapped header."""
    import textwrap

    folder = workdir / "outputs" / "2024" / "flux"
    for name in ("flux-2024-sfhe.xlsx", "contribution-2024-etat.xlsx"):
        for ws in openpyxl.load_workbook(folder / name):
            names = [r[0] for r in table(ws)]
            width = ws.column_dimensions["A"].width
            assert width >= max(len(n) for n in names), (name, ws.title)
            heads = [c.value for c in ws[4] if c.value]
            widths = [ws.column_dimensions[c.column_letter].width for c in ws[4] if c.value]
            lines = max(len(textwrap.wrap(h, int(w) - 2)) for h, w in zip(heads, widths, strict=True))
            assert ws.row_dimensions[4].height >= 13 * lines, (name, ws.title)


@pytest.mark.parametrize(
    ("fluxes", "contributions", "n"), [(5, 3, 2), (4, 3, 3), (1, 6, 4), (0, 2, 2), (3, 0, 2)]
)
def test_the_reports_shared_between_writers_are_each_written_once(fluxes, contributions, n):
    """The flux reports and contributions split between n writers: each written once, by one
    writer."""
    from cia_workbook.render.flux import shares

    reports = [f"flux-{i}" for i in range(fluxes)], [f"contribution-{i}" for i in range(contributions)]
    written = [[*f, *c] for f, c in shares(*reports, n)]  # what each writer writes
    assert len(written) == n
    assert sorted(sum(written, [])) == sorted([*reports[0], *reports[1]])


def test_a_report_is_written_again_only_when_its_figures_or_its_file_changed(tmp_path, campaign_factory_root):
    """Consolidating again leaves every report whose figures did not change as it was (its file
    untouched, the officer told), and writes again the ones that changed: a réservataire's
    contribution after a bailleur's row on its contingent changed, a report the user deleted or
    edited."""
    from campaign import campaign_folder

    folder = campaign_folder(tmp_path, campaign_factory_root, (2024,))
    make_return(return_path(folder, "sfhe", 2024), "sfhe", rows_of(2024), year=2024)
    declared = [contingent_row(bailleur="SFHE", logements_mis_a_disposition=9, baux_signes=1)]
    make_return(return_path(folder, "action-logement", 2024), "action-logement", declared, year=2024)
    flux = folder / "outputs" / "2024" / "flux"

    def consolidate() -> tuple[dict[str, int], str]:
        result = run(folder, "consolidate", "--year", "2024", "--sans-word")
        assert result.exit_code == 0, result.output
        return {p.name: p.stat().st_mtime_ns for p in flux.iterdir()}, " ".join(result.output.split())

    first, _ = consolidate()
    assert {"flux-2024-sfhe.xlsx", "contribution-2024-action-logement.xlsx"} <= set(first)
    again, said = consolidate()
    assert again == first
    assert f"Rapports des partenaires ({flux}) : 0 écrit, {len(first)} inchangés" in said

    # One of SFHE's leases outside QPV on Action Logement's contingent, now to a first-quartile
    # household: Action Logement's contribution changes, SFHE's flux (no quartile in it) does not.
    rows = rows_of(2024)
    assert rows[0]["contingent"] == AL and rows[0]["quartile"] != "1"
    rows[0]["quartile"] = "1"
    make_return(return_path(folder, "sfhe", 2024), "sfhe", rows, year=2024)
    changed, said = consolidate()
    rewritten = {name for name in first if changed[name] != first[name]}
    assert rewritten == {"contribution-2024-action-logement.xlsx"}, rewritten
    assert f"1 écrit, {len(first) - 1} inchangés" in said
    ws = openpyxl.load_workbook(flux / "contribution-2024-action-logement.xlsx").active
    [sfhe] = [r[1:] for r in table(ws) if r[0] == "SFHE"]
    leases_out = [
        r for r in rows if r["contingent"] == AL and r["qpv"] == "Hors QPV" and r["suite"] == "Bail signé"
    ]
    assert sfhe[0:2] == [len(leases_out), sum(r["quartile"] == "1" for r in leases_out)] == [3, 3]

    # A report the user deleted, or opened and saved, is written again.
    (flux / "flux-2024-sfhe.xlsx").unlink()
    edit_return(flux / "contribution-2024-action-logement.xlsx", lambda wb: None)
    after, _ = consolidate()
    rewritten = {name for name in first if after[name] != changed.get(name)}
    assert rewritten == {"flux-2024-sfhe.xlsx", "contribution-2024-action-logement.xlsx"}, rewritten
    assert [r[0] for r in table(openpyxl.load_workbook(flux / "flux-2024-sfhe.xlsx").active)][-1] == "Total"


def test_the_report_of_a_bailleur_whose_return_is_no_longer_used_is_removed(tmp_path, campaign_factory_root):
    """A report written from a return the bilan no longer uses (withdrawn here) would give a
    partner figures that are not the bilan's: the next consolidation removes it and says so;
    the contributions, whose figures lose that bailleur's rows, are written again."""
    from campaign import campaign_folder

    folder = campaign_folder(tmp_path, campaign_factory_root, (2024,))
    sfhe = make_return(return_path(folder, "sfhe", 2024), "sfhe", rows_of(2024), year=2024)
    flux = folder / "outputs" / "2024" / "flux"
    assert run(folder, "consolidate", "--year", "2024", "--sans-word").exit_code == 0
    report = flux / "flux-2024-sfhe.xlsx"
    assert report.is_file()
    kept = {p.name: p.stat().st_mtime_ns for p in flux.iterdir() if p != report}
    sfhe.unlink()
    result = run(folder, "consolidate", "--year", "2024", "--sans-word")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert not report.exists()
    assert f"Rapport retiré : {report} (aucun retour de ce partenaire n'est retenu pour le bilan 2024" in said
    rewritten = {name for name, t in kept.items() if (flux / name).stat().st_mtime_ns != t}
    assert "contribution-2024-action-logement.xlsx" in rewritten
    ws = openpyxl.load_workbook(flux / "contribution-2024-action-logement.xlsx").active
    assert "SFHE" not in [r[0] for r in table(ws)]
