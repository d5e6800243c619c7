"""The yearly cycle put together: the stages chained for `validate`, `consolidate` and `demo`.

Paths come from the CLI through a `Layout` (the working folder's templates/, forms/,
outputs/); every stage below it stays pure.
"""

from __future__ import annotations

import gc
import os
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.resources import as_file as resources_file
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cia_workbook.convention.settings import Convention

if TYPE_CHECKING:
    from cia_workbook.intake.cache import ReturnCache
    from cia_workbook.intake.model import Campaign
    from cia_workbook.intake.pool import Progress
    from cia_workbook.partners.feedback import StaleCopies
    from cia_workbook.schema.findings import Finding


class Layout(Protocol):
    def templates(self, year: int) -> Path: ...
    def forms(self, year: int) -> Path: ...
    def outputs(self, year: int) -> Path: ...
    def cache(self, year: int) -> Path: ...
    def flux(self, year: int) -> Path: ...
    def form_years(self) -> list[int]: ...
    def bilan_template(self) -> Path: ...
    def commentary(self, year: int) -> Path: ...
    def commission(self) -> Path: ...


class PipelineError(Exception):
    """A French message for the officer when a run cannot go on."""


@dataclass
class ConsolidationResult:
    year: int
    outputs: list[Path] = field(default_factory=list)
    summary: str = ""
    notes: list[str] = field(default_factory=list)  # said to the officer after the files written
    lines: list[str] = field(default_factory=list)  # the summary, one console line each


def run_validation(
    convention: Convention,
    year: int,
    sources: list[Path],
    outdir: Path,
    cache: ReturnCache | None = None,
    progress: Progress | None = None,
    whole_folder: bool = False,
) -> tuple[Campaign, list[Path], StaleCopies, list[Finding]]:
    """Read and check every file of `sources`, write the corrected copies and the officer's
    summary into `outdir`: (the campaign, the files written, the stale copies, the outputs that
    could not be written, as findings naming them).

    One set of workers reads the files and writes each corrected copy as soon as its file is
    read; the copies the cross-checks between partners may add to are written after them.
    The copy of a version replaced by a newer one is removed (see
    `feedback.remove_replaced_copies`). With `whole_folder` (`sources` is the year's whole
    forms folder), the copies of earlier runs that are no longer due are removed too (see
    `feedback.remove_stale_copies`).
    """
    from cia_workbook.intake.campaign import CROSS_CHECKED_TABLES, collect_campaign
    from cia_workbook.intake.files import expand_sources
    from cia_workbook.intake.pool import Workers
    from cia_workbook.partners.feedback import (
        CopyOnRead,
        StaleCopies,
        copy_targets,
        remove_replaced_copies,
        remove_stale_copies,
        return_address,
        write_feedback,
    )

    targets = copy_targets(expand_sources(sources), outdir)
    # Isolated: a file whose reading kills its process costs only that file, never the run.
    problems: list[Finding] = []
    with Workers(
        convention,
        year,
        cache=cache,
        after_read=CopyOnRead(targets, year, return_address(convention)),
        # Not the bailleurs' Attributions: their contingents are counted where they are read.
        tables_back=CROSS_CHECKED_TABLES,
        isolate=True,
    ) as pool:
        campaign = collect_campaign(convention, year, sources, progress=progress, cache=cache, pool=pool)
        written = write_feedback(convention, campaign, outdir, pool=pool, problems=problems)
    stale = remove_replaced_copies(campaign, outdir)
    if whole_folder:
        more = remove_stale_copies(outdir, written)
        stale = StaleCopies(stale.removed + more.removed, stale.left + more.left)
    return campaign, written, stale, problems


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

    An output that cannot be written (read-only folder, full disk) stops the run with a
    `PipelineError` naming it; every output is written whole or not at all.
    """
    try:
        return _consolidation(convention, layout, year, diffusions, word, progress)
    except OSError as exc:
        from cia_workbook.fileio import describe_os_error

        where = getattr(exc, "target", None) or exc.filename or layout.outputs(year)
        raise PipelineError(
            f"{where} n'a pas pu être écrit ({describe_os_error(exc)}). La consolidation {year} est "
            "arrêtée ; aucun fichier incomplet n'est laissé à sa place. Relancez "
            f"« cia-workbook consolidate --year {year} » une fois le problème réglé."
        ) from None


def _consolidation(
    convention: Convention,
    layout: Layout,
    year: int,
    diffusions: tuple[str, ...],
    word: bool,
    progress: Progress | None,
) -> ConsolidationResult:
    from cia_workbook.consolidate import consolidate
    from cia_workbook.intake.cache import ReturnCache
    from cia_workbook.intake.campaign import collect_campaign
    from cia_workbook.render.workbook import (
        data_csv_names,
        data_in_csv,
        data_parquet_names,
        write_consolidation_xlsx,
        write_data_csvs,
        write_data_parquet,
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
    # Each year's returns from the cache, or read, checked and cached on worker processes.
    campaigns = {
        y: collect_campaign(
            convention, y, [layout.forms(y)], progress=progress, cache=caches[y], isolate=True
        )
        for y in years
    }
    # Several territories at once: the validated rows go to CSV files beside the workbook
    # (see report_xlsx.DATA_SHEET_MAX_ROWS); CSV files left by an earlier, larger run are
    # removed.
    in_csv = data_in_csv(campaigns[year])
    bilan = consolidate(convention, campaigns, year)
    commission = _commission_work(convention, layout, campaigns, bilan.rehousing)
    # The Word documents are laid out on a second core while this process writes the
    # workbook and the data files (a third of the command each).
    words = _in_child(lambda: _word_documents(convention, layout, bilan, diffusions)) if word else None
    # The partners' flux reports (a workbook per bailleur) are written on the other cores too.
    writers, flux_done = _flux_reports(convention, campaigns[year], year, layout)
    fluxes = [_in_child(write) for write in writers]
    result = ConsolidationResult(year)
    try:
        # The flux writers are waited for before this process writes anything more: they share
        # its memory as it was when they were forked, and what it freed and allocated again
        # meanwhile was held twice (a national campaign peaked at 700 to 940 MB instead of 580,
        # for the same time: two cores are busy either way).
        for share in fluxes:
            share()
        fluxes.clear()  # their figures (some 170,000 groups at national size) are no longer needed
        flux_paths, flux_notes = flux_done()
        result.notes += flux_notes
        result.outputs.append(
            write_consolidation_xlsx(
                convention,
                bilan,
                campaigns[year],
                outdir / f"consolidation-{year}.xlsx",
                data_csv={key: path.name for key, path in csvs.items()} if in_csv else None,
            )
        )
        if commission is not None:
            result.outputs.append(commission())
        parquet = data_parquet_names(year, bilan.rehousing is not None)
        result.outputs += write_data_parquet(
            convention, campaigns[year], {k: outdir / n for k, n in parquet.items()}
        )
        result.outputs += flux_paths
        if in_csv:
            result.outputs += write_data_csvs(convention, campaigns[year], csvs)
        else:
            for path in csvs.values():
                path.unlink(missing_ok=True)
    except BaseException:
        for share in fluxes:
            share(quiet=True)
        if words is not None:  # the workbook's error is the one told: the documents come after it
            words(quiet=True)
        raise
    if words is not None:
        documents, notes = words()
        result.outputs += documents
        result.notes += notes
    lines = bilan.summary_lines()
    if bilan.rehousing is not None and bilan.rehousing.commission is not None:
        lines += bilan.rehousing.commission.lines
    unread = [rf for rf in campaigns[year].files if rf.status == "illisible"]
    if unread:  # no figure comes from them: the officer is told which and why
        lines += ["", f"Fichiers de {year} illisibles, dont aucun chiffre n'est tiré :"]
        for rf in unread:
            first = rf.findings[0] if rf.findings else None
            lines.append(f"  {rf.name}" + (f" : [{first.code}] {first.message}" if first else ""))
    lines += ["", "Fichiers écrits :"]
    lines += [f"  {p}" for p in result.outputs]
    lines += result.notes
    result.lines = lines
    result.summary = "\n".join(lines)
    return result


def _commission_work(convention: Convention, layout: Layout, campaigns: dict, rbilan: Any):
    """The commission's decisions read back from the layout's commission folder into `rbilan`
    (before the annexes are laid out), and the writing of this year's commission workbook, to
    call with the other outputs; None without a charter."""
    if rbilan is None:
        return None
    from cia_workbook.consolidate.commission import case_states, commission_work
    from cia_workbook.intake.commission import commission_files, read_commission
    from cia_workbook.intake.rehousing_rules import household_key
    from cia_workbook.partners.commission import commission_xlsx_name, write_commission_xlsx
    from cia_workbook.render.typography import count

    year = rbilan.year
    known = {household_key(h.id) for h in rbilan.households}
    decisions, lines = [], []
    for book, path in commission_files(layout.commission(), year):
        found, findings = read_commission(path, book, known, year)
        decisions += found
        taken = count(len(found), "décision reprise", "décisions reprises")
        wrong = f", {count(len(findings), 'constat')} (lignes non reprises) :" if findings else "."
        lines.append(f"Classeur de la commission {path} : {taken}{wrong}")
        lines += [f"  {f.text}" for f in findings]
    target = layout.outputs(year) / commission_xlsx_name(year)
    lines.append(
        f"Classeur de la commission pour les séances de {year + 1} : {target} ; rempli, déposez-le dans "
        f"{layout.commission()} sous le même nom, la consolidation {year + 1} reprend ses décisions."
    )
    work = commission_work(rbilan, decisions)
    work.lines = lines
    rbilan.commission = work
    states = case_states(campaigns, year)

    def write() -> Path:
        return write_commission_xlsx(rbilan, states, work, target, convention.info.id)

    return write


def _flux_reports(convention: Convention, campaign: Any, year: int, layout: Layout) -> tuple[list, Callable]:
    """The partners' own reports (render/flux.py): a flux report per bailleur, a contribution per
    réservataire, in outputs/<année>/flux/. Their figures are counted here (polars). Returns the
    functions that write them, a share each (xlsxwriter only: each may run in a forked child, one
    share per core), and the function to call once they are written: (every report's path, the
    note for the officer). A report whose inputs did not change since it was written is left as
    it is (`render.flux.Stamps`).

    Each share is handed over pickled and the figures themselves are let go before the writers
    are forked: a forked child that walked the parent's objects touched (and so copied) nearly
    every page holding them, some 60 MB each at national size; now each holds its own share."""
    from cia_workbook.consolidate.flux import bailleur_fluxes, reservataire_contributions
    from cia_workbook.consolidate.frames import attribution_frame
    from cia_workbook.intake.pool import available_cores
    from cia_workbook.render.flux import Stamps, report_names, shares, stale_reports, write_flux_reports
    from cia_workbook.render.typography import count

    folder = layout.flux(year)
    frame = attribution_frame(convention, campaign, year)
    fluxes = bailleur_fluxes(convention, campaign, frame)
    contributions = reservataire_contributions(convention, campaign, frame, year)
    stamps = Stamps(layout.cache(year) / "rapports-flux.json", folder, convention, year)
    names = report_names(year, fluxes, contributions)
    due = [stamps.due(name, report) for name, report in zip(names, [*fluxes, *contributions], strict=True)]
    k = len(fluxes)
    fluxes = [f for f, d in zip(fluxes, due[:k], strict=True) if d]
    contributions = [c for c, d in zip(contributions, due[k:], strict=True) if d]
    n = max(1, min(available_cores(), 4, sum(due)))
    pickled = [pickle.dumps(share, pickle.HIGHEST_PROTOCOL) for share in shares(fluxes, contributions, n)]
    del fluxes, contributions

    def write(share: bytes) -> list[Path]:
        return write_flux_reports(convention, year, *pickle.loads(share), folder)

    def done() -> tuple[list[Path], list[str]]:
        stamps.save()
        notes = []
        kept = len(names) - sum(due)
        if kept:
            notes.append(
                f"Rapports des partenaires ({folder}) : {count(sum(due), 'écrit')}, {count(kept, 'inchangé')} "
                "(leurs chiffres sont ceux de la consolidation précédente : fichiers laissés tels quels)."
            )
        for path in stale_reports(convention, year, folder, names):
            # Written by an earlier run from a return the bilan no longer uses: its figures
            # are not the bilan's.
            try:
                path.unlink()
                notes.append(
                    f"Rapport retiré : {path} (aucun retour de ce partenaire n'est retenu pour le bilan "
                    f"{year} ; il sera écrit à nouveau quand son retour le sera)."
                )
            except OSError:
                notes.append(
                    f"Attention : {path} n'a pas pu être supprimé ; ses chiffres ne sont pas ceux du bilan "
                    f"{year} (aucun retour de ce partenaire n'est retenu). Supprimez-le à la main."
                )
        return [folder / name for name, d in zip(names, due, strict=True) if d], notes

    return ([lambda share=share: write(share) for share in pickled] if any(due) else []), done


def _word_documents(
    convention: Convention, layout: Layout, bilan: Any, diffusions: tuple[str, ...]
) -> tuple[list[Path], list[str]]:
    """The bilan and the annexes of each audience: (the files written, the notes for the officer)."""
    from cia_workbook.render.annexes import write_annexes_docx
    from cia_workbook.render.bilan import write_bilan_docx
    from cia_workbook.render.charts import ChartCache
    from cia_workbook.render.names import annexes_docx_name, bilan_docx_name

    out = ConsolidationResult(bilan.year)
    commentary, template = _commentary_and_template(convention, layout, bilan, out)
    charts = ChartCache(layout.cache(bilan.year) / "graphiques")
    outdir = layout.outputs(bilan.year)
    for diffusion in diffusions:
        path = outdir / bilan_docx_name(bilan.year, diffusion)
        out.outputs.append(
            write_bilan_docx(
                convention,
                bilan,
                path,
                diffusion=diffusion,
                commentary=commentary,
                template=template,
                charts=charts,
            )
        )
        if bilan.rehousing is not None:
            path = outdir / annexes_docx_name(bilan.year, diffusion)
            out.outputs.append(
                write_annexes_docx(
                    convention, bilan.rehousing, path, diffusion=diffusion, template=template, charts=charts
                )
            )
    return out.outputs, out.notes


def _in_child(work: Callable[[], Any]) -> Callable[..., Any]:
    """Start `work` in a forked child process; call the result for its value (its exception is
    raised here; with `quiet=True`, only waited for). Where fork is unavailable, on one core, or
    when the child dies, `work` runs here, when asked. The child uses no polars (whose threads a
    fork does not copy): it lays out documents."""
    import multiprocessing

    from cia_workbook.intake.pool import available_cores

    if "fork" not in multiprocessing.get_all_start_methods() or available_cores() < 2:
        return lambda quiet=False: None if quiet else work()
    context = multiprocessing.get_context("fork")
    reader, writer = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(writer, work, os.getpid()))
    # The objects of this process frozen while it forks: the child's collections then never
    # write to their pages, which stay shared (a national campaign's flux writers each copied
    # some 80 MB of them).
    gc.freeze()
    try:
        process.start()
    finally:
        gc.unfreeze()
    writer.close()

    def result(quiet: bool = False) -> Any:
        try:
            kind, value = reader.recv()
        except (EOFError, OSError):  # the child died: the work is done here
            kind, value = "lost", None
        finally:
            reader.close()
            process.join()
        if quiet:
            return None
        if kind == "lost":
            return work()
        if kind == "error":
            raise value
        return value

    return result


def _child(conn, work: Callable[[], Any], parent: int) -> None:
    import multiprocessing
    import signal

    from cia_workbook.cli.runs import bind_to_parent

    bind_to_parent(parent)  # never outlives the command (kill -9 included)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interruption is the parent's to handle
    try:
        message = ("ok", work())
    except Exception as exc:
        message = ("error", exc)
    try:
        conn.send(message)
    except Exception:  # an answer that does not pickle: the parent does the work again
        pass
    finally:
        conn.close()
        # A helper the work left running (a chart drawer whose layout failed) would make this
        # process's exit wait for it, and the command with it: it is stopped instead.
        for helper in multiprocessing.active_children():
            helper.terminate()


def _commentary_and_template(convention: Convention, layout: Layout, bilan: Any, result: ConsolidationResult):
    """The officer's commentary (its file written the first time, never again) and the EPCI's
    Word template when the working folder has one."""
    from cia_workbook.render.bilan import commentary_sections
    from cia_workbook.render.commentary import read_commentary, write_commentary_docx
    from cia_workbook.render.word import template_path

    template = layout.bilan_template()
    template = template if template.is_file() else None
    path = layout.commentary(bilan.year)
    sections = commentary_sections(convention, bilan)
    if not path.is_file():
        with resources_file(template_path()) as packaged:
            write_commentary_docx(packaged, path, bilan.epci, bilan.year, sections)
        result.notes.append(
            f"Commentaires à rédiger : {path} (un titre par section du bilan). Complétez-le dans Word puis "
            "relancez la consolidation : le texte entre dans le bilan. Ce fichier n'est jamais réécrit."
        )
    else:
        result.notes.append(f"Commentaires repris de {path}.")
    return read_commentary(path, sections), template


def run_midterm(convention: Convention, layout: Layout, year: int, progress: Progress | None = None) -> Path:
    """The mid-term re-evaluation of `year` from every year's returns up to it: the Word file written."""
    from cia_workbook.consolidate.midterm import midterm
    from cia_workbook.intake.cache import ReturnCache
    from cia_workbook.intake.campaign import collect_campaign
    from cia_workbook.render.midterm import midterm_docx_name, write_midterm_docx

    years = [y for y in layout.form_years() if y in convention.years and y <= year]
    if year not in years:
        raise PipelineError(
            f"Aucune réponse pour {year} : le dossier {layout.forms(year)} est absent. La réévaluation à mi-parcours "
            f"repose sur les retours de chaque année jusqu'à {year} ; déposez-les dans forms/<année>/."
        )
    campaigns = {
        y: collect_campaign(
            convention,
            y,
            [layout.forms(y)],
            progress=progress,
            cache=ReturnCache(layout.cache(y), convention, y),
            isolate=True,
        )
        for y in years
    }
    template = layout.bilan_template()
    path = layout.outputs(year) / midterm_docx_name(year)
    try:
        return write_midterm_docx(
            convention, midterm(convention, campaigns, year), path, template if template.is_file() else None
        )
    except OSError as exc:
        from cia_workbook.fileio import describe_os_error

        raise PipelineError(f"{path} n'a pas pu être écrit ({describe_os_error(exc)}).") from None


def run_demo(convention: Convention, layout: Layout, year: int, seed: int = 2020) -> Iterator[str]:
    """The whole yearly cycle on synthetic returns, for every year of the convention up to `year`:
    the console lines, one at a time."""
    from cia_workbook.cli import console
    from cia_workbook.intake.cache import ReturnCache
    from cia_workbook.partners.demo import demo_submissions, fill_workbook, generate_campaign, is_missing
    from cia_workbook.partners.templates import template_filename, write_templates
    from cia_workbook.schema.sheets import schema_for

    years = [y for y in convention.years if y <= year]
    yield f"Démonstration sur la convention « {convention.info.title} », années {years[0]} à {year}."
    for y in years:
        paths = write_templates(convention, y, layout.templates(y))
        by_partner = {p.id: layout.templates(y) / template_filename(p, y) for p in convention.partners}
        forms = layout.forms(y)
        written = 0
        for sent in demo_submissions(convention, y, seed=seed, story=y == year):
            filled = sent.filled
            template = by_partner[filled.partner.id]
            schema = schema_for(convention, filled.partner.kind, y, filled.partner.id)
            fill_workbook(template, forms / f"{template.stem}{sent.suffix}{template.suffix}", filled, schema)
            written += 1
            if y == year:
                for mistake in filled.mistakes:
                    yield f"  {filled.partner.name} : {mistake}"
        if convention.collects_demand:  # the officer's own Demande workbook, from the SNE
            from cia_workbook.partners.demo_demand import attributions_per_commune, generate_demand
            from cia_workbook.schema.demand import DEMAND_KIND, demand_file_name

            name = demand_file_name(y)
            filled = generate_demand(convention, y, seed, attributions_per_commune(convention, y, seed))
            fill_workbook(
                layout.templates(y) / name, forms / name, filled, schema_for(convention, DEMAND_KIND, y)
            )  # type: ignore[arg-type]
            written += 1
        if y == year:
            for filled in generate_campaign(convention, y, seed=seed):
                if is_missing(filled):
                    yield f"  {filled.partner.name} : {filled.mistakes[0]}"
        yield f"{y} : {len(paths)} modèles dans {layout.templates(y)}, {written} réponses fictives dans {forms}."
    # As `validate` does: what is read here is cached, so the consolidation reads no file again.
    cache = ReturnCache(layout.cache(year), convention, year)
    campaign, written, stale, problems = run_validation(
        convention, year, [layout.forms(year)], layout.outputs(year), cache, whole_folder=True
    )
    yield ""
    yield from console.campaign_lines(convention, campaign, written, stale, problems)
    yield ""
    # The commission's decisions of the two years before: its workbooks, filled, in commission/.
    from cia_workbook.intake.campaign import collect_campaign
    from cia_workbook.partners.demo_commission import write_demo_commission

    earlier = [y for y in years if y >= year - 2 and y < year]
    if earlier and convention.rehousing is not None:
        campaigns = {
            y: collect_campaign(
                convention, y, [layout.forms(y)], cache=ReturnCache(layout.cache(y), convention, y)
            )
            for y in years
            if y < year
        }
        for y in earlier:
            path = write_demo_commission(convention, campaigns, y, layout.commission())
            if path is not None:
                yield f"Décisions fictives de la commission de coordination (séances de {y + 1}) : {path}"
    result = run_consolidation(convention, layout, year, diffusions=("restreinte", "publique"))
    yield from result.lines
    yield ""
    docx = [p for p in result.outputs if p.suffix == ".docx"]
    midterm = convention.info.midterm_year
    if midterm is not None and midterm in years:
        docx.append(run_midterm(convention, layout, midterm))
    yield "Rapports Word : " + ", ".join(str(p.resolve()) for p in docx)
