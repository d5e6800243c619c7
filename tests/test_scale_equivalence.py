"""The speed-ups change no result: the pooled intake, the cache and the pre-filled templates give
what the plain one-file-at-a-time path gives, and the rules' column expressions find what a loop
over every row finds.

The campaign is the demo's (every partner, typical mistakes, one missing réservataire) plus a
resubmission, a lock file and a non-workbook, so that every kind of verdict goes through both
paths. Timings are not asserted here: they live in benchmarks/bench_scale.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cia_workbook.cli.commands import main
from cia_workbook.cli.terminal import ReadingBar
from cia_workbook.consolidate import consolidate
from cia_workbook.convention.settings import load_convention
from cia_workbook.intake.campaign import collect_campaign
from cia_workbook.intake.files import expand_sources, read_return, read_returns_together
from cia_workbook.partners.demo import fill_workbook, generate_campaign, is_missing, write_filled_return
from cia_workbook.partners.templates import template_filename, write_template
from cia_workbook.schema.sheets import schema_for

YEAR = 2024
CONVENTION = load_convention()


@pytest.fixture(scope="module")
def forms(tmp_path_factory) -> Path:
    """The demo campaign written with pre-filled templates, plus the usual odd files."""
    folder = tmp_path_factory.mktemp("forms")
    for filled in generate_campaign(CONVENTION, YEAR, seed=11):
        if not is_missing(filled):
            write_filled_return(CONVENTION, filled, folder / template_filename(filled.partner, YEAR))
    first = sorted(folder.glob("*.xlsx"))[0]
    # An earlier version sent in a sub-folder, then the lock file of an open workbook and a CSV.
    (folder / "anciens").mkdir()
    shutil.copy(first, folder / "anciens" / f"v1-{first.name}")
    os.utime(folder / "anciens" / f"v1-{first.name}", (0, 0))
    (folder / f"~${first.name}").write_bytes(b"\0" * 165)
    (folder / "export.csv").write_text("reference;date\nA;01/02/2024\n", encoding="utf-8")
    return folder


def findings_of(campaign) -> list[tuple]:
    out = []
    for rf in campaign.files:
        out += [(rf.name, f.code, f.sheet, f.cell, f.text) for f in rf.findings]
    out += [("croisé", f.code, f.sheet, f.cell, f.text) for f in campaign.cross_findings]
    return out


def tables_of(campaign) -> dict:
    """Each table's cells, dtypes and placements (a changed dtype shows as well as a changed value)."""
    return {
        (rf.name, key): (t.frame.to_dict(as_series=False), t.frame.schema, t.placements)
        for rf in campaign.files
        for key, t in rf.tables.items()
    }


def test_pooled_intake_and_consolidation_equal_one_file_at_a_time(forms):
    seen = []
    pooled = collect_campaign(
        CONVENTION, YEAR, [forms], workers=2, progress=lambda rf, d, n: seen.append((d, n))
    )
    plain = collect_campaign(CONVENTION, YEAR, [forms], workers=1)

    assert len(pooled.files) >= 16  # enough files for the pool (POOL_MIN_FILES) to be used
    assert seen == [(i, len(pooled.files)) for i in range(1, len(pooled.files) + 1)]
    assert [rf.name for rf in pooled.files] == [rf.name for rf in plain.files]
    assert [rf.status for rf in pooled.files] == [rf.status for rf in plain.files]
    assert {"ignore", "erreurs", "avertissements", "valide"} <= {rf.status for rf in plain.files}
    assert findings_of(pooled) == findings_of(plain)
    assert any(code == "CONTINGENT_ECART" for _, code, *_ in findings_of(plain))
    assert tables_of(pooled) == tables_of(plain)
    assert {p: rf.name for p, rf in pooled.used.items()} == {p: rf.name for p, rf in plain.used.items()}
    assert {p: [v.name for v in vs] for p, vs in pooled.superseded.items()} == {
        p: [v.name for v in vs] for p, vs in plain.superseded.items()
    }
    assert pooled.missing == plain.missing and plain.missing

    fast, slow = consolidate(CONVENTION, {YEAR: pooled}, YEAR), consolidate(CONVENTION, {YEAR: plain}, YEAR)
    assert fast.objectives == slow.objectives
    assert fast.reservataires == slow.reservataires
    assert [(t.key, t.rows) for t in fast.tables] == [(t.key, t.rows) for t in slow.tables]
    assert fast.summary_text() == slow.summary_text()
    assert fast.rows_used == slow.rows_used > 500


def test_returns_validated_together_equal_each_one_alone():
    """The faulty corpus (every kind of mistake, bailleurs and réservataires, unreadable files)
    validated in one batch (`read_returns_together`: the cells of a sheet of every return typed
    in one pass) gives each file the findings, tables and forms it gets on its own."""
    corpus = Path(__file__).parent / "fixtures" / "corpus"
    paths = sorted(p for p in corpus.iterdir() if p.suffix in (".xlsx", ".ods", ".xls", ".xlsm"))
    assert len(paths) > 30
    together = read_returns_together(CONVENTION, YEAR, [(p, None) for p in paths])
    for path, rf in zip(paths, together, strict=True):
        alone = read_return(CONVENTION, YEAR, path)
        assert rf.name == alone.name
        assert [f.text for f in rf.findings] == [f.text for f in alone.findings], path.name
        assert {k: (t.frame.to_dict(as_series=False), t.placements) for k, t in rf.tables.items()} == {
            k: (t.frame.to_dict(as_series=False), t.placements) for k, t in alone.tables.items()
        }, path.name
        assert rf.forms == alone.forms
    assert sum(len(rf.findings) for rf in together) > 50
    # The rows of every file's sheets are found in one batch (`rows.find_rows`): empty rows,
    # values outside the table and copies of a sheet are among what it tells apart.
    codes = {f.code for rf in together for f in rf.findings}
    assert {"LIGNE_VIDE", "COLONNE_NON_LUE", "COLONNE_EN_TROP", "FEUILLE_COPIE_LUE", "AUCUNE_DONNEE"} <= codes


def test_prefilled_template_reads_like_one_filled_in_excel(tmp_path):
    """The benchmarks' fast generator writes the same cells as filling the template with openpyxl."""
    for filled in generate_campaign(CONVENTION, YEAR, seed=5)[:3]:
        schema = schema_for(CONVENTION, filled.partner.kind, YEAR, filled.partner.id)
        template = write_template(
            CONVENTION, filled.partner, YEAR, tmp_path / f"modele-{filled.partner.id}.xlsx"
        )
        typed = fill_workbook(template, tmp_path / f"saisi-{filled.partner.id}.xlsx", filled, schema)
        direct = write_filled_return(CONVENTION, filled, tmp_path / f"direct-{filled.partner.id}.xlsx")
        a, b = read_return(CONVENTION, YEAR, typed), read_return(CONVENTION, YEAR, direct)
        assert {k: (t.rows, t.columns) for k, t in a.tables.items()} == {
            k: (t.rows, t.columns) for k, t in b.tables.items()
        }
        assert a.forms == b.forms and a.forms["identification"]["date_reponse"] is not None
        assert [(f.code, f.sheet, f.cell) for f in a.findings] == [
            (f.code, f.sheet, f.cell) for f in b.findings
        ]


def test_validate_shows_a_french_progress_bar_on_stderr(forms, tmp_path, monkeypatch):
    monkeypatch.setattr(ReadingBar, "SHOW_FILES", 5)
    counted = []
    close = ReadingBar.close
    monkeypatch.setattr(ReadingBar, "close", lambda self: counted.append(self.rows) or close(self))
    result = CliRunner().invoke(main, ["--dir", str(tmp_path), "validate", "--year", str(YEAR), str(forms)])
    assert result.exit_code == 1, result.output  # the demo's mistakes include errors
    assert "Lecture des classeurs" in result.stderr
    assert "Lecture des classeurs" not in result.stdout
    # Every row checked is counted (« N lignes contrôlées » in a terminal), the bailleurs'
    # Attributions too, though their rows stay in the workers that read them.
    plain = collect_campaign(CONVENTION, YEAR, [forms], workers=1)
    rows = sum(len(t) for rf in plain.files for t in rf.tables.values())
    assert counted and max(counted) == rows > 500


def test_consolidate_shows_the_progress_of_its_reading(forms, tmp_path, monkeypatch):
    """consolidate's workers send the returns as they read them: the bar moves with them."""
    monkeypatch.setattr(ReadingBar, "SHOW_FILES", 5)
    root = _copy_forms(forms, tmp_path / "travail")
    args = ["--dir", str(root), "consolidate", "--year", str(YEAR), "--sans-word"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "Lecture des classeurs" in result.stderr and "Lecture des classeurs" not in result.stdout


def test_a_short_run_shows_no_progress_bar(forms, tmp_path):
    one = sorted(forms.glob("*.xlsx"))[0]
    result = CliRunner().invoke(main, ["--dir", str(tmp_path), "validate", "--year", str(YEAR), str(one)])
    assert "Lecture des classeurs" not in result.stderr


def test_help_loads_no_heavy_library():
    heavy = {
        "openpyxl",
        "xlsxwriter",
        "python_calamine",
        "fastexcel",
        "polars",
        "docx",
        "matplotlib",
        "babel",
        "pydantic",
        "defusedxml",
    }
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom cia_workbook.cli.commands import main\n"
        "assert CliRunner().invoke(main, ['--help']).exit_code == 0\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(heavy)!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_reading_a_return_and_writing_its_copy_do_not_load_openpyxl(forms, tmp_path):
    """Each worker of `validate` would pay openpyxl's import (with numpy's) before its first
    file: reading a return and writing its corrected copy go without it."""
    faulty = next(
        p
        for p in expand_sources([forms])
        if p.suffix == ".xlsx" and read_return(CONVENTION, YEAR, p).findings
    )
    code = (
        "import sys, datetime as dt\nfrom pathlib import Path\n"
        "from cia_workbook.convention.settings import load_convention\n"
        "from cia_workbook.intake.files import read_return\n"
        "from cia_workbook.partners.feedback import write_corrected_copy\n"
        f"rf = read_return(load_convention(), {YEAR}, Path({str(faulty)!r}))\n"
        "assert rf.findings and rf.reader == 'calamine'\n"
        f"write_corrected_copy(rf.path, rf.findings, Path({str(tmp_path / 'copie.xlsx')!r}), dt.datetime(2025, 1, 6))\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'openpyxl', 'numpy'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert (tmp_path / "copie.xlsx").stat().st_size > 0


# -- The cache of validated returns: never a different result -------------------------------


def _bilan_view(campaign) -> tuple:
    bilan = consolidate(CONVENTION, {YEAR: campaign}, YEAR)
    return (
        bilan.objectives,
        bilan.reservataires,
        [(t.key, t.rows) for t in bilan.tables],
        bilan.summary_text(),
    )


def test_consolidation_from_a_warm_cache_equals_a_cold_one(forms, tmp_path, monkeypatch):
    from cia_workbook.intake import files as intake
    from cia_workbook.intake.cache import ReturnCache

    cold = collect_campaign(CONVENTION, YEAR, [forms], workers=1)
    stored = collect_campaign(
        CONVENTION, YEAR, [forms], workers=2, cache=ReturnCache(tmp_path, CONVENTION, YEAR)
    )
    workbooks = [rf for rf in cold.files if rf.reader]
    assert len(list(tmp_path.glob("*/*.parquet"))) == len(workbooks) >= 15

    # Warm: no workbook is opened again (only the lock file and the CSV, which are not kept).
    opened = []
    original = intake.read_workbook

    def spy(path, *args, **kwargs):
        opened.append(Path(path).name)
        return original(path, *args, **kwargs)

    monkeypatch.setattr(intake, "read_workbook", spy)
    seen = []
    warm = collect_campaign(
        CONVENTION, YEAR, [forms], workers=1, cache=ReturnCache(tmp_path, CONVENTION, YEAR),
        progress=lambda rf, d, n: seen.append(d),
    )  # fmt: skip
    assert sorted(opened) == sorted(rf.name for rf in cold.files if not rf.reader)
    assert seen == list(range(1, len(cold.files) + 1))
    # Hits loaded by the parent while the pool reads the rest keep the files' order.
    pooled = collect_campaign(
        CONVENTION, YEAR, [forms], workers=2, cache=ReturnCache(tmp_path, CONVENTION, YEAR)
    )
    for campaign in (stored, warm, pooled):
        assert [(rf.name, rf.sha256, rf.status, rf.forms) for rf in campaign.files] == [
            (rf.name, rf.sha256, rf.status, rf.forms) for rf in cold.files
        ]
        assert findings_of(campaign) == findings_of(cold)
        assert tables_of(campaign) == tables_of(cold)
        assert _bilan_view(campaign) == _bilan_view(cold)


def test_a_damaged_or_foreign_cache_entry_is_read_again(forms, tmp_path):
    from cia_workbook.intake.cache import ReturnCache

    cache = ReturnCache(tmp_path, CONVENTION, YEAR)
    cold = collect_campaign(CONVENTION, YEAR, [forms], workers=1, cache=cache)
    entries = sorted(tmp_path.glob("*/*.parquet"))
    entries[0].write_bytes(b"PAR1 pas un fichier Parquet")
    entries[1].write_bytes(entries[2].read_bytes())  # another file's result
    warm = collect_campaign(
        CONVENTION, YEAR, [forms], workers=1, cache=ReturnCache(tmp_path, CONVENTION, YEAR)
    )
    assert findings_of(warm) == findings_of(cold)
    assert tables_of(warm) == tables_of(cold)
    assert pl.read_parquet_metadata(entries[0])  # rewritten whole


def test_another_convention_or_year_does_not_use_the_cache(forms, tmp_path):
    from cia_workbook.intake.cache import ReturnCache

    first = ReturnCache(tmp_path, CONVENTION, YEAR)
    collect_campaign(CONVENTION, YEAR, [forms], workers=1, cache=first)
    gap = CONVENTION.campaign.close_gap_points + 1
    changed = CONVENTION.model_copy(
        update={"campaign": CONVENTION.campaign.model_copy(update={"close_gap_points": gap})}
    )
    assert ReturnCache(tmp_path, changed, YEAR).folder != first.folder
    assert ReturnCache(tmp_path, CONVENTION, YEAR - 1).folder != first.folder
    # A new context's first entry removes the stale folder.
    other = ReturnCache(tmp_path, changed, YEAR)
    collect_campaign(changed, YEAR, [sorted(forms.glob("*.xlsx"))[0]], workers=1, cache=other)
    assert [p.name for p in tmp_path.iterdir()] == [other.folder.name]


def _copy_forms(forms: Path, root: Path) -> Path:
    target = root / "forms" / str(YEAR)
    shutil.copytree(forms, target)
    return root


def test_validate_on_workers_writes_the_same_answers_as_one_file_at_a_time(forms, tmp_path):
    """Copies written on the workers as files are read (and those of cross-checked returns after
    the cross-checks), contingent counts taken from each return, only the cross-checked tables
    sent back: the corrected copies and the officer's summary are byte for byte those of the
    plain path."""
    from cia_workbook.partners.feedback import write_feedback

    root = _copy_forms(forms, tmp_path / "travail")
    result = CliRunner().invoke(main, ["--dir", str(root), "validate", "--year", str(YEAR)])
    assert result.exit_code == 1, result.output  # the demo's excluded return
    fast = root / "outputs" / str(YEAR)

    plain = collect_campaign(CONVENTION, YEAR, [root / "forms" / str(YEAR)], workers=1)
    slow = tmp_path / "plain"
    written = write_feedback(CONVENTION, plain, slow)
    copies = sorted(p.name for p in (slow / "retours").iterdir())
    # Both kinds of copies are there: one with a cross-check finding (written after), others not.
    crossed = {f.file for f in plain.cross_findings}
    assert any(name.startswith(Path(c).stem) for c in crossed for name in copies)
    assert any(not any(name.startswith(Path(c).stem) for c in crossed) for name in copies)
    assert sorted(p.name for p in (fast / "retours").iterdir()) == copies
    for path in written:
        assert (fast / path.relative_to(slow)).read_bytes() == path.read_bytes(), path.name


def test_copies_written_as_files_are_read_are_not_written_again(forms, tmp_path, monkeypatch):
    from cia_workbook.intake.campaign import CROSS_CHECKED_TABLES
    from cia_workbook.intake.pool import Workers
    from cia_workbook.partners import corrections, feedback

    folder = forms
    targets = corrections.copy_targets(expand_sources([folder]), tmp_path)
    with Workers(CONVENTION, YEAR, workers=1, after_read=feedback.CopyOnRead(targets, YEAR)) as pool:
        campaign = collect_campaign(CONVENTION, YEAR, [folder], pool=pool)
    on_read = {rf.name for rf in campaign.files if rf.copy_written}
    assert on_read and len(list((tmp_path / "retours").glob("*-corrections.xlsx"))) == len(on_read)
    again = []
    monkeypatch.setattr(feedback, "write_corrected_copy", lambda path, *a: again.append(Path(path).name))
    feedback.write_feedback(CONVENTION, campaign, tmp_path)
    # Written again: only the copies the cross-checks may add to.
    assert again and not set(again) & on_read
    assert all(CROSS_CHECKED_TABLES & set(rf.tables) for rf in campaign.files if rf.name in again)


def _sheets(path: Path) -> dict[str, list]:
    from python_calamine import CalamineWorkbook

    with CalamineWorkbook.from_path(str(path)) as wb:
        return {name: wb.get_sheet_by_name(name).to_python() for name in wb.sheet_names}


def test_the_csv_written_by_consolidate_equals_the_direct_one(forms, tmp_path, monkeypatch):
    from cia_workbook.render import workbook as report_xlsx

    monkeypatch.setattr(report_xlsx, "DATA_SHEET_MAX_ROWS", 10)
    root = _copy_forms(forms, tmp_path / "travail")
    args = ["--dir", str(root), "consolidate", "--year", str(YEAR), "--sans-word"]
    result = CliRunner().invoke(main, args)  # a cold cache: the workers read the files
    assert result.exit_code == 0, result.output
    out = root / "outputs" / str(YEAR)
    names = ["donnees-2024.csv", "donnees-patrimoine-2024.csv", "donnees-contingents-2024.csv"]
    by_workers = [(out / name).read_bytes() for name in names]
    workbook = _sheets(out / "consolidation-2024.xlsx")

    campaign = collect_campaign(CONVENTION, YEAR, [root / "forms" / str(YEAR)], workers=1)
    targets = {k: tmp_path / f"direct-{k}.csv" for k in ("attributions", "patrimoine", "contingent")}
    direct = [p.read_bytes() for p in report_xlsx.write_data_csvs(CONVENTION, campaign, targets)]
    assert by_workers == direct
    assert [data.count(b"\r\n") > 5 for data in direct] == [True] * 3

    # Again with every return cached: the same bytes.
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert [(out / name).read_bytes() for name in names] == direct
    assert _sheets(out / "consolidation-2024.xlsx") == workbook


def test_a_cold_cache_costs_no_hashing_in_the_parent_and_bad_placements_are_a_miss(
    forms, tmp_path, monkeypatch
):
    import json

    from cia_workbook.intake import files as intake
    from cia_workbook.intake.cache import ReturnCache

    stamped = []
    original = intake._stamp
    monkeypatch.setattr(intake, "_stamp", lambda path: stamped.append(path) or original(path))
    cold = collect_campaign(
        CONVENTION, YEAR, [forms], workers=1, cache=ReturnCache(tmp_path, CONVENTION, YEAR)
    )
    assert stamped == []  # nothing stored under these names yet: the reader hashes what it reads
    warm = collect_campaign(
        CONVENTION, YEAR, [forms], workers=1, cache=ReturnCache(tmp_path, CONVENTION, YEAR)
    )
    assert len(stamped) == len([rf for rf in cold.files if rf.reader])
    assert [rf.sha256 for rf in warm.files] == [rf.sha256 for rf in cold.files]

    # A row placed on a sheet the entry does not describe: the entry is a miss, read again.
    entry = max(tmp_path.glob("*/*.parquet"), key=lambda p: p.stat().st_size)
    meta = pl.read_parquet_metadata(entry)
    data = json.loads(meta["cia-workbook"])
    for table in data["tables"].values():
        table["placements"] = []
    pl.read_parquet(entry).write_parquet(entry, metadata={"cia-workbook": json.dumps(data)})
    again = collect_campaign(
        CONVENTION, YEAR, [forms], workers=1, cache=ReturnCache(tmp_path, CONVENTION, YEAR)
    )
    assert findings_of(again) == findings_of(cold)
    assert tables_of(again) == tables_of(cold)


def test_an_entry_keeps_a_table_without_rows_and_tables_of_other_lengths_are_a_miss(tmp_path):
    """Each table is a slice of the entry's frame, by the row counts of its description: a table
    without rows comes back empty with its columns and types, and counts that do not cover the
    frame exactly (or a slice tagged with another table) make the entry a miss."""
    import datetime as dt
    import json

    from cia_workbook.intake.cache import ReturnCache
    from cia_workbook.intake.model import ReturnFile, Table

    cache = ReturnCache(tmp_path, CONVENTION, YEAR)
    path = tmp_path / "retour.xlsx"
    rf = ReturnFile(path, "a" * 64, 10, dt.datetime(2025, 1, 6), reader="calamine")
    rf.tables["attributions"] = Table.of(
        "attributions",
        "Attributions",
        [4, 5],
        {"reference": ["R1", "R2"], "revenu": [1, 2]},
        {"reference": "A"},
    )
    rf.tables["contingent"] = Table.of("contingent", "Contingent", [], {"bailleur": [], "attributions": []})
    assert cache.store(rf)
    back = cache.load(path, rf.sha256, rf.size, rf.modified)
    assert back is not None and list(back.tables) == ["attributions", "contingent"]
    for key, table in rf.tables.items():
        assert back.tables[key].frame.to_dict(as_series=False) == table.frame.to_dict(as_series=False)
        assert back.tables[key].frame.schema == table.frame.schema
    [entry] = tmp_path.glob("*/*.parquet")
    data = json.loads(pl.read_parquet_metadata(entry)["cia-workbook"])
    frame = pl.read_parquet(entry)
    for rows, tags in (
        ((1, 0), None),
        ((2, 1), None),
        ((0, 2), None),
        ((2, 0), ["contingent", "attributions"]),
    ):
        data["tables"]["attributions"]["rows"], data["tables"]["contingent"]["rows"] = rows
        tampered = frame if tags is None else frame.with_columns(pl.Series("_table", tags))
        tampered.write_parquet(entry, metadata={"cia-workbook": json.dumps(data)})
        assert cache.load(path, rf.sha256, rf.size, rf.modified) is None, rows


_REFERENCES = st.lists(
    st.one_of(
        st.none(),
        st.sampled_from(
            ["DUPONT Jean", "Jean DUPONT", "Mme Martin", "BS0-2024-00001", "bs0-2024-00001 ", "A\nB"]
        ),
        st.text(alphabet="aA bB1²\t\nÉé-\u00a0\u2009\x1f", max_size=10),
    ),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(_REFERENCES)
def test_reference_checks_equal_the_row_by_row_ones(references):
    """Names as references and duplicate references: the column expressions find what a loop over
    every row finds."""
    from cia_workbook.intake import cells, rules
    from cia_workbook.intake.model import Table

    rows = list(range(4, 4 + len(references)))
    table = Table.of("attributions", "Attributions", rows, {"reference": references}, {"reference": "A"})
    ctx = cells.Context(CONVENTION, YEAR, "retour.xlsx", schema_for(CONVENTION, "bailleur", YEAR))
    rules.duplicates(table, "reference", "REFERENCE_DOUBLON", ctx)
    rules.apply([rules.name_rule(table, "reference")], table, ctx)
    seen: dict[str, int] = {}
    doubles = []
    for row, value in zip(rows, references, strict=True):
        if value is None:
            continue
        norm = " ".join(value.split()).casefold()
        if norm in seen:
            doubles.append(("REFERENCE_DOUBLON", f"A{row}", seen[norm]))
        else:
            seen[norm] = row
    names = [("REFERENCE_NOMINATIVE", f"A{row}") for row, r in zip(rows, references, strict=True)
             if r and rules.looks_like_a_name(r)]  # fmt: skip
    found = [(f.code, f.cell, dict(f.params).get("other_row")) for f in ctx.findings]
    assert [f for f in found if f[0] == "REFERENCE_DOUBLON"] == doubles
    assert [f[:2] for f in found if f[0] == "REFERENCE_NOMINATIVE"] == names
