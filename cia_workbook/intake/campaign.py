"""Intake stage: the register of one year's submissions, from received files to a `Campaign`.

Every file given (or found in a given folder) is hashed, read, validated and listed (`files`,
on worker processes: `pool`). For each
partner the newest version is used and older ones are kept as superseded; files of another
year, partner or convention are listed with their error and used for no one. Cross-checks
between réservataires' declarations and bailleurs' rows are added last (`crosscheck`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from cia_workbook.convention.settings import Convention
from cia_workbook.intake.crosscheck import cross_check
from cia_workbook.intake.files import expand_sources
from cia_workbook.intake.model import Campaign, ReturnFile
from cia_workbook.intake.pool import Progress, Workers, read_returns
from cia_workbook.schema.findings import Finding
from cia_workbook.schema.sheets import CODED_COLUMNS

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
        convention, year, expand_sources(sources), engine, workers, progress, cache, pool, isolate,
        arrived=compact_tables,
    )  # fmt: skip
    roots = [Path(s) for s in sources if Path(s).is_dir()]
    return campaign_of(convention, year, files, roots=roots, compacted=True)


def campaign_of(
    convention: Convention,
    year: int,
    files: list[ReturnFile],
    roots: list[Path] = (),
    compacted: bool = False,
) -> Campaign:
    """The campaign of the returns `files` (read and validated): the version used for each
    partner, the missing partners, the cross-checks between partners. `roots`: the folders the
    files were found in, whose sub-folders named after a partner say whose files they hold;
    `compacted`: their tables already put end to end (`compact_tables`)."""
    for rf in files:
        place_conflicts(convention, rf, roots)
    if not compacted:
        compact_tables(files)
    used, superseded = choose_versions(convention, year, files)
    missing = [p.id for p in convention.partners if p.id not in used]
    campaign = Campaign(year=year, files=files, used=used, superseded=superseded, missing=missing)
    demand = sorted((rf for rf in files if _demand_file(rf, year)), key=version_key, reverse=True)
    if demand:  # the EPCI's own Demande workbook: the newest, kept apart from the partners' returns
        campaign.demand, campaign.demand_superseded = demand[0], demand[1:]
    campaign.cross_findings = cross_check(convention, year, campaign)
    return campaign


def compact_tables(files: list[ReturnFile]) -> None:
    """Each table of the returns put end to end in one frame per table key and column types
    (the files of a campaign a batch at a time, as they are read: see `collect_campaign`),
    and each return's table made a slice of it (no copy), its coded columns categoricals
    (`CODED_COLUMNS`). Read one by one (from the cache or from the workers), a national
    campaign's thousand returns were some 30,000 small columns, some three times the memory
    of their rows."""
    groups: dict[tuple, list] = {}
    for rf in files:
        for key, table in rf.tables.items():
            if table.frame.height or key in CODED_COLUMNS:  # every table of a key alike coded
                groups.setdefault((key, *table.frame.schema.items()), []).append(rf)
    for (key, *_), owners in groups.items():
        coded = [
            c for c in CODED_COLUMNS.get(key, ()) if owners[0].tables[key].frame.schema.get(c) == pl.String
        ]
        if len(owners) < 2 and not coded:
            continue
        whole = pl.concat([rf.tables[key].frame for rf in owners], rechunk=True)
        whole = whole.with_columns(pl.col(coded).cast(pl.Categorical))
        offset = 0
        for rf in owners:
            table = rf.tables[key]
            height = table.frame.height
            rf.tables[key] = dataclasses.replace(table, frame=whole.slice(offset, height))
            offset += height


# Tables the cross-checks between partners read (and may add findings to): a réservataire's
# declarations and the rehousing rows. A bailleur's Attributions enter them through its
# contingents, counted in the parent (`cross_check`).
CROSS_CHECKED_TABLES = frozenset({"contingent", "relogements"})


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
