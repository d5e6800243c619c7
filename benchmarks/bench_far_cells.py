"""Benchmark of issue 13, class 8: a value far from the data, and the cost of checking for it.

Usage: .venv/bin/python benchmarks/bench_far_cells.py [--rows 100000] [--repeat 5] [--skip-large]

a. The far-cell cases on the Alès campaign: the clean 2024 returns made with the project's own
   templates (tests/campaign.py), SEMIGA's return (~30 kB) damaged once per case, then
   `cia-workbook validate` of the whole folder and of that file alone, each in a child process
   under `/usr/bin/time -v` (wall time, peak resident memory of the largest process) with an
   address-space limit of 4 GB so that a regression cannot hurt the machine.
b. The cost of the extent check on a normal large return (ROWS attribution rows, written by
   benchmarks/bench_intake.py's writer): the whole `read_return` (hash + read + validate) with
   and without the check, interleaved, median of REPEAT, wall and CPU time (CPU time is the
   steadier figure on a shared machine).

Nothing is asserted: figures are printed for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))
CLI = ROOT / ".venv" / "bin" / "cia-workbook"
LIMIT = 4 * 1024**3


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def timed(args: list[str]) -> tuple[float, int, int, str]:
    """(wall seconds, peak RSS in MB, exit code, stdout) of a command under /usr/bin/time -v."""
    result = subprocess.run(
        ["/usr/bin/time", "-v", *args], capture_output=True, text=True, preexec_fn=_limit, timeout=600
    )
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", result.stderr)
    seconds = float(wall.group(3)) + 60 * int(wall.group(2)) + 3600 * int(wall.group(1) or 0)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1)) // 1024
    status = re.search(r"Exit status: (\d+)", result.stderr)
    signal = re.search(r"Command terminated by signal (\d+)", result.stderr)
    code = -int(signal.group(1)) if signal else int(status.group(1)) if status else -1
    return seconds, rss, code, result.stdout


def far_cell_cases(work: Path) -> None:
    import openpyxl
    from campaign import _base, edit_return, return_path

    base = _base((2024,), work / "factory")

    def typed(sheet: str, ref: str, value):
        def edit(wb: openpyxl.Workbook) -> None:
            wb[sheet][ref] = value

        return edit

    def added(wb: openpyxl.Workbook) -> None:
        wb.create_sheet("Notes")["XFD1048576"] = " "

    cases = {
        "none (clean campaign)": None,
        "space in Attributions!XFD1048576": typed("Attributions", "XFD1048576", " "),
        "space in Attributions!XFD5000": typed("Attributions", "XFD5000", " "),
        "value in Attributions!XFD5000": typed("Attributions", "XFD5000", "x"),
        "space in Attributions!A1048576": typed("Attributions", "A1048576", " "),
        "space in Patrimoine!XFD1048576": typed("Patrimoine", "XFD1048576", " "),
        "space in an added sheet, XFD1048576": added,
        "space in Lisez-moi!XFD1048576": typed("Lisez-moi", "XFD1048576", " "),
    }
    print(
        "| far cell in SEMIGA's return | file | validate of the folder (15 files) | validate of the file alone | finding |"
    )
    print("|---|---|---|---|---|")
    for name, damage in cases.items():
        folder = work / re.sub(r"\W+", "-", name)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(base, folder)
        semiga = return_path(folder, "semiga")
        if damage is not None:
            edit_return(semiga, damage)
        whole = timed([str(CLI), "--dir", str(folder), "validate", "--year", "2024"])
        shutil.rmtree(folder / "outputs", ignore_errors=True)
        alone = timed([str(CLI), "--dir", str(folder), "validate", str(semiga), "--year", "2024"])
        codes = sorted(set(re.findall(r"\[([A-Z_]+)\]", alone[3]))) or ["—"]
        print(
            f"| {name} | {semiga.stat().st_size // 1024} kB "
            f"| {whole[0]:.2f} s, {whole[1]} MB, exit {whole[2]} "
            f"| {alone[0]:.2f} s, {alone[1]} MB, exit {alone[2]} | {', '.join(codes)} |"
        )


class _NoProbe:
    """Stands for extent.QuickProbe when the check is switched off."""

    failed = False

    def feed(self, piece: bytes) -> None:
        pass

    def proved(self) -> bool:
        return True


def extent_cost(work: Path, rows: int, repeat: int) -> None:
    from bench_intake import write_big_return

    from cia_workbook.convention.settings import load_convention
    from cia_workbook.intake import reader
    from cia_workbook.intake.files import read_return

    convention = load_convention()
    path = work / f"large-{rows}.xlsx"
    if not path.exists():
        write_big_return(path, rows, convention)
    checked, probe = reader.xlsx_bounds, reader.QuickProbe

    def read(check: bool) -> tuple[float, float]:
        reader.xlsx_bounds = checked if check else (lambda zf, parts, proved=(): {})
        reader.QuickProbe = probe if check else _NoProbe
        wall, cpu = time.perf_counter(), time.process_time()
        read_return(convention, 2024, path)
        return time.perf_counter() - wall, time.process_time() - cpu

    with_check, without = [], []
    for _ in range(repeat):
        without.append(read(False))
        with_check.append(read(True))
    reader.xlsx_bounds, reader.QuickProbe = checked, probe
    size = path.stat().st_size / 1024**2
    print(
        f"\n| `read_return` of {rows:,} rows in one return ({size:.1f} MB), median of {repeat} | wall | CPU |"
    )
    print("|---|---|---|")
    for label, runs in (("without the extent check", without), ("with the extent check", with_check)):
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        print(f"| {label} | {wall:.2f} s | {cpu:.2f} s |")
    a = statistics.median(r[1] for r in without)
    b = statistics.median(r[1] for r in with_check)
    print(f"| cost of the check | | +{b - a:.2f} s CPU (+{100 * (b - a) / a:.0f} %) |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-far-") as tmp:
        work = Path(tmp)
        far_cell_cases(work)
        if not args.skip_large:
            extent_cost(work, args.rows, args.repeat)


if __name__ == "__main__":
    main()
