"""Benchmark of intake on a large return: how close the whole intake stays to fastexcel's read.

Usage: .venv/bin/python benchmarks/bench_intake.py [ROWS] [ROUNDS]   (default 100000, 5)

Writes a bailleur return of ROWS attribution rows (xlsxwriter, constant memory) in a temporary
folder, then times, alternated over ROUNDS rounds (medians): fastexcel reading every sheet to
Arrow (the peer: what a user's script does), `read_workbook` (the sheets the schema reads, the
identity, the extent and formula scan) and the whole `read_return` (hash + read + validate).
Target of issue 15: `read_return` ≤ 1.5 × fastexcel's read of every sheet. Nothing is asserted:
figures are printed for the report.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import fastexcel
import xlsxwriter

from cia_workbook.convention.settings import load_convention
from cia_workbook.intake.files import read_return
from cia_workbook.intake.reader import read_workbook
from cia_workbook.intake.validate import SHEETS_NOT_JUDGED
from cia_workbook.schema import sheets as schema


def write_big_return(path: Path, rows: int, convention) -> None:
    wschema = schema.schema_for(convention, "bailleur", 2024)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    date = wb.add_format({"num_format": "dd/mm/yyyy"})
    for sheet in wschema.sheets:
        ws = wb.add_worksheet(sheet.title)
        ws.write_string(0, 0, sheet.title)
        if sheet.key == "identification":
            for col in sheet.columns:
                r = sheet.form_row(col.key) - 1
                ws.write_string(r, 0, col.header)
            ws.write_string(sheet.form_row("partenaire") - 1, 1, "Logis Cévenols")
            ws.write_number(sheet.form_row("annee") - 1, 1, 2024)
            ws.write_string(sheet.form_row("repondant") - 1, 1, "Test")
            ws.write_datetime(sheet.form_row("date_reponse") - 1, 1, dt.datetime(2025, 2, 1), date)
        if sheet.key == "attributions":
            for c, col in enumerate(sheet.columns):
                ws.write_string(sheet.header_row - 1, c, col.header)
            communes = ["Alès (30007)", "Anduze (30010)", "La Grand-Combe (30132)"]
            for i in range(rows):
                r = sheet.first_data_row - 1 + i
                day = dt.datetime(2024, 1, 1) + dt.timedelta(days=i % 300)
                values = [
                    f"LC-2024-{i:07d}", day, day + dt.timedelta(days=20), "Bail signé", communes[i % 3],
                    "Hors QPV", "Aucune", "Contingent propre du bailleur", "4",
                    "Aucune catégorie prioritaire", "T3", 3, 30000 + (i % 7) * 1000, 2, 2, 1, 40,
                    "En emploi (salarié, indépendant, apprenti)", "Non", "Non",
                ]  # fmt: skip
                for c, v in enumerate(values):
                    if isinstance(v, dt.datetime):
                        ws.write_datetime(r, c, v, date)
                    elif isinstance(v, str):
                        ws.write_string(r, c, v)
                    else:
                        ws.write_number(r, c, v)
    ws = wb.add_worksheet(schema.ID_SHEET)
    ident = dict(
        zip(
            schema.ID_KEYS,
            ("cia-workbook", schema.SCHEMA_VERSION, convention.info.id, "logis-cevenols", "bailleur", "2024"),
            strict=True,
        )
    )
    for r, key in enumerate(schema.ID_KEYS):
        ws.write_string(r, 0, key)
        ws.write_string(r, 1, ident[key])
    ws.very_hidden()
    wb.close()


def main(rows: int, rounds: int) -> None:
    convention = load_convention(None)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gros-retour.xlsx"
        t = time.perf_counter()
        write_big_return(path, rows, convention)
        print(
            f"écriture du fichier de {rows} lignes : {time.perf_counter() - t:.1f} s ({path.stat().st_size / 1e6:.1f} Mo)"
        )
        times: dict[str, list[float]] = {"fastexcel": [], "read_workbook": [], "read_return": []}
        for _ in range(rounds):
            t = time.perf_counter()
            reader = fastexcel.read_excel(path)
            for name in reader.sheet_names:
                reader.load_sheet(name).to_polars()
            times["fastexcel"].append(time.perf_counter() - t)
            t = time.perf_counter()
            read_workbook(path, skip=SHEETS_NOT_JUDGED)
            times["read_workbook"].append(time.perf_counter() - t)
            t = time.perf_counter()
            rf = read_return(convention, 2024, path)
            times["read_return"].append(time.perf_counter() - t)
        base = statistics.median(times["fastexcel"])
        for label, key in (
            ("fastexcel, chaque feuille vers Arrow", "fastexcel"),
            ("read_workbook (feuilles lues par le schéma, identité, étendue, formules)", "read_workbook"),
            ("read_return complet (sha256 + lecture + contrôle)", "read_return"),
        ):
            m = statistics.median(times[key])
            spread = " / ".join(f"{x:.2f}" for x in times[key])
            print(f"{label} : {m:.2f} s ({spread}) = {m / base:.2f} × fastexcel")
        print(f"{len(rf.tables['attributions'])} lignes, {len(rf.findings)} constats")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000, int(sys.argv[2]) if len(sys.argv) > 2 else 5)
