"""Class 9 of issue 13: the environment (read-only outputs, a full disk, a file gone during
`validate`, a name too long, a link to nothing).

Each ends in a French message naming the path and what to do, a non-zero exit code, the other
files' verdicts still printed, and no partial output. Tests run as root in CI, where a
read-only folder is still writable: the system's refusal is simulated at the calls that create
and write files under the folder (the same errno the system gives), and a full disk fails the
writes themselves, after the file was created.
"""

from __future__ import annotations

import builtins
import errno
import gc
import io
import os
import re
import sys
from pathlib import Path

import pytest
from campaign import CONVENTION, YEAR, edit_return, return_path, run, workers_here

from cia_workbook.intake import files as intake
from cia_workbook.schema.sheets import schema_for

ATTRIBUTIONS = schema_for(CONVENTION, "bailleur", YEAR).sheet("attributions")


def _faulty(wb):
    column = [c.key for c in ATTRIBUTIONS.columns].index("suite") + 1
    wb[ATTRIBUTIONS.title].cell(ATTRIBUTIONS.first_data_row, column, "Bail signé ??")


class _FullDisk:
    """A file opened for writing on a full disk: every write fails."""

    def __init__(self, fh):
        self._fh = fh

    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()

    def __iter__(self):
        return iter(self._fh)


def _refuse_writes(monkeypatch, folder: Path, code: int) -> None:
    """The system's answer to writes under `folder`: EACCES (a read-only folder: nothing can be
    created, replaced or removed there) or ENOSPC (a full disk: files are created, writes fail).

    Simulated in this process only: the commands' workers run here too (`workers_here`)."""
    folder = str(folder)
    workers_here(monkeypatch)

    def under(path) -> bool:
        return isinstance(path, str | os.PathLike) and os.path.abspath(os.fspath(path)).startswith(folder)

    def refuse(path):
        raise OSError(code, os.strerror(code), os.fspath(path))

    real_os_open, real_io_open = os.open, io.open
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT

    def os_open(path, flags, *args, **kwargs):
        if code == errno.EACCES and under(path) and flags & writing:
            refuse(path)
        return real_os_open(path, flags, *args, **kwargs)

    def io_open(file, mode="r", *args, **kwargs):
        if under(file) and any(m in mode for m in "wax+"):
            if code == errno.EACCES:
                refuse(file)
            return _FullDisk(real_io_open(file, mode, *args, **kwargs))
        return real_io_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(io, "open", io_open)
    monkeypatch.setattr(builtins, "open", io_open)
    if code == errno.EACCES:
        for name in ("replace", "rename", "unlink", "mkdir", "chmod"):
            real = getattr(os, name)

            def guarded(path, *args, _real=real, **kwargs):
                targets = [path, *args[:1]] if _real in (os.replace, os.rename) else [path]
                if any(under(p) for p in targets if not isinstance(p, int)):
                    refuse(path)
                return _real(path, *args, **kwargs)

            monkeypatch.setattr(os, name, guarded)


def _files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def full_disk_noise():
    """A writer's zip left open by the simulated full disk fails again when it is collected:
    collected at the end of the test, that second failure of the simulation is not reported."""
    yield
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: None
    try:
        gc.collect()
    finally:
        sys.unraisablehook = hook


FULL_DISK_NOISE = pytest.mark.usefixtures("full_disk_noise")


@FULL_DISK_NOISE
@pytest.mark.parametrize(
    ("code", "said"),
    [(errno.EACCES, "droits insuffisants"), (errno.ENOSPC, "le disque est plein")],
    ids=["outputs-en-lecture-seule", "disque-plein"],
)
def test_validate_says_which_outputs_were_not_written_and_still_gives_every_verdict(
    make_campaign, monkeypatch, code, said
):
    workdir = make_campaign()
    edit_return(return_path(workdir, "semiga"), _faulty)
    outputs = workdir / "outputs"
    outputs.mkdir()
    _refuse_writes(monkeypatch, outputs, code)
    result = run(workdir, "validate", "--year", str(YEAR))
    monkeypatch.undo()
    out = result.output
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, out  # no traceback
    # Every verdict is there, the faulty file's findings too.
    for partner in CONVENTION.partners:
        assert partner.name in out
    assert "VALEUR_HORS_LISTE" in out and out.count("reçu, valide") == len(CONVENTION.partners) - 1
    # What was not written, with its path and what to do.
    missing = out.split("Fichiers non écrits")[1]
    summary = outputs / str(YEAR) / f"controle-{YEAR}.xlsx"
    copy = outputs / str(YEAR) / "retours" / "cia-2024-semiga-corrections.xlsx"
    assert str(summary) in missing and str(copy) in missing and said in missing
    assert "Fichiers écrits" not in out
    # No partial output: no file under its final name, no temporary file.
    assert [f for f in _files_under(outputs) if not f.startswith(f"{YEAR}/.cache/")] == []
    assert [f for f in _files_under(outputs) if f.endswith(".tmp")] == []


@FULL_DISK_NOISE
def test_consolidate_on_a_full_disk_stops_with_a_message_and_leaves_nothing_half_written(
    make_campaign, monkeypatch
):
    workdir = make_campaign()
    assert run(workdir, "validate", "--year", str(YEAR)).exit_code == 0
    before = _files_under(workdir / "outputs")
    _refuse_writes(monkeypatch, workdir / "outputs", errno.ENOSPC)
    result = run(workdir, "consolidate", "--year", str(YEAR))
    monkeypatch.undo()
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, result.output
    # The first file the command writes is named (the partners' flux reports come first).
    folder = workdir / "outputs" / str(YEAR)
    named = re.search(rf"{re.escape(str(folder))}/(\S+\.xlsx) n'a pas pu être écrit", result.output)
    assert named and named.group(1).startswith(("flux/", "consolidation-")), result.output
    assert "le disque est plein" in result.output
    assert "Relancez « cia-workbook consolidate --year 2024 »" in result.output
    assert _files_under(workdir / "outputs") == before  # nothing new, nothing half-written


@pytest.mark.parametrize("how", ["supprimé", "déplacé"])
def test_a_file_gone_during_validate_is_named_and_the_others_still_judged(make_campaign, monkeypatch, how):
    workdir = make_campaign()
    gone = return_path(workdir, "semiga")
    opened = intake._opened

    def taken_away(path, *args, **kwargs):
        if Path(path).name == gone.name and gone.exists():  # listed, then gone before it is read
            if how == "supprimé":
                gone.unlink()
            else:
                gone.rename(workdir / gone.name)
        return opened(path, *args, **kwargs)

    monkeypatch.setattr(intake, "_opened", taken_away)
    workers_here(monkeypatch)
    result = run(workdir, "validate", "--year", str(YEAR))
    out = result.output
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, out
    assert "[FICHIER_DISPARU]" in out and "supprimé ou déplacé pendant le contrôle" in out
    assert gone.name in out.split("[FICHIER_DISPARU]")[0].splitlines()[-2]  # the file's own heading
    assert out.count("reçu, valide") == len(CONVENTION.partners) - 1
    assert "No such file" not in out  # French only


def test_a_name_too_long_for_its_copy_gets_a_shortened_copy_name(make_campaign):
    workdir = make_campaign()
    forms = workdir / "forms" / str(YEAR)
    source = return_path(workdir, "semiga")
    # 250 bytes of name: too long once « -corrections » is added (255 bytes at most).
    long_names = [("réponse-semiga-" * 20)[:226] + end for end in ("-v1.xlsx", "-v2.xlsx")]
    for name in long_names:
        assert len(name.encode()) >= 240
        edit_return(source, _faulty, forms / name)
    source.unlink()
    result = run(workdir, "validate", "--year", str(YEAR))
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, result.output
    assert "Fichiers non écrits" not in result.output
    retours = workdir / "outputs" / str(YEAR) / "retours"
    copies = sorted(retours.iterdir())
    # The newer version's copy only (the other is replaced), under a name the system accepts.
    assert len(copies) == 1 and all(len(p.name.encode()) <= 255 for p in copies)
    assert copies[0].name.endswith("-corrections.xlsx") and copies[0].name.startswith("réponse-semiga-")
    assert str(copies[0]) in result.output
    assert [p for p in retours.parent.rglob("*.tmp")] == []


def test_two_long_names_keep_two_distinct_copies(make_campaign):
    workdir = make_campaign()
    forms = workdir / "forms" / str(YEAR)
    stem = "x" * 245
    for partner, end in (("semiga", "a"), ("sfhe", "b")):
        path = return_path(workdir, partner)
        edit_return(path, _faulty, forms / f"{stem}{end}.xlsx")
        path.unlink()
    result = run(workdir, "validate", "--year", str(YEAR))
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, result.output
    assert "Fichiers non écrits" not in result.output
    copies = list((workdir / "outputs" / str(YEAR) / "retours").iterdir())
    assert len(copies) == 2 and all(len(p.name.encode()) <= 255 for p in copies)


def test_a_link_to_nothing_in_forms_is_named(make_campaign):
    workdir = make_campaign()
    link = workdir / "forms" / str(YEAR) / "cia-2024-promologis-lien.xlsx"
    link.symlink_to("/nulle-part/cia-2024-promologis.xlsx")
    result = run(workdir, "validate", "--year", str(YEAR))
    out = result.output
    assert result.exit_code == 1, out
    assert f"{link.name} (illisible" in out and "[FICHIER_LIEN_ROMPU]" in out
    assert "/nulle-part/cia-2024-promologis.xlsx" in out and "lien symbolique" in out
    assert out.count("reçu, valide") == len(CONVENTION.partners)
