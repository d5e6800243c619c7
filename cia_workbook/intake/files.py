"""Intake stage: one received file → a `ReturnFile` (hashed, read, validated), and the files of
the folders given, in a stable order.

A file is read once into memory: its hash, its parse and its annotated copy come from the same
bytes; `_look_up` takes a result from the cache of validated returns when it holds these bytes.
Nothing here starts a process (see `pool`) or compares partners (see `campaign`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from cia_workbook.convention.settings import Convention
from cia_workbook.fileio import sha256_of
from cia_workbook.intake.model import ReturnFile
from cia_workbook.intake.reader import RawWorkbook, read_workbook
from cia_workbook.intake.validate import SHEETS_NOT_JUDGED, validate_workbooks
from cia_workbook.schema.findings import Finding, finding

if TYPE_CHECKING:
    from cia_workbook.intake.cache import ReturnCache


def read_return(
    convention: Convention, year: int, path: Path, engine: str = "auto", data: bytes | None = None
) -> ReturnFile:
    """One file as a `ReturnFile`: hash, size and time first, so even an unreadable file is listed.

    The file is read once into memory, hashed, and parsed from those bytes (`data`: the bytes
    when the caller has just read them); they stay on `ReturnFile.data` for the annotated copy,
    which is made from what was judged.
    """
    return read_returns_together(convention, year, [(Path(path), data)], engine)[0]


def read_returns_together(
    convention: Convention, year: int, items: list[tuple[Path, bytes | None]], engine: str = "auto"
) -> list[ReturnFile]:
    """`read_return` of each (path, bytes or None), their workbooks validated together
    (`validate.validate_workbooks`: the cells of the same sheet of several returns are typed
    in one pass); each result is that of its file alone."""
    files, readable = [], []
    for path, data in items:
        rf, workbook = _opened(path, engine, data)
        files.append(rf)
        if workbook is not None:
            readable.append((rf, workbook))
    validations = validate_workbooks(convention, year, [workbook for _, workbook in readable])
    for (rf, _), validation in zip(readable, validations, strict=True):
        rf.identity = validation.identity
        rf.tables = validation.tables
        rf.forms = validation.forms
        rf.findings.extend(validation.findings)
        rf.findings.sort(key=Finding.sort_key)
    _count_contingents(convention, year, [rf for rf, _ in readable])
    return files


def _count_contingents(convention: Convention, year: int, files: list[ReturnFile]) -> None:
    """Each bailleur's Attributions counted per réservataire's contingent, where it is read
    (`ReturnFile.contingent_counts`, cached with it): the cross-check with the réservataires'
    declarations then needs none of its rows. The files of one task in one group_by."""
    from cia_workbook.consolidate import contingent_counts

    codes = [c.code for c in convention.contingents]
    bailleurs = {
        str(i): rf
        for i, rf in enumerate(files)
        if rf.identity is not None and rf.identity.kind == "bailleur" and "attributions" in rf.tables
    }
    if not codes or not bailleurs:
        return
    counted = contingent_counts(
        convention, year, [(k, rf.tables["attributions"]) for k, rf in bailleurs.items()], codes
    )
    for key, rf in bailleurs.items():
        rf.contingent_counts = counted[key]


def _opened(path: Path, engine: str, data: bytes | None) -> tuple[ReturnFile, RawWorkbook | None]:
    """(the file listed with its hash, size, time and the reader's findings; its workbook when
    it can be read)."""
    path = Path(path)
    try:
        stat = path.stat()
        if data is None:
            # Read once: hashed here, then parsed from the same bytes (a file too large for
            # memory is hashed in pieces; the reader then says it is too large).
            try:
                data = path.read_bytes()
                digest = hashlib.sha256(data).hexdigest()
            except MemoryError:
                digest = sha256_of(path)
        else:
            digest = hashlib.sha256(data).hexdigest()
        size = stat.st_size if data is None else len(data)
        modified = dt.datetime.fromtimestamp(stat.st_mtime).replace(microsecond=0)
    except OSError as exc:
        rf = ReturnFile(path, "", 0, dt.datetime(1970, 1, 1))
        rf.findings = [_unopened(path, exc)]
        return rf, None
    rf = ReturnFile(path, digest, size, modified, data=data)
    result = read_workbook(path, engine, skip=SHEETS_NOT_JUDGED, data=data)
    rf.ignored = result.ignored
    rf.findings = list(result.findings)
    if result.workbook is not None:
        rf.reader = result.workbook.reader
    return rf, result.workbook


def _unopened(path: Path, exc: OSError) -> Finding:
    """Why a listed file could not be opened: a broken link, a file gone, or the system's reason."""
    import errno

    from cia_workbook.fileio import describe_os_error

    if os.path.islink(path) and not os.path.exists(path):
        return finding("FICHIER_LIEN_ROMPU", path.name, target=os.readlink(path))
    if exc.errno == errno.ENOENT:
        return finding("FICHIER_DISPARU", path.name)
    return finding("FICHIER_ILLISIBLE", path.name, detail=describe_os_error(exc, writing=False))


def expand_sources(sources: list[Path]) -> list[Path]:
    """Files in a stable order: folders are walked (hidden sub-folders skipped, linked folders not
    followed) in the order of their paths, duplicates (the same file reached twice) dropped."""
    out: list[Path] = []
    seen: set[str] = set()
    for source in sources:
        source = Path(source)
        if source.is_dir():
            found: list[tuple[str, str, str]] = []
            _walk(str(source), "", found)
            found.sort()
        else:
            found = [("", str(source), os.path.realpath(source))]
        for _relative, path, real in found:
            if real not in seen:
                seen.add(real)
                out.append(Path(path))
    return out


def _walk(folder: str, prefix: str, out: list[tuple[str, str, str]]) -> None:
    """(path relative to the walked folder, path, real path) of each file under `folder`. One
    directory listing per folder: a folder of a thousand returns costs no call per file."""
    try:
        with os.scandir(folder) as listing:
            entries = list(listing)
    except OSError:  # an unreadable sub-folder is skipped, as a listing would
        return
    real_folder = os.path.realpath(folder)
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                if not entry.name.startswith("."):
                    _walk(entry.path, f"{prefix}{entry.name}/", out)
            elif entry.is_file():  # a link to a file counts, under the file's own real path
                real = (
                    os.path.realpath(entry.path)
                    if entry.is_symlink()
                    else os.path.join(real_folder, entry.name)
                )
                out.append((prefix + entry.name, entry.path, real))
            elif entry.is_symlink() and not os.path.exists(entry.path):
                # A link to nothing is listed (and said to be broken), never skipped in silence.
                out.append((prefix + entry.name, entry.path, os.path.join(real_folder, entry.name)))
        except OSError:
            continue


def _look_up(cache: ReturnCache | None, path: Path) -> tuple[ReturnFile | None, bytes | None]:
    """(the cached result of this file or None, the bytes read to look it up). The file is read
    once and its bytes hashed in memory: the entry found describes exactly these bytes, and a
    result with findings keeps them (`ReturnFile.data`) for its annotated copy. A file never
    stored under its name is not read here: the worker that reads it hashes the bytes it reads."""
    if cache is None or not cache.may_hold(Path(path).name):
        return None, None
    stamp = _stamp(path)
    if stamp is None:
        return None, None
    sha256, size, modified, data = stamp
    hit = cache.load(path, sha256, size, modified)
    if hit is not None and hit.findings:
        hit.data = data
    return hit, data if hit is None else None


def _stamp(path: Path) -> tuple[str, int, dt.datetime, bytes] | None:
    """(sha256, size, time, the bytes hashed) as `read_return` records them, from one read of
    the file; None when it cannot be read."""
    try:
        stat = Path(path).stat()
        data = Path(path).read_bytes()
    except (OSError, MemoryError):
        return None
    modified = dt.datetime.fromtimestamp(stat.st_mtime).replace(microsecond=0)
    return hashlib.sha256(data).hexdigest(), len(data), modified, data


def _read_and_store(
    convention: Convention,
    year: int,
    items: list[tuple[Path, bytes | None]],
    engine: str,
    cache: ReturnCache | None,
) -> list[ReturnFile]:
    """`read_returns_together` of `items`, each result stored in `cache`."""
    files = read_returns_together(convention, year, items, engine)
    if cache is not None:
        for rf in files:
            cache.store(rf)
    return files
