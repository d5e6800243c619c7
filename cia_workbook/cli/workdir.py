"""The working folder: its layout (convention.toml, templates/, forms/, outputs/, commission/),
the convention it holds, and the lock a command takes on the years it writes. The CLI is the
only part of the package that knows these paths; the stages are given them.
"""

from __future__ import annotations

from pathlib import Path

import click

BILAN_TEMPLATE = "modele-bilan.docx"


class Workdir:
    """The working folder and its convention; the one place that knows the layout."""

    def __init__(self, root: Path):
        self.root = root

    @property
    def convention_path(self) -> Path:
        return self.root / "convention.toml"

    def templates(self, year: int) -> Path:
        return self.root / "templates" / str(year)

    def forms(self, year: int) -> Path:
        return self.root / "forms" / str(year)

    def outputs(self, year: int) -> Path:
        return self.root / "outputs" / str(year)

    def flux(self, year: int) -> Path:
        """The partners' own reports of the year (flux per réservataire, contributions), written
        by `consolidate`."""
        return self.outputs(year) / "flux"

    def cache(self, year: int) -> Path:
        """Validated returns kept by `validate` for `consolidate` (see cache.py)."""
        return self.outputs(year) / ".cache"

    def bilan_template(self) -> Path:
        """The EPCI's Word template of the bilan (styles, logo, cover text); used when present."""
        return self.root / BILAN_TEMPLATE

    def commentary(self, year: int) -> Path:
        """The officer's commentary of the year's bilan, beside the bilan it goes into (written
        once by `consolidate`, then only by the officer)."""
        from cia_workbook.render.commentary import commentary_docx_name

        return self.outputs(year) / commentary_docx_name(year)

    def commission(self) -> Path:
        """Where the officer drops the commission's filled workbooks (commission-<year>.xlsx):
        a folder of its own, never written by the tool (outputs/ is rewritten by every run, and
        every file of forms/<year>/ is taken for a partner's return)."""
        return self.root / "commission"

    def lock(self, years: list[int], command: str):
        """The locks of `years` for `command` (see runs.py), and once held, the leftovers of
        interrupted runs removed from those years' folders. Refuses with a French message when
        another command holds one for more than a few seconds."""
        return _Locked(self, years, command)

    def own_folders(self, year: int) -> list[Path]:
        """Folders where the tool alone writes for `year` (never forms/: the partners' files)."""
        out = self.outputs(year)
        folders = [out, out / "retours", self.flux(year), self.cache(year), self.templates(year)]
        try:
            folders += [p for p in self.cache(year).iterdir() if p.is_dir()]
        except OSError:
            pass
        return folders

    def form_years(self) -> list[int]:
        base = self.root / "forms"
        if not base.is_dir():
            return []
        return sorted(int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit())

    def convention(self):
        from cia_workbook.convention.settings import ConventionError, convention_for_dir

        try:
            convention, path = convention_for_dir(self.root)
        except ConventionError as exc:
            raise click.ClickException(str(exc)) from None
        return convention, path


class _Locked:
    def __init__(self, wd: Workdir, years: list[int], command: str):
        self.wd, self.years, self.command = wd, years, command
        self._hold = None

    def __enter__(self) -> None:
        from cia_workbook.cli import runs

        self._hold = runs.hold(self.wd.root, self.years, self.command)
        try:
            self._hold.__enter__()
        except runs.Busy as exc:
            raise click.ClickException(str(exc)) from None
        removed = runs.remove_leftovers([f for y in self.years for f in self.wd.own_folders(y)])
        if removed:
            from cia_workbook.cli.console import count
            from cia_workbook.render.typography import plural

            click.echo(
                f"{count(len(removed), 'fichier temporaire', 'fichiers temporaires')} "
                f"{plural(len(removed), 'laissé')} par une commande interrompue "
                f"{plural(len(removed), 'retiré')} (par exemple {removed[0]}).",
                err=True,
            )

    def __exit__(self, *exc) -> None:
        self._hold.__exit__(*exc)
