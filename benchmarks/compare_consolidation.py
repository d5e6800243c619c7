"""Results unchanged: one working folder consolidated by two versions of the code, every output
compared.

For each year asked, `consolidate --year Y --sans-word` runs once per source tree (each on its
own copy of the working folder, `PYTHONPATH` set to the tree), with the threshold of the
« Données » sheet lowered (`--csv-beyond`) so that the CSV files are written too. Then:
- every sheet of consolidation-<year>.xlsx is read back with python-calamine, cell by cell
  (values as calamine gives them: numbers, strings, dates), and compared;
- with `--csv-beyond`, the same workbook is also made with the sheet's usual threshold (the rows
  in the « Données » sheets), compared likewise;
- every donnees-*.csv is compared row by row (csv module, « ; »), and byte for byte.

    .venv/bin/python benchmarks/compare_consolidation.py --before /tmp/pre --after . \\
        --workdir DEMO_FOLDER --years 2020 2021 2022 2023 2024 --csv-beyond 10

Exit status 0 when every output is equal; the differences are printed otherwise.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

RUN = """
import sys
import cia_workbook.render.workbook as report_xlsx
from pathlib import Path
# The tree asked for, not another one found first on the path.
assert Path(report_xlsx.__file__).resolve().is_relative_to(Path(sys.argv[4]).resolve()), report_xlsx.__file__
if sys.argv[3] != "0":
    report_xlsx.DATA_SHEET_MAX_ROWS = int(sys.argv[3])
from cia_workbook.cli.commands import main
main(["--dir", sys.argv[1], "consolidate", "--year", sys.argv[2], "--sans-word"])
"""


def consolidate(tree: Path, workdir: Path, year: int, threshold: int, into: Path) -> Path:
    copy = into / f"{tree.name}-{year}-{threshold}"
    shutil.copytree(workdir, copy, ignore=shutil.ignore_patterns("*.docx", "*.pdf"), dirs_exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(tree))
    # Run from the copy: with `-c`, the current folder comes first on the path, and a source
    # tree there (this repository's) would be imported instead of `tree`.
    subprocess.run(
        [sys.executable, "-c", RUN, str(copy), str(year), str(threshold), str(tree)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=copy,
    )
    return copy / "outputs" / str(year)


def sheets(path: Path) -> dict[str, list[list]]:
    from python_calamine import CalamineWorkbook

    with CalamineWorkbook.from_path(str(path)) as wb:
        return {name: wb.get_sheet_by_name(name).to_python() for name in wb.sheet_names}


def compare_workbooks(a: Path, b: Path) -> list[str]:
    sa, sb = sheets(a), sheets(b)
    out = []
    if list(sa) != list(sb):
        out.append(f"{a.name}: sheets {list(sa)} != {list(sb)}")
    cells = 0
    for name in sa:
        ra, rb = sa[name], sb.get(name, [])
        for i in range(max(len(ra), len(rb))):
            row_a = ra[i] if i < len(ra) else []
            row_b = rb[i] if i < len(rb) else []
            for j in range(max(len(row_a), len(row_b))):
                va = row_a[j] if j < len(row_a) else ""
                vb = row_b[j] if j < len(row_b) else ""
                cells += 1
                if va != vb and len(out) < 20:
                    out.append(f"{a.name} [{name}] row {i + 1} col {j + 1}: {va!r} != {vb!r}")
    print(f"  {a.name}: {len(sa)} sheets, {cells} cells compared")
    return out


def compare_csvs(a: Path, b: Path) -> list[str]:
    names = sorted(p.name for p in a.glob("donnees-*.csv"))
    if names != sorted(p.name for p in b.glob("donnees-*.csv")):
        return [f"CSV files differ: {names} != {sorted(p.name for p in b.glob('donnees-*.csv'))}"]
    out = []
    for name in names:
        with (
            open(a / name, encoding="utf-8-sig", newline="") as fa,
            open(b / name, encoding="utf-8-sig", newline="") as fb,
        ):
            rows_a, rows_b = list(csv.reader(fa, delimiter=";")), list(csv.reader(fb, delimiter=";"))
        if rows_a != rows_b:
            diff = next(
                i for i, (x, y) in enumerate(zip(rows_a + [None], rows_b + [None], strict=False)) if x != y
            )
            out.append(
                f"{name}: rows differ first at line {diff + 1}: {rows_a[diff : diff + 1]} != {rows_b[diff : diff + 1]}"
            )
        elif (a / name).read_bytes() != (b / name).read_bytes():
            out.append(f"{name}: same rows, different bytes")
        print(f"  {name}: {len(rows_a) - 1} rows compared")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="source tree of the reference code")
    parser.add_argument("--after", type=Path, required=True, help="source tree of the code compared")
    parser.add_argument("--workdir", type=Path, required=True, help="working folder (forms/, outputs/)")
    parser.add_argument("--years", type=int, nargs="+", required=True)
    parser.add_argument(
        "--csv-beyond", type=int, default=0, help="« Données » threshold forcing the CSV files"
    )
    args = parser.parse_args()
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="compare-") as tmp:
        for year in args.years:
            print(f"{year}:")
            for threshold in sorted({0, args.csv_beyond}):
                before = consolidate(
                    args.before.resolve(), args.workdir, year, threshold, Path(tmp) / "before"
                )
                after = consolidate(args.after.resolve(), args.workdir, year, threshold, Path(tmp) / "after")
                name = f"consolidation-{year}.xlsx"
                problems += compare_workbooks(before / name, after / name)
                if threshold:
                    problems += compare_csvs(before, after)
    print("\n".join(problems) or "every output equal")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
