"""The yearly cycle put together: the stages chained for `consolidate` and `demo`.

Paths come from the CLI through a `Layout` (the working folder's templates/, forms/,
outputs/); every stage below it stays pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cia_workbook.convention import Convention

if TYPE_CHECKING:
    from cia_workbook.cache import ReturnCache
    from cia_workbook.intake import Progress
    from cia_workbook.model import Campaign, ReturnFile


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


def run_validation(
    convention: Convention,
    year: int,
    sources: list[Path],
    outdir: Path,
    cache: ReturnCache | None = None,
    progress: Progress | None = None,
) -> tuple[Campaign, list[Path]]:
    """Read and check every file of `sources`, write the corrected copies and the officer's
    summary into `outdir`: (the campaign, the files written).

    One set of workers reads the files and writes each corrected copy as soon as its file is
    read; the copies the cross-checks between partners may add to are written after them.
    """
    from cia_workbook.feedback import CopyOnRead, copy_targets, write_feedback
    from cia_workbook.intake import CROSS_CHECKED_TABLES, Workers, collect_campaign, expand_sources

    targets = copy_targets(expand_sources(sources), outdir)
    with Workers(
        convention, year, cache=cache, after_read=CopyOnRead(targets, year), tables_back=CROSS_CHECKED_TABLES
    ) as pool:
        campaign = collect_campaign(convention, year, sources, progress=progress, cache=cache, pool=pool)
        return campaign, write_feedback(convention, campaign, outdir, pool=pool)


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
    outdir = layout.outputs(year)
    csvs = {key: outdir / name for key, name in data_csv_names(year).items()}
    # Workers forked now, while this process is small. One first renders, from the cache, the
    # CSV lines of most returns already validated (while this process loads the campaign and
    # consolidates); they read the files the cache does not hold.
    with Workers(convention, year, cache=caches[year]).start() as pool, _no_cycle_collection():
        chunks = _start_csv_chunks(convention, caches[year], year, layout.forms(year), outdir, pool)
        try:
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
            # Several territories at once: the validated rows go to CSV files beside the
            # workbook (see report_xlsx.DATA_SHEET_MAX_ROWS); CSV files left by an earlier,
            # larger run are removed.
            in_csv = data_in_csv(campaigns[year])
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
            if in_csv and chunks is not None:
                result.outputs += _join_csv_chunks(convention, campaigns[year], csvs, chunks)
            elif in_csv:
                result.outputs += write_data_csvs(convention, campaigns[year], csvs)
            else:
                for path in csvs.values():
                    path.unlink(missing_ok=True)
        finally:
            for part in chunks.files() if chunks is not None else ():
                part.unlink(missing_ok=True)
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


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused while a campaign is loaded and consolidated. The campaign
    is lists and dicts of plain values that reference counting frees; each full collection
    still went over all of them (six of them took 0.35 s of a 500,000-row consolidation)."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class CsvParts:
    """CSV lines rendered before the files are joined: by a worker (`future`) for the cached
    returns among `share`, into the `worker` part files; by this process, while the worker
    finishes, for the others, into the `own` part files (one file per table key each)."""

    future: Any
    share: frozenset[str]
    worker: dict[str, Path]
    own: dict[str, Path]

    def files(self) -> list[Path]:
        return [*self.worker.values(), *self.own.values()]


def _start_csv_chunks(
    convention: Convention, cache: ReturnCache, year: int, forms: Path, outdir: Path, pool
) -> CsvParts | None:
    """A worker renders the CSV lines of the first four fifths of the files in `forms` that the
    cache holds (see `_csv_chunks`); None when the campaign is too small for it."""
    from cia_workbook.intake import POOL_MIN_FILES, expand_sources
    from cia_workbook.report_xlsx import CSV_DATA_SETS

    paths = expand_sources([forms]) if forms.is_dir() else []
    if pool.size < 2 or len(paths) < POOL_MIN_FILES:
        return None
    outdir.mkdir(parents=True, exist_ok=True)
    # One worker: the other core stays with this process, which loads and consolidates
    # meanwhile (with two, the three processes slowed each other down on two cores).
    parts = {key: outdir / f".donnees-{year}.part.{key}.tmp" for key in CSV_DATA_SETS}
    own = {key: outdir / f".donnees-{year}.part-own.{key}.tmp" for key in CSV_DATA_SETS}
    # The last files are left to this process, which renders them from memory while the worker
    # finishes: the worker, which loads each return again, would finish after it otherwise.
    share = paths[: len(paths) * 4 // 5]
    future = pool.submit(_csv_chunks, convention, cache, year, share, parts)
    return CsvParts(future, frozenset(map(str, share)), parts, own)


def _csv_chunks(
    convention: Convention, cache: ReturnCache, year: int, paths: list[Path], parts: dict[str, Path]
) -> dict[str, tuple[str, dict[str, tuple[int, int]]]]:
    """On a worker: `_render_parts` of the cached returns among `paths` (one in memory at a time)."""
    from cia_workbook.intake import cached_return

    return _render_parts(convention, year, (cached_return(cache, path) for path in paths), parts)


def _render_parts(
    convention: Convention, year: int, returns: Iterable[ReturnFile | None], parts: dict[str, Path]
) -> dict[str, tuple[str, dict[str, tuple[int, int]]]]:
    """The CSV lines of each return, appended to `parts` (one file per table key); file → (its
    SHA-256, table key → (offset, length))."""
    from cia_workbook.report_xlsx import CsvRenderer

    renderer = CsvRenderer(convention, year)
    index: dict[str, tuple[str, dict[str, tuple[int, int]]]] = {}
    files = {key: open(path, "wb") for key, path in parts.items()}
    try:
        for rf in returns:
            if rf is None or rf.identity is None:
                continue
            path = rf.path
            where = {}
            for key, fh in files.items():
                data = renderer.rows(rf.identity.partner_id, rf, key).encode("utf-8")
                where[key] = (fh.tell(), len(data))
                fh.write(data)
            index[str(path)] = (rf.sha256, where)
    finally:
        for fh in files.values():
            fh.close()
    return index


def _join_csv_chunks(
    convention: Convention, campaign, targets: dict[str, Path], chunks: CsvParts
) -> list[Path]:
    """`write_data_csvs`, taking each return's lines from the part files: this process first
    renders those the worker was not given, then takes the worker's (a return rendered by
    neither, or by a failed worker, is rendered by `write_data_csvs` itself)."""
    from contextlib import ExitStack

    from cia_workbook.report_xlsx import write_data_csvs

    left = [rf for rf in campaign.usable().values() if str(rf.path) not in chunks.share]
    indexes = [(_render_parts(convention, campaign.year, left, chunks.own), chunks.own)]
    try:
        indexes.append((chunks.future.result(), chunks.worker))
    except Exception:  # a worker that failed: its returns are rendered below
        pass
    found: dict[str, tuple[str, dict[str, tuple[int, int]], dict[str, Path]]] = {}
    for index, parts in indexes:
        for name, (sha256, where) in index.items():
            found[name] = (sha256, where, parts)
    with ExitStack() as stack:
        sources: dict[Path, Any] = {}

        def rendered(rf: ReturnFile, key: str) -> bytes | None:
            chunk = found.get(str(rf.path))
            if chunk is None or chunk[0] != rf.sha256:
                return None
            (offset, length), part = chunk[1][key], chunk[2][key]
            if part not in sources:
                sources[part] = stack.enter_context(open(part, "rb"))
            sources[part].seek(offset)
            return sources[part].read(length)

        return write_data_csvs(convention, campaign, targets, rendered)


def run_demo(convention: Convention, layout: Layout, year: int, seed: int = 2020) -> Iterator[str]:
    """The whole yearly cycle on synthetic returns, for every year of the convention up to `year`."""
    from cia_workbook import console
    from cia_workbook.cache import ReturnCache
    from cia_workbook.demo import fill_workbook, generate_campaign, is_missing
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
    campaign, written = run_validation(convention, year, [layout.forms(year)], layout.outputs(year), cache)
    yield ""
    yield console.campaign_text(convention, campaign, written)
    yield ""
    result = run_consolidation(convention, layout, year, diffusions=("restreinte", "publique"))
    yield result.summary
    yield ""
    docx = [p for p in result.outputs if p.suffix == ".docx"]
    yield "Rapports Word : " + ", ".join(str(p.resolve()) for p in docx)
