"""Benchmark of the template writer: every template of the territory, and 1,000 templates.

    .venv/bin/python benchmarks/bench_templates.py [--count 1000] [--workers 2]

Targets (issue #3): the territory's templates under 1 s; 1,000 templates under 10 s on a
2-core machine. Figures are printed, not asserted; record them in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cia_workbook.convention.settings import load_convention  # noqa: E402
from cia_workbook.partners import templates, workbook_formats  # noqa: E402

YEAR = 2024


def _timed(func, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return times


def _write_many(args: tuple[str, range]) -> int:
    """Write templates number `indices` (cycling through the partners) into `outdir`."""
    outdir, indices = args
    convention = load_convention(None)
    partners = convention.partners
    for i in indices:
        partner = partners[i % len(partners)]
        path = Path(outdir) / f"{i:05d}-{templates.template_filename(partner, YEAR)}"
        templates.write_template(convention, partner, YEAR, path)
    return len(indices)


def _chunks(count: int, workers: int) -> list[range]:
    step = -(-count // workers)
    return [range(start, min(start + step, count)) for start in range(0, count, step)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    convention = load_convention(None)
    print(
        f"Machine : {platform.processor() or platform.machine()}, {os.cpu_count()} cœurs, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-templates-") as tmp:
        tmp = Path(tmp)
        territory = _timed(
            lambda: templates.write_templates(convention, YEAR, tmp / "territoire"), args.repeat
        )
        n = len(convention.partners)
        print(
            f"Territoire ({n} modèles) : médiane {statistics.median(territory):.3f} s, "
            f"meilleur {min(territory):.3f} s (cible < 1 s)"
        )
        saved = dict(workbook_formats.WORKBOOK_OPTIONS)
        workbook_formats.WORKBOOK_OPTIONS.clear()  # xlsxwriter's default: one temporary file per sheet
        try:
            on_disk = _timed(lambda: templates.write_templates(convention, YEAR, tmp / "disque"), args.repeat)
        finally:
            workbook_formats.WORKBOOK_OPTIONS.update(saved)
        print(f"  sans in_memory (fichiers temporaires) : médiane {statistics.median(on_disk):.3f} s")
        start = time.perf_counter()
        _write_many((str(tmp / "serie"), range(args.count)))
        serial = time.perf_counter() - start
        print(f"{args.count} modèles, 1 processus : {serial:.2f} s")
        start = time.perf_counter()
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            written = sum(
                pool.map(_write_many, [(str(tmp / "pool"), c) for c in _chunks(args.count, args.workers)])
            )
        parallel = time.perf_counter() - start
        print(f"{written} modèles, {args.workers} processus : {parallel:.2f} s (cible < 10 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
