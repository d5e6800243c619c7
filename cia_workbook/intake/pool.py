"""Intake stage: the files of a year read on worker processes (a process pool over files).

`read_returns` gives `files.read_return` of every path, in order, from the cache or from
workers forked by a fork server (polars' threads do not survive a fork); a file whose reading
kills its worker costs only that file (LECTURE_INTERROMPUE). `Workers` is the pool of one
command, reused by its next stages (the annotated copies).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from cia_workbook.convention.settings import Convention
from cia_workbook.intake.files import _look_up, _read_and_store, _stamp
from cia_workbook.intake.model import ReturnFile
from cia_workbook.schema.findings import finding

if TYPE_CHECKING:
    from cia_workbook.intake.cache import ReturnCache


# A callback told of each file read: (the file, files done, files in all).
Progress = Callable[[ReturnFile, int, int], None]


# Files sent to a worker at a time: each task and each result costs the parent a round trip, and
# the files of a task are validated together (their cells typed in one pass: polars' cost is per
# expression more than per row). At most BATCH, and small enough that each worker gets several
# tasks (a task of sixteen 500-row returns takes about half a second).
BATCH = 16
TASKS_PER_WORKER = 4


def batch_size(files: int, workers: int) -> int:
    return max(1, min(BATCH, -(-files // (workers * TASKS_PER_WORKER))))


# Files handed together to `read_returns`' `arrived` (see there).
ARRIVED_BATCH = 64


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
    arrived: Callable[[list[ReturnFile]], None] | None = None,
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

    `arrived` is given the files as they come, ARRIVED_BATCH at a time (in the order they come),
    while the others are still read: the campaign puts their tables end to end there, so that
    a thousand returns are never held all at once in their thousand small frames.
    """
    total = len(paths)
    files: list[ReturnFile | None] = [None] * total
    done = 0

    come: list[ReturnFile] = []

    def report(i: int, rf: ReturnFile) -> None:
        nonlocal done
        files[i] = rf
        done += 1
        if progress is not None:
            progress(rf, done, total)
        if arrived is not None:
            come.append(rf)
            if len(come) == ARRIVED_BATCH or done == total:
                arrived(come[:])
                come.clear()

    own = None
    if pool is None:
        pool = own = Workers(convention, year, engine, cache, workers, isolate=isolate)
    pooled = (pool.size > 1 and total >= POOL_MIN_FILES) or pool.isolate
    pending: list[tuple[list, Any]] = []
    batch: list[tuple[int, Path]] = []
    size = batch_size(total, pool.size)

    def send() -> None:  # the batch to a worker, which starts on it while the others are looked up
        pending.append((batch[:], pool.submit(_worker_read, [p for _, p in batch])))
        batch.clear()

    # With workers, the cache is looked up on two threads (reading an entry and decoding its
    # Parquet release the GIL), in order, the files not found sent to the workers as they come;
    # the bytes read to look a file up are then dropped at once (the worker reads the file).
    lookups = ThreadPoolExecutor(2) if pooled and cache is not None and total > 1 else None
    if lookups is not None:
        found = lookups.map(lambda path: (_look_up(cache, path)[0], None), paths)
    else:
        found = (_look_up(cache, path) for path in paths)
    try:
        for i, (path, (hit, data)) in enumerate(zip(paths, found, strict=True)):
            if hit is not None:
                report(i, hit)
            elif not pooled:
                [rf] = _read_and_store(convention, year, [(path, data)], engine, cache)
                report(i, _finish(rf, pool.after_read, pool.tables_back))
            else:
                # The worker reads (and hashes) the file itself: the bytes looked up here do not
                # travel, and what it parses is what it hashes.
                batch.append((i, path))
                if len(batch) == size:
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
        if lookups is not None:
            lookups.shutdown(cancel_futures=True)
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
            future = pool.submit(_worker_read, [item[1]])
            try:
                yield item[0], future.result()[0]
            except BrokenProcessPool:
                yield item[0], _killed_reading(item[1], pool.restart())
            continue
        running: dict[Any, tuple[int, Path]] = {}
        while queue and len(running) < pool.size:
            item = queue.popleft()
            running[pool.submit(_worker_read, [item[1]])] = item
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
                    running[pool.submit(_worker_read, [next_item[1]])] = next_item
        if suspects:
            pool.restart()


STATUS_UNKNOWN = 255  # multiprocessing.popen_forkserver: the fork server could not say how it ended


def _killed_reading(path: Path, exitcodes: list[int]) -> ReturnFile:
    """The file whose reading killed its worker, listed with what is known of it."""
    import signal

    path = Path(path)
    stamp = _stamp(path)
    if stamp is not None:
        rf = ReturnFile(path, stamp[0], stamp[1], stamp[2])
    else:
        rf = ReturnFile(path, "", 0, dt.datetime(1970, 1, 1))
    # The pool stops its other workers itself (SIGTERM): the telling code is another one, and a
    # signal (the reader's own end) tells more than an unknown end, whichever the pool lists
    # first. 255 is multiprocessing's code for a process started by the fork server whose end
    # the server could not report: it is not the reader's own code.
    telling = [c for c in exitcodes if c not in (0, -signal.SIGTERM, STATUS_UNKNOWN)]
    code = next((c for c in telling if c < 0), telling[0] if telling else None)
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
        detail = "arrêt inattendu, dont la cause n'a pas pu être connue"
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
    context.set_forkserver_preload(["__main__", "cia_workbook.intake.pool"])
    return context


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


def _worker_read(paths: list[Path]) -> list[ReturnFile]:
    """The files of one task, read and validated together (their cells typed in one pass)."""
    w = _WORKER
    files = _read_and_store(w["convention"], w["year"], [(p, None) for p in paths], w["engine"], w["cache"])
    return [_finish(rf, w["after_read"], w["tables_back"]) for rf in files]


def _finish(
    rf: ReturnFile, after_read: Callable[[ReturnFile], None] | None, tables_back: frozenset[str] | None
) -> ReturnFile:
    if after_read is not None:
        after_read(rf)
    rf.data = None  # the bytes stay where they were read
    if tables_back is not None:
        rf.rows_checked = rf.row_count
        rf.tables = {k: t for k, t in rf.tables.items() if k in tables_back}
    return rf
