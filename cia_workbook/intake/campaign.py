"""Intake stage: the register of one year's submissions, from received files to a `Campaign`.

Every file given (or found in a given folder) is hashed, read, validated and listed. For each
partner the newest version is used and older ones are kept as superseded; files of another
year, partner or convention are listed with their error and used for no one. Cross-checks
between réservataires' declarations and bailleurs' rows are added last.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from cia_workbook.convention.settings import Convention
from cia_workbook.fileio import sha256_of
from cia_workbook.intake.model import Campaign, ReturnFile, Table
from cia_workbook.intake.reader import read_workbook
from cia_workbook.intake.validate import SHEETS_NOT_JUDGED, validate_workbook
from cia_workbook.schema.findings import Finding, finding
from cia_workbook.schema.identity import older_than
from cia_workbook.schema.sheets import schema_for

if TYPE_CHECKING:
    from cia_workbook.intake.cache import ReturnCache


def collect_campaign(
    convention: Convention,
    year: int,
    sources: list[Path],
    engine: str = "auto",
    workers: int | None = None,
    progress: Progress | None = None,
    cache: ReturnCache | None = None,
    pool: Workers | None = None,
    isolate: bool = False,
) -> Campaign:
    """Read and validate every file of `sources` (files and/or folders) for the campaign `year`.

    Files are read on `workers` processes (by default one per available core) when there are
    enough of them; the result is the same as one file at a time (`workers=1`). With a `cache`,
    a file whose bytes were already read and validated in the same context is taken from it.
    A `pool` given by the caller is used (and left open for its next tasks) instead of one
    started and stopped here. With `isolate`, every file is read on a worker process, however
    few they are (see `read_returns`).
    """
    files = read_returns(
        convention, year, expand_sources(sources), engine, workers, progress, cache, pool, isolate
    )
    return campaign_of(convention, year, files, roots=[Path(s) for s in sources if Path(s).is_dir()])


def campaign_of(
    convention: Convention, year: int, files: list[ReturnFile], roots: list[Path] = ()
) -> Campaign:
    """The campaign of the returns `files` (read and validated): the version used for each
    partner, the missing partners, the cross-checks between partners. `roots`: the folders the
    files were found in, whose sub-folders named after a partner say whose files they hold."""
    for rf in files:
        place_conflicts(convention, rf, roots)
    used, superseded = choose_versions(convention, year, files)
    missing = [p.id for p in convention.partners if p.id not in used]
    campaign = Campaign(year=year, files=files, used=used, superseded=superseded, missing=missing)
    demand = sorted((rf for rf in files if _demand_file(rf, year)), key=version_key, reverse=True)
    if demand:  # the EPCI's own Demande workbook: the newest, kept apart from the partners' returns
        campaign.demand, campaign.demand_superseded = demand[0], demand[1:]
    campaign.cross_findings = cross_check(convention, year, campaign)
    return campaign


# Tables the cross-checks between partners read (and may add findings to): a réservataire's
# declarations and the rehousing rows. A bailleur's Attributions enter them through its
# contingents, counted in the parent (`cross_check`).
CROSS_CHECKED_TABLES = frozenset({"contingent", "relogements"})

# A callback told of each file read: (the file, files done, files in all).
Progress = Callable[[ReturnFile, int, int], None]

# Files sent to a worker at a time: each task and each result costs the parent a round trip.
BATCH = 4

# Below this many files a pool costs more (starting workers, sending results back) than it saves.
POOL_MIN_FILES = 8


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def read_returns(
    convention: Convention,
    year: int,
    paths: list[Path],
    engine: str = "auto",
    workers: int | None = None,
    progress: Progress | None = None,
    cache: ReturnCache | None = None,
    pool: Workers | None = None,
    isolate: bool = False,
) -> list[ReturnFile]:
    """`read_return` of every path, in the order given, on a pool of processes when it pays.

    Each worker reads and validates whole files and sends back the compact result (typed columns,
    findings), so the parent never holds raw cells; the files keep their order whatever the
    order in which workers finish. With a `cache`, the parent hashes each file and loads the
    cached result when there is one (while the workers read the others); the workers store
    what they read. A file is hashed from the bytes that are parsed, where they are parsed: a
    cache entry never describes other bytes than those of its key, even for a file rewritten
    while it is being checked.

    A file whose reading kills its worker (the process aborted, crashed or was killed for lack
    of memory) costs only that file: the pool is started again, the other files are read again,
    and that one is listed with LECTURE_INTERROMPUE. With `isolate` (or a pool given with
    `isolate`) the files are always read on workers, so that no file can end this process.
    """
    total = len(paths)
    files: list[ReturnFile | None] = [None] * total
    done = 0

    def report(i: int, rf: ReturnFile) -> None:
        nonlocal done
        files[i] = rf
        done += 1
        if progress is not None:
            progress(rf, done, total)

    own = None
    if pool is None:
        pool = own = Workers(convention, year, engine, cache, workers, isolate=isolate)
    pooled = (pool.size > 1 and total >= POOL_MIN_FILES) or pool.isolate
    pending: list[tuple[list, Any]] = []
    batch: list[tuple[int, Path]] = []

    def send() -> None:  # the batch to a worker, which starts on it while the others are looked up
        pending.append((batch[:], pool.submit(_worker_read_batch, [p for _, p in batch])))
        batch.clear()

    try:
        for i, path in enumerate(paths):
            hit, data = _look_up(cache, path)
            if hit is not None:
                report(i, hit)
            elif not pooled:
                rf = _read_and_store(convention, year, path, engine, data, cache)
                report(i, _finish(rf, pool.after_read, pool.tables_back))
            else:
                # The worker reads (and hashes) the file itself: the bytes looked up here do not
                # travel, and what it parses is what it hashes.
                batch.append((i, path))
                if len(batch) == BATCH:
                    send()
        if batch:
            send()
        broken: list[tuple[int, Path]] = []
        for items, future in pending:
            try:
                results = future.result()
            except BrokenProcessPool:  # a worker died: every task not yet done fails with it
                broken.extend(items)
                continue
            for (i, _path), rf in zip(items, results, strict=True):
                report(i, rf)
        if broken:
            for i, rf in _read_one_by_one(pool, broken):
                report(i, rf)
    except BaseException:
        if own is not None:
            own.close(abort=True)
        raise
    finally:
        if own is not None:
            own.close()
    return files  # type: ignore[return-value]


def _read_one_by_one(pool: Workers, items: list[tuple[int, Path]]):
    """(index, ReturnFile) of each item read again after a worker died, on a fresh pool.

    One file per task and never more tasks than workers: when a worker dies again, the files
    then being read are the only suspects; each is then read alone, and the one whose worker
    dies alone gets LECTURE_INTERROMPUE (with how its worker ended)."""
    from collections import deque
    from concurrent.futures import FIRST_COMPLETED, wait

    pool.restart()
    queue = deque(items)
    suspects: deque[tuple[int, Path]] = deque()
    while queue or suspects:
        if suspects:
            item = suspects.popleft()
            future = pool.submit(_worker_read_batch, [item[1]])
            try:
                yield item[0], future.result()[0]
            except BrokenProcessPool:
                yield item[0], _killed_reading(item[1], pool.restart())
            continue
        running: dict[Any, tuple[int, Path]] = {}
        while queue and len(running) < pool.size:
            item = queue.popleft()
            running[pool.submit(_worker_read_batch, [item[1]])] = item
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                item = running.pop(future)
                try:
                    yield item[0], future.result()[0]
                except BrokenProcessPool:
                    suspects.append(item)
                    continue
                if queue and not suspects:
                    next_item = queue.popleft()
                    running[pool.submit(_worker_read_batch, [next_item[1]])] = next_item
        if suspects:
            pool.restart()


def _killed_reading(path: Path, exitcodes: list[int]) -> ReturnFile:
    """The file whose reading killed its worker, listed with what is known of it."""
    import signal

    path = Path(path)
    stamp = _stamp(path)
    if stamp is not None:
        rf = ReturnFile(path, stamp[0], stamp[1], stamp[2])
    else:
        rf = ReturnFile(path, "", 0, dt.datetime(1970, 1, 1))
    # The pool stops its other workers itself (SIGTERM): the telling code is another one.
    code = next((c for c in exitcodes if c not in (0, -signal.SIGTERM)), None)
    if code == -signal.SIGKILL:
        detail = "processus tué, sans doute faute de mémoire"
    elif code == -signal.SIGABRT:
        detail = "arrêt d'urgence du lecteur de classeurs, sans doute faute de mémoire"
    elif code == -signal.SIGSEGV:
        detail = "erreur de mémoire du lecteur de classeurs"
    elif code is not None and code < 0:
        detail = f"signal {-code}"
    elif code is not None:
        detail = f"code de sortie {code}"
    else:
        detail = "arrêt inattendu"
    rf.findings = [finding("LECTURE_INTERROMPUE", path.name, detail=detail)]
    return rf


class Workers:
    """The worker processes of one command, started at the first task and reused by the next
    stages (reading, then the corrected copies).

    `size` 1 means no process at all: tasks then run in the caller. `after_read(rf)` is run
    where each file has just been read (not for a file taken from the cache), e.g. to write its
    corrected copy there. With `tables_back`, only those tables of a file read come back to the
    caller (`validate` needs no attribution row once it is cached and counted): sending half a
    million rows between processes costs more than a second.
    """

    def __init__(
        self,
        convention: Convention,
        year: int,
        engine: str = "auto",
        cache: ReturnCache | None = None,
        workers: int | None = None,
        after_read: Callable[[ReturnFile], None] | None = None,
        tables_back: frozenset[str] | None = None,
        isolate: bool = False,
    ):
        self.size = available_cores() if workers is None else max(1, workers)
        self.after_read = after_read
        self.tables_back = tables_back
        self.isolate = isolate  # files always read on workers (see `read_returns`)
        self._setup = _WorkerSetup(convention, year, engine, cache, after_read, tables_back)
        self._executor = None
        # The pool's processes, noted as they start: a broken pool may forget them before
        # `restart` asks how they ended.
        self._seen: dict[int, Any] = {}

    def submit(self, fn: Callable, *args: Any):
        """`fn(*args)` on a worker (a module-level function and picklable arguments): a future."""
        if self._executor is None:
            self._executor = _start_pool(self._setup, self.size, os.getpid())
            self._seen = {}
        future = self._executor.submit(fn, *args)
        # The executor keeps its processes in a private mapping; only read, best effort.
        self._seen.update(getattr(self._executor, "_processes", None) or {})
        return future

    def close(self, abort: bool = False) -> None:
        """Stop the workers: once their tasks are done, or at once with `abort` (an error or an
        interruption here: what they are doing is of no use any more)."""
        if self._executor is not None:
            processes = list((getattr(self._executor, "_processes", None) or {}).values())
            self._executor.shutdown(wait=not abort, cancel_futures=True)
            self._executor = None
            for process in processes if abort else ():
                process.terminate()
                process.join(timeout=5)

    def restart(self) -> list[int]:
        """After a worker died: the broken pool is shut down (the next task starts a new one).
        Returns the exit codes of its processes that had ended (-6 for an abort…)."""
        codes: list[int] = []
        if self._executor is not None:
            self._seen.update(getattr(self._executor, "_processes", None) or {})
            for process in list(self._seen.values()):
                process.join(timeout=1)
                if process.exitcode is not None:
                    codes.append(process.exitcode)
            self.close()
        return codes

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        self.close(abort=kind is not None)


def load_or_read(
    convention: Convention, year: int, path: Path, cache: ReturnCache | None, engine: str = "auto"
) -> tuple[ReturnFile, bool]:
    """(the cached result of this file, or the file read, validated and cached; whether it was
    read). The bytes the look-up read are the ones parsed."""
    hit, data = _look_up(cache, path)
    if hit is not None:
        hit.data = None
        return hit, False
    rf = _read_and_store(convention, year, path, engine, data, cache)
    rf.data = None
    return rf, True


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


class _WorkerSetup(NamedTuple):
    """What every worker of a `Workers` set is given once, when it starts."""

    convention: Convention
    year: int
    engine: str
    cache: ReturnCache | None
    after_read: Callable[[ReturnFile], None] | None
    tables_back: frozenset[str] | None


def _start_pool(setup: _WorkerSetup, workers: int, parent: int):
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(
        workers, mp_context=worker_context(), initializer=_worker_setup, initargs=(setup, parent)
    )


def worker_context():
    """Worker processes forked from a server process started once, where it exists: polars'
    threads do not survive a fork, so workers are never forked from a process that has used
    them. The server imports the package (and the main module, as a spawned process would)
    before it forks anyone, so each worker starts with the libraries loaded."""
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" not in methods:
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", "cia_workbook.intake.campaign"])
    return context


def _read_and_store(
    convention: Convention, year: int, path: Path, engine: str, data: bytes | None, cache: ReturnCache | None
) -> ReturnFile:
    rf = read_return(convention, year, path, engine, data)
    if cache is not None:
        cache.store(rf)
    return rf


_WORKER: dict[str, Any] = {}


def _worker_setup(setup: _WorkerSetup, parent: int) -> None:
    from cia_workbook.cli.runs import bind_to_parent

    # A worker never outlives the command (kill -9 included). It is bound to the process that
    # forked it; forked by the fork server (which lives as long as its workers), it also
    # watches the command itself.
    bind_to_parent(os.getppid())
    if os.getppid() != parent:
        import threading

        threading.Thread(target=_end_with, args=(parent,), daemon=True).start()
    _WORKER.update(setup._asdict())


def _end_with(pid: int) -> None:
    """End this process as soon as the process `pid` has ended."""
    import select
    import time

    try:
        select.select([os.pidfd_open(pid)], [], [])  # readable once the process has ended
    except (AttributeError, OSError):  # no pidfd here: look every fifth of a second
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            except PermissionError:
                pass
            time.sleep(0.2)
    os._exit(1)


def _worker_read(path: Path) -> ReturnFile:
    w = _WORKER
    rf = _read_and_store(w["convention"], w["year"], path, w["engine"], None, w["cache"])
    return _finish(rf, w["after_read"], w["tables_back"])


def _worker_read_batch(paths: list[Path]) -> list[ReturnFile]:
    return [_worker_read(path) for path in paths]


def _finish(
    rf: ReturnFile, after_read: Callable[[ReturnFile], None] | None, tables_back: frozenset[str] | None
) -> ReturnFile:
    if after_read is not None:
        after_read(rf)
    rf.data = None  # the bytes stay where they were read
    if tables_back is not None:
        rf.tables = {k: t for k, t in rf.tables.items() if k in tables_back}
    return rf


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


def read_return(
    convention: Convention, year: int, path: Path, engine: str = "auto", data: bytes | None = None
) -> ReturnFile:
    """One file as a `ReturnFile`: hash, size and time first, so even an unreadable file is listed.

    The file is read once into memory, hashed, and parsed from those bytes (`data`: the bytes
    when the caller has just read them); they stay on `ReturnFile.data` for the annotated copy,
    which is made from what was judged.
    """
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
        return rf
    rf = ReturnFile(path, digest, size, modified, data=data)
    result = read_workbook(path, engine, skip=SHEETS_NOT_JUDGED, data=data)
    rf.ignored = result.ignored
    rf.findings = list(result.findings)
    if result.workbook is None:
        return rf
    rf.reader = result.workbook.reader
    validation = validate_workbook(convention, year, result.workbook)
    rf.identity = validation.identity
    rf.tables = validation.tables
    rf.forms = validation.forms
    rf.findings.extend(validation.findings)
    rf.findings.sort(key=Finding.sort_key)
    # (The contingents are counted by `cross_check`, in the parent: polars, threaded, is not
    # used in a forked worker, where its thread pool is not.)
    return rf


def place_conflicts(convention: Convention, rf: ReturnFile, roots: list[Path]) -> None:
    """IDENTITE_CONTRADICTOIRE added to `rf` for each sub-folder of `roots` holding it that is
    named after another partner (forms/2024/sfhe/ holding SEMIGA's template). The file name, the
    visible and hidden identifications are checked where the file is read (`validate.identify`)."""
    from cia_workbook.intake.identify import identity_conflict, partners_named

    pid = rf.partner_id
    if pid not in convention.partners_by_id:
        return
    folders: tuple[str, ...] = ()
    for root in roots:
        try:
            folders = Path(rf.path).relative_to(root).parts[:-1]
            break
        except ValueError:
            continue
    partner = convention.partners_by_id[pid].name
    for folder in folders:
        named = partners_named(convention, folder)
        if not named or pid in named:
            continue
        where = f"le dossier « {folder} » où il a été déposé"
        if any(dict(f.params).get("other_where") == where for f in rf.findings):
            continue  # already told (a campaign made again of the same returns)
        rf.findings.append(
            identity_conflict(
                convention,
                rf.name,
                pid,
                min(named, key=convention.partner_rank),
                where,
                f"déplacez le fichier hors de ce dossier, dans celui de {partner}",
            )  # fmt: skip
        )
        rf.findings.sort(key=Finding.sort_key)


def _unopened(path: Path, exc: OSError) -> Finding:
    """Why a listed file could not be opened: a broken link, a file gone, or the system's reason."""
    import errno

    from cia_workbook.fileio import describe_os_error

    if os.path.islink(path) and not os.path.exists(path):
        return finding("FICHIER_LIEN_ROMPU", path.name, target=os.readlink(path))
    if exc.errno == errno.ENOENT:
        return finding("FICHIER_DISPARU", path.name)
    return finding("FICHIER_ILLISIBLE", path.name, detail=describe_os_error(exc, writing=False))


def eligible(convention: Convention, year: int, rf: ReturnFile) -> bool:
    """A file counts for its partner only if it is this year's template of a partner of this convention."""
    ident = rf.identity
    if rf.ignored or ident is None:
        return False
    partner = convention.partners_by_id.get(ident.partner_id)
    # Files that are not this year's template of a partner, and files whose places name two
    # partners: the latter replace no one's return.
    blocking = {"MODELE_INCONNU", "MODELE_CONVENTION", "MODELE_PARTENAIRE", "MODELE_ANNEE", "MODELE_TYPE",
                "IDENTITE_CONTRADICTOIRE"}  # fmt: skip
    return (
        partner is not None
        and ident.year == year
        and ident.convention_id == convention.info.id
        and ident.kind == partner.kind
        and not any(f.code in blocking for f in rf.findings)
    )


def _demand_file(rf: ReturnFile, year: int) -> bool:
    """This year's Demande workbook of the EPCI (demand.py), judged by `identify`."""
    from cia_workbook.intake.demand import is_demand

    blocking = {"MODELE_VERSION", "MODELE_ANNEE", "MODELE_CONVENTION"}
    return (
        not rf.ignored
        and is_demand(rf)
        and rf.identity.year == year  # type: ignore[union-attr]
        and not any(f.code in blocking for f in rf.findings)
    )


def version_key(rf: ReturnFile) -> tuple:
    """Newest first by: the answer date in Identification, then the file's time, then its name.

    The answer date is what the partner declares; the file time changes when a mail client
    saves an attachment, so it only breaks ties.
    """
    answered = (rf.forms.get("identification") or {}).get("date_reponse")
    answered = answered if isinstance(answered, dt.date) else dt.date.min
    return (answered, rf.modified, rf.name)


def choose_versions(
    convention: Convention, year: int, files: list[ReturnFile]
) -> tuple[dict[str, ReturnFile], dict[str, list[ReturnFile]]]:
    """Partner id → the version used (the newest, even with errors: a resubmission replaces) and
    the older versions kept."""
    by_partner: dict[str, list[ReturnFile]] = {}
    for rf in files:
        if eligible(convention, year, rf):
            by_partner.setdefault(rf.identity.partner_id, []).append(rf)  # type: ignore[union-attr]
    used: dict[str, ReturnFile] = {}
    superseded: dict[str, list[ReturnFile]] = {}
    for pid in sorted(by_partner, key=convention.partner_rank):
        versions = sorted(by_partner[pid], key=version_key, reverse=True)
        used[pid] = versions[0]
        if len(versions) > 1:
            superseded[pid] = versions[1:]
    return used, superseded


# -- Cross-checks between partners ---------------------------------------------------------


def contingents_counts(
    convention: Convention, year: int, table: Table, reservataires: list[str]
) -> dict[str, dict[str, int]]:
    """What one bailleur's rows say about each réservataire's contingent, per column of the
    Contingent sheet (`consolidate.contingent_counts`: the bilan's own definitions)."""
    from cia_workbook.consolidate import contingent_counts as counts_by_bailleur

    return counts_by_bailleur(convention, year, [("", table)], reservataires)[""]


def cross_check(convention: Convention, year: int, campaign: Campaign) -> list[Finding]:
    """CONTINGENT_ECART for every figure a réservataire declares that bailleurs' rows contradict,
    and RELOGEMENT_DOUBLON_PARTENAIRES for a rehoused household returned by two partners.

    Only returns that enter the consolidation are compared, and only for bailleurs whose return
    does: a missing bailleur would make every declaration look wrong.
    """
    from cia_workbook.consolidate import FORMER_COUNTS
    from cia_workbook.consolidate import contingent_counts as counts_by_bailleur

    usable = campaign.usable()
    bailleurs = {pid: rf for pid, rf in usable.items() if convention.partners_by_id[pid].is_bailleur}
    found: list[Finding] = []
    # Each bailleur's rows are counted once for every declaring réservataire (not once per
    # réservataire: a national campaign has a thousand bailleurs).
    declaring = [
        c.code
        for c in convention.contingents
        if c.partner in usable and "contingent" in usable[c.partner].tables
    ]
    # Counted where each file was read (and cached); counted here only for a file that was not.
    counted_by_bailleur: dict[str, dict[str, dict[str, int]]] = {}
    if declaring:
        to_count = []
        for bid, brf in bailleurs.items():
            counts = brf.contingent_counts
            if counts is None or any(r not in counts for r in declaring):
                if "attributions" in brf.tables:
                    to_count.append((bid, brf.tables["attributions"]))
            else:
                counted_by_bailleur[bid] = counts
        # Every bailleur at once: one group_by over their rows.
        counted_by_bailleur |= counts_by_bailleur(convention, year, to_count, declaring)
    for res in convention.reservataires:
        rf = usable.get(res.id)
        table = rf.tables.get("contingent") if rf else None
        if rf is None or table is None:
            continue
        sheet = schema_for(convention, "reservataire", year, res.id).sheet("contingent")
        # Several contingents declared: a row per bailleur and contingent, its code in a column.
        several = any(c.key == "contingent" for c in sheet.columns)
        mine = [c for c in convention.contingents if c.partner == res.id]
        measures = [c for c in sheet.columns if c.key not in ("bailleur", "contingent", "logements_mis_a_disposition",
                                                              "candidats_proposes", "refus")]  # fmt: skip
        declared_rows: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        for i, record in enumerate(table.records()):
            code = record.get("contingent") if several else mine[0].code
            if record.get("bailleur") and code:
                declared_rows.setdefault((record["bailleur"], code), (i, record))
        for bid, contingent in ((b, c) for b in bailleurs for c in mine):
            if bid not in counted_by_bailleur:
                continue
            counted = counted_by_bailleur[bid][contingent.code]
            index, record = declared_rows.get((bid, contingent.code), (-1, {}))
            for col in measures:
                declared = record.get(col.key) or 0
                # A return of an earlier template declared the column under its former definition.
                key = col.key
                if rf.identity is not None and older_than(rf.identity.schema_version, col.since):
                    key = FORMER_COUNTS.get(key, key)
                if key not in counted or declared == counted[key]:
                    continue
                # On the sheet (or the copy) of the bailleur's row; on the sheet when it has none.
                sheet, cell = table.position(index, col.key) if index >= 0 else (table.sheet_title, "")
                found.append(
                    finding(
                        "CONTINGENT_ECART",
                        rf.name,
                        sheet,
                        cell,
                        reservataire=f"{res.name} (contingent « {contingent.label} »)"
                        if several
                        else res.name,
                        declared=declared,
                        measure=col.header,
                        bailleur=convention.partners_by_id[bid].name,
                        counted=counted[key],
                    )  # fmt: skip
                )
    from cia_workbook.intake.rehousing_rules import duplicates_between_partners

    found.extend(duplicates_between_partners(convention, year, usable))
    return found
