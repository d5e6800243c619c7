"""Benchmark of a national-size campaign: validate + consolidate against the cost of reading the files.

Usage: .venv/bin/python benchmarks/bench_scale.py [--sizes 10000,100000,500000] [--repeat 3] [--openpyxl-sample N]
       (or `make bench-scale`)

For each size, a campaign of about ROWS_PER_RETURN attribution rows per return is generated once
with the project's own templates and demo generator, on a synthetic convention (the embedded one
with its bailleurs replaced by as many generated bailleurs as needed), and cached in
benchmarks/work/scale-<rows>/ (a working folder: convention.toml, forms/<year>/). Then, each in
its own process so that time, memory and CPU are measured alike, the peers on the same files and
the same number of processes as c (a user's script: the files split between the processes):

  fastexcel: every sheet of every return to Arrow, on 1 and 2 processes;
  polars: polars.read_excel(sheet_id=0, engine="calamine"), every sheet, on 1 and 2 processes;
  openpyxl: read_only, every cell of every sheet, on --openpyxl-sample N files (default 100)
     extrapolated by file size (0: every file);
  pandas: pandas.read_excel(sheet_name=None, engine="calamine"), 1 process, when pandas is
     installed (the `bench` extra);
  c. `cia-workbook validate` then `cia-workbook consolidate --sans-word`, end to end (validate
     starts with an empty cache of validated returns; consolidate loads what validate read).

Printed per measure: wall time, peak resident memory of the whole process tree (sampled from
/proc every 20 ms, workers included), CPU time over wall time (cores used); then c against the
targets of issue 15. Results are also saved as JSON in benchmarks/work/. Nothing is asserted:
this is not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
import tomllib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "work"
CLI = ROOT / ".venv" / "bin" / "cia-workbook"
YEAR = 2024
SEED = 7
ROWS_PER_RETURN = 500
ANSWERING_RESERVATAIRES = 5  # the demo's mistakes make the last réservataire not answer
GENERATOR_VERSION = "2"  # bump when the generated campaign changes
TARGET_C_OVER_FASTEXCEL = 1.5  # c ≤ 1.5 × fastexcel's read of every sheet, and ≤ polars.read_excel
TARGET_RSS_MB = 400
PROCESSES = 2


# -- The synthetic convention --------------------------------------------------------------


def _sections(text: str) -> list[tuple[str, str]]:
    """(header, text) of each TOML table in order; the preamble has header ''."""
    out: list[tuple[str, list[str]]] = [("", [])]
    for line in text.splitlines(keepends=True):
        if re.match(r"^\s*\[", line):
            out.append((line.strip(), []))
        out[-1][1].append(line)
    return [(h, "".join(lines)) for h, lines in out]


def synthetic_convention_text(n_bailleurs: int, rows: int) -> str:
    """The embedded convention with `n_bailleurs` generated bailleurs sized to hold `rows` rows.

    Réservataires, geography, targets and thresholds stay those of the embedded convention; the
    rehousing charter (and its operator), the bailleurs' reception points and the actions (whose
    indicators refer to both) are left out: this benchmark is about attributions.
    """
    from cia_workbook.convention.settings import embedded_convention_text
    from cia_workbook.partners.demo_rows import TURNOVER

    kept = []
    for header, body in _sections(embedded_convention_text()):
        if header.startswith(("[charte_relogement", "[[charte_relogement", "[[lieux_accueil", "[[actions")):
            continue
        if header == "[[partenaires]]":
            if tomllib.loads(body.replace("[[partenaires]]", "", 1)).get("type") != "reservataire":
                continue
        kept.append(body)
    mean_stock = rows / n_bailleurs / TURNOVER
    categories = ("OPH", "ESH", "ESH", "SEM")
    for i in range(n_bailleurs):
        # Stocks spread from 0.4 to 1.6 times the mean (golden-ratio sequence: deterministic).
        weight = 0.4 + 1.2 * ((i * 0.6180339887) % 1.0)
        kept.append(
            "\n[[partenaires]]\n"
            f'identifiant = "bailleur-{i + 1:04d}"\n'
            f'nom = "Bailleur social {i + 1:04d}"\n'
            'type = "bailleur"\n'
            f'categorie = "{categories[i % len(categories)]}"\n'
            f"parc_estime = {round(mean_stock * weight)}\n"
        )
    return "".join(kept)


# -- Generation (cached) -------------------------------------------------------------------


def _write_one(args) -> int:
    from cia_workbook.convention.settings import load_convention
    from cia_workbook.partners.demo import write_filled_return

    convention_path, filled, target = args
    convention = _CONVENTIONS.get(convention_path) or load_convention(Path(convention_path))
    _CONVENTIONS[convention_path] = convention
    write_filled_return(convention, filled, Path(target))
    return sum(len(rows) for rows in filled.tables.values())


_CONVENTIONS: dict[str, object] = {}


def ensure_campaign(rows: int) -> dict:
    """The campaign of about `rows` attribution rows in its working folder, generated once."""
    from cia_workbook.convention.settings import load_convention
    from cia_workbook.partners.demo import generate_campaign, is_missing
    from cia_workbook.partners.templates import template_filename

    folder = WORK / f"scale-{rows}"
    stamp = folder / "campagne.json"
    n_returns = max(rows // ROWS_PER_RETURN, ANSWERING_RESERVATAIRES + 2)
    n_bailleurs = n_returns - ANSWERING_RESERVATAIRES
    params = {
        "version": GENERATOR_VERSION,
        "rows": rows,
        "bailleurs": n_bailleurs,
        "seed": SEED,
        "year": YEAR,
    }
    if stamp.is_file():
        info = json.loads(stamp.read_text())
        if info.get("params") == params:
            return info
    forms = folder / "forms" / str(YEAR)
    for old in (folder / "forms", folder / "outputs"):
        if old.is_dir():
            subprocess.run(["rm", "-rf", str(old)], check=True)
    forms.mkdir(parents=True)
    (folder / "outputs").mkdir()
    convention_path = folder / "convention.toml"
    convention_path.write_text(synthetic_convention_text(n_bailleurs, rows), encoding="utf-8")
    convention = load_convention(convention_path)
    t = time.perf_counter()
    returns = [f for f in generate_campaign(convention, YEAR, seed=SEED) if not is_missing(f)]
    drawn = time.perf_counter() - t
    jobs = [(str(convention_path), f, str(forms / template_filename(f.partner, YEAR))) for f in returns]
    attribution_rows = sum(len(f.tables.get("attributions", [])) for f in returns)
    t = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_write_one, jobs, chunksize=8))
    written = time.perf_counter() - t
    info = {
        "params": params,
        "returns": len(returns),
        "attribution_rows": attribution_rows,
        "bytes": sum(p.stat().st_size for p in forms.iterdir()),
        "generation_s": {"draw": round(drawn, 1), "write_2_processes": round(written, 1)},
    }
    stamp.write_text(json.dumps(info, indent=1))
    print(
        f"  campagne générée : {len(returns)} retours, {attribution_rows} lignes "
        f"(tirage {drawn:.1f} s, écriture {written:.1f} s sur 2 processus)",
        file=sys.stderr,
    )
    return info


# -- Measuring a process tree --------------------------------------------------------------


def _descendants(root: int) -> list[int]:
    """`root` and every process below it (a scan of /proc: about 2 ms)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


class _TreeSampler:
    """Memory of a process tree, in KiB: the sum of its processes' proportional set sizes (PSS,
    /proc/<pid>/smaps_rollup: a page shared by n processes counts 1/n in each, so the libraries
    and the pages a fork shares are counted once), and the sum of their resident sizes (RSS,
    which counts them once per process). The tree is rescanned every `rescan` samples and only
    the known processes read in between."""

    def __init__(self, root: int, rescan: int = 5):
        self.root, self.rescan, self.count, self.pids = root, rescan, 0, [root]

    def sample(self) -> tuple[int, int]:
        if self.count % self.rescan == 0:
            self.pids = _descendants(self.root)
        self.count += 1
        pss = rss = 0
        for pid in self.pids:
            try:
                with open(f"/proc/{pid}/smaps_rollup") as fh:
                    for line in fh:
                        if line.startswith("Rss:"):
                            rss += int(line.split()[1])
                        elif line.startswith("Pss:"):
                            pss += int(line.split()[1])
                            break
            except OSError:
                continue
        return pss, rss


def run_measured(cmd: list[str], ok_codes=(0,)) -> dict:
    """Wall time, peak RSS of the process tree, CPU seconds (user + system, children included)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0, 0]  # PSS, RSS
    done = threading.Event()
    sampler = _TreeSampler(proc.pid)

    def poll() -> None:
        while not done.is_set():
            pss, rss = sampler.sample()
            peak[0], peak[1] = max(peak[0], pss), max(peak[1], rss)
            done.wait(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t
    done.set()
    poller.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in ok_codes:
        sys.exit(f"échec de {' '.join(cmd)} (code {proc.returncode}) :\n{err[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # "rss_mb" is the tree's peak PSS (its memory, shared pages counted once); "rss_sum_mb" the
    # peak of its resident sizes added up, as earlier runs of this benchmark reported.
    return {"wall": wall, "rss_mb": peak[0] / 1024, "rss_sum_mb": peak[1] / 1024, "cpu": cpu, "stdout": out,
            "stderr": err}  # fmt: skip


def _combine(*runs: dict) -> dict:
    wall = sum(r["wall"] for r in runs)
    cpu = sum(r["cpu"] for r in runs)
    return {"wall": wall, "rss_mb": max(r["rss_mb"] for r in runs), "rss_sum_mb": max(r["rss_sum_mb"] for r in runs),
            "cpu": cpu}  # fmt: skip


# -- The three measures --------------------------------------------------------------------


def _read_fastexcel(path: str) -> int:
    import fastexcel

    reader = fastexcel.read_excel(path)
    return sum(reader.load_sheet(name).to_polars().height for name in reader.sheet_names)


def _read_polars(path: str) -> int:
    import polars as pl

    return sum(f.height for f in pl.read_excel(path, sheet_id=0, engine="calamine").values())


def _read_pandas(path: str) -> int:
    import pandas as pd

    return sum(len(f) for f in pd.read_excel(path, sheet_name=None, engine="calamine").values())


def _read_openpyxl(path: str) -> int:
    import openpyxl

    cells = 0
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            cells += len(row)
    wb.close()
    return cells


READERS = {
    "fastexcel": _read_fastexcel,
    "polars": _read_polars,
    "pandas": _read_pandas,
    "openpyxl": _read_openpyxl,
}


def _read_share(args: tuple[str, list[str]]) -> int:
    engine, files = args
    return sum(READERS[engine](f) for f in files)


def read_all(engine: str, files: list[str], processes: int) -> int:
    """What a user's script does: every sheet of every file, the files split between processes."""
    if processes == 1:
        return _read_share((engine, files))
    shares = [(engine, files[i::processes]) for i in range(processes)]
    with ProcessPoolExecutor(processes) as pool:
        return sum(pool.map(_read_share, shares))


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _forms(folder: Path) -> list[Path]:
    return sorted((folder / "forms" / str(YEAR)).glob("*.xlsx"))


def measure(rows: int, openpyxl_sample: int, repeat: int = 3) -> dict:
    """a, b and c measured `repeat` times, one after the other in each round (so that a slower
    spell of a shared machine weighs on the three alike); each is reported as its median."""
    info = ensure_campaign(rows)
    folder = WORK / f"scale-{rows}"
    files = _forms(folder)
    total_bytes = sum(p.stat().st_size for p in files)
    me = [sys.executable, __file__]
    sample = files
    if 0 < openpyxl_sample < len(files):
        step = len(files) / openpyxl_sample
        sample = [files[int(i * step)] for i in range(openpyxl_sample)]
    factor = total_bytes / sum(p.stat().st_size for p in sample)
    env_dir = ["--dir", str(folder)]
    peers = [("fastexcel", 1), ("fastexcel", PROCESSES), ("polars", 1), ("polars", PROCESSES)]
    if _has("pandas"):
        peers.append(("pandas", 1))
    rounds = []
    for _ in range(repeat):
        measured = {}
        for engine, n in peers:
            measured[f"{engine}-{n}"] = run_measured(
                [*me, "--read", engine, "--processes", str(n), *map(str, files)]
            )
        a = run_measured([*me, "--read", "openpyxl", "--processes", "1", *map(str, sample)])
        measured["openpyxl-1"] = {**a, "wall": a["wall"] * factor, "cpu": a["cpu"] * factor,
                                  "sample": len(sample), "factor": factor}  # fmt: skip
        # validate starts cold, as on a campaign just received: it reads every file and fills the
        # cache of validated returns that consolidate then loads instead of reading them again.
        shutil.rmtree(folder / "outputs" / str(YEAR) / ".cache", ignore_errors=True)
        validate = run_measured([str(CLI), *env_dir, "validate", "--year", str(YEAR)], ok_codes=(0, 1))
        consolidate = run_measured([str(CLI), *env_dir, "consolidate", "--year", str(YEAR), "--sans-word"])
        rounds.append({**measured, "validate": validate, "consolidate": consolidate})
        rounds[-1]["c"] = _combine(validate, consolidate)

    def median(key: str) -> dict:
        runs = sorted((r[key] for r in rounds), key=lambda m: m["wall"])
        mid = dict(runs[len(runs) // 2])
        mid["walls"] = [r[key]["wall"] for r in rounds]
        mid["rss_mb"] = max(r[key]["rss_mb"] for r in rounds)
        mid["rss_sum_mb"] = max(r[key]["rss_sum_mb"] for r in rounds)
        return {k: v for k, v in mid.items() if k not in ("stdout", "stderr")}

    keys = [k for k in rounds[0] if k not in ("validate", "consolidate", "c")]
    fast, pol = f"fastexcel-{PROCESSES}", f"polars-{PROCESSES}"
    return {
        "rows": info["attribution_rows"],
        "returns": len(files),
        "mb": total_bytes / 1e6,
        "generation": info.get("generation_s"),
        "sample": len(sample),
        "factor": factor,
        **{key: median(key) for key in (*keys, "c", "validate", "consolidate")},
        # Ratios of each round too: the measures of one round ran under the same conditions.
        "rounds": [
            {"c/fastexcel": r["c"]["wall"] / r[fast]["wall"], "c/polars": r["c"]["wall"] / r[pol]["wall"]}
            for r in rounds
        ],
    }


def _fr(x: float, digits: int = 1) -> str:
    return f"{x:,.{digits}f}".replace(",", " ").replace(".", ",")


LABELS = {
    "fastexcel-1": "fastexcel, chaque feuille vers Arrow, 1 processus",
    f"fastexcel-{PROCESSES}": f"fastexcel, chaque feuille vers Arrow, {PROCESSES} processus",
    "polars-1": "polars.read_excel (calamine), chaque feuille, 1 processus",
    f"polars-{PROCESSES}": f"polars.read_excel (calamine), chaque feuille, {PROCESSES} processus",
    "pandas-1": "pandas.read_excel (calamine), chaque feuille, 1 processus",
    "openpyxl-1": "openpyxl read_only, toutes les cellules, 1 processus",
    "c": "c. validate + consolidate --sans-word (bout en bout)",
    "validate": "   dont validate",
    "consolidate": "   dont consolidate --sans-word",
}


def report(results: list[dict]) -> str:
    lines = []
    for r in results:
        lines.append(
            f"\n{_fr(r['rows'], 0)} lignes d'attributions, {r['returns']} retours, {_fr(r['mb'])} Mo"
        )
        for key, label in LABELS.items():
            if key not in r:
                continue
            m = r[key]
            if key == "openpyxl-1" and r["sample"] < r["returns"]:
                label += f" (échantillon de {r['sample']} fichiers, ×{_fr(r['factor'], 2)} selon la taille)"
            spread = " / ".join(_fr(w) for w in m["walls"])
            lines.append(
                f"  {label}\n      médiane {_fr(m['wall'])} s ({spread}), mémoire max {_fr(m['rss_mb'], 0)} Mo (RSS additionnées {_fr(m['rss_sum_mb'], 0)} Mo), "
                f"CPU {_fr(m['cpu'])} s = {_fr(m['cpu'] / m['wall'], 2)} cœur(s)"
            )
        c = r["c"]
        fast, pol = r[f"fastexcel-{PROCESSES}"], r[f"polars-{PROCESSES}"]
        lines.append(
            "  par tour : "
            + " ; ".join(
                f"c/fastexcel {_fr(t['c/fastexcel'], 2)}, c/polars {_fr(t['c/polars'], 2)}"
                for t in r["rounds"]
            )
        )
        cf, cp = c["wall"] / fast["wall"], c["wall"] / pol["wall"]
        lines.append(
            f"  c / fastexcel ({PROCESSES} processus) = {_fr(cf, 2)} (cible ≤ {_fr(TARGET_C_OVER_FASTEXCEL, 1)} : "
            f"{'oui' if cf <= TARGET_C_OVER_FASTEXCEL else 'non'}) ; c / polars.read_excel ({PROCESSES} processus) = "
            f"{_fr(cp, 2)} (cible ≤ 1 : {'oui' if cp <= 1 else 'non'}) ; mémoire max de c {_fr(c['rss_mb'], 0)} Mo "
            f"(cible ≤ {TARGET_RSS_MB} : {'oui' if c['rss_mb'] <= TARGET_RSS_MB else 'non'})"
        )
    if len(results) > 1:
        lines.append("\nCroissance (secondes pour 100 000 lignes) :")
        for r in results:
            per = 100_000 / r["rows"]
            lines.append(
                f"  {_fr(r['rows'], 0):>9} lignes : fastexcel {_fr(r[f'fastexcel-{PROCESSES}']['wall'] * per)} s, "
                f"c {_fr(r['c']['wall'] * per)} s"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,500000")
    # N: a regular sample of N files, scaled by size (an extrapolation from a sample came out 4 %
    # below the full measure on the 500,000-row campaign); 0: every file.
    parser.add_argument("--openpyxl-sample", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of a, b and c (medians reported)")
    parser.add_argument("--read", choices=list(READERS), help=argparse.SUPPRESS)
    parser.add_argument("--processes", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read:  # child mode: one of the reading baselines
        print(read_all(args.read, args.files, args.processes))
        return
    # The package as pip installs it, with its bytecode compiled (this machine sets
    # PYTHONDONTWRITEBYTECODE, so an editable install would compile every module at each start).
    import cia_workbook

    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(cia_workbook.__file__).parent)], check=True
    )
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"Campagne de {_fr(size, 0)} lignes…", file=sys.stderr)
        results.append(measure(size, args.openpyxl_sample, args.repeat))
    machine = f"{os.cpu_count()} cœurs, {platform.machine()}, Python {platform.python_version()}"
    text = f"Machine : {machine}" + report(results)
    print(text)
    WORK.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (WORK / f"resultats-{stamp}.json").write_text(
        json.dumps({"machine": machine, "results": results}, indent=1)
    )


if __name__ == "__main__":
    main()
