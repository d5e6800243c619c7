"""Issue 13, class 3: an excluded return never makes older data look current.

A real two-year campaign (tests/campaign.py) where Un Toit pour Tous' 2024 return is excluded
(or missing): the households it follows (demo_rehousing.rehousing_rows: a household rehoused in its stock
is followed by it from then on) keep their 2023 state, in which some were « proposition faite »
or « bloqués ». The annexes of the charter put to the commission must show that state as the
2023 one, apart, with the return it comes from, and never count it as in progress or blocked in
2024; the first page says which partner and how many households. The same for every figure
built on earlier years: the bilan's trend and the previous-year figures of the templates.

Expected figures are computed here from the returns' own cells (openpyxl), not by the module.
"""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest
from campaign import CONVENTION, edit_return, return_path, run
from docx import Document

REHOUSING = "Relogements NPNRU"
CLOSED = ("Relogé définitivement", "Parti hors partenariat")
IN_PROGRESS = ("À reloger", "Proposition faite", "Relogé temporairement")
UTPT = "un-toit-pour-tous"
CHARTER = CONVENTION.rehousing.partners


def _rehousing(path: Path) -> dict[str, dict]:
    """Household id → its row of the rehousing sheet, as the partner typed it."""
    wb = openpyxl.load_workbook(path, read_only=True)
    if REHOUSING not in wb.sheetnames:
        return {}
    rows = list(wb[REHOUSING].iter_rows(min_row=3, values_only=True))
    heads = rows[0]
    return {r[0]: dict(zip(heads, r, strict=False)) for r in rows[1:] if r and r[0]}


def _exclude(path: Path) -> None:
    """An error a partner makes: a required quartile left empty (CELLULE_OBLIGATOIRE)."""

    def edit(wb):
        ws = wb["Attributions"]
        column = next(c.column for c in ws[3] if c.value == "Quartile du ménage")
        ws.cell(4, column).value = None

    edit_return(path, edit)


def _truth(workdir: Path, excluded: str) -> dict:
    """What the returns say, partner by partner, with `excluded`'s 2024 return left out."""
    used_2024 = {}
    for pid in CHARTER:
        path = return_path(workdir, pid, 2024)
        if pid != excluded and path.exists():
            used_2024 |= _rehousing(path)
    rows_2023 = {pid: _rehousing(return_path(workdir, pid, 2023)) for pid in CHARTER}
    last_2023 = {i: (pid, row) for pid in CHARTER for i, row in rows_2023[pid].items()}
    stale = {
        i: row
        for i, (_pid, row) in last_2023.items()
        if i not in used_2024 and row["Statut au 31 décembre"] not in CLOSED
    }
    current = [r for r in used_2024.values()]
    return {
        "stale": stale,
        "stale_blocked": sorted(i for i, r in stale.items() if r["Dossier bloqué"] == "Oui"),
        "in_progress": sum(r["Statut au 31 décembre"] in IN_PROGRESS for r in current),
        "blocked": sorted(
            i
            for i, r in used_2024.items()
            if r["Dossier bloqué"] == "Oui" and r["Statut au 31 décembre"] not in CLOSED
        ),
        "rehoused_since": len(
            {i for i, r in used_2024.items() if r["Statut au 31 décembre"] == "Relogé définitivement"}
            | {
                i
                for i, (_p, r) in last_2023.items()
                if i not in used_2024 and r["Statut au 31 décembre"] == "Relogé définitivement"
            }
        ),
        "followed_2023_by_excluded": set(rows_2023[excluded]),
        "excluded_2024": set(_rehousing(return_path(workdir, excluded, 2024)))
        if return_path(workdir, excluded, 2024).exists()
        else set(),
    }


def _plain(text: str) -> str:
    """The text as read, with the typography's no-break spaces as ordinary ones."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


def _document(path: Path):
    doc = Document(str(path))
    paragraphs = [_plain(p.text) for p in doc.paragraphs]
    first = next(i for i, p in enumerate(doc.paragraphs) if p.style.name.startswith("Heading"))
    tables = [[[_plain(c.text) for c in row.cells] for row in t.rows] for t in doc.tables]
    return paragraphs[:first], "\n".join(paragraphs), tables


@pytest.fixture(scope="module")
def excluded_case(tmp_path_factory, campaign_factory_root):
    from campaign import campaign_folder

    workdir = campaign_folder(tmp_path_factory.mktemp("stale"), campaign_factory_root, (2023, 2024))
    _exclude(return_path(workdir, UTPT, 2024))
    result = run(workdir, "consolidate", "--year", "2024")
    assert result.exit_code == 0, result.output
    public = run(workdir, "consolidate", "--year", "2024", "--diffusion", "publique")
    assert public.exit_code == 0, public.output
    return workdir, result.output, _truth(workdir, UTPT)


def test_the_first_page_of_the_annexes_names_the_partner_and_the_households(excluded_case):
    workdir, out, truth = excluded_case
    n = len(truth["stale"])
    cover, _body, _tables = _document(workdir / "outputs" / "2024" / "annexes-charte-relogement-2024.docx")
    text = "\n".join(cover)
    assert "Un Toit pour Tous : retour 2024 écarté" in text, text
    assert re.search(rf"Situation non actualisée : {n} ménages\b", text), text
    assert "ne sont comptés ni en cours ni bloqués en 2024" in text
    assert "Logis Cévenols : retour 2024 utilisé (cia-2024-logis-cevenols.xlsx" in text
    # And the console of the consolidation says it too.
    assert (
        f"{n} ménages en situation non actualisée (Un Toit pour Tous : retour 2024 écarté, {n} ménages)"
        in out
    )


def test_households_without_a_2024_state_are_a_group_apart_never_blocked_or_in_progress(excluded_case):
    workdir, _out, truth = excluded_case
    _cover, body, tables = _document(workdir / "outputs" / "2024" / "annexes-charte-relogement-2024.docx")
    stale = truth["stale"]
    # The case of the issue: households rehoused in the excluded file were « proposition
    # faite » (some blocked) in 2023, and every household without a 2024 state is one the
    # excluded partner follows (in 2023 or in 2024).
    assert len(stale) >= 5 and truth["stale_blocked"]
    rehoused_in_excluded = truth["excluded_2024"] & set(stale)
    assert rehoused_in_excluded
    assert all(stale[i]["Statut au 31 décembre"] in IN_PROGRESS for i in rehoused_in_excluded)
    assert set(stale) <= truth["excluded_2024"] | truth["followed_2023_by_excluded"]
    # Annexe 1: the follow-up tables of the year hold no such household, each says its return.
    follow = [t for t in tables if t[0][:2] == ["Identifiant", "Suivi par"]]
    listed = {row[0]: row for t in follow for row in t[1:]}
    assert not set(stale) & set(listed)
    assert all(re.search(r"retour 202[34]$", row[1]) for row in listed.values())
    # … and the group apart lists every one, with its last state, its date and its return.
    [apart] = [t for t in tables if t[0][:3] == ["Identifiant", "Opération", "Dernier état connu"]]
    assert {row[0] for row in apart[1:]} == set(stale)
    heads = apart[0]
    for row in apart[1:]:
        cells = dict(zip(heads, row, strict=True))
        assert cells["Dernier état connu"] == stale[row[0]]["Statut au 31 décembre"]
        assert cells["Situation au"] == "31/12/2023"
        assert cells["Motif"] == "retour 2024 écarté (Un Toit pour Tous)"
        assert re.match(
            r"^(Logis Cévenols|Un Toit pour Tous|Opérateur .*) – retour 2023 \(cia-2023-", cells["Retour"]
        )
    # Annexe 2: in progress and blocked count only households with a 2024 state.
    assert (
        f"En cours au 31 décembre 2024 : {truth['in_progress']} ménages, dont {len(truth['blocked'])} dossiers "
        f"bloqués ; situation non actualisée en 2024 : {len(stale)} ménages" in body
    ), body
    progress = next(t for t in tables if t[0][0] == "Opération" and "Ensemble du programme" in str(t))
    total = dict(zip(progress[0], progress[-1], strict=True))
    assert total["En cours"] == str(truth["in_progress"])
    assert total["Dossiers bloqués"] == str(len(truth["blocked"]))
    assert total["Situation non actualisée"] == str(len(stale))
    assert total[f"Relogés définitivement depuis {CONVENTION.rehousing.first_year}"] == str(
        truth["rehoused_since"]
    )
    # Annexe 3: the cases of the year only; the ones blocked in 2023 are named apart.
    blocked = next(t for t in tables if t[0][:2] == ["Identifiant", "Opération"] and "Ce qui bloque" in t[0])
    assert sorted(row[0] for row in blocked[1:]) == truth["blocked"]
    for ident in truth["stale_blocked"]:
        assert ident not in [row[0] for row in blocked[1:]]
        assert re.search(rf"{ident} \(bloqué au 31/12/2023, retour 2023 de [^)]+\)", body), body


def test_the_public_annexes_say_it_without_naming_households(excluded_case):
    workdir, _out, truth = excluded_case
    cover, body, tables = _document(
        workdir / "outputs" / "2024" / "annexes-charte-relogement-2024-publique.docx"
    )
    assert "Un Toit pour Tous : retour 2024 écarté" in "\n".join(cover)
    statuses = next(t for t in tables if t[0][0] == "Opération" and "Ménages suivis" in t[0])
    assert "Situation non actualisée" in statuses[0]
    assert not any(ident in body for ident in truth["stale"])


def test_a_missing_return_is_said_the_same_way(make_campaign):
    workdir = make_campaign((2023, 2024))
    return_path(workdir, UTPT, 2024).unlink()
    result = run(workdir, "consolidate", "--year", "2024")
    assert result.exit_code == 0, result.output
    truth = _truth(workdir, UTPT)
    cover, _body, tables = _document(workdir / "outputs" / "2024" / "annexes-charte-relogement-2024.docx")
    text = "\n".join(cover)
    assert "Un Toit pour Tous : retour 2024 manquant" in text
    n = len(truth["stale"])
    assert re.search(rf"Situation non actualisée : {n} ménages\b", text), text
    [apart] = [t for t in tables if t[0][:3] == ["Identifiant", "Opération", "Dernier état connu"]]
    assert {row[0] for row in apart[1:]} == set(truth["stale"])
    assert {row[apart[0].index("Motif")] for row in apart[1:]} <= {
        "retour 2024 manquant (Un Toit pour Tous)",
        "absent du retour 2024 de Logis Cévenols",
        "absent du retour 2024 de Opérateur de relogement du parc privé (MOUS)",
    }


def test_the_bilan_trend_says_which_returns_each_year_rests_on(excluded_case):
    workdir, _out, _truth = excluded_case
    doc = Document(str(workdir / "outputs" / "2024" / "bilan-cia-2024.docx"))
    trend = next(
        [[_plain(c.text) for c in row.cells] for row in t.rows]
        for t in doc.tables
        if t.rows[0].cells[0].text == "Année" and "Retours utilisés" in [c.text for c in t.rows[0].cells]
    )
    heads = trend[0]
    rows = {r[0]: dict(zip(heads, r, strict=True)) for r in trend[1:]}
    expected = len(CONVENTION.partners)
    assert rows["2023"]["Retours utilisés"] == f"{expected} sur {expected}"
    assert rows["2023"]["Retours écartés ou manquants"] == "aucun"
    assert rows["2024"]["Retours utilisés"] == f"{expected - 1} sur {expected}"
    assert rows["2024"]["Retours écartés ou manquants"] == "écarté : Un Toit pour Tous"


def test_the_templates_say_what_the_previous_year_figures_rest_on(make_campaign):
    workdir = make_campaign((2023, 2024))
    _exclude(return_path(workdir, UTPT, 2023))
    result = run(workdir, "templates", "--year", "2024")
    assert result.exit_code == 0, result.output

    def notes(pid: str) -> str:
        ws = openpyxl.load_workbook(workdir / "templates" / "2024" / f"cia-2024-{pid}.xlsx")["Synthèse"]
        return "\n".join(str(c.value) for row in ws.iter_rows() for c in row if isinstance(c.value, str))

    text = notes(UTPT)
    assert "Votre retour 2023 (cia-2023-un-toit-pour-tous.xlsx) a été écarté pour erreurs" in text, text
    assert "pas de comparaison avec 2023" in text
    text = notes("semiga")
    assert "à partir de votre retour validé de 2023 (cia-2023-semiga.xlsx, réponse du " in text, text
