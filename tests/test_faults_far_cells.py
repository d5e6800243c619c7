"""Fault class 8 of issue 13: one stray value far from the data.

A partner types a space in XFD1048576 (Ctrl+Fin, then a key), a value far below the table, or
a cell of another sheet far away. Each file is answered with what it holds: the data read, the
far cells named (sheet, cell, what to do), and no reader may build the sheet's whole grid.
Every command runs in a child process with a memory limit and a timeout, so that a regression
fails the test instead of hurting the machine.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
from campaign import CONVENTION, YEAR, edit_return, return_path

from cia_workbook.intake.sheetxml import get_column_letter
from cia_workbook.schema.sheets import ATTRIBUTIONS

ROOT = Path(__file__).resolve().parents[1]
# Address space of each process (every worker has its own). Not resident memory: polars and
# fastexcel each reserve hundreds of MB of address space for their allocators when imported
# (about 1.1 GB in all for a consolidation whose resident peak is about 120 MB); a dense range
# allocated for a far cell would need terabytes.
MEMORY_LIMIT = 2 * 1024**3
TIMEOUT = 240


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an abort leaves no core file


def run_limited(workdir: Path, *args: str, script: str | None = None) -> subprocess.CompletedProcess:
    """`cia-workbook --dir workdir ARGS` in a child process with a memory limit and a timeout;
    `script` runs first in that process (to inject a fault into the readers)."""
    # Run from a file: the workers' fork server imports the main module, as a spawned process
    # would, so the fault reaches them too.
    code = (
        script or ""
    ) + "\nif __name__ == '__main__':\n    from cia_workbook.cli.commands import main\n    main()\n"
    (workdir / "command.py").write_text(code)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), RUST_BACKTRACE="0")
    return subprocess.run(
        [sys.executable, str(workdir / "command.py"), "--dir", str(workdir), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        preexec_fn=_limits,
        env=env,
    )


def set_cell(sheet: str, ref: str, value) -> callable:
    def edit(wb: openpyxl.Workbook) -> None:
        wb[sheet][ref] = value

    return edit


def clean_rows(path: Path) -> int:
    """Attribution rows of a clean return (below the title, hint and header rows)."""
    ws = openpyxl.load_workbook(path, read_only=True)["Attributions"]
    return sum(1 for row in ws.iter_rows(min_row=4, values_only=True) if any(v is not None for v in row))


def files_by_name(output: str) -> dict[str, dict]:
    return {f["fichier"]: f for f in json.loads(output)["fichiers"]}


def codes(entry: dict) -> list[tuple[str, str, str]]:
    return sorted((c["feuille"], c["cellule"], c["code"]) for c in entry["constats"])


def test_a_space_in_xfd1048576_of_attributions_is_ignored_with_a_warning_and_the_rows_counted(make_campaign):
    workdir = make_campaign()
    semiga = return_path(workdir, "semiga")
    rows = clean_rows(semiga)
    edit_return(semiga, set_cell("Attributions", "XFD1048576", " "))

    result = run_limited(workdir, "validate", "--year", str(YEAR))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    line = next(x for x in result.stdout.splitlines() if x.strip().startswith("SEMIGA"))
    assert "reçu, avec avertissements (1 avertissement)" in line
    message = next(x for x in result.stdout.splitlines() if "[CELLULE_ELOIGNEE]" in x)
    assert message.strip().startswith("Attributions XFD1048576 [CELLULE_ELOIGNEE] avertissement :")
    last = get_column_letter(len(ATTRIBUTIONS.columns))  # the data end at the template's last column
    assert "ne contenant que des espaces" in message and f"qui s'arrêtent en {last}" in message
    assert "Ctrl+Fin" in message and "ont été ignorées" in message

    # The rows are counted in the bilan: SEMIGA's return is used, with all its rows.
    result = run_limited(workdir, "consolidate", "--year", str(YEAR), "--sans-word")
    assert result.returncode == 0, result.stderr[-2000:]
    wb = openpyxl.load_workbook(
        workdir / "outputs" / str(YEAR) / f"consolidation-{YEAR}.xlsx", read_only=True
    )
    used = {row[0]: row for row in wb["Retours utilisés"].iter_rows(min_row=5, values_only=True)}
    header = next(wb["Retours utilisés"].iter_rows(min_row=4, max_row=4, values_only=True))
    assert used["SEMIGA"][header.index("Lignes")] == rows
    assert used["SEMIGA"][header.index("Avertissements")] == "1 avertissement"


def test_far_cells_on_every_kind_of_sheet_are_bounded_and_named(make_campaign):
    """The far cell on another schema sheet (it made calamine panic), on the Identification
    form, on a sheet the partner added, on the sheets the reader skips, far below the table,
    and a far cell only formatted (no value): each file keeps its verdict."""
    workdir = make_campaign()

    def added_sheet(wb):
        wb.create_sheet("Notes")["XFD1048576"] = " "

    def formatted_only(wb):
        from openpyxl.styles import PatternFill

        wb["Attributions"]["XFD1048576"].fill = PatternFill("solid", start_color="FFFF00")

    damages = {
        "fdi-habitat": set_cell("Patrimoine", "XFD1048576", " "),
        "promologis": set_cell("Identification", "XFD1048576", " "),
        "sfhe": added_sheet,
        "semiga": set_cell("Attributions", "A1048576", " "),
        "habitat-du-gard": set_cell("Lisez-moi", "XFD1048576", " "),
        "un-toit-pour-tous": set_cell("Synthèse", "XFD1048576", " "),
        "3f-occitanie": set_cell("_listes", "XFD1048576", " "),
        "logis-cevenols": formatted_only,
    }
    for partner, damage in damages.items():
        edit_return(return_path(workdir, partner), damage)

    result = run_limited(workdir, "validate", "--year", str(YEAR), "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    files = files_by_name(result.stdout)
    name = {p: return_path(workdir, p).name for p in damages}
    far = "CELLULE_ELOIGNEE"
    assert codes(files[name["fdi-habitat"]]) == [("Patrimoine", "XFD1048576", far)]
    assert codes(files[name["promologis"]]) == [("Identification", "XFD1048576", far)]
    assert codes(files[name["sfhe"]]) == [("Notes", "XFD1048576", far)]
    assert codes(files[name["semiga"]]) == [("Attributions", "A1048576", far)]
    for partner in ("habitat-du-gard", "un-toit-pour-tous", "3f-occitanie", "logis-cevenols"):
        assert codes(files[name[partner]]) == [] and files[name[partner]]["statut"] == "valide", partner
    notes = files[name["sfhe"]]["constats"][0]["message"]
    assert "du début de la feuille, qui ne contient rien d'autre" in notes
    assert all(p["consolide"] for p in json.loads(result.stdout)["partenaires"] if p["recu"])


def test_a_value_far_away_is_not_read_silently_and_the_other_files_keep_their_verdicts(make_campaign):
    workdir = make_campaign()
    semiga = return_path(workdir, "semiga")
    edit_return(semiga, set_cell("Attributions", "XFD5000", "à voir"))

    result = run_limited(workdir, "validate", "--year", str(YEAR))
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert "reçu, avec erreurs (1 erreur)" in next(x for x in lines if x.strip().startswith("SEMIGA"))
    message = next(x for x in lines if "[VALEUR_ELOIGNEE]" in x).strip()
    assert message.startswith("Attributions XFD5000 [VALEUR_ELOIGNEE] erreur :")
    assert "n'ont pas été lues : XFD5000 : « à voir »" in message and "Ctrl+Fin" in message
    received = len(CONVENTION.partners)
    assert f"{received} partenaires reçus sur {received}, {received - 1} retenus" in result.stdout
    assert "1 exclu pour erreurs" in result.stdout


def test_a_date_calamine_cannot_convert_is_a_finding_not_a_traceback(make_campaign):
    """A huge negative number in a date cell makes calamine panic (a Rust panic derives from
    BaseException): the file gets a finding, the run goes on."""
    workdir = make_campaign()
    semiga = return_path(workdir, "semiga")
    edit_return(semiga, set_cell("Attributions", "B4", -1e308))

    result = run_limited(workdir, "validate", "--year", str(YEAR), "--json")
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 1
    files = files_by_name(result.stdout)
    entry = files[semiga.name]
    assert entry["statut"] in ("avec erreurs", "illisible") and entry["constats"]
    assert all(f["statut"] in ("valide", "avec avertissements") for n, f in files.items() if n != semiga.name)


def test_the_openpyxl_reader_does_not_trust_the_size_a_sheet_declares(make_campaign):
    """A cell only formatted in XFD1048576 declares the sheet A1:XFD1048576: the openpyxl path
    (the fallback for files calamine refuses) reads what the sheet holds, as calamine does."""
    workdir = make_campaign()
    semiga = return_path(workdir, "semiga")

    def formatted_only(wb):
        from openpyxl.styles import PatternFill

        wb["Attributions"]["XFD1048576"].fill = PatternFill("solid", start_color="FFFF00")

    edit_return(semiga, formatted_only)
    script = f"""
import json, sys
from cia_workbook.convention.settings import load_convention
from cia_workbook.intake.files import read_return
conv = load_convention()
out = {{}}
for engine in ("calamine", "openpyxl"):
    rf = read_return(conv, {YEAR}, {str(semiga)!r}, engine=engine)
    out[engine] = [rf.status, [f.code for f in rf.findings], len(rf.tables["attributions"].rows)]
print(json.dumps(out))
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        preexec_fn=_limits,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p)),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout)
    assert out["openpyxl"] == out["calamine"] and out["calamine"][:2] == ["valide", []]


def _far_ods_cell(data: bytes) -> bytes:
    """content.xml of a LibreOffice return where a space was typed in XFD1048576 of
    Attributions, written as LibreOffice writes it: the last row, 16,383 empty cells, the cell."""
    start = data.index(b'table:name="Attributions"')
    end = data.index(b"</table:table>", start)
    last_row = data.rindex(b"<table:table-row", start, end)
    far_row = (
        b'<table:table-row table:style-name="ro4"><table:table-cell table:number-columns-repeated="16383"/>'
        b'<table:table-cell office:value-type="string" calcext:value-type="string"><text:p> </text:p>'
        b"</table:table-cell></table:table-row>"
    )
    close = data.index(b"</table:table-row>", last_row) + len(b"</table:table-row>")
    return data[:last_row] + far_row + data[close:]


def test_an_opendocument_return_with_a_far_cell_is_refused_with_the_sheet_and_the_cell(make_campaign):
    workdir = make_campaign()
    logis = return_path(workdir, "logis-cevenols")
    logis.unlink()
    target = logis.with_suffix(".ods")
    source = ROOT / "tests" / "fixtures" / "libreoffice" / "bailleur-2024-lo.ods"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "content.xml":
                data = _far_ods_cell(data)
            zout.writestr(info, data, compress_type=info.compress_type)

    result = run_limited(workdir, "validate", "--year", str(YEAR), "--json")
    assert result.returncode == 1, result.stderr[-2000:]
    entry = files_by_name(result.stdout)[target.name]
    assert codes(entry) == [("Attributions", "XFD1048576", "FEUILLE_DEMESUREE")]
    message = entry["constats"][0]["message"]
    assert re.search(r"1\W048\W576 lignes et 16\W384 colonnes \(jusqu'à la cellule XFD1048576\)", message)
    assert "un fichier OpenDocument est lu en entier" in message and "Ctrl+Fin" in message


# A reader that kills its process, whatever the file: injected where a file is read, in every
# process of the command (workers are forked, so they inherit it).
KILL_SEMIGA = """
import os
from cia_workbook.intake import files, pool
_read = files.read_workbook
def read_workbook(path, *args, **kwargs):
    if "semiga" in str(path):
        os.abort()
    return _read(path, *args, **kwargs)
files.read_workbook = read_workbook
pool.available_cores = lambda: 2
"""


def test_a_file_that_kills_its_reader_costs_only_that_file(make_campaign):
    workdir = make_campaign()
    semiga = return_path(workdir, "semiga").name

    result = run_limited(workdir, "validate", "--year", str(YEAR), "--json", script=KILL_SEMIGA)
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 1
    files = files_by_name(result.stdout)
    assert codes(files[semiga]) == [("", "", "LECTURE_INTERROMPUE")]
    # The abort is told when the fork server could report it; now and then it cannot (its status
    # is lost with the broken pool), and the message then says the cause is unknown. Which one
    # is told for which codes: test_faults_processes.py.
    message = files[semiga]["constats"][0]["message"]
    assert "arrêt d'urgence du lecteur de classeurs" in message or "cause n'a pas pu être connue" in message
    others = [f for name, f in files.items() if name != semiga]
    assert len(others) == len(CONVENTION.partners) - 1
    assert all(f["statut"] == "valide" for f in others)

    # consolidate: its workers die on that file too; the bilan is made without it, and says why.
    result = run_limited(workdir, "consolidate", "--year", str(YEAR), "--sans-word", script=KILL_SEMIGA)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (
        f"  {semiga} : [LECTURE_INTERROMPUE] La lecture de ce fichier a arrêté brutalement" in result.stdout
    )
    wb = openpyxl.load_workbook(
        workdir / "outputs" / str(YEAR) / f"consolidation-{YEAR}.xlsx", read_only=True
    )
    used = [row[1] for row in wb["Retours utilisés"].iter_rows(min_row=5, values_only=True) if row[0]]
    assert semiga not in used and len(used) == len(CONVENTION.partners) - 1


def test_validate_of_a_single_file_survives_a_reader_that_kills_its_process(make_campaign, tmp_path):
    workdir = make_campaign()
    semiga = return_path(workdir, "semiga")
    alone = tmp_path / "seul" / semiga.name
    alone.parent.mkdir()
    shutil.copy(semiga, alone)

    result = run_limited(workdir, "validate", str(alone), "--year", str(YEAR), script=KILL_SEMIGA)
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 1
    assert f"{semiga.name} (illisible" in result.stdout and "[LECTURE_INTERROMPUE] erreur" in result.stdout


def test_a_far_cell_written_without_its_reference_is_found_where_calamine_would_put_it(make_campaign):
    """`r` is optional in a sheet's XML (some writers leave it out): a cell without it is placed
    after the previous one, or at column A of its row."""
    workdir = make_campaign()
    semiga = return_path(workdir, "semiga")
    data = semiga.read_bytes()
    with zipfile.ZipFile(semiga) as zin:
        parts = [(info, zin.read(info)) for info in zin.infolist()]
    with zipfile.ZipFile(semiga, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, part in parts:
            if info.filename == "xl/worksheets/sheet3.xml":  # Attributions
                far = b'<row r="1048576"><c t="inlineStr"><is><t> </t></is></c></row></sheetData>'
                part = part.replace(b"</sheetData>", far)
            zout.writestr(info, part)
    assert semiga.read_bytes() != data

    result = run_limited(workdir, "validate", "--year", str(YEAR), "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert codes(files_by_name(result.stdout)[semiga.name]) == [
        ("Attributions", "A1048576", "CELLULE_ELOIGNEE")
    ]
