"""Class 5 of issue 13: two runs at once on one working folder.

A command on a campaign year holds that year's lock: a second command waits a few seconds,
then refuses with a French message saying who holds it; temporary names are unique per run.
The runs here are real processes: a `consolidate` held at a known point (while it writes its
CSV files) and a second command started meanwhile.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from campaign import CONVENTION, YEAR, run

from cia_workbook.cli import runs
from cia_workbook.render import workbook as report_xlsx

# A `consolidate` that goes the CSV way (more rows than the threshold) and stops just before
# writing its CSV files until told to go on (a file named `go` in the working folder).
HELD_CONSOLIDATE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import cia_workbook.render.workbook as report_xlsx

    workdir = Path(sys.argv[1])
    report_xlsx.DATA_SHEET_MAX_ROWS = 10
    write = report_xlsx.write_data_csvs

    def held(*args, **kwargs):
        (workdir / "held").write_text("")
        deadline = time.monotonic() + 60
        while not (workdir / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        return write(*args, **kwargs)

    report_xlsx.write_data_csvs = held
    from cia_workbook.cli.commands import main
    main(["--dir", str(workdir), "consolidate", "--year", sys.argv[2], "--sans-word"])
    """
)


def _start_held(workdir: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", HELD_CONSOLIDATE, str(workdir), str(YEAR)],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (workdir / "held").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the held consolidate did not get there: {process.communicate()}")
        time.sleep(0.02)
    return process


def _partners_in_csv(outdir: Path) -> set[str]:
    path = outdir / report_xlsx.data_csv_names(YEAR)["attributions"]
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    header = rows[0]
    column = next(i for i, h in enumerate(header) if h.lower().startswith("partenaire"))
    return {row[column] for row in rows[1:]}


def test_a_second_consolidate_waits_then_refuses_and_the_first_one_is_whole(make_campaign, monkeypatch):
    workdir = make_campaign()
    first = _start_held(workdir)
    try:
        monkeypatch.setattr(report_xlsx, "DATA_SHEET_MAX_ROWS", 10)
        monkeypatch.setattr(runs, "LOCK_WAIT", 0.5)
        outdir = workdir / "outputs" / str(YEAR)
        leftovers = sorted(p.name for p in outdir.iterdir() if p.name.endswith(".tmp"))
        second = run(workdir, "consolidate", "--year", str(YEAR), "--sans-word")
        # The second run refuses, says who holds the year and what to do, and touches nothing.
        assert second.exit_code == 1, second.output
        assert "Une autre commande cia-workbook travaille déjà sur l'année 2024" in second.output
        assert "« cia-workbook consolidate »" in second.output and f"processus {first.pid}" in second.output
        assert "relancez" in second.output
        assert sorted(p.name for p in outdir.iterdir() if p.name.endswith(".tmp")) == leftovers
    finally:
        (workdir / "go").write_text("")
        out, err = first.communicate(timeout=120)
    # The first run ends well, with every partner's rows in its CSV files.
    assert first.returncode == 0, err
    assert "Traceback" not in err
    bailleurs = {p.name for p in CONVENTION.partners if p.is_bailleur}
    assert bailleurs <= _partners_in_csv(workdir / "outputs" / str(YEAR))
    assert [p.name for p in (workdir / "outputs" / str(YEAR)).iterdir() if p.name.endswith(".tmp")] == []


def test_validate_refuses_while_another_process_holds_the_year(make_campaign, monkeypatch):
    """Any process holding the year's lock file (here a bare filelock) keeps `validate` out."""
    workdir = make_campaign()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from filelock import FileLock; lock = FileLock(sys.argv[1]); lock.acquire();"
            " print('pris', flush=True); time.sleep(60)",
            str(workdir / f".cia-workbook-{YEAR}.lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "pris"
        monkeypatch.setattr(runs, "LOCK_WAIT", 0.3)
        result = run(workdir, "validate", "--year", str(YEAR))
        assert result.exit_code == 1
        assert "Une autre commande cia-workbook travaille déjà sur l'année 2024" in result.output
        assert not (workdir / "outputs" / str(YEAR) / f"controle-{YEAR}.xlsx").exists()
        # Another year is free.
        other = run(workdir, "templates", "--year", str(YEAR + 1))
        assert other.exit_code == 0, other.output
    finally:
        holder.kill()
        holder.wait()
    # Once the holder is gone (however it ended), the lock is free again.
    assert run(workdir, "validate", "--year", str(YEAR)).exit_code == 0
