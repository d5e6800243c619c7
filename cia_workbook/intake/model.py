"""Data passed between the stages: what the reader and validator hand to the consolidation.

read → validate → consolidate → render: each stage takes and returns these plain objects and
never reaches back into files; only the CLI knows paths.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import polars as pl

from cia_workbook.schema.findings import Finding

Status = Literal["valide", "avertissements", "erreurs", "illisible", "ignore"]


@dataclass(frozen=True)
class Identity:
    """What a template says about itself (kept where Excel and LibreOffice preserve it)."""

    marker: str
    schema_version: str
    convention_id: str
    partner_id: str
    kind: str  # "bailleur" | "reservataire"
    year: int


@dataclass(frozen=True)
class Placement:
    """Where the rows of a table were read: the sheet's title and each column's A1 letter (columns
    may have moved). A table has the placement of its sheet, then one per copy of the sheet read
    with it (« Attributions (2) »)."""

    sheet_title: str
    letters: dict[str, str]


# Columns every table frame carries besides the schema's: the sheet row the partner sees (1-based)
# and the index of its placement in `Table.placements`.
ROW = "_ligne"
SHEET = "_feuille"


@dataclass
class Table:
    """A table sheet read into a polars frame: one column per schema column key, typed by the
    schema (text and codes `String`, integer `Int64`, decimal `Float64`, date `Date`; an empty or
    invalid cell is null), plus `ROW` and `SHEET`. A column absent from the return is all null.
    Once a campaign is put together, the coded columns of `schema.sheets.CODED_COLUMNS` are
    categoricals (`campaign.compact_tables`)."""

    sheet_key: str
    frame: pl.DataFrame
    placements: list[Placement] = field(default_factory=list)
    _lists: dict[str, list[Any]] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(
        cls,
        sheet_key: str,
        sheet_title: str,
        rows: list[int],
        columns: dict[str, list[Any]],
        letters: dict[str, str] | None = None,
    ) -> Table:
        """A table of one sheet from plain lists (tests, the demo): dtypes as polars infers them."""
        data = {k: pl.Series(k, v, strict=False) for k, v in columns.items()}
        frame = pl.DataFrame(
            [s.cast(pl.String) if s.dtype == pl.Null else s for s in data.values()], height=len(rows)
        ).with_columns(pl.Series(ROW, rows, pl.UInt32), pl.lit(0, pl.UInt8).alias(SHEET))
        return cls(sheet_key, frame, [Placement(sheet_title, dict(letters or {}))])

    @property
    def sheet_title(self) -> str:
        return self.placements[0].sheet_title

    @property
    def letters(self) -> dict[str, str]:
        return self.placements[0].letters

    def __len__(self) -> int:
        return self.frame.height

    def position(self, index: int, key: str) -> tuple[str, str]:
        """(sheet title, A1 cell) of column `key` in the row at `index`."""
        place = self.placements[self.frame[SHEET][index]]
        return place.sheet_title, f"{place.letters[key]}{self.frame[ROW][index]}"

    # -- Lists, for the stages still written over them (the consolidation's, until it reads
    #    `frame`): built once, on first use.
    @property
    def columns(self) -> dict[str, list[Any]]:
        if self._lists is None:
            self._lists = {k: self.frame[k].to_list() for k in self.frame.columns if k not in (ROW, SHEET)}
        return self._lists

    @property
    def rows(self) -> list[int]:
        return self.frame[ROW].to_list()

    @property
    def more(self) -> list[Placement]:
        return self.placements[1:]

    def sheet_titles(self) -> list[str]:
        """The sheet of each row."""
        titles = [p.sheet_title for p in self.placements]
        return [titles[i] for i in self.frame[SHEET].to_list()]

    def records(self) -> list[dict[str, Any]]:
        return self.frame.drop(ROW, SHEET).to_dicts()

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_lists": None}


@dataclass
class ReturnFile:
    """One file considered in a campaign, with everything known about it."""

    path: Path
    sha256: str
    size: int
    modified: dt.datetime
    identity: Identity | None = None
    tables: dict[str, Table] = field(default_factory=dict)
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    reader: str = ""  # which library read it
    ignored: bool = False  # lock files and non-workbooks: listed, never used
    # A bailleur's Attributions counted per réservataire's contingent (see
    # `intake.contingents_counts`): computed once where the file is read, kept in the cache, so
    # the cross-check with the réservataires' declarations never goes over the rows again.
    contingent_counts: dict[str, dict[str, int]] | None = None
    # The rows of its tables where it was read, when only some of them came back to this process
    # (`pool.Workers.tables_back`); see `row_count`.
    rows_checked: int | None = None
    # (target, number of findings) of a corrected copy written where the file was read
    # (`feedback.CopyOnRead`); not cached: a file taken from the cache has its copy written again.
    copy_written: tuple[Path, int] | None = None
    # The bytes that were hashed and judged, while the return is in the process that read them:
    # its annotated copy is made from them, never from the file as it may be by then. Neither
    # cached nor sent between processes (`intake` drops them once the copy is made).
    data: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def row_count(self) -> int:
        """The rows of data read in its tables (all of them, wherever they are now)."""
        if self.rows_checked is not None:
            return self.rows_checked
        return sum(len(t) for t in self.tables.values())

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def has_errors(self) -> bool:
        return any(f.is_error for f in self.findings)

    @property
    def status(self) -> Status:
        if self.ignored:
            return "ignore"
        if self.identity is None and self.has_errors:
            return "illisible"
        if self.has_errors:
            return "erreurs"
        if self.findings:
            return "avertissements"
        return "valide"

    @property
    def partner_id(self) -> str | None:
        return self.identity.partner_id if self.identity else None


@dataclass
class Campaign:
    """The register of one year's returns: every file considered and the choice made."""

    year: int
    files: list[ReturnFile]  # every file considered, in a stable order
    used: dict[str, ReturnFile]  # partner id → the return used (newest valid version)
    superseded: dict[str, list[ReturnFile]]  # partner id → older versions kept and listed
    missing: list[str]  # partner ids with no return at all
    cross_findings: list[Finding] = field(default_factory=list)
    # The EPCI's own Demande workbook (demand.py), newest first; not a partner's return.
    demand: ReturnFile | None = None
    demand_superseded: list[ReturnFile] = field(default_factory=list)

    def usable(self) -> dict[str, ReturnFile]:
        """Returns that enter the consolidation: no error."""
        return {pid: rf for pid, rf in self.used.items() if not rf.has_errors}

    def excluded(self) -> dict[str, ReturnFile]:
        """Returns received but kept out of the consolidation because of errors."""
        return {pid: rf for pid, rf in self.used.items() if rf.has_errors}

    def set_aside(self) -> dict[str, list[str]]:
        """Partner id → names of the files used for no one because their places name two
        partners (IDENTITE_CONTRADICTOIRE), this one among them: files to look at before taking
        the partner for missing, or its return for complete."""
        used = {id(rf) for rf in self.used.values()}
        out: dict[str, list[str]] = {}
        for rf in self.files:
            if id(rf) in used:
                continue
            for f in rf.findings:
                if f.code == "IDENTITE_CONTRADICTOIRE":
                    params = dict(f.params)
                    for pid in (params.get("partner_id"), params.get("other_id")):
                        names = out.setdefault(str(pid), [])
                        if rf.name not in names:
                            names.append(rf.name)
        return out


# -- Verdicts, as the console, the workbooks and the copies say them ---------------------------

VERDICTS = {
    "valide": "valide",
    "avertissements": "avec avertissements",
    "erreurs": "avec erreurs",
    "illisible": "illisible",
    "ignore": "ignoré",
}


def verdict(rf: ReturnFile) -> str:
    return VERDICTS[rf.status]


def replaced_by(campaign: Campaign) -> dict[int, ReturnFile]:
    """id of each version replaced by a newer one → the version used instead. A replaced
    version's findings no longer apply and it gets no annotated copy."""
    return {id(old): campaign.used[pid] for pid, versions in campaign.superseded.items() for old in versions}
