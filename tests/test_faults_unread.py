"""Issue 13, class 1: rows and columns the tool does not read never vanish.

A partner copies a table sheet (« Attributions (2) »), adds « Attributions suite », types
values beside the table or keeps a hidden sheet: the rows are either read (a copy of a known
table, with the same headers) and the partner warned, or the return gets an error saying how
many rows were left out and what to do. « valide » never hides unread rows.
"""

from __future__ import annotations

import json

import openpyxl
import pytest
from campaign import YEAR, edit_return, return_path, run

from cia_workbook.intake.sheetxml import get_column_letter
from cia_workbook.partners.corrections import CORRECTIONS_HEADER_ROW
from cia_workbook.schema.sheets import ATTRIBUTIONS

OUT = f"outputs/{YEAR}"
# Sheets of the consolidated workbook that hold figures (not the rows, not the register of files).
NOT_FIGURES = ("Données", "Retours utilisés", "Qualité des données")


def _validate(workdir):
    result = run(workdir, "validate", "--year", str(YEAR), "--json")
    return result, json.loads(result.stdout)


def _file(data, name):
    return next(f for f in data["fichiers"] if f["fichier"] == name)


def _findings(data, name, code=None):
    return [c for c in _file(data, name)["constats"] if code is None or c["code"] == code]


def _consolidated(workdir):
    result = run(workdir, "consolidate", "--year", str(YEAR), "--sans-word")
    assert result.exit_code == 0, result.output
    return openpyxl.load_workbook(workdir / OUT / f"consolidation-{YEAR}.xlsx", read_only=True)


def _figures(wb) -> dict[str, list[tuple]]:
    return {
        ws.title: list(ws.iter_rows(values_only=True))
        for ws in wb.worksheets
        if not ws.title.startswith(NOT_FIGURES)
    }


def _rows(wb, sheet: str, file: str) -> list[dict]:
    rows = list(wb[sheet].iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=False)) for r in rows[1:] if r[0] == file]


def _split(title: str, keep: int, first_row: int = 4):
    """The edit of a partner who moved the table's rows after the first `keep` to a copy of the
    sheet (Excel's « Déplacer ou copier… > Créer une copie » names it « <title> (2) »)."""

    def edit(wb):
        ws = wb[title]
        copy = wb.copy_worksheet(ws)
        copy.title = f"{title} (2)"
        ws.delete_rows(first_row + keep, ws.max_row)
        copy.delete_rows(first_row, keep)

    return edit


# (partner, table sheet, « Données » sheet of the consolidated workbook, rows kept in place)
TABLES = [
    ("semiga", "Attributions", "Données", 12),
    ("semiga", "Patrimoine", "Données patrimoine", 3),
    ("etat", "Contingent", "Données contingents", 4),
    ("logis-cevenols", "Relogements NPNRU", "Données relogements", 30),
]


@pytest.mark.parametrize(("partner", "title", "data_sheet", "keep"), TABLES)
def test_rows_moved_to_a_copy_of_a_table_sheet_are_read_and_the_partner_warned(
    make_campaign, partner, title, data_sheet, keep
):
    workdir = make_campaign()
    path = return_path(workdir, partner)
    before = _consolidated(workdir)
    figures, rows = _figures(before), _rows(before, data_sheet, path.name)
    total = len(rows)

    edit_return(path, _split(title, keep))
    result, data = _validate(workdir)

    assert result.exit_code == 0, result.output
    assert _file(data, path.name)["statut"] == "avec avertissements"
    (copy,) = _findings(data, path.name, "FEUILLE_COPIE_LUE")
    assert copy["gravite"] == "avertissement"
    assert copy["feuille"] == f"{title} (2)"
    assert f"ses {total - keep} lignes ont été lues avec celles de la feuille « {title} »" in copy["message"]

    after = _consolidated(workdir)
    assert _figures(after) == figures  # every figure as before the rows were moved
    moved = _rows(after, data_sheet, path.name)
    assert len(moved) == total
    # The source columns point to where each row now is: the first `keep` rows where they were,
    # the others on the copy, from its row 4.
    assert [(r["Feuille"], r["Ligne"]) for r in moved] == [(title, 4 + i) for i in range(keep)] + [
        (f"{title} (2)", 4 + i) for i in range(total - keep)
    ]
    assert [r[k] for r in moved for k in list(r)[4:]] == [r[k] for r in rows for k in list(r)[4:]]


def test_a_continuation_sheet_typed_by_hand_is_read_with_the_table(make_campaign):
    """« Attributions suite »: a new sheet, the header row pasted on row 1, rows typed below."""
    workdir = make_campaign()
    path = return_path(workdir, "sfhe")
    before = _rows(_consolidated(workdir), "Données", path.name)

    def edit(wb):
        ws = wb["Attributions"]
        more = wb.create_sheet("Attributions suite", index=wb.sheetnames.index("Attributions") + 1)
        values = list(ws.iter_rows(min_row=3, values_only=True))
        for row in values[:1] + values[-5:]:
            more.append(row)
        ws.delete_rows(ws.max_row - 4, 5)

    edit_return(path, edit)
    result, data = _validate(workdir)

    assert result.exit_code == 0, result.output
    (copy,) = _findings(data, path.name, "FEUILLE_COPIE_LUE")
    assert copy["feuille"] == "Attributions suite"
    assert "ses 5 lignes ont été lues" in copy["message"]
    after = _rows(_consolidated(workdir), "Données", path.name)
    assert len(after) == len(before)
    assert [(r["Feuille"], r["Ligne"]) for r in after[-5:]] == [
        ("Attributions suite", n) for n in range(2, 7)
    ]
    assert [r["Référence du dossier"] for r in after] == [r["Référence du dossier"] for r in before]


def test_a_copy_that_repeats_the_rows_is_caught_as_duplicates_never_counted_twice(make_campaign):
    workdir = make_campaign()
    path = return_path(workdir, "semiga")

    def edit(wb):
        wb.copy_worksheet(wb["Attributions"]).title = "Attributions (2)"

    edit_return(path, edit)
    result, data = _validate(workdir)

    assert result.exit_code == 1
    assert _file(data, path.name)["statut"] == "avec erreurs"
    doubles = _findings(data, path.name, "REFERENCE_DOUBLON")
    assert doubles and all(d["feuille"] == "Attributions (2)" for d in doubles)
    assert doubles[0]["cellule"] == "A4"
    assert "figure aussi ligne 4 de la feuille « Attributions »" in doubles[0]["message"]
    wb = _consolidated(workdir)
    assert _rows(wb, "Données", path.name) == []  # excluded: neither once nor twice
    excluded = [r for r in wb["Retours exclus"].iter_rows(values_only=True) if path.name in r]
    assert excluded


def test_findings_of_rows_read_from_a_copy_name_the_copy_and_its_cells(make_campaign):
    workdir = make_campaign()
    path = return_path(workdir, "semiga")

    def edit(wb):
        _split("Attributions", 12)(wb)
        wb["Attributions (2)"]["D5"] = "Bail signé ?"

    edit_return(path, edit)
    result, data = _validate(workdir)

    assert result.exit_code == 1
    (wrong,) = _findings(data, path.name, "VALEUR_HORS_LISTE")
    assert (wrong["feuille"], wrong["cellule"]) == ("Attributions (2)", "D5")
    copy = openpyxl.load_workbook(workdir / OUT / "retours" / f"{path.stem}-corrections.xlsx")
    assert "VALEUR_HORS_LISTE" in copy["Attributions (2)"]["D5"].comment.text
    lines = list(copy["Corrections"].iter_rows(min_row=CORRECTIONS_HEADER_ROW + 1))
    linked = [row[4].hyperlink.location for row in lines if row[2].value == "VALEUR_HORS_LISTE"]
    assert linked == ["'Attributions (2)'!D5"]


def _notes(wb):
    ws = wb.create_sheet("Notes")
    ws["A1"] = "Points à voir avec l'agglomération"
    ws["A2"] = "Deux attributions de décembre saisies en janvier"
    ws["A4"] = "Relancer le service contentieux"


def _pivot(wb):
    ws = wb.create_sheet("TCD")
    ws.append(["Étiquettes de lignes", "Nombre de Référence du dossier"])
    for commune, n in (("Alès (30007)", 14), ("Anduze (30010)", 3), ("Total général", 17)):
        ws.append([commune, n])


def _hidden_copy(wb):
    ws = wb.copy_worksheet(wb["Attributions"])
    ws.title = "Attributions (2)"
    ws.delete_rows(4, ws.max_row)
    for i in range(3):
        ws.append([f"S-2024-9{i:04d}", "12/12/2024", None, "Refus du ménage"])
    ws.sheet_state = "hidden"


@pytest.mark.parametrize(
    ("edit", "sheet", "rows", "words"),
    [
        (_notes, "Notes", 3, "ne fait pas partie du modèle"),
        (_pivot, "TCD", 4, "ne fait pas partie du modèle"),
        (_hidden_copy, "Attributions (2)", 3, "masquée"),
    ],
    ids=["notes", "tableau-croise", "feuille-masquee"],
)
def test_a_sheet_with_data_the_tool_does_not_read_is_an_error(make_campaign, edit, sheet, rows, words):
    workdir = make_campaign()
    path = return_path(workdir, "semiga")
    edit_return(path, edit)
    result, data = _validate(workdir)

    assert result.exit_code == 1
    (unread,) = _findings(data, path.name, "FEUILLE_NON_LUE")
    assert unread["gravite"] == "erreur"
    assert unread["feuille"] == sheet
    assert words in unread["message"]
    assert f"{rows} lignes remplies" in unread["message"]
    assert _file(data, path.name)["statut"] == "avec erreurs"
    console = run(workdir, "validate", "--year", str(YEAR)).output
    assert f"{sheet} [FEUILLE_NON_LUE] erreur" in console


def test_values_beside_the_table_are_an_error_with_the_number_left_out(make_campaign):
    workdir = make_campaign()
    path = return_path(workdir, "semiga")

    def edit(wb):
        ws = wb["Attributions"]
        for row in range(4, 9):
            ws.cell(row, 24, "à vérifier")  # column X, two columns right of the last one (T)

    edit_return(path, edit)
    result, data = _validate(workdir)

    assert result.exit_code == 1
    (unread,) = _findings(data, path.name, "COLONNE_NON_LUE")
    assert (unread["feuille"], unread["cellule"]) == ("Attributions", "X4:X8")
    assert "5 valeurs" in unread["message"]
    assert "(sans en-tête)" in unread["message"]


def test_a_column_with_an_unknown_header_and_values_is_an_error_an_empty_one_a_warning(make_campaign):
    workdir = make_campaign()
    path = return_path(workdir, "semiga")

    # The two columns after the template's last one.
    first, second = (get_column_letter(len(ATTRIBUTIONS.columns) + k) for k in (1, 2))

    def edit(wb):
        ws = wb["Attributions"]
        ws[f"{first}3"] = "Observations"
        ws[f"{second}3"] = "Remarques"
        ws[f"{first}5"], ws[f"{first}9"] = "dossier prioritaire", "relogé en urgence"

    edit_return(path, edit)
    result, data = _validate(workdir)

    assert result.exit_code == 1
    (unread,) = _findings(data, path.name, "COLONNE_NON_LUE")
    assert (unread["gravite"], unread["cellule"]) == ("erreur", f"{first}5:{first}9")
    assert "« Observations »" in unread["message"] and "2 valeurs" in unread["message"]
    (extra,) = _findings(data, path.name, "COLONNE_EN_TROP")
    assert (extra["gravite"], extra["cellule"]) == ("avertissement", f"{second}3")
