"""Set up the local virtual environment for `make demo` and `make test`, telling the user how far
it has got in French (pip's own output is English and, when quiet, says nothing for a minute or
two).

Usage: python3 scripts/install_env.py VENV EXTRAS   (called by the Makefile; standard library only)

Creates VENV, upgrades pip, installs the package in editable mode with EXTRAS, one line per
package collected, then compiles the package. On failure pip's own output is shown whole, after
a French line saying what failed; the exit status is pip's.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# pip's "Collecting name>=x" (an index) or "Processing /path/name-1.0-py3-none-any.whl" (a wheel
# folder, a mirror).
_COLLECTING = re.compile(r"^(?:Collecting|Processing) (\S+)")
_INSTALLING = re.compile(r"^Installing collected packages: (.*)$")
_INSTALLED = re.compile(r"^Successfully installed (.*)$")


def _say(text: str) -> None:
    print(text, flush=True)


def _run(args: list[str], what: str) -> None:
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        _say(f"Échec : {what} (code {done.returncode}). Sortie de la commande :")
        _say((done.stdout + done.stderr).strip())
        sys.exit(done.returncode)


def _package(item: str) -> str:
    """`polars>=2.1` as it is; a wheel's path as its name and version (`openpyxl 3.1.5`)."""
    if "/" not in item:
        return item
    name, _, rest = item.rsplit("/", 1)[1].partition("-")
    return f"{name} {rest.split('-')[0]}" if rest else name


def _install(python: str, extras: str) -> None:
    """pip install -e .[extras], each package told as pip collects it."""
    args = [python, "-m", "pip", "install", "--progress-bar", "off", "--no-color", "-e", f".[{extras}]"]
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    lines: list[str] = []
    collected = 0
    for line in process.stdout:
        lines.append(line)
        if m := _COLLECTING.match(line):
            collected += 1
            _say(f"  [{collected}] {_package(m.group(1))}")
        elif m := _INSTALLING.match(line):
            count = len(m.group(1).split(", "))
            _say(f"  installation de {count} paquet{'s' if count > 1 else ''}…")
        elif m := _INSTALLED.match(line):
            count = len(m.group(1).split())
            _say(f"  {count} paquet{'s' if count > 1 else ''} installé{'s' if count > 1 else ''}.")
    if process.wait():
        _say(f"Échec de l'installation des dépendances (code {process.returncode}). Sortie de pip :")
        _say("".join(lines).strip())
        sys.exit(process.returncode)


def main() -> None:
    venv, extras = sys.argv[1], sys.argv[2]
    python = str(Path(venv) / "bin" / "python")
    start = time.monotonic()
    _say(f"Installation de cia-workbook dans {venv}/ (une à deux minutes la première fois).")
    _say("1/4 Environnement virtuel…")
    _run([sys.executable, "-m", "venv", venv], "création de l'environnement virtuel")
    _say("2/4 Mise à jour de pip…")
    _run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], "mise à jour de pip")
    _say("3/4 Dépendances (téléchargées si besoin) :")
    _install(python, extras)
    _say("4/4 Compilation du paquet…")
    _run([python, "-m", "compileall", "-q", "cia_workbook"], "compilation du paquet")
    _say(f"Installation terminée en {time.monotonic() - start:.0f} s.")


if __name__ == "__main__":
    main()
