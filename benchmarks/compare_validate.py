"""`validate --json` before (an export of another commit) and after (this tree), on copies of
the same files: the findings must be the same.

Usage: .venv/bin/python benchmarks/compare_validate.py PRE_ROOT SOURCE YEAR
  PRE_ROOT: a folder holding the other commit's cia_workbook/ (`git archive pre-engine | tar -x -C PRE_ROOT`);
  SOURCE: a folder of received files, or a working folder (its forms/YEAR, and its convention.toml).

Each side runs in its own copy (PYTHONPATH=PRE_ROOT for the other commit); the two JSON
documents are compared after the copy's folder is replaced by a placeholder and the files'
modification times dropped. Prints "identical" or writes both documents beside SOURCE's name in
the current folder for a diff.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
RUN = "import sys; from cia_workbook.cli.commands import main; main(sys.argv[1:])"


def run(code_root: Path, workdir: Path, paths: list[Path], year: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(code_root))
    args = ["--dir", str(workdir), "validate", "--year", str(year), "--json", *map(str, paths)]
    out = subprocess.run(
        [sys.executable, "-c", RUN, *args], capture_output=True, text=True, env=env, cwd=workdir
    )
    return json.loads(out.stdout)


def side(code_root: Path, source: Path, year: int) -> str:
    workdir = Path(tempfile.mkdtemp(prefix="compare-"))
    try:
        if (source / "convention.toml").exists():
            shutil.copy(source / "convention.toml", workdir / "convention.toml")
        forms = source / "forms" / str(year)
        shutil.copytree(forms if forms.is_dir() else source, workdir / "recus", symlinks=True)
        doc = run(code_root, workdir, [workdir / "recus"], year)
        doc = json.loads(json.dumps(doc, ensure_ascii=False).replace(str(workdir), "<dossier>"))
        for f in doc.get("fichiers", []):
            f.pop("modifie", None)
        return json.dumps(doc, sort_keys=True, ensure_ascii=False, indent=1)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    pre, source, year = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    before, after = side(pre, source, year), side(HERE, source, year)
    if before == after:
        print(f"{source}: identical")
        return
    Path(f"{source.name}-before.json").write_text(before)
    Path(f"{source.name}-after.json").write_text(after)
    print(f"{source}: DIFFERENT (see {source.name}-before.json and {source.name}-after.json)")


if __name__ == "__main__":
    main()
