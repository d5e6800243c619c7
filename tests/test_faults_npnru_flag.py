"""Issue 13, class 7: a counted household never loses a fact.

A household both DALO and rehoused by the NPNRU keeps DALO as its category (the highest), and
its NPNRU rehousing is recorded on its own (« Relogé NPNRU », a yes/no column of Attributions):
it counts in the outside-QPV objective (« 1er quartile et/ou relogés NPNRU ») whatever its
category, in the bilan, in the réservataires' contingent counts and in the Synthèse formulas.
The flag and the category are checked against each other, and returns made on the previous
template (schema 1.0, without the column) stay readable, with what that means said once.

Every campaign is the project's own (tests/campaign.py); returns are damaged with openpyxl.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import openpyxl
from campaign import edit_return, return_path, run

ATT = "Attributions"
HEADER_ROW = 3
FLAG = "Relogé NPNRU"
DALO = "Ménage reconnu DALO"
NPNRU = "Ménage relogé dans le cadre du NPNRU"
NONE = "Aucune catégorie prioritaire"
OWN = "Contingent propre du bailleur"
FIXTURES_1_0 = Path(__file__).parent / "fixtures" / "schema-1.0"


def _headers(ws) -> dict[str, int]:
    return {c.value: c.column for c in ws[HEADER_ROW] if c.value}


def _rows(ws) -> list[dict]:
    heads = _headers(ws)
    out = []
    for r in range(HEADER_ROW + 1, ws.max_row + 1):
        row = {h: ws.cell(r, col).value for h, col in heads.items()}
        if row.get("Référence du dossier"):
            row["_row"] = r
            out.append(row)
    return out


def _lease_outside_qpv_not_counted(row: dict, contingent: str) -> bool:
    """A lease of 2024 outside QPV and local zones, quartile 2-4, no category: in the universe of
    the outside-QPV objective, not in its numerator."""
    bail = row["Date de signature du bail"]
    return (
        row["Suite donnée"] == "Bail signé"
        and isinstance(bail, dt.datetime)
        and bail.year == 2024
        and row["QPV du logement"] == "Hors QPV"
        and row["Zone locale"] == "Aucune"
        and row["Contingent"] == contingent
        and row["Quartile du ménage"] in ("2", "3", "4")
        and row["Catégorie prioritaire"] == NONE
    )


def _make_dalo_and_npnru(path: Path, contingent: str) -> int:
    """Turn one lease outside QPV (quartile 2-4, no category) into a DALO household rehoused by
    the NPNRU, as the partner types it; the row number."""
    done: list[int] = []

    def edit(wb):
        ws = wb[ATT]
        heads = _headers(ws)
        assert FLAG in heads, f"the Attributions sheet has no « {FLAG} » column: {list(heads)}"
        row = next(r for r in _rows(ws) if _lease_outside_qpv_not_counted(r, contingent))
        ws.cell(row["_row"], heads["Catégorie prioritaire"], DALO)
        ws.cell(row["_row"], heads[FLAG], "Oui")
        done.append(row["_row"])

    edit_return(path, edit)
    return done[0]


def _table(ws, first_header: str) -> list[tuple]:
    rows = list(ws.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r and r[0] == first_header)
    out = [rows[start]]
    for r in rows[start + 1 :]:
        if not r or r[0] is None:
            break
        out.append(r)
    return out


def _by_first(table: list[tuple]) -> dict[str, dict]:
    heads = table[0]
    return {r[0]: dict(zip(heads, r, strict=True)) for r in table[1:]}


def _findings_of(output: str, name: str) -> list[str]:
    """The console lines of one file's findings (« Constats par fichier »)."""
    lines = output.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.startswith(f"  {name} (")), None)
    if start is None:  # a file with nothing to say
        return []
    out = []
    for ln in lines[start + 1 :]:
        if not ln.startswith("    "):
            break
        out.append(ln.strip())
    return out


def _consolidated(workdir: Path) -> openpyxl.Workbook:
    result = run(workdir, "consolidate", "--year", "2024", "--sans-word")
    assert result.exit_code == 0, result.output
    return openpyxl.load_workbook(workdir / "outputs" / "2024" / "consolidation-2024.xlsx")


def _objective(wb, sheet: str, partner: str) -> dict:
    return _by_first(_table(wb[sheet], "Bailleur"))[partner]


def test_a_dalo_household_rehoused_by_the_npnru_counts_in_the_outside_qpv_objective(make_campaign):
    workdir = make_campaign()
    before = _consolidated(workdir)
    hq_before = _objective(before, "Obj1 1er quartile hors QPV", "SEMIGA")
    pp_before = _objective(before, "Obj3 Publics prioritaires", "SEMIGA")

    _make_dalo_and_npnru(return_path(workdir, "semiga"), OWN)
    result = run(workdir, "validate", "--year", "2024")
    assert result.exit_code == 0, result.output
    assert "RELOGE_NPNRU" not in result.output  # flag and category agree: nothing to say

    after = _consolidated(workdir)
    hq = _objective(after, "Obj1 1er quartile hors QPV", "SEMIGA")
    pp = _objective(after, "Obj3 Publics prioritaires", "SEMIGA")
    # Same universe; one more household of the objective: DALO kept, NPNRU rehousing counted.
    assert hq["Baux signés"] == hq_before["Baux signés"]
    assert hq["Ménages visés"] == hq_before["Ménages visés"] + 1
    assert pp["Ménages visés"] == pp_before["Ménages visés"] + 1  # and in priority publics, as DALO
    territory = _objective(after, "Obj1 1er quartile hors QPV", "Territoire")
    assert (
        territory["Ménages visés"]
        == _objective(before, "Obj1 1er quartile hors QPV", "Territoire")["Ménages visés"] + 1
    )


def test_the_contingent_column_counts_npnru_rehousing_whatever_the_category(make_campaign):
    workdir = make_campaign()
    _make_dalo_and_npnru(return_path(workdir, "semiga"), "Action Logement Services")

    # The réservataire declares what happened on its contingent, by its template's definitions.
    def declare(wb):
        ws = wb["Contingent"]
        heads = _headers(ws)
        q1 = "Dont 1er quartile ou relogés NPNRU hors QPV"
        assert q1 in heads, f"the Contingent sheet has no « {q1} » column: {list(heads)}"
        row = next(r for r in range(HEADER_ROW + 1, ws.max_row + 1) if ws.cell(r, 1).value == "SEMIGA")
        for header in (q1, f"Dont publics prioritaires : {DALO}"):
            ws.cell(row, heads[header], (ws.cell(row, heads[header]).value or 0) + 1)

    edit_return(return_path(workdir, "action-logement"), declare)
    result = run(workdir, "validate", "--year", "2024")
    assert result.exit_code == 0, result.output
    assert "CONTINGENT_ECART" not in result.output, result.output

    wb = _consolidated(workdir)
    check = _by_first(_table(wb["Écarts réservataires"], "Réservataire"))["Action Logement Services"]
    label = "1er quartile ou relogés NPNRU hors QPV"
    assert check[f"{label} : écart"] == 0
    assert check[f"{label} : compté"] == check[f"{label} : déclaré"]


def test_the_flag_and_the_category_are_checked_against_each_other(make_campaign):
    workdir = make_campaign()
    path = return_path(workdir, "semiga")
    cases = [
        (NPNRU, "Non", "RELOGE_NPNRU_CONTRADICTOIRE", "erreur"),
        (NPNRU, None, "RELOGE_NPNRU_DEDUIT", "avertissement"),
        (NONE, "Oui", "RELOGE_NPNRU_SANS_CATEGORIE", "erreur"),
        ("Public prioritaire du PDALHPD", "Oui", "RELOGE_NPNRU_CATEGORIE_BASSE", "avertissement"),
    ]
    cells: list[str] = []

    def edit(wb):
        ws = wb[ATT]
        heads = _headers(ws)
        assert FLAG in heads, f"the Attributions sheet has no « {FLAG} » column: {list(heads)}"
        letter = openpyxl.utils.get_column_letter(heads[FLAG])
        for row, (category, flag, _code, _severity) in zip(_rows(ws), cases, strict=False):
            ws.cell(row["_row"], heads["Catégorie prioritaire"], category)
            ws.cell(row["_row"], heads[FLAG]).value = flag  # None: the partner clears the cell
            cells.append(f"{letter}{row['_row']}")

    edit_return(path, edit)
    result = run(workdir, "validate", "--year", "2024")
    assert result.exit_code == 1, result.output  # two errors: the return is excluded
    lines = _findings_of(result.output, path.name)
    for cell, (_category, _flag, code, severity) in zip(cells, cases, strict=True):
        assert any(ln.startswith(f"{ATT} {cell} [{code}] {severity} : ") for ln in lines), (code, lines)
    contradiction = next(ln for ln in lines if "[RELOGE_NPNRU_CONTRADICTOIRE]" in ln)
    assert "répondez « Oui »" in contradiction
    deduced = next(ln for ln in lines if "[RELOGE_NPNRU_DEDUIT]" in ln)
    assert "compté comme relogé NPNRU" in deduced


def _independent_outside_qpv(path: Path) -> tuple[int, int]:
    """(numerator, universe) of the outside-QPV objective from a return's rows, as DOMAIN.md
    defines it: leases of 2024 outside QPV and local zones; 1st quartile or rehoused by the
    NPNRU (the template 1.0 knows the rehousing by the category only)."""
    ws = openpyxl.load_workbook(path)[ATT]
    universe = [
        r
        for r in _rows(ws)
        if r["Suite donnée"] == "Bail signé"
        and isinstance(r["Date de signature du bail"], dt.datetime)
        and r["Date de signature du bail"].year == 2024
        and r["QPV du logement"] == "Hors QPV"
        and r["Zone locale"] in ("Aucune", None)
    ]
    numerator = [r for r in universe if r["Quartile du ménage"] == "1" or r["Catégorie prioritaire"] == NPNRU]
    return len(numerator), len(universe)


def test_returns_made_on_the_previous_template_stay_readable_and_say_what_they_lack(make_campaign):
    """Logis Cévenols' and Action Logement's returns written by the template of schema 1.0
    (tests/fixtures/schema-1.0, made by the code of commit 2e91010) in a campaign of 1.1 returns."""
    workdir = make_campaign()
    for partner in ("logis-cevenols", "action-logement"):
        target = return_path(workdir, partner)
        shutil.copyfile(FIXTURES_1_0 / target.name, target)
    result = run(workdir, "validate", "--year", "2024")
    out = result.output
    assert result.exit_code == 0, out
    assert "MODELE_VERSION" not in out
    found = [ln for ln in _findings_of(out, "cia-2024-logis-cevenols.xlsx") if "[MODELE_ANCIEN]" in ln]
    # Schema 1.2 added two more columns (disability, refusal motive), each said once too.
    assert len(found) == 3, out
    assert sum("Personne handicapée dans le ménage" in ln for ln in found) == 1
    assert sum("« Motif du refus »" in ln for ln in found) == 1
    lc = found[0]
    assert lc.startswith(f"{ATT} U3 [MODELE_ANCIEN] avertissement : ")
    assert (
        "version 1.0" in lc and f"« {FLAG} »" in lc and "n'y est connu que par la catégorie prioritaire" in lc
    )
    found = [ln for ln in _findings_of(out, "cia-2024-action-logement.xlsx") if "[MODELE_ANCIEN]" in ln]
    assert len(found) == 1, out
    al = found[0]
    assert al.startswith("Contingent ") and "[MODELE_ANCIEN] avertissement" in al
    assert "« Dont 1er quartile ou relogés NPNRU hors QPV »" in al and "1er quartile seul" in al
    # The réservataire's 1.0 figures are compared with the bailleurs' rows by their own definition.
    assert not [
        ln
        for ln in out.splitlines()
        if "[CONTINGENT_ECART]" in ln and "Action Logement Services déclare" in ln
    ]

    wb = _consolidated(workdir)
    used = _by_first(_table(wb["Retours utilisés"], "Partenaire"))
    assert used["Logis Cévenols"]["Fichier"] == "cia-2024-logis-cevenols.xlsx"
    assert "Action Logement Services" in used
    hq = _objective(wb, "Obj1 1er quartile hors QPV", "Logis Cévenols")
    numerator, universe = _independent_outside_qpv(return_path(workdir, "logis-cevenols"))
    assert (hq["Ménages visés"], hq["Baux signés"]) == (numerator, universe)
    check = _by_first(_table(wb["Écarts réservataires"], "Réservataire"))["Action Logement Services"]
    assert check["1er quartile ou relogés NPNRU hors QPV : écart"] == 0
    assert "modèle 1.0" in check["Retour"]
