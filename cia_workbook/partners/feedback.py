"""Answers of `validate`: a corrected copy for each partner and the officer's summary workbook.

The corrected copy is a copy of the received workbook with every faulty cell filled and
commented, and a first sheet « Corrections » listing the findings with links to the cells (what
it says: `corrections`; an .xlsx is edited part by part, see `xlsx_copy`; other files go through
openpyxl, see `annotate`). The summary is `control`. The received file is only read, never
written. Partner text always goes into outputs as plain text (never a formula or a link), and
every file is written atomically with fixed metadata so that two runs give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from cia_workbook.convention.settings import Convention
from cia_workbook.fileio import atomic_path, describe_os_error
from cia_workbook.intake.campaign import CROSS_CHECKED_TABLES
from cia_workbook.intake.model import Campaign, ReturnFile, replaced_by
from cia_workbook.partners.control import write_summary
from cia_workbook.partners.corrections import (
    AUTHOR,
    COPY_SUFFIX,
    cell_marks,
    copy_targets,
    corrections_sheet,
    cross_by_file,
    fixed_time,
)
from cia_workbook.schema.findings import Finding, finding

if TYPE_CHECKING:
    from cia_workbook.intake.pool import Workers


def return_address(convention: Convention) -> str:
    """Where a partner sends its corrected file, as the Corrections sheet says it:
    « cia.habitat@… (Direction de l'habitat …) », or "" when the convention gives no address."""
    campaign = convention.campaign
    address = campaign.contact_email.strip()
    if not address:
        return ""
    return f"{address} ({campaign.contact_service})" if campaign.contact_service else address


class CopyOnRead:
    """Writes a file's corrected copy right where the file was read (`collect_campaign`'s
    `after_read`), so the copies are made on the workers while others files are still being
    read. `write_feedback` then writes only what this could not know: the copies of files that
    the cross-checks between partners add findings to, and those of files taken from the cache.
    """

    def __init__(self, targets: dict[Path, Path], year: int, contact: str = ""):
        self.targets = targets
        self.year = year
        self.contact = contact  # where the corrected file goes back (`return_address`)

    def __call__(self, rf: ReturnFile) -> None:
        target = self.targets.get(rf.path)
        if target is None or rf.ignored or not rf.reader or not rf.findings:
            return
        # The cross-checks may add findings to a réservataire's Contingent sheet or to a
        # Relogements sheet: those copies are written once, after them.
        if CROSS_CHECKED_TABLES.intersection(rf.tables):
            return
        try:  # from the bytes just judged, whatever the file holds by now
            write_corrected_copy(
                rf.path, rf.findings, target, fixed_time(self.year), rf.data, rf.sha256, self.contact
            )
        except (OSError, FileChanged):  # tried again by `write_feedback`, which says why it fails
            return
        rf.copy_written = (target, len(rf.findings))


def write_feedback(
    convention: Convention,
    campaign: Campaign,
    outdir: Path,
    pool: Workers | None = None,
    problems: list[Finding] | None = None,
) -> list[Path]:
    """Corrected copies in outdir/retours/ and outdir/controle-<year>.xlsx; returns written paths.

    Copies are for the files that count: a version replaced by a newer one gets none (its
    findings no longer apply), see `remove_replaced_copies`. A copy already written by
    `CopyOnRead` with the same findings is kept. With a `pool` (see `intake.Workers`) the other
    copies are written on its workers while this process writes the summary.

    An output that cannot be written (read-only folder, full disk, a file changed since it was
    judged) is added to `problems` as a finding naming it, and the others are still written;
    without `problems` the first one raises.
    """
    outdir = Path(outdir)
    written: list[Path] = []
    failed: list[Finding] = []
    cross = cross_by_file(campaign)
    targets = copy_targets([rf.path for rf in campaign.files], outdir)
    replaced = replaced_by(campaign)
    jobs = []
    for rf in campaign.files:
        findings = rf.findings + cross.get(id(rf), [])
        if rf.ignored or not rf.reader or not findings or id(rf) in replaced:
            continue
        target = targets[rf.path]
        written.append(target)
        if rf.copy_written == (target, len(findings)):
            continue  # written where the file was read, and nothing was added since
        when = fixed_time(campaign.year)
        jobs.append((rf, (rf.path, findings, target, when, rf.data, rf.sha256, return_address(convention))))
    pooled = pool is not None and pool.size > 1 and len(jobs) > 1
    futures = [pool.submit(write_corrected_copy, *job) for _, job in jobs] if pooled else []  # type: ignore[union-attr]
    done: list[Any] = []
    for _rf, job in [] if pooled else jobs:
        done.append(_attempt(write_corrected_copy, *job))
    summary = outdir / f"controle-{campaign.year}.xlsx"
    summary_error = _attempt(write_summary, convention, campaign, summary)
    for future in futures:
        done.append(_attempt(future.result))
    for (rf, job), error in zip(jobs, done, strict=True):
        if error is None:
            continue
        written.remove(job[2])
        if isinstance(error, FileChanged):
            failed.append(finding("FICHIER_MODIFIE", rf.name))
        else:
            failed.append(_not_written(job[2], error))
    if summary_error is None:
        written.append(summary)
    else:
        failed.append(_not_written(summary, summary_error))
    if failed and problems is None:
        raise OutputError(failed)
    if problems is not None:
        problems.extend(failed)
    return written


class FileChanged(Exception):
    """The received file no longer holds the bytes that were judged: no copy is made from it."""


class OutputError(Exception):
    """Outputs that could not be written (the findings say which and why)."""

    def __init__(self, failed: list[Finding]):
        super().__init__("\n".join(f.message for f in failed))
        self.failed = failed


def _attempt(fn, *args) -> Exception | None:
    try:
        fn(*args)
    except (OSError, FileChanged) as exc:
        return exc
    return None


def _not_written(path: Path, exc: Exception) -> Finding:
    why = describe_os_error(exc) if isinstance(exc, OSError) else str(exc)
    return finding("SORTIE_NON_ECRITE", Path(path).name, path=str(path), why=why)


def remove_replaced_copies(campaign: Campaign, outdir: Path) -> StaleCopies:
    """Remove the annotated copy of each version replaced by a newer one (written when it was
    read, or left by an earlier run): the officer could send it back for the wrong file."""
    replaced = replaced_by(campaign)
    targets = copy_targets([rf.path for rf in campaign.files], outdir)
    return _remove(
        targets[rf.path] for rf in campaign.files if id(rf) in replaced and targets[rf.path].is_file()
    )


class StaleCopies(NamedTuple):
    """Annotated copies of earlier runs no longer due: removed, and those that could not be
    (open in a spreadsheet on Windows, a read-only folder)."""

    removed: list[Path]
    left: list[Path]


def remove_stale_copies(outdir: Path, written: list[Path]) -> StaleCopies:
    """Remove the corrected copies in outdir/retours/ that were not just written: those of
    files corrected since (no finding left), unreadable now, renamed or taken out of forms/.
    Only after a run over the whole forms folder, whose copies are then all in `written`."""
    kept = {Path(p).resolve() for p in written}
    folder = Path(outdir) / "retours"
    return _remove(
        sorted(p for p in folder.glob(f"*{COPY_SUFFIX}") if p.is_file() and p.resolve() not in kept)
    )


def _remove(paths: Iterable[Path]) -> StaleCopies:
    result = StaleCopies([], [])
    for path in paths:
        try:
            path.unlink()
            result.removed.append(path)
        except OSError:
            result.left.append(path)
    return result


def write_corrected_copy(
    path: Path,
    findings: list[Finding],
    target: Path,
    when: dt.datetime,
    data: bytes | None = None,
    sha256: str | None = None,
    contact: str = "",
) -> Path:
    """Copy of the received workbook `path` with the faulty cells marked and a Corrections sheet
    first, whose instructions say to send the corrected file back to `contact` (`return_address`).

    The copy is made from `data`, the bytes that were judged; without them the file is read, and
    when it no longer has the SHA-256 `sha256` that was judged, `FileChanged` is raised: a copy
    of other bytes would mark the wrong cells.

    An .xlsx is copied part for part with only those changes (`xlsx_copy`); a workbook that
    cannot be edited so (OpenDocument, macros, external links, existing comments on a sheet to
    mark…) is loaded and saved with openpyxl, or rebuilt from its values.
    """
    path = Path(path)
    if data is None:
        data = path.read_bytes()
        if sha256 is not None:
            import hashlib

            if hashlib.sha256(data).hexdigest() != sha256:
                raise FileChanged(path.name)
    if path.suffix.lower() == ".xlsx":
        from cia_workbook.partners import xlsx_copy

        try:
            copy = xlsx_copy.edit_copy(
                data,
                lambda names: (
                    cell_marks(findings, names),
                    corrections_sheet(findings, names, path.name, contact),
                ),
                when,
                AUTHOR,
            )
        except xlsx_copy.NotEditable:
            pass
        else:
            with atomic_path(target) as tmp:
                tmp.write_bytes(copy)
            return target
    from cia_workbook.partners import annotate

    annotate.write_copy(path, data, findings, target, when, contact)
    return target
