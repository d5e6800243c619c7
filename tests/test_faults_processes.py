"""Class 10 of issue 13: processes and leftovers.

A `validate` or `consolidate` killed (kill -9, SIGTERM) leaves no worker process behind, and
the next run removes the temporary files of its own kind that the killed one left. Real
processes: the CLI in a subprocess, held at a known point (its workers kept busy, or its
workbook being written), then killed; children are watched through /proc.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from campaign import YEAR, run

from cia_workbook.intake.pool import POOL_MIN_FILES, available_cores

pytestmark = [
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to watch processes"),
    pytest.mark.skipif(available_cores() < 2, reason="one core: the commands start no workers"),
]

# The CLI with its reading workers kept busy: each file read takes a minute (each worker says
# when it has started one: a file busy-<pid>). Run from a file: the workers' fork server imports
# the main module, as a spawned process would, so they are slowed too.
BUSY_VALIDATE = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import cia_workbook.intake.pool as intake

    read = intake._worker_read

    def slow(*args, **kwargs):
        Path(sys.argv[1], f"busy-{os.getpid()}").write_text("")
        time.sleep(60)
        return read(*args, **kwargs)

    intake._worker_read = slow
    if __name__ == "__main__":
        from cia_workbook.cli.commands import main
        main(["--dir", sys.argv[1], "validate", "--year", sys.argv[2]])
    """
)

# `consolidate` held while its workbook is being written (its temporary file exists).
HELD_CONSOLIDATE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import xlsxwriter

    close = xlsxwriter.Workbook.close

    def held(self):
        Path(sys.argv[1], "held").write_text("")
        time.sleep(60)
        return close(self)

    xlsxwriter.Workbook.close = held
    if __name__ == "__main__":
        from cia_workbook.cli.commands import main
        main(["--dir", sys.argv[1], "consolidate", "--year", sys.argv[2], "--sans-word"])
    """
)


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def _children(pid: int) -> set[int]:
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None and stat[1] == pid:
                out.add(int(entry))
    return out


def _descendants(pid: int) -> set[int]:
    """Children, their children…: the workers are forked by a server process the command starts."""
    out: set[int] = set()
    todo = [pid]
    while todo:
        found = _children(todo.pop())
        todo += list(found - out)
        out |= found
    return out


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")  # a zombie has ended


def _start(script: str, workdir: Path, until) -> tuple[subprocess.Popen, set[int]]:
    """The command started, once `until(its descendants)`; its output goes to files (a worker that
    survived would keep a pipe open)."""
    (workdir / "command.py").write_text(script)
    with open(workdir / "stdout.txt", "w") as out, open(workdir / "stderr.txt", "w") as err:
        process = subprocess.Popen(
            [sys.executable, "command.py", str(workdir), str(YEAR)], cwd=workdir, stdout=out, stderr=err
        )
    deadline = time.monotonic() + 120
    while True:
        children = _descendants(process.pid)
        if until(children):
            return process, children
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            pytest.fail(f"the command did not get there: {(workdir / 'stderr.txt').read_text()}")
        time.sleep(0.02)


def _end(pids: set[int]) -> None:
    """Kill what the test started and what survived it (by pid, after the assertions)."""
    for pid in pids:
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _busy(workdir: Path, children: set[int]) -> bool:
    """Two workers are reading a file."""
    return sum((workdir / f"busy-{pid}").exists() for pid in children) >= 2


def _survivors(pids: set[int], within: float = 5.0) -> set[int]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        alive = {pid for pid in pids if _alive(pid)}
        if not alive:
            return set()
        time.sleep(0.05)
    return {pid for pid in pids if _alive(pid)}


def test_validate_killed_leaves_no_worker_behind(make_campaign):
    workdir = make_campaign()
    assert len(list((workdir / "forms" / str(YEAR)).iterdir())) >= POOL_MIN_FILES
    process, workers = _start(BUSY_VALIDATE, workdir, lambda children: _busy(workdir, children))
    try:
        process.kill()  # kill -9: no cleanup at all in the command itself
        process.wait()
        assert _survivors(workers) == set()
    finally:
        _end(workers)


def test_validate_stopped_by_sigterm_ends_cleanly_with_its_workers(make_campaign):
    workdir = make_campaign()
    process, workers = _start(BUSY_VALIDATE, workdir, lambda children: _busy(workdir, children))
    try:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail("validate did not stop on SIGTERM")
        assert _survivors(workers) == set()
    finally:
        _end(workers)
    err = (workdir / "stderr.txt").read_text()
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "Commande interrompue (SIGTERM)" in err and "Traceback" not in err
    assert [p for p in (workdir / "outputs").rglob("*.tmp")] == []


def test_consolidate_killed_while_writing_leaves_leftovers_the_next_run_removes(make_campaign):
    workdir = make_campaign()
    outdir = workdir / "outputs" / str(YEAR)
    process, _ = _start(HELD_CONSOLIDATE, workdir, lambda children: (workdir / "held").exists())
    workers = _descendants(process.pid)
    try:
        # The first workbook being written: a partner's flux report (outputs/<year>/flux/).
        left = [p for p in outdir.rglob(".*.tmp") if ".cache" not in p.parts]
        assert left and all(p.name.endswith(".xlsx.tmp") for p in left), left
        process.kill()
        process.wait()
        assert _survivors(workers) == set()
    finally:
        _end(workers | {process.pid})
    assert left[0].exists()  # what kill -9 leaves
    # Files of the officer's that only look alike are not the tool's: they stay.
    (outdir / "notes.tmp").write_text("à garder")
    (outdir / ".mes-notes.txt").write_text("à garder")
    result = run(workdir, "consolidate", "--year", str(YEAR), "--sans-word")
    assert result.exit_code == 0, result.output
    assert "par une commande interrompue" in result.output
    assert sorted(p.name for p in outdir.rglob("*.tmp") if ".cache" not in p.parts) == ["notes.tmp"]
    assert (outdir / ".mes-notes.txt").exists() and (outdir / f"consolidation-{YEAR}.xlsx").is_file()


def test_the_word_documents_laid_out_in_a_child_come_back_or_are_made_here(monkeypatch):
    """`consolidate` lays the Word documents out in a forked child: its value and its error come
    back as if the work had been done here; a child that dies leaves the work to this process."""
    from cia_workbook.cli import pipeline

    assert pipeline._in_child(lambda: ["bilan.docx"])() == ["bilan.docx"]

    def full_disk():
        raise OSError(28, "le disque est plein", "bilan.docx")

    with pytest.raises(OSError, match="le disque est plein"):
        pipeline._in_child(full_disk)()
    monkeypatch.setattr(pipeline, "_child", lambda conn, work, parent: os._exit(1))
    done_here = []
    assert pipeline._in_child(lambda: done_here.append(os.getpid()) or "fait")() == "fait"
    assert done_here == [os.getpid()]


def _fails_with_a_drawer_left_running():
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    drawer = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    drawer.submit(sum, [1, 2]).result()
    raise ValueError("mise en page impossible")


def test_a_layout_that_fails_with_its_chart_drawer_running_is_told_not_waited_for():
    """The documents' child fails while the charts' drawer it started is still alive (a layout
    error after the charts were asked for): the command gets the error, it does not hang."""
    import signal

    from cia_workbook.cli import pipeline

    def hung(signum, frame):
        raise AssertionError("la commande attend encore son processus de mise en page")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        with pytest.raises(ValueError, match="mise en page impossible"):
            pipeline._in_child(_fails_with_a_drawer_left_running)()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize(
    "codes", [[-signal.SIGABRT, 255], [255, -signal.SIGABRT], [-signal.SIGTERM, -signal.SIGABRT]]
)
def test_a_reader_that_aborts_is_told_so_whichever_worker_the_pool_lists_first(tmp_path, codes):
    """The worker whose reader aborted ends on a signal; a sibling that lost the pool with it may
    end with status 255, listed before or after it: the message tells the abort."""
    from cia_workbook.intake.pool import _killed_reading

    path = tmp_path / "retour.xlsx"
    path.write_bytes(b"PK")
    rf = _killed_reading(path, codes)
    assert [f.code for f in rf.findings] == ["LECTURE_INTERROMPUE"]
    assert "arrêt d'urgence du lecteur de classeurs" in rf.findings[0].message


def test_an_end_the_fork_server_could_not_report_is_not_told_as_an_exit_code(tmp_path):
    """multiprocessing gives 255 for a worker whose end the fork server could not report: the
    message says the cause is unknown, not « code de sortie 255 », which no reader returned."""
    from cia_workbook.intake.pool import _killed_reading

    path = tmp_path / "retour.xlsx"
    path.write_bytes(b"PK")
    message = _killed_reading(path, [255, -signal.SIGTERM]).findings[0].message
    assert "arrêt inattendu, dont la cause n'a pas pu être connue" in message and "255" not in message
    assert "code de sortie 3" in _killed_reading(path, [255, 3]).findings[0].message
