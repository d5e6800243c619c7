"""The command line: parses options, finds the paths, calls one library function per command.

The folder layout (templates/, forms/, outputs/) is known here and in `workdir`, nowhere else.
Heavy libraries are imported inside the commands so that `cia-workbook --help` answers at once.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import click

from cia_workbook import __version__
from cia_workbook.cli import french as cli_fr  # noqa: F401  (French wording for click)
from cia_workbook.cli.terminal import ReadingBar, visible, visible_json
from cia_workbook.cli.workdir import Workdir

# polars' allocator (jemalloc) keeps the memory a computation freed for about ten seconds by
# default: a consolidation of a national campaign then held twice the memory its frames need
# (758 against 418 MB at the peak). Freed memory goes back to the system at once, in this process
# and in its workers (they inherit the environment). What a user set is kept (after ours, so it
# wins); polars' own defaults, which its import writes into the environment, are not the user's:
# a command started by a Python process that had imported polars inherited them and peaked at
# 817 MB instead of 556.
_JEMALLOC = "_RJEM_MALLOC_CONF"
_POLARS_DEFAULT = "dirty_decay_ms:500,muzzy_decay_ms:1000"
_users = os.environ.get(_JEMALLOC, "").removeprefix(_POLARS_DEFAULT).strip(",")
os.environ[_JEMALLOC] = ",".join(filter(None, ["dirty_decay_ms:0,muzzy_decay_ms:0", _users]))

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def say(lines: Iterable[str], err: bool = False) -> None:
    """The one way a command prints: each item one console line, every character a terminal
    would act on (in a partner's cell, sheet or file name) shown as an escape."""
    click.echo("\n".join(visible(line) for line in lines), err=err)


@contextmanager
def _visible_errors():
    """Error messages (ours, and click's, which quote the paths and values typed) shown like
    every other line."""
    try:
        yield
    except click.ClickException as exc:
        exc.message = visible(exc.message, keep_newlines=True)
        raise


class CommandGroup(click.Group):
    def make_context(self, info_name, args, parent=None, **extra):
        with _visible_errors():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx):
        with _visible_errors():
            return super().invoke(ctx)


def default_year() -> int:
    """The campaign year by default: the last complete calendar year."""
    return dt.date.today().year - 1


def _year_option(func=None, *, help_text: str = "Année évaluée (par défaut : l'année civile précédente)."):
    def decorate(f):
        return click.option(
            "--year", "--annee", "year", type=int, default=None, metavar="ANNÉE", help=help_text
        )(f)

    return decorate(func) if func is not None else decorate


def _check_year(convention, year: int, used: Iterable[int] = ()) -> None:
    """Refuse a year the convention cannot judge; say on stderr, before the command's work, what
    the convention allows but probably did not mean, and the years used (`year` and `used`)
    whose quartiles cannot be checked."""
    from cia_workbook.convention.settings import ConventionError

    try:
        convention.check_year(year)
    except ConventionError as exc:
        raise click.ClickException(str(exc)) from None
    warnings = convention.warnings + convention.year_warnings([year, *used])
    if warnings:
        say([f"Attention : {w}" for w in warnings], err=True)


@click.group(cls=CommandGroup, context_settings=CONTEXT, subcommand_metavar="COMMANDE [ARGUMENTS]...")
@click.version_option(__version__, "--version", message="cia-workbook %(version)s")
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default="dossier courant",
    help="Dossier de travail (convention.toml, templates/, forms/, outputs/).",
)
@click.pass_context
def main(ctx: click.Context, workdir: Path) -> None:
    """Évaluation annuelle d'une convention intercommunale d'attribution (CIA).

    \b
    Nouveau territoire, une fois :
      cia-workbook init mon-dossier --epci "CA de Nîmes Métropole"
      puis compléter mon-dossier/convention.toml (partenaires) et travailler avec --dir mon-dossier

    \b
    Cycle annuel :
      1. cia-workbook templates --year 2024   modèles à envoyer aux partenaires
      2. les réponses sont déposées dans forms/2024/
      3. cia-workbook validate --year 2024    contrôle des réponses, retours aux partenaires
      4. cia-workbook consolidate --year 2024 bilan Word et classeur consolidé

    Sans fichier convention.toml dans le dossier de travail, la convention intégrée
    (Alès Agglomération 2020-2026) est utilisée.
    """
    from cia_workbook.cli.runs import stop_on_sigterm

    ctx.obj = Workdir(workdir)
    ctx.with_resource(stop_on_sigterm())


def _period(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    found = re.fullmatch(r"\s*(\d{4})\s*[-–/]\s*(\d{4})\s*", value)
    if not found:
        raise click.BadParameter(
            f"« {value} » : écrivez la période ainsi : 2025-2030.", param_hint="--annees"
        )
    return int(found.group(1)), int(found.group(2))


@main.command()
@click.argument(
    "directory", required=False, metavar="[DOSSIER]", type=click.Path(file_okay=False, path_type=Path)
)
@click.option(
    "--epci",
    "epci_query",
    metavar="NOM|SIREN",
    help="Prépare la convention de cet EPCI (nom, partie du nom ou SIREN) : communes, QPV 2024, seuils "
    "de quartile et cibles légales pré-remplis. Sans cette option : la convention intégrée d'exemple.",
)
@click.option(
    "--annees",
    "--years",
    "period",
    metavar="PREMIÈRE-DERNIÈRE",
    help="Avec --epci : période de la convention (par défaut : 2024 et les cinq années suivantes).",
)
@click.option("--force", is_flag=True, help="Remplacer un convention.toml existant.")
@click.pass_obj
def init(
    wd: Workdir, directory: Path | None, epci_query: str | None, period: str | None, force: bool
) -> None:
    """Prépare un dossier de travail : convention.toml, modele-bilan.docx et dossiers templates/, forms/, outputs/.

    \b
    Pour un nouveau territoire :
      cia-workbook init mon-dossier --epci "CA de Nîmes Métropole"
    puis complétez les partenaires dans mon-dossier/convention.toml.
    """
    from cia_workbook.convention.settings import embedded_convention_text
    from cia_workbook.fileio import write_text_atomic

    years = _period(period)
    if years is not None and epci_query is None:
        raise click.UsageError("--annees ne sert qu'avec --epci.")
    root = directory if directory is not None else wd.root
    target = Workdir(root).convention_path
    keep = target.exists() and not force
    text, epci = embedded_convention_text(), None
    if epci_query is not None:
        from cia_workbook.convention import territory

        ref = territory.reference()
        try:
            epci = territory.find_one(ref, epci_query)
            first, last = years or (territory.FIRST_YEAR, territory.FIRST_YEAR + territory.DEFAULT_YEARS - 1)
            text = territory.convention_text(ref, epci, first, last)
        except territory.TerritoryError as exc:
            raise click.ClickException(str(exc)) from None
    root.mkdir(parents=True, exist_ok=True)
    for name in ("templates", "forms", "outputs"):
        (root / name).mkdir(exist_ok=True)
    if keep:
        say([f"{target} existe déjà : il est conservé (--force pour le remplacer)."])
    else:
        write_text_atomic(target, text)
        say([f"Convention écrite : {target}" + (f" ({epci.name}, SIREN {epci.siren})" if epci else "")])
    model = Workdir(root).bilan_template()
    if model.exists():
        say([f"{model} existe déjà : il est conservé."])
    else:
        from cia_workbook.fileio import write_atomic
        from cia_workbook.render.word import template_path

        data = template_path().read_bytes()
        write_atomic(model, lambda tmp: tmp.write_bytes(data))
        say(
            [
                f"Modèle Word du bilan écrit : {model} (styles, logo dans l'en-tête, texte de couverture : "
                "modifiez-le dans Word, les bilans suivants le suivront)."
            ]
        )
    if epci is not None and not keep:
        say(
            [
                f"Dossier de travail prêt : {root.resolve()}",
                f"Complétez {target} (lignes « À COMPLÉTER ») : les partenaires d'abord, puis les années, les "
                "cibles de la convention et l'adresse de retour ; ensuite lancez « cia-workbook templates ».",
            ]
        )
    else:
        say(
            [
                f"Dossier de travail prêt : {root.resolve()}",
                "Modifiez convention.toml pour l'adapter à votre territoire, puis lancez « cia-workbook templates ».",
            ]
        )


@main.command()
@click.argument("query", metavar="CHERCHE")
def epci(query: str) -> None:
    """Cherche un EPCI par son nom (ou une partie) ou son SIREN : SIREN, type, nom, communes, QPV, seuils.

    Le nom ou le SIREN trouvé se donne ensuite à « cia-workbook init DOSSIER --epci ».
    """
    from cia_workbook.convention import territory

    ref = territory.reference()
    found = ref.search(query)
    if not found:
        raise click.ClickException(
            "\n".join(
                [
                    f"Aucun EPCI ne correspond à « {query} ». Noms les plus proches :",
                    *territory.epci_lines(ref, ref.closest(query)),
                ]
            )
        )
    n = len(found)
    say([f"{n} EPCI correspond{'ent' if n > 1 else ''} à « {query} » :", *territory.epci_lines(ref, found)])


@main.command()
@_year_option
@click.option(
    "--partner",
    "--partenaire",
    "partner_ids",
    multiple=True,
    metavar="IDENTIFIANT",
    help="Identifiant d'un partenaire (répétable) ; par défaut tous.",
)
@click.pass_obj
def templates(wd: Workdir, year: int | None, partner_ids: tuple[str, ...]) -> None:
    """Écrit les modèles Excel à envoyer à chaque partenaire dans templates/<année>/."""
    from cia_workbook.partners.templates import write_templates

    convention, path = wd.convention()
    year = year or default_year()
    _check_year(convention, year)
    _check_contact(convention, path)
    unknown = [p for p in partner_ids if p not in convention.partners_by_id]
    if unknown:
        known = ", ".join(convention.partners_by_id)
        raise click.ClickException(
            f"Partenaire inconnu : {', '.join(unknown)}. Partenaires de la convention : {known}."
        )
    with wd.lock([year], "templates"):
        previous = _previous_campaign(wd, convention, year)
        paths = write_templates(
            convention, year, wd.templates(year), partner_ids=partner_ids or None, previous=previous
        )
    from cia_workbook.cli.console import count
    from cia_workbook.schema.formatdoc import format_doc_name

    say(
        [
            *(f"  {path}" for path in paths),
            f"{count(len(paths), 'modèle écrit', 'modèles écrits')} dans {wd.templates(year)}.",
            f"Format des classeurs, pour les éditeurs de logiciels : {wd.templates(year) / format_doc_name(year)} "
            "(et le schéma Table Schema de chaque tableau, schema-<tableau>-<année>.json, à côté).",
        ]
    )


def _check_contact(convention, path) -> None:
    """Templates tell partners where to send their files: none without a return address."""
    from cia_workbook.partners.templates import MissingContact, require_contact

    try:
        require_contact(convention)
    except MissingContact as exc:
        raise click.ClickException(
            f"{exc} Fichier de la convention : {path or 'convention intégrée'}."
        ) from None


def _previous_campaign(wd: Workdir, convention, year: int):
    """The validated returns of the year before, to pre-fill the comparison in Synthèse."""
    folder = wd.forms(year - 1)
    if year - 1 not in convention.years or not folder.is_dir():
        return None
    from cia_workbook.intake.campaign import collect_campaign

    return collect_campaign(convention, year - 1, [folder], isolate=True)


@main.command()
@click.argument("paths", nargs=-1, metavar="[CHEMIN]...", type=click.Path(exists=True, path_type=Path))
@_year_option
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON pour les programmes.")
@click.pass_obj
def validate(wd: Workdir, paths: tuple[Path, ...], year: int | None, as_json: bool) -> None:
    """Contrôle les classeurs reçus (un fichier ou un dossier ; par défaut forms/<année>/).

    Chaque problème est signalé avec le fichier, la feuille, la cellule, un code stable et la
    façon de le corriger. Code de sortie 1 si un fichier contient une erreur.
    """
    from cia_workbook.cli import console
    from cia_workbook.cli.pipeline import run_validation
    from cia_workbook.intake.cache import ReturnCache
    from cia_workbook.intake.model import replaced_by

    convention, _ = wd.convention()
    year = year or default_year()
    _check_year(convention, year)
    sources = list(paths) or [wd.forms(year)]
    if not paths and not wd.forms(year).is_dir():
        raise click.ClickException(
            f"Le dossier {wd.forms(year)} n'existe pas : déposez-y les classeurs reçus pour {year}."
        )
    bar = ReadingBar()
    try:
        with wd.lock([year], "validate"):
            cache = ReturnCache(wd.cache(year), convention, year)
            campaign, written, stale, problems = run_validation(
                convention, year, sources, wd.outputs(year), cache, progress=bar, whole_folder=not paths
            )
    finally:
        bar.close()
    if as_json:  # JSON escapes C0 controls, not C1 ones nor bidirectional characters
        click.echo(visible_json(console.campaign_json(convention, campaign, written, stale, problems)))
    else:
        say(console.campaign_lines(convention, campaign, written, stale, problems))
    # A replaced version's errors no longer count: the newer version's do.
    replaced = replaced_by(campaign)
    if problems or any(rf.has_errors for rf in campaign.files if not rf.ignored and id(rf) not in replaced):
        sys.exit(1)


@main.command()
@_year_option
@click.option(
    "--diffusion",
    type=click.Choice(["restreinte", "publique"]),
    default="restreinte",
    show_default=True,
    help="restreinte : document de travail de la commission ; publique : petits effectifs masqués.",
)
@click.option(
    "--sans-word", "no_word", is_flag=True, help="Ne pas écrire les rapports Word (mesures de performance)."
)
@click.option(
    "--pdf", "pdf", is_flag=True, help="Écrire aussi les documents en PDF (LibreOffice nécessaire)."
)
@click.pass_obj
def consolidate(wd: Workdir, year: int | None, diffusion: str, no_word: bool, pdf: bool) -> None:
    """Consolide les réponses valides : bilan Word et classeur consolidé dans outputs/<année>/.

    Le bilan suit le modèle Word du dossier de travail (modele-bilan.docx) quand il existe, et
    reprend les commentaires de outputs/<année>/commentaires-<année>.docx.
    """
    from cia_workbook.cli.pipeline import PipelineError, run_consolidation

    convention, _ = wd.convention()
    year = year or default_year()
    # Every year read is locked: its cache receives the returns read (see runs.py).
    years = [y for y in wd.form_years() if y in convention.years and y <= year] or [year]
    _check_year(convention, year, years)
    bar = ReadingBar()
    try:
        with wd.lock(years, "consolidate"):
            result = run_consolidation(
                convention, wd, year, diffusions=(diffusion,), word=not no_word, progress=bar
            )
    except PipelineError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        bar.close()
    say(result.lines)
    if pdf and not no_word:
        from cia_workbook.render.pdfexport import PdfError, convert_to_pdf

        documents = [p for p in result.outputs if p.suffix == ".docx"]
        try:
            pdfs = convert_to_pdf(documents, wd.outputs(year))
        except PdfError as exc:
            raise click.ClickException(str(exc)) from None
        say(["PDF écrits :", *(f"  {path}" for path in pdfs)])


@main.command("mi-parcours")
@_year_option(help_text="Année de la réévaluation (par défaut : annee_mi_parcours du fichier de convention).")
@click.pass_obj
def mi_parcours(wd: Workdir, year: int | None) -> None:
    """Réévaluation à mi-parcours : outputs/<année>/reevaluation-mi-parcours-<année>.docx.

    Chaque objectif par bailleur et par réservataire depuis le début de la convention, l'écart à
    la cible, ce qu'il aurait fallu pour l'atteindre, les indicateurs des actions, et les cibles
    en vigueur pré-remplies comme cibles proposées, à modifier par la commission.
    """
    from cia_workbook.cli.pipeline import PipelineError, run_midterm

    convention, _ = wd.convention()
    year = year or convention.info.midterm_year
    if year is None:
        raise click.ClickException(
            "Le fichier de convention ne fixe pas d'année de réévaluation à mi-parcours (clé annee_mi_parcours "
            "de la section [convention]) : ajoutez-la, ou donnez l'année avec --year."
        )
    years = [y for y in wd.form_years() if y in convention.years and y <= year] or [year]
    _check_year(convention, year, years)
    bar = ReadingBar()
    try:
        with wd.lock(years, "mi-parcours"):
            path = run_midterm(convention, wd, year, progress=bar)
    except PipelineError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        bar.close()
    say([f"Réévaluation à mi-parcours {year} : {path}"])


@main.command()
@_year_option(
    help_text="Dernière année de la démonstration (par défaut : 2024) ; les années depuis le début de la convention sont générées aussi."
)
@click.option(
    "--seed",
    "--graine",
    "seed",
    type=int,
    default=2020,
    show_default=True,
    metavar="NOMBRE",
    help="Graine des données synthétiques.",
)
@click.pass_obj
def demo(wd: Workdir, year: int | None, seed: int) -> None:
    """Démonstration complète sur la convention du dossier de travail : modèles, réponses fictives, contrôle, bilan.

    La convention est le convention.toml du dossier (--dir), à défaut l'exemple livré avec l'outil.
    Les réponses des partenaires sont synthétiques (reproductibles, plausibles) et comportent
    quelques erreurs typiques pour montrer le contrôle.
    """
    from cia_workbook.cli.pipeline import run_demo

    year = year or 2024
    convention, path = wd.convention()
    years = [y for y in convention.years if y <= year]
    _check_year(convention, year, years)
    _check_contact(convention, path)
    wd.root.mkdir(parents=True, exist_ok=True)
    with wd.lock(years, "demo"):
        for line in run_demo(convention, wd, year, seed=seed):
            say([line])


def run() -> None:
    """The console script `cia-workbook`: the command, then every object left frozen for the
    interpreter's exit (its last collections would go over all of them, a tenth of a second
    of a consolidation, for memory the end of the process gives back anyway). Tests call
    `main` instead: in a long-lived process, frozen objects would never be collected."""
    import gc

    try:
        main()
    finally:
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    run()
