"""The yearly cycle put together: the stages chained for `consolidate` and `demo`.

Paths come from the CLI through a `Layout` (the working folder's templates/, forms/,
outputs/); every stage below it stays pure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cia_workbook.convention import Convention

if TYPE_CHECKING:
    from cia_workbook.cache import ReturnCache
    from cia_workbook.intake import Progress


class Layout(Protocol):
    def templates(self, year: int) -> Path: ...
    def forms(self, year: int) -> Path: ...
    def outputs(self, year: int) -> Path: ...
    def cache(self, year: int) -> Path: ...
    def form_years(self) -> list[int]: ...


class PipelineError(Exception):
    """A French message for the officer when a run cannot go on."""


@dataclass
class ConsolidationResult:
    year: int
    outputs: list[Path] = field(default_factory=list)
    summary: str = ""


def bilan_docx_name(year: int, diffusion: str) -> str:
    suffix = "" if diffusion == "restreinte" else "-publique"
    return f"bilan-cia-{year}{suffix}.docx"


def run_consolidation(
    convention: Convention,
    layout: Layout,
    year: int,
    diffusions: tuple[str, ...] = ("restreinte",),
    word: bool = True,
    progress: Progress | None = None,
) -> ConsolidationResult:
    """Validate every year found in forms/ up to `year`, consolidate, write the outputs.

    The consolidation and the workbook are made once; the Word documents once per audience in
    `diffusions` ("restreinte", "publique").

    `progress` is told of every file read (see `intake.Progress`), for a progress bar. Returns
    already validated by `validate` are taken from the layout's cache instead of read again.
    """
    from cia_workbook.cache import ReturnCache
    from cia_workbook.consolidate import consolidate
    from cia_workbook.intake import Workers, collect_campaign
    from cia_workbook.report_xlsx import (
        data_csv_names,
        data_in_csv,
        write_consolidation_xlsx,
        write_data_csvs,
    )

    years = [y for y in layout.form_years() if y in convention.years and y <= year]
    if year not in years:
        raise PipelineError(
            f"Aucune réponse pour {year} : le dossier {layout.forms(year)} est absent. "
            f"Déposez-y les classeurs reçus des partenaires, puis relancez « cia-workbook consolidate --year {year} »."
        )
    caches = {y: ReturnCache(layout.cache(y), convention, y) for y in years}
    # Workers forked now, while this process is small: they read the files the cache does not
    # hold, then write the CSV of detailed rows while this process consolidates.
    with Workers(convention, year, cache=caches[year]).start() as pool:
        campaigns = {
            y: collect_campaign(
                convention,
                y,
                [layout.forms(y)],
                progress=progress,
                cache=caches[y],
                pool=pool if y == year else None,
            )
            for y in years
        }
        outdir = layout.outputs(year)
        # Several territories at once: the validated rows go to CSV files beside the workbook
        # (see report_xlsx.DATA_SHEET_MAX_ROWS), written by a worker that loads the returns from
        # the cache one at a time; CSV files left by an earlier, larger run are removed.
        csvs = {key: outdir / name for key, name in data_csv_names(year).items()}
        in_csv = data_in_csv(campaigns[year])
        csv_jobs = []
        if in_csv and pool.size > 1:
            entries = [
                (pid, rf.path, rf.sha256, rf.size, rf.modified)
                for pid, rf in campaigns[year].usable().items()
            ]
            # One contiguous share of the returns per worker, each written to its own part files.
            size = -(-len(entries) // pool.size)
            for i in range(pool.size):
                share = entries[i * size : (i + 1) * size]
                parts = {key: outdir / f".{path.stem}.part{i}.tmp" for key, path in csvs.items()}
                csv_jobs.append(
                    (parts, pool.submit(_data_csv_part, convention, caches[year], year, share, parts, i == 0))
                )
        bilan = consolidate(convention, campaigns, year)
        result = ConsolidationResult(year)
        result.outputs.append(
            write_consolidation_xlsx(
                convention,
                bilan,
                campaigns[year],
                outdir / f"consolidation-{year}.xlsx",
                data_csv={key: path.name for key, path in csvs.items()} if in_csv else None,
            )
        )
        if in_csv:
            joined = _join_csv_parts(csvs, csv_jobs) if csv_jobs else None
            result.outputs += joined or write_data_csvs(convention, campaigns[year], csvs)
        else:
            for path in csvs.values():
                path.unlink(missing_ok=True)
    for diffusion in diffusions if word else ():
        from cia_workbook.report_docx import write_bilan_docx

        result.outputs.append(
            write_bilan_docx(
                convention, bilan, outdir / bilan_docx_name(year, diffusion), diffusion=diffusion
            )
        )
        if bilan.rehousing is not None:
            from cia_workbook.report_annexes import annexes_docx_name, write_annexes_docx

            result.outputs.append(
                write_annexes_docx(
                    convention,
                    bilan.rehousing,
                    outdir / annexes_docx_name(year, diffusion),
                    diffusion=diffusion,
                )
            )
    lines = [bilan.summary_text(), "", "Fichiers écrits :"]
    lines += [f"  {p}" for p in result.outputs]
    result.summary = "\n".join(lines)
    return result


def _data_csv_part(
    convention: Convention,
    cache: ReturnCache,
    year: int,
    entries: list[tuple],
    paths: dict[str, Path],
    first: bool,
) -> None:
    """`report_xlsx.write_data_csv_part` on a worker, each return loaded from the cache in turn
    (LookupError when one is not there: the caller then writes the files from what it holds)."""
    from cia_workbook.report_xlsx import write_data_csv_part

    def returns():
        for pid, source, sha256, size, modified in entries:
            rf = cache.load(source, sha256, size, modified)
            if rf is None:
                raise LookupError(source)
            yield pid, rf

    write_data_csv_part(convention, year, returns(), paths, first)


def _join_csv_parts(targets: dict[str, Path], jobs: list[tuple[dict[str, Path], Any]]) -> list[Path] | None:
    """Each target written atomically from its parts end to end; None (and no file) when a
    worker could not write its part."""
    import shutil

    from cia_workbook.fileio import atomic_path

    try:
        for _parts, job in jobs:
            job.result()
        for key, target in targets.items():
            with atomic_path(target) as tmp, open(tmp, "wb") as out:
                for parts, _job in jobs:
                    with open(parts[key], "rb") as part:
                        shutil.copyfileobj(part, out, 1 << 20)
        return list(targets.values())
    except LookupError:  # a return the cache could not give back
        return None
    finally:
        for parts, _job in jobs:
            for path in parts.values():
                path.unlink(missing_ok=True)


def run_demo(convention: Convention, layout: Layout, year: int, seed: int = 2020) -> Iterator[str]:
    """The whole yearly cycle on synthetic returns, for every year of the convention up to `year`."""
    from cia_workbook import console
    from cia_workbook.cache import ReturnCache
    from cia_workbook.demo import fill_workbook, generate_campaign, is_missing
    from cia_workbook.feedback import CopyOnRead, copy_targets, write_feedback
    from cia_workbook.intake import CROSS_CHECKED_TABLES, Workers, collect_campaign, expand_sources
    from cia_workbook.schema import schema_for
    from cia_workbook.templates import template_filename, write_templates

    years = [y for y in convention.years if y <= year]
    yield f"Démonstration sur la convention « {convention.info.title} », années {years[0]} à {year}."
    for y in years:
        paths = write_templates(convention, y, layout.templates(y))
        by_partner = {p.id: layout.templates(y) / template_filename(p, y) for p in convention.partners}
        forms = layout.forms(y)
        written = 0
        for filled in generate_campaign(convention, y, seed=seed):
            if is_missing(filled):
                continue
            template = by_partner[filled.partner.id]
            schema = schema_for(convention, filled.partner.kind, y, filled.partner.id)
            fill_workbook(template, forms / template.name, filled, schema)
            written += 1
            if y == year:
                for mistake in filled.mistakes:
                    yield f"  {filled.partner.name} : {mistake}"
        yield f"{y} : {len(paths)} modèles dans {layout.templates(y)}, {written} réponses fictives dans {forms}."
    # As `validate` does: what is read here is cached, so the consolidation reads no file again.
    cache = ReturnCache(layout.cache(year), convention, year)
    targets = copy_targets(expand_sources([layout.forms(year)]), layout.outputs(year))
    with Workers(
        convention, year, cache=cache, after_read=CopyOnRead(targets, year), tables_back=CROSS_CHECKED_TABLES
    ) as pool:
        campaign = collect_campaign(convention, year, [layout.forms(year)], cache=cache, pool=pool)
        written = write_feedback(convention, campaign, layout.outputs(year), pool=pool)
    yield ""
    yield console.campaign_text(convention, campaign, written)
    yield ""
    result = run_consolidation(convention, layout, year, diffusions=("restreinte", "publique"))
    yield result.summary
    yield ""
    docx = [p for p in result.outputs if p.suffix == ".docx"]
    yield "Rapports Word : " + ", ".join(str(p.resolve()) for p in docx)
