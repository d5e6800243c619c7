"""Test helper: a working folder holding a real campaign, made with the project's own templates.

The fault-injection tests (`test_faults_*.py`) start from what a real campaign looks like:
every partner's template written by `templates.write_template`, filled with the demo's
synthetic rows (no injected mistake), under `forms/<year>/` of a working folder. A test then
damages one return the way partners, officers and machines do (`edit_return`), and runs the
commands through the CLI as the officer would (`run`).

Campaigns are generated once per test session and copied for each test.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from functools import cache
from pathlib import Path

import openpyxl
from click.testing import CliRunner, Result

from cia_workbook.cli.commands import main
from cia_workbook.convention.settings import load_convention
from cia_workbook.partners.demo import generate_campaign, write_filled_return
from cia_workbook.partners.templates import template_filename

CONVENTION = load_convention()
YEAR = 2024
_BASES: dict[tuple[int, ...], Path] = {}


@cache
def _base(years: tuple[int, ...], root: Path) -> Path:
    folder = root / ("campaign-" + "-".join(map(str, years)))
    for year in years:
        forms = folder / "forms" / str(year)
        forms.mkdir(parents=True, exist_ok=True)
        for filled in generate_campaign(CONVENTION, year, seed=2020, mistakes=False):
            write_filled_return(CONVENTION, filled, forms / template_filename(filled.partner, year))
    return folder


def campaign_folder(tmp_path: Path, factory_root: Path, years: tuple[int, ...] = (YEAR,)) -> Path:
    """A working folder of `tmp_path` whose forms/ hold every partner's clean return of `years`."""
    target = tmp_path / "travail"
    shutil.copytree(_base(tuple(years), factory_root), target)
    return target


def return_path(workdir: Path, partner_id: str, year: int = YEAR) -> Path:
    return workdir / "forms" / str(year) / template_filename(CONVENTION.partners_by_id[partner_id], year)


def edit_return(path: Path, edit: Callable[[openpyxl.Workbook], None], target: Path | None = None) -> Path:
    """Open a return with openpyxl, apply `edit(wb)` as a partner would in a spreadsheet, save it
    (at `target` when given, else in place)."""
    wb = openpyxl.load_workbook(path)
    edit(wb)
    target = target or path
    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(target)
    return target


def run(workdir: Path, *args: str, catch: bool = True) -> Result:
    """A command as the officer types it, in the working folder."""
    return CliRunner().invoke(main, ["--dir", str(workdir), *args], catch_exceptions=catch)


def workers_here(monkeypatch) -> None:
    """The commands' reading workers run in this process: a fault a test injects here (a patched
    function, a refused write) then reaches them too, as it did when they were forked from it
    (they are now forked by a server process that never ran the tests, see
    `intake.worker_context`)."""
    import inspect

    from cia_workbook.intake import pool as intake

    init = intake.Workers.__init__

    def here(self, *args, **kwargs):
        bound = inspect.signature(init).bind(self, *args, **kwargs)
        bound.arguments.update(workers=1, isolate=False)
        init(*bound.args, **bound.kwargs)

    monkeypatch.setattr(intake.Workers, "__init__", here)
