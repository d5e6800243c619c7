"""Class 6 of issue 13: a cache that can never keep the wrong verdict.

A return saved again while `validate` reads the folder (a partner's mail client, the officer
in a spreadsheet) must never leave a cache entry describing other bytes than its key, nor an
annotated copy made from other bytes than those judged. The race is made deterministic: the
file is rewritten right when the cache is consulted for it.
"""

from __future__ import annotations

import hashlib
import shutil

import openpyxl
from campaign import CONVENTION, YEAR, edit_return, return_path, run

from cia_workbook.intake import cache as cache_module
from cia_workbook.intake import campaign as intake
from cia_workbook.schema.sheets import schema_for

ATTRIBUTIONS = schema_for(CONVENTION, "bailleur", YEAR).sheet("attributions")
CONTINGENT = schema_for(CONVENTION, "reservataire", YEAR).sheet("contingent")


def _suite(value: str):
    def edit(wb):
        column = [c.key for c in ATTRIBUTIONS.columns].index("suite") + 1
        wb[ATTRIBUTIONS.title].cell(ATTRIBUTIONS.first_data_row, column, value)

    return edit


def _rewrite_when_looked_up(monkeypatch, path, new_bytes, after=False):
    """Rewrite `path` with `new_bytes` when the cache is consulted for it: before the look-up
    reads the entry (the file changes between the hash and the read), or `after` it."""
    load = cache_module.ReturnCache.load

    def racing_load(self, where, *args, **kwargs):
        if where.name == path.name and not after:
            path.write_bytes(new_bytes)
        found = load(self, where, *args, **kwargs)
        if where.name == path.name and after:
            path.write_bytes(new_bytes)
        return found

    monkeypatch.setattr(cache_module.ReturnCache, "load", racing_load)


def test_a_file_rewritten_while_it_is_looked_up_never_gets_a_wrong_cached_verdict(make_campaign, monkeypatch):
    workdir = make_campaign()
    path = return_path(workdir, "semiga")
    valid = path.read_bytes()
    assert run(workdir, "validate", "--year", str(YEAR)).exit_code == 0  # an entry under this name
    faulty = edit_return(path, _suite("Bail signé ??")).read_bytes()
    # The faulty bytes are hashed for the look-up; the valid version lands just after.
    _rewrite_when_looked_up(monkeypatch, path, valid)
    raced = run(workdir, "validate", "--year", str(YEAR))
    assert raced.exit_code == 0  # what was read and judged: the valid bytes
    monkeypatch.undo()
    # The faulty version is back: its verdict is its own, not the valid bytes' one.
    path.write_bytes(faulty)
    again = run(workdir, "validate", "--year", str(YEAR))
    assert again.exit_code == 1, again.output
    assert "VALEUR_HORS_LISTE" in again.output
    assert (
        "SEMIGA" in again.output and "reçu, avec erreurs" in again.output.split("SEMIGA")[1].splitlines()[0]
    )


def test_every_cache_entry_describes_the_bytes_of_its_key(make_campaign, monkeypatch):
    workdir = make_campaign()
    path = return_path(workdir, "semiga")
    valid = path.read_bytes()
    assert run(workdir, "validate", "--year", str(YEAR)).exit_code == 0
    faulty = edit_return(path, _suite("Bail signé ??")).read_bytes()
    _rewrite_when_looked_up(monkeypatch, path, valid)
    run(workdir, "validate", "--year", str(YEAR))
    monkeypatch.undo()
    cache = cache_module.ReturnCache(workdir / "outputs" / str(YEAR) / ".cache", CONVENTION, YEAR)
    when = intake.dt.datetime(2025, 1, 1)
    for data, errors in ((valid, False), (faulty, True)):
        digest = hashlib.sha256(data).hexdigest()
        if cache.entry_path(digest, path.name).exists():
            kept = cache.load(path, digest, len(data), when)
            assert any(f.code == "VALEUR_HORS_LISTE" for f in kept.findings) is errors


def test_the_annotated_copy_is_made_from_the_bytes_that_were_judged(make_campaign, monkeypatch):
    workdir = make_campaign()
    path = return_path(workdir, "semiga")
    edit_return(path, _suite("Bail signé ??"))
    assert run(workdir, "validate", "--year", str(YEAR)).exit_code == 1  # cached, with its copy
    judged_rows = _first_row(path)
    # Taken from the cache, then saved again by the partner with other rows before the copy.
    other = workdir / "autre.xlsx"
    shutil.copy(path, other)
    edit_return(other, lambda wb: _fill_first_row(wb, "AUTRE-REF"))
    _rewrite_when_looked_up(monkeypatch, path, other.read_bytes(), after=True)
    result = run(workdir, "validate", "--year", str(YEAR))
    copy = workdir / "outputs" / str(YEAR) / "retours" / f"{path.stem}-corrections.xlsx"
    assert copy.is_file(), result.output
    assert _first_row(copy) == judged_rows  # the cells marked are those that were judged


def test_no_copy_is_made_from_a_file_changed_after_it_was_judged(make_campaign, monkeypatch):
    """A réservataire's copy is written after the cross-checks, from the file read again: when
    it no longer holds the bytes judged, no copy is made and the officer is told."""
    workdir = make_campaign()
    path = return_path(workdir, "action-logement")
    column = [c.key for c in CONTINGENT.columns].index("baux_signes") + 1

    def faulty(wb):
        wb[CONTINGENT.title].cell(CONTINGENT.first_data_row, column, "beaucoup")

    edit_return(path, faulty)
    changed = workdir / "autre.xlsx"
    edit_return(
        path, lambda wb: wb[CONTINGENT.title].cell(CONTINGENT.first_data_row, column, "plein"), changed
    )
    cross_check = intake.cross_check

    def saved_meanwhile(*args):
        path.write_bytes(changed.read_bytes())
        return cross_check(*args)

    monkeypatch.setattr(intake, "cross_check", saved_meanwhile)
    result = run(workdir, "validate", "--year", str(YEAR))
    copy = workdir / "outputs" / str(YEAR) / "retours" / f"{path.stem}-corrections.xlsx"
    assert not copy.exists()
    assert "FICHIER_MODIFIE" in result.output and path.name in result.output.split("Fichiers non écrits")[1]
    assert "Relancez « cia-workbook validate »" in result.output
    assert result.exit_code == 1


def _first_row(path):
    wb = openpyxl.load_workbook(path, read_only=True)
    ws = wb[ATTRIBUTIONS.title]
    row = next(
        ws.iter_rows(
            min_row=ATTRIBUTIONS.first_data_row, max_row=ATTRIBUTIONS.first_data_row, values_only=True
        )
    )
    wb.close()
    return row[:3]


def _fill_first_row(wb, reference):
    wb[ATTRIBUTIONS.title].cell(ATTRIBUTIONS.first_data_row, 1, reference)
