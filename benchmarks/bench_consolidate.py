"""The command users feel: `cia-workbook consolidate --year 2024` on the demo's working folder.

Usage: .venv/bin/python benchmarks/bench_consolidate.py [--workdir DIR] [--repeat 7]

The demo's working folder (five years of returns) is made once in benchmarks/work/demo/ with
`cia-workbook demo` (or DIR is used as it is). A first `consolidate` warms the caches (validated
returns, charts); then the command runs `--repeat` times, each in its own process, the Word
bilan, the annexes and the workbook written each time; then `cia-workbook --help`. Printed: the
wall times (median, best), the load average, and whether matplotlib was imported by a warm run.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / ".venv" / "bin" / "cia-workbook"


def timed(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=ROOT / "benchmarks" / "work" / "demo")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    workdir = args.workdir.resolve()
    if not (workdir / "forms").is_dir():
        workdir.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(CLI), "--dir", str(workdir), "demo"], check=True, stdout=subprocess.DEVNULL)
    command = [str(CLI), "--dir", str(workdir), "consolidate", "--year", "2024"]
    timed(command, workdir)  # warms the caches
    runs = [timed(command, workdir) for _ in range(args.repeat)]
    helps = [timed([str(CLI), "--help"], workdir) for _ in range(args.repeat)]
    probe = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            str(CLI),
            "--dir",
            str(workdir),
            "consolidate",
            "--year",
            "2024",
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    )
    load = os.getloadavg()
    print(
        f"consolidate --year 2024: median {statistics.median(runs):.2f} s, best {min(runs):.2f} s ({args.repeat} runs)"
    )
    print(f"--help: median {statistics.median(helps):.3f} s, best {min(helps):.3f} s")
    print(f"matplotlib imported by a warm run: {'matplotlib' in probe.stderr}")
    print(
        f"load average during the measure: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} ({os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
