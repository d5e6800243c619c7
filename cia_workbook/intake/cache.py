"""Intake's memory between commands: each read and validated return kept under its SHA-256, so
that `consolidate` does not read again the workbooks that `validate` has just read.

An entry is one Parquet file: the typed tables of the return (their frames side by side, each
column named after its table), and in the file's metadata what else reading and validating it
produced (identity, form answers, findings, where each table was read), with its key and the
digest of its context. Never pickle: the folder lies in the user's outputs/, and loading a
crafted entry must at worst give a miss, never run code. Entries live in
a folder named after a digest of everything that could change a result (entry format, tool
version, schema version, the package's own source code, the convention's content, the year,
the reading engine), so that any change starts a fresh cache; stale folders are removed when a
new one is written. Any entry that cannot be decoded exactly is a miss: the file is read as usual.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import polars as pl

from cia_workbook import __version__
from cia_workbook.convention.settings import Convention
from cia_workbook.fileio import write_atomic
from cia_workbook.intake.model import ROW, SHEET, Identity, Placement, ReturnFile, Table
from cia_workbook.schema import sheets as schema
from cia_workbook.schema.findings import CATALOGUE, Finding

CACHE_FORMAT = 7  # 6: Parquet files (the tables as polars frames); 7: each table's row count
_CONTEXT_DIR = re.compile(r"^[0-9a-f]{16}$")
_ENTRY = re.compile(r"^[0-9a-f]{64}-[0-9a-f]{12}\.parquet$")
_META = "cia-workbook"  # the key of the entry's description in the Parquet metadata
_TABLE = "_table"


def _name_key(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:12]


class _Unencodable(Exception):
    """A value of a type the entry format does not hold: the return is simply not cached."""


def context_digest(convention: Convention, year: int, engine: str = "auto") -> str:
    """Digest of everything a cached result depends on besides the file's own bytes."""
    digest = hashlib.sha256()
    for part in (str(CACHE_FORMAT), __version__, schema.SCHEMA_VERSION, str(year), engine):
        digest.update(part.encode() + b"\0")
    digest.update(_code_digest().encode())
    digest.update(convention.model_dump_json(by_alias=True).encode())
    return digest.hexdigest()


_CODE_DIGEST: list[str] = []


def _code_digest() -> str:
    """The package's source: a changed rule changes results even when the version number does not."""
    if not _CODE_DIGEST:
        digest = hashlib.sha256()
        package = Path(__file__).parents[1]
        for path in sorted(package.rglob("*")):
            if path.is_file() and path.suffix in (".py", ".toml"):
                digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
        _CODE_DIGEST.append(digest.hexdigest())
    return _CODE_DIGEST[0]


class ReturnCache:
    """The entries of one campaign context in `folder` (e.g. outputs/<year>/.cache)."""

    def __init__(self, folder: Path, convention: Convention, year: int, engine: str = "auto"):
        self.root = Path(folder)
        self.context = context_digest(convention, year, engine)
        self.folder = self.root / self.context[:16]
        self._pruned = False
        self._names: set[str] | None = None

    def may_hold(self, name: str) -> bool:
        """False when no entry at all was stored under this file name: the caller then need not
        hash the file to look it up (the folder is listed once)."""
        if self._names is None:
            try:
                self._names = {e.name[65:77] for e in self.folder.iterdir() if _ENTRY.match(e.name)}
            except OSError:
                self._names = set()
        return _name_key(name) in self._names

    def entry_path(self, sha256: str, name: str) -> Path:
        # The name is part of the key: findings quote it, and a lock file or a wrong
        # extension is judged by name.
        return self.folder / f"{sha256}-{_name_key(name)}.parquet"

    def load(self, path: Path, sha256: str, size: int, modified: dt.datetime) -> ReturnFile | None:
        """The cached result for these bytes under this name, or None (a miss)."""
        path = Path(path)
        try:
            return _decode(self.entry_path(sha256, path.name), self.context, path, sha256, size, modified)
        except Exception:  # absent, damaged or foreign entry: read the file as usual
            return None

    def store(self, rf: ReturnFile) -> bool:
        """Keep the result of a workbook that was actually read; False when it is not cacheable."""
        if not rf.sha256 or not rf.reader or rf.ignored:
            return False
        # A lack of memory is the machine's state, not the file's: read it again next time.
        if any(f.code == "FICHIER_TROP_GROS" for f in rf.findings):
            return False
        try:
            frame, meta = _encode(rf, self.context)
        except _Unencodable:
            return False
        self._prune()
        try:  # written beside and renamed: an interrupted write leaves no entry
            write_atomic(self.entry_path(rf.sha256, rf.name), lambda p: frame.write_parquet(p, metadata=meta))
        except OSError:  # a read-only outputs/ costs speed, never a result
            return False
        return True

    def _prune(self) -> None:
        """Remove the folders of other contexts (an older tool, another convention text)."""
        if self._pruned:
            return
        self._pruned = True
        if not self.root.is_dir():
            return
        for child in self.root.iterdir():
            if child.is_dir() and child != self.folder and _CONTEXT_DIR.match(child.name):
                if all(_ENTRY.match(p.name) or p.name.startswith(".") for p in child.iterdir()):
                    shutil.rmtree(child, ignore_errors=True)


# -- Entry format ----------------------------------------------------------------------------


def _scalar(value: Any) -> Any:
    cls = value.__class__
    if value is None or cls is str or cls is int or cls is float or cls is bool:
        return value
    if cls is dt.date:
        return ["d", value.toordinal()]
    if cls is dt.datetime:
        return ["t", value.isoformat()]
    raise _Unencodable(cls.__name__)


def _unscalar(value: Any) -> Any:
    if value.__class__ is list:
        tag, payload = value
        if tag == "d":
            return dt.date.fromordinal(payload)
        if tag == "t":
            return dt.datetime.fromisoformat(payload)
        raise ValueError(tag)
    if value is None or value.__class__ in (str, int, float, bool):
        return value
    raise ValueError(type(value).__name__)


def _side(key: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Table `key`'s columns as they stand in an entry, renamed and tagged without a query (a
    query costs more than a return's rows)."""
    side = frame.clone()
    side.columns = [f"{key}/{c}" for c in frame.columns]
    return side.hstack([pl.Series(_TABLE, [key], pl.String).new_from_index(0, frame.height)])


def _encode(rf: ReturnFile, context: str) -> tuple[pl.DataFrame, dict[str, str]]:
    """The entry of a return: its tables side by side (each column named « table/column », a
    row per table row, `_table` saying whose), and its description as metadata."""
    frames = [_side(key, t.frame) for key, t in rf.tables.items()]
    frame = (
        pl.concat(frames, how="diagonal")
        if frames
        else pl.DataFrame({_TABLE: []}, schema={_TABLE: pl.String})
    )
    described = {
        "format": CACHE_FORMAT,
        "context": context,
        "name": rf.name,
        "sha256": rf.sha256,
        "reader": rf.reader,
        "identity": dataclasses.astuple(rf.identity) if rf.identity else None,
        "tables": {
            key: {
                "sheet_key": t.sheet_key,
                "placements": [[p.sheet_title, p.letters] for p in t.placements],
                "rows": t.frame.height,
            }
            for key, t in rf.tables.items()
        },
        "forms": {
            sheet: [[k, _scalar(v)] for k, v in answers.items()] for sheet, answers in rf.forms.items()
        },
        "findings": [
            [f.code, f.file, f.sheet, f.cell, [[k, _scalar(v)] for k, v in f.params]] for f in rf.findings
        ],
        "contingent_counts": rf.contingent_counts,
    }
    return frame, {_META: json.dumps(described, ensure_ascii=False, separators=(",", ":"))}


def _decode(
    entry: Path, context: str, path: Path, sha256: str, size: int, modified: dt.datetime
) -> ReturnFile | None:
    data = json.loads(pl.read_parquet_metadata(entry)[_META])
    if (
        data.get("format") != CACHE_FORMAT
        or data.get("context") != context
        or data.get("sha256") != sha256
        or data.get("name") != path.name
    ):
        return None
    rf = ReturnFile(path, sha256, size, modified, reader=str(data["reader"]))
    if data["identity"] is not None:
        marker, version, convention_id, partner_id, kind, year = data["identity"]
        rf.identity = Identity(
            str(marker), str(version), str(convention_id), str(partner_id), str(kind), int(year)
        )
    described = data["tables"]
    # The tables are end to end in their order: each one a slice of the frame, no query (a
    # polars query costs a tenth of a millisecond at least, and five years are some seventy
    # entries). The slices must cover the frame exactly, each row tagged with its table.
    frame = pl.read_parquet(entry) if described else pl.DataFrame({_TABLE: []}, schema={_TABLE: pl.String})
    heights = [t["rows"] for t in described.values()]
    if any(h.__class__ is not int or h < 0 for h in heights) or sum(heights) != frame.height:
        raise ValueError("heights")
    tags = frame.get_column(_TABLE)
    offset = 0
    for (key, t), height in zip(described.items(), heights, strict=True):
        prefix = f"{key}/"
        part = frame.slice(offset, height)
        if height and (tags[offset] != key or tags[offset + height - 1] != key):
            raise ValueError("table")
        offset += height
        rows = pl.DataFrame(
            [part.get_column(c).alias(c[len(prefix) :]) for c in part.columns if c.startswith(prefix)]
        )
        placements = [
            Placement(str(title), {str(k): str(v) for k, v in letters.items()})
            for title, letters in t["placements"]
        ]
        if rows[ROW].dtype != pl.UInt32 or rows[SHEET].dtype != pl.UInt8 or not placements:
            raise ValueError("rows")
        if len(rows) and (rows[SHEET].max() >= len(placements) or rows[ROW].min() < 1):
            raise ValueError("placements")
        if any(set(p.letters) != set(placements[0].letters) for p in placements):
            raise ValueError("letters")
        rf.tables[str(key)] = Table(str(t["sheet_key"]), rows, placements)
    rf.forms = {str(s): {str(k): _unscalar(v) for k, v in pairs} for s, pairs in data["forms"].items()}
    for code, file, sheet, cell, params in data["findings"]:
        if code not in CATALOGUE:
            return None
        pairs = tuple((str(k), _unscalar(v)) for k, v in params)
        rf.findings.append(Finding(code, str(file), str(sheet), str(cell), pairs))
    counts = data["contingent_counts"]
    if counts is not None:
        rf.contingent_counts = {
            str(res): {str(k): _count(v) for k, v in by_key.items()} for res, by_key in counts.items()
        }
    return rf


def _count(value: Any) -> int:
    if value.__class__ is not int:
        raise ValueError("count")
    return value
