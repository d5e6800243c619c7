"""Data passed between the stages: what the reader and validator hand to the consolidation.

read → validate → consolidate → render: each stage takes and returns these plain objects and
never reaches back into files; only the CLI knows paths.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

from cia_workbook.findings import Finding

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


class Part(NamedTuple):
    """Rows of a table read from a copy of its sheet (« Attributions (2) », « Attributions
    suite »): the copy's title, how many rows it gave, its column letters."""

    sheet_title: str
    count: int
    letters: dict[str, str]


@dataclass
class Table:
    """A table sheet read column-wise; values are typed (date, int, float, code str, None).

    The rows of copies of the sheet follow the sheet's own rows, one `Part` per copy in `more`:
    each row keeps its position as the partner sees it (`position`, `sheet_titles`)."""

    sheet_key: str
    sheet_title: str
    rows: list[int]  # 1-based row numbers as the partner sees them
    columns: dict[str, list[Any]]
    # Column key → A1 column letter where it was found (columns may have moved).
    letters: dict[str, str] = field(default_factory=dict)
    more: list[Part] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def parts(self) -> list[tuple[str, dict[str, str], range]]:
        """(sheet title, column letters, indexes of its rows) of the sheet, then of each copy."""
        start = len(self.rows) - sum(p.count for p in self.more)
        out = [(self.sheet_title, self.letters, range(0, start))]
        for p in self.more:
            out.append((p.sheet_title, p.letters, range(start, start + p.count)))
            start += p.count
        return out

    def sheet_titles(self) -> list[str]:
        """The sheet of each row."""
        if not self.more:
            return [self.sheet_title] * len(self.rows)
        return [title for title, _, indexes in self.parts() for _ in indexes]

    def position(self, index: int, key: str) -> tuple[str, str]:
        """(sheet title, A1 cell) of column `key` in the row at `index`."""
        for title, letters, indexes in self.parts():
            if index in indexes:
                return title, f"{letters[key]}{self.rows[index]}"
        raise IndexError(index)

    def records(self) -> list[dict[str, Any]]:
        keys = list(self.columns)
        return [dict(zip(keys, values, strict=True)) for values in zip(*self.columns.values(), strict=True)]


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
    # (target, number of findings) of a corrected copy written where the file was read
    # (`feedback.CopyOnRead`); not cached: a file taken from the cache has its copy written again.
    copy_written: tuple[Path, int] | None = None
    # The bytes that were hashed and judged, while the return is in the process that read them:
    # its annotated copy is made from them, never from the file as it may be by then. Neither
    # cached nor sent between processes (`intake` drops them once the copy is made).
    data: bytes | None = field(default=None, repr=False, compare=False)

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
