"""Fault class 11 of issue 13: partner text in the officer's terminal.

Escape sequences, carriage returns, backspaces, C1 controls and bidirectional overrides typed
in a cell, a sheet name or a file name must reach the terminal as visible escapes (`\\x1b`,
`\\r`, `\\u202e`): nothing may clear the screen, retitle the window or overwrite a finding.
The files written (corrected copy, summary workbook) keep the partner's text as text.
"""

from __future__ import annotations

import json
import re
import shutil

import openpyxl
from campaign import YEAR, edit_return, return_path, run

# What a terminal acts on: C0 controls but the newline, DEL, C1 controls, bidirectional and
# zero-width characters, line and paragraph separators.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]")

# Typed in « Suite donnée » (a dropdown): screen cleared, window retitled, a carriage return
# and backspaces overwriting the line, a one-character CSI (C1), a right-to-left override, a
# line break that would start a line of its own. Excel stores the C0 controls a partner pastes
# as _xHHHH_ escapes, which every reader decodes.
TYPED = (
    "Bail_x001B_[2J_x001B_]0;titre_x0007_ signé\rFAUX_x0008__x0008_\u009b31m\u202eNIF\n    Attributions A9"
)
SHOWN = "Bail\\x1b[2J\\x1b]0;titre\\x07 signé\\rFAUX\\x08\\x08\\x9b31m\\u202eNIF\\n    Attributions A9"
READ = "Bail\x1b[2J\x1b]0;titre\x07 signé\rFAUX\x08\x08\x9b31m\u202eNIF\n    Attributions A9"


def type_in_suite(wb: openpyxl.Workbook) -> None:
    wb["Attributions"]["D4"] = TYPED


def test_control_characters_typed_in_a_cell_are_shown_as_escapes_by_validate(make_campaign):
    workdir = make_campaign()
    semiga = return_path(workdir, "semiga")
    edit_return(semiga, type_in_suite)

    result = run(workdir, "validate", "--year", str(YEAR))
    assert result.exit_code == 1, result.output
    assert not UNSAFE.search(result.output), [m.group() for m in UNSAFE.finditer(result.output)][:5]
    line = next(x for x in result.output.splitlines() if "[VALEUR_HORS_LISTE]" in x)
    assert line.strip().startswith(f"Attributions D4 [VALEUR_HORS_LISTE] erreur : « {SHOWN} »")
    # No line of its own was made by the partner's line break.
    assert not any(x.strip().startswith("Attributions A9") for x in result.output.splitlines())

    # The files written keep the partner's text as text (the copy drops what XML cannot hold).
    copy = workdir / "outputs" / str(YEAR) / "retours" / semiga.name.replace(".xlsx", "-corrections.xlsx")
    corrections = openpyxl.load_workbook(copy)["Corrections"]
    texts = [c for row in corrections.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert any("FAUX" in t and "\u202eNIF" in t and "n'est pas une valeur autorisée" in t for t in texts)
    summary = openpyxl.load_workbook(workdir / "outputs" / str(YEAR) / f"controle-{YEAR}.xlsx")
    texts = [c for ws in summary for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert any("FAUX" in t and "NIF" in t for t in texts)


def test_the_json_output_keeps_the_text_and_escapes_what_json_leaves_raw(make_campaign):
    workdir = make_campaign()
    edit_return(return_path(workdir, "semiga"), type_in_suite)

    result = run(workdir, "validate", "--year", str(YEAR), "--json")
    assert not UNSAFE.search(result.output), [m.group() for m in UNSAFE.finditer(result.output)][:5]
    assert "\\u009b31m\\u202eNIF" in result.output
    data = json.loads(result.stdout)
    messages = [c["message"] for f in data["fichiers"] for c in f["constats"]]
    assert any(f"« {READ} »" in m for m in messages)  # the same text for programs


def test_file_and_sheet_names_are_shown_as_escapes(make_campaign):
    workdir = make_campaign()
    sfhe = return_path(workdir, "sfhe")
    name = "cia-2024-sfhe\x1b[2J\rcopie\u202e\n    SFHE  reçu, valide.xlsx"
    shown = "cia-2024-sfhe\\x1b[2J\\rcopie\\u202e\\n    SFHE  reçu, valide.xlsx"

    def rename(wb: openpyxl.Workbook) -> None:
        wb["Attributions"].title = "Attrib\u009b2J\u202e2024"

    edit_return(sfhe, rename, target=sfhe.with_name(name))

    result = run(workdir, "validate", "--year", str(YEAR))
    assert not UNSAFE.search(result.output), [m.group() for m in UNSAFE.finditer(result.output)][:5]
    assert f"fichier utilisé : {shown}" in result.output
    assert f"  {shown} (avec avertissements" in result.output
    assert "Attrib\\x9b2J\\u202e2024 [FEUILLE_RENOMMEE] avertissement" in result.output


def test_error_messages_quoting_a_path_show_control_characters_as_escapes(make_campaign, tmp_path):
    # A working folder named after an attachment, and a path typed on the command line.
    workdir = tmp_path / "réponses\x1b]0;titre\x07\r"
    shutil.move(make_campaign(), workdir)
    shutil.rmtree(workdir / "forms" / str(YEAR))

    result = run(workdir, "validate", "--year", str(YEAR))
    assert result.exit_code == 1
    assert not UNSAFE.search(result.output), [m.group() for m in UNSAFE.finditer(result.output)][:5]
    assert f"réponses\\x1b]0;titre\\x07\\r/forms/{YEAR} n'existe pas" in result.output

    result = run(workdir, "validate", str(workdir / "retour\u202e.xlsx"), "--year", str(YEAR))
    assert result.exit_code == 2
    assert not UNSAFE.search(result.output), [m.group() for m in UNSAFE.finditer(result.output)][:5]


def test_consolidate_shows_paths_and_its_error_messages_as_escapes(make_campaign, tmp_path):
    workdir = tmp_path / "travail\x1b[2J\u202e"
    shutil.move(make_campaign(), workdir)

    result = run(workdir, "consolidate", "--year", str(YEAR), "--sans-word")
    assert result.exit_code == 0, result.output
    assert not UNSAFE.search(result.output), [m.group() for m in UNSAFE.finditer(result.output)][:5]
    assert f"travail\\x1b[2J\\u202e/outputs/{YEAR}/consolidation-{YEAR}.xlsx" in result.output

    shutil.rmtree(workdir / "forms")
    result = run(workdir, "consolidate", "--year", str(YEAR))
    assert result.exit_code == 1
    assert not UNSAFE.search(result.output), [m.group() for m in UNSAFE.finditer(result.output)][:5]
    assert "travail\\x1b[2J\\u202e/forms" in result.output and "est absent" in result.output
