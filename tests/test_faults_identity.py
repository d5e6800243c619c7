"""Issue 13, class 2: one partner's figures are never published under another's name.

The hidden identification of a template (the very hidden `_cia` sheet, defined names, document
properties), the visible Identification sheet and the file's place (its name, a sub-folder of
forms/<year>/ named after a partner) must agree. A conflict is an error naming both partners;
such a file is used for no one and never replaces another partner's return. The usual harmless
variations (free text beside the name, names changed by mail clients, ids inside others) are
no conflict.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import openpyxl
import pytest
from campaign import YEAR, edit_return, return_path, run
from openpyxl.packaging.custom import StringProperty

from cia_workbook.partners.control import SUMMARY_HEADER_ROW

LATER = dt.datetime(YEAR + 1, 3, 20)  # answered after every clean return of the campaign


def _validate(workdir):
    result = run(workdir, "validate", "--year", str(YEAR), "--json")
    return result, json.loads(result.stdout)


def _partner(data, pid):
    return next(p for p in data["partenaires"] if p["partenaire"] == pid)


def _file(data, name):
    return next(f for f in data["fichiers"] if f["fichier"] == name)


def _conflicts(data):
    return [
        (f["fichier"], c)
        for f in data["fichiers"]
        for c in f["constats"]
        if c["code"] == "IDENTITE_CONTRADICTOIRE"
    ]


def _rows_of(path, sheet="Attributions"):
    ws = openpyxl.load_workbook(path)[sheet]
    return [list(r) for r in ws.iter_rows(min_row=4, values_only=True) if any(v is not None for v in r)]


def _typed_into(template_of: str, rows_of: str, visible: str | None, workdir):
    """The edit of a partner who filled another partner's template: `rows_of`'s rows typed into
    `template_of`'s return, the visible partner name changed to `visible` (None: left)."""
    rows = _rows_of(return_path(workdir, rows_of))

    def edit(wb):
        ws = wb["Attributions"]
        ws.delete_rows(4, ws.max_row)
        for i, row in enumerate(rows, start=4):
            for j, value in enumerate(row, start=1):
                ws.cell(i, j, value)
        ident = wb["Identification"]
        if visible is not None:
            ident["B3"] = visible
        ident["B8"] = LATER

    return edit


@pytest.mark.parametrize("name", ["cia-2024-sfhe.xlsx", "retour CIA 2024.xlsx"])
def test_rows_typed_into_another_partners_template_are_used_for_no_one(make_campaign, name):
    """SFHE's rows in SEMIGA's template, « SFHE » in the visible Identification sheet."""
    workdir = make_campaign()
    semiga, sfhe = return_path(workdir, "semiga"), return_path(workdir, "sfhe")
    sent = sfhe.with_name(name)
    edit_return(semiga, _typed_into("semiga", "sfhe", "SFHE", workdir), target=sent)
    if sent != sfhe:
        sfhe.unlink()

    result, data = _validate(workdir)

    assert _partner(data, "semiga")["fichier"] == semiga.name  # not replaced
    assert _partner(data, "sfhe")["statut"] == "manquant"
    assert result.exit_code == 1
    assert _partner(data, "sfhe")["a_examiner"] == [name]
    assert _file(data, name)["utilise"] is False
    conflicts = _conflicts(data)
    assert conflicts and {f for f, _ in conflicts} == {name}
    visible = next(c for _, c in conflicts if c["feuille"] == "Identification")
    assert visible["cellule"] == "B3"
    assert "SEMIGA" in visible["message"] and "SFHE" in visible["message"]
    assert visible["gravite"] == "erreur"

    console = run(workdir, "validate", "--year", str(YEAR)).output
    assert f"{name} : avec erreurs — identification contradictoire" in console
    assert f"manquant — le fichier {name} pourrait être le sien (identification contradictoire)" in console
    control = openpyxl.load_workbook(workdir / f"outputs/{YEAR}/controle-{YEAR}.xlsx", read_only=True)
    partners = list(control["Partenaires"].iter_rows(min_row=SUMMARY_HEADER_ROW, values_only=True))
    header = partners[0]
    sfhe_row = dict(zip(header, next(r for r in partners if r[0] == "SFHE"), strict=True))
    assert sfhe_row["Fichiers non retenus qui le désignent"] == name
    # The bilan of the year says it too, where it lists the partners without a return.
    summary = run(workdir, "consolidate", "--year", str(YEAR), "--sans-word").output
    assert "Fichiers écartés, à examiner avant de publier (identification contradictoire" in summary
    assert name in summary


def _hidden_claims(pid: str):
    def edit(wb):
        wb["_cia"]["B4"] = pid
        wb["Identification"]["B8"] = LATER

    return edit


def _names_and_properties_claim(pid: str):
    """Every hidden source but the `_cia` sheet rewritten (what a copy of another partner's
    template whose sheets were pasted over would keep)."""

    def edit(wb):
        wb.defined_names["CIA_PARTENAIRE"].attr_text = f'"{pid}"'
        props = [p for p in wb.custom_doc_props.props if p.name != "partenaire"]
        wb.custom_doc_props.props = [*props, StringProperty(name="partenaire", value=pid)]
        wb["Identification"]["B8"] = LATER

    return edit


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (_hidden_claims("logis-cevenols"), "Identification"),  # the visible sheet says SEMIGA
        (_names_and_properties_claim("logis-cevenols"), ""),  # the hidden sources disagree
    ],
    ids=["cachee-contre-visible", "sources-cachees"],
)
def test_a_hidden_identification_claiming_another_partner_replaces_no_one(make_campaign, edit, where):
    workdir = make_campaign()
    semiga, logis = return_path(workdir, "semiga"), return_path(workdir, "logis-cevenols")
    edit_return(semiga, edit)

    result, data = _validate(workdir)

    assert _partner(data, "logis-cevenols")["fichier"] == logis.name
    assert _partner(data, "logis-cevenols")["remplace"] == []
    assert _file(data, semiga.name)["utilise"] is False
    assert result.exit_code == 1
    conflicts = [c for f, c in _conflicts(data) if f == semiga.name]
    assert conflicts and all("Logis Cévenols" in c["message"] and "SEMIGA" in c["message"] for c in conflicts)
    assert where in {c["feuille"] for c in conflicts}


def test_a_file_in_the_folder_of_another_partner_is_used_for_no_one(make_campaign):
    workdir = make_campaign()
    forms = workdir / "forms" / str(YEAR)
    semiga = return_path(workdir, "semiga")
    (forms / "sfhe").mkdir()
    moved = shutil.move(semiga, forms / "sfhe" / "retour.xlsx")

    result, data = _validate(workdir)

    assert _partner(data, "semiga")["statut"] == "manquant"
    assert _partner(data, "sfhe")["fichier"] == "cia-2024-sfhe.xlsx"
    assert result.exit_code == 1
    (conflict,) = [c for f, c in _conflicts(data) if f == "retour.xlsx"]
    assert "dossier « sfhe »" in conflict["message"]
    assert _file(data, "retour.xlsx")["chemin"] == str(moved)


# Harmless variations: (partner, how its file is received). Each is checked in a folder that
# also holds one true conflict, which alone is reported.
def _visible(text):
    return lambda wb: wb["Identification"].__setitem__("B3", text)


HARMLESS = [
    ("sfhe", "Copie de cia-2024-sfhe.xlsx", None, None),
    ("sfhe", "cia-2024-sfhe (1).xlsx", None, None),
    ("sfhe", "cia-2024-sfhe corrigé.xlsx", None, None),
    ("sfhe", "CIA_2024_SFHE_v2.xlsx", None, None),
    ("sfhe", "cia-2024-sfhe.xlsx", "SFHE", None),
    ("sfhe", "cia-2024-sfhe.xlsx", None, _visible("SFHE – agence d'Alès")),
    ("logis-cevenols", "cia-2024-logis-cevenols.xlsx", None, _visible("Logis Cévenols – agence d'Alès")),
    ("logis-cevenols", "cia-2024-logis-cevenols.xlsx", None, _visible("OPH d'Alès Agglomération")),
    ("habitat-du-gard", "cia-2024-habitat-du-gard.xlsx", "Habitat du Gard", None),
    (
        "departement-gard",
        "cia-2024-departement-gard.xlsx",
        "departement-gard",
        _visible("Département du Gard"),
    ),
    ("commune-ales", "cia-2024-commune-ales (2).xlsx", "Ville d'Alès", None),
    ("etat", "Copie de cia-2024-etat.xlsx", "etat", _visible("Préfecture du Gard – DDETS")),
]


@pytest.mark.parametrize(
    ("pid", "name", "folder", "edit"), HARMLESS, ids=[f"{p}:{n}:{f}" for p, n, f, _ in HARMLESS]
)
def test_the_usual_variations_of_names_and_places_are_no_conflict(make_campaign, pid, name, folder, edit):
    workdir = make_campaign()
    forms = workdir / "forms" / str(YEAR)
    # The true conflict of the folder: SFHE's rows in SEMIGA's template, saved as SEMIGA's.
    semiga = return_path(workdir, "semiga")
    conflict = semiga.with_name("cia-2024-semiga (sfhe).xlsx")
    edit_return(semiga, _typed_into("semiga", "sfhe", "SFHE", workdir), target=conflict)
    original = return_path(workdir, pid)
    target = (forms / folder / name) if folder else forms / name
    target.parent.mkdir(exist_ok=True)
    if edit is not None:
        edit_return(original, edit)
    shutil.move(original, target)

    result, data = _validate(workdir)

    assert {f for f, _ in _conflicts(data)} == {conflict.name}
    assert _partner(data, pid)["fichier"] == name
    assert _file(data, name)["statut"] == "valide"
    assert _partner(data, "semiga")["fichier"] == semiga.name
