"""A command's run on a working folder: its lock, its leftovers, its worker processes.

- Commands that write into the folders of a campaign year hold that year's lock (a file lock,
  released by the system when the process ends, however it ends): `validate` and `templates`
  the year they write; `consolidate` every year it reads, since it stores the returns it reads
  in each year's cache; `demo` every year it generates. A second command waits a few seconds,
  then refuses with a French message saying who holds the lock.
- Once it holds a year's lock, a command removes what an interrupted run of the tool left in
  that year's folders: temporary files of its own patterns only (see `remove_leftovers`).
- Worker processes end with their parent (`bind_to_parent`), and SIGTERM makes the command
  stop as Ctrl-C does, running its cleanups (`stop_on_sigterm`).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import re
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

# Seconds a command waits for another one to finish before refusing.
LOCK_WAIT = 5.0


class Busy(Exception):
    """Another command holds the lock: a French message for the officer."""


def lock_path(root: Path, year: int) -> Path:
    return Path(root) / f".cia-workbook-{year}.lock"


def _holder_path(lock: Path) -> Path:
    return lock.with_name(lock.name + ".json")


@contextmanager
def hold(root: Path, years: list[int], command: str, wait: float | None = None) -> Iterator[None]:
    """The locks of `years` in the working folder `root`, taken in increasing order (two commands
    never wait for each other), for the time of the block.

    A working folder where no lock can be created (read-only) is used without one: no other
    command can write there either, and each write then says why it failed.
    """
    from filelock import FileLock, Timeout

    wait = LOCK_WAIT if wait is None else wait
    with ExitStack() as stack:
        for year in sorted(set(years)):
            path = lock_path(root, year)
            lock = FileLock(str(path))
            try:
                lock.acquire(timeout=wait)
            except Timeout:
                raise Busy(_busy_message(path, year, command)) from None
            except OSError:  # a folder that cannot be written: nothing to protect there
                continue
            stack.callback(_release, lock, path)
            _write_holder(path, command)
        yield


def _release(lock, path: Path) -> None:
    try:
        _holder_path(path).unlink(missing_ok=True)
    except OSError:
        pass
    lock.release()


def _write_holder(path: Path, command: str) -> None:
    """Who holds the lock, for the message of a command that finds it taken."""
    try:
        user = getpass.getuser()
    except Exception:
        user = ""
    info = {
        "commande": command,
        "processus": os.getpid(),
        "machine": socket.gethostname(),
        "utilisateur": user,
        "debut": dt.datetime.now().replace(microsecond=0).isoformat(),
    }
    try:
        _holder_path(path).write_text(json.dumps(info, ensure_ascii=False), encoding="utf-8")
    except OSError:
        pass


def _busy_message(path: Path, year: int, command: str) -> str:
    who = ""
    try:
        info = json.loads(_holder_path(path).read_text(encoding="utf-8"))
        started = dt.datetime.fromisoformat(info["debut"])
        if info["machine"] == socket.gethostname() and not _running(int(info["processus"])):
            raise ValueError("left by a command that has ended: the holder is another one")
        who = (
            f" (« cia-workbook {info['commande']} », lancée le {started:%d/%m/%Y à %H:%M:%S}"
            f" par {info['utilisateur'] or 'un utilisateur'} sur {info['machine']}, processus {info['processus']})"
        )
    except Exception:  # unknown holder: the message says what to do all the same
        pass
    return (
        f"Une autre commande cia-workbook travaille déjà sur l'année {year} de ce dossier{who}. "
        f"« cia-workbook {command} » n'a rien lu ni écrit. Attendez la fin de l'autre commande, "
        f"puis relancez celle-ci. Le verrou {path} est libéré dès que la commande qui le tient "
        "s'arrête : s'il n'y en a plus, relancez simplement."
    )


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


# -- Leftovers of interrupted runs ---------------------------------------------------------

# Temporary files the tool writes, by pattern: an output written beside its target and renamed
# (`fileio.atomic_path`: ".<name>.<8 random characters><extension>.tmp") and the CSV parts of
# `consolidate`'s workers (".donnees-<year>.<run>.part<i>.<table>.tmp").
LEFTOVERS = (
    re.compile(r"^\..+\.[a-z0-9_]{8}(\.[A-Za-z0-9]{1,5})?\.tmp$"),
    re.compile(r"^\.donnees-\d{4}\.[0-9a-f]+\.part\d+\.[a-z_]+\.tmp$"),
)


def remove_leftovers(folders: list[Path]) -> list[Path]:
    """Remove the temporary files of the tool's own patterns directly in `folders` (not below):
    only called by a command holding the lock of the year these folders belong to, so no run
    is writing them. Returns the files removed."""
    removed = []
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if not any(p.match(entry.name) for p in LEFTOVERS):
                continue
            try:
                if entry.is_file(follow_symlinks=False):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
            except OSError:
                continue
    return removed


# -- Processes -----------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1


def bind_to_parent(parent: int) -> None:
    """In a worker process: end when the process `parent` that started it ends, even by kill -9.

    On Linux the kernel sends SIGKILL on the parent's death (prctl PR_SET_PDEATHSIG); elsewhere
    a thread checks every half second that the parent is still there. The worker's SIGTERM
    gets its default action back (the parent's handler would make it linger). Linux ties the
    signal to the thread that started the worker: the tool starts its workers from the main
    thread only.
    """
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except ValueError:  # not the main thread
        pass
    bound = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            bound = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            bound = False
    if os.getppid() != parent:  # the parent ended before the binding
        os._exit(1)
    if not bound:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    import time

    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


class Stopped(SystemExit):
    """SIGTERM received: the command stops, its `finally` blocks and context managers run."""


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """For the time of a command: SIGTERM stops it as an exception would (temporary files
    removed, workers stopped), with the exit status 143 of a process ended by SIGTERM."""

    stopped: list[int] = []

    def stop(signum, frame):
        sys.stderr.write("\nCommande interrompue (SIGTERM) : arrêt propre, fichiers temporaires retirés.\n")
        stopped.append(128 + signum)
        raise Stopped(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: the default action stays
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        if stopped:
            # Every cleanup of the command has run (this is the last resource of its context).
            # Ending here skips the interpreter's own exit handlers, which would wake the
            # stopped worker pools through pipes already closed and print a traceback.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(stopped[0])
