"""Intake's memory between commands: each read and validated return kept under its SHA-256, so
that `consolidate` does not read again the workbooks that `validate` has just read.

An entry holds what reading and validating one file produced (identity, typed columns, form
answers, findings) as compact, versioned JSON. Never pickle: the folder lies in the user's
outputs/, and loading a crafted entry must at worst give a miss, never run code. Entries live in
a folder named after a digest of everything that could change a result (entry format, tool
version, schema version, the package's own source code, the convention's content, the year,
the reading engine), so that any change starts a fresh cache; stale folders are removed when a
new one is written. Any entry that cannot be decoded exactly is a miss: the file is read as usual.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import math
import re
import shutil
import sys
from array import array
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

from cia_workbook import __version__, excel, schema
from cia_workbook.convention import Convention
from cia_workbook.fileio import write_atomic
from cia_workbook.findings import CATALOGUE, Finding
from cia_workbook.model import Identity, Part, ReturnFile, Table

CACHE_FORMAT = 5  # 5: tables hold the rows of copies of their sheet (Table.more)
_CONTEXT_DIR = re.compile(r"^[0-9a-f]{16}$")
_ENTRY = re.compile(r"^[0-9a-f]{64}-[0-9a-f]{12}\.json$")
# A column is stored as its distinct values and an index per row (one or two bytes, base64)
# when that is shorter: codes, dates and counts then load as a few shared objects through C
# loops, not one JSON token and one object per cell.
_KEYED_SHARE = 0.5


def _name_key(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:12]


class _Unencodable(Exception):
    """A value of a type the entry format does not hold: the return is simply not cached."""


def context_digest(convention: Convention, year: int, engine: str = "auto") -> str:
    """Digest of everything a cached result depends on besides the file's own bytes."""
    digest = hashlib.sha256()
    # The byte order too: row indexes are stored as machine-order arrays.
    for part in (str(CACHE_FORMAT), __version__, schema.SCHEMA_VERSION, str(year), engine, sys.byteorder):
        digest.update(part.encode() + b"\0")
    digest.update(_code_digest().encode())
    digest.update(convention.model_dump_json(by_alias=True).encode())
    return digest.hexdigest()


_CODE_DIGEST: list[str] = []


def _code_digest() -> str:
    """The package's source: a changed rule changes results even when the version number does not."""
    if not _CODE_DIGEST:
        digest = hashlib.sha256()
        package = Path(__file__).parent
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
        return self.folder / f"{sha256}-{_name_key(name)}.json"

    def load(self, path: Path, sha256: str, size: int, modified: dt.datetime) -> ReturnFile | None:
        """The cached result for these bytes under this name, or None (a miss)."""
        path = Path(path)
        try:
            data = json.loads(self.entry_path(sha256, path.name).read_bytes())
            return _decode(data, self.context, path, sha256, size, modified)
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
            text = json.dumps(_encode(rf, self.context), ensure_ascii=False, separators=(",", ":"))
        except _Unencodable:
            return False
        self._prune()
        try:  # written beside and renamed: an interrupted write leaves no entry
            write_atomic(self.entry_path(rf.sha256, rf.name), lambda p: p.write_text(text, encoding="utf-8"))
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


def _encode_column(values: list[Any]) -> dict[str, Any]:
    kinds = set(map(type, values))
    # The usual column: a few distinct values of one type (None apart), one byte per row. One
    # type is keyed by value; mixed numbers by (type, value), since 1, 1.0 and True are equal
    # but must come back as they were.
    single = len(kinds - _NONE) <= 1
    items = values if single else list(zip(map(type, values), values, strict=True))
    keys = dict.fromkeys(items)
    if len(keys) <= _KEYED_SHARE * len(values) and len(keys) <= 65535:
        index = dict(zip(keys, range(len(keys)), strict=False))
        if len(keys) <= 256:
            width, positions = "B", bytes(map(index.__getitem__, items))
        else:
            # (an array fills faster from a list than from an iterator)
            width, positions = "H", array("H", list(map(index.__getitem__, items))).tobytes()
        distinct = keys if single else (v for _, v in keys)
        if kinds <= _PLAIN:
            encoded = list(distinct)
        elif kinds <= _DATES:  # days as ["d", ordinal], without a call per value
            encoded = [None if v is None else ["d", v.toordinal()] for v in distinct]
        else:
            encoded = [_scalar(v) for v in distinct]
        return {
            "k": encoded,
            "w": width,
            "i": base64.b64encode(positions).decode("ascii"),
        }
    # Numbers and days that mostly differ (amounts, decision dates) as machine arrays in base64:
    # one JSON string to parse instead of a token per row.
    if kinds == {float}:
        return {"f": _base64(array("d", values))}
    if kinds == {float, type(None)}:  # an empty cell as NaN, when no value is NaN
        numbers = array("d", [math.nan if v is None else v for v in values])
        if sum(map(math.isnan, numbers)) == values.count(None):
            return {"fe": _base64(numbers)}
    if kinds == {dt.date}:
        return {"o": _base64(array("i", map(dt.date.toordinal, values)))}
    if kinds <= _DATES:  # an empty cell as day 0, which no date has
        return {"o": _base64(array("i", [0 if v is None else v.toordinal() for v in values]))}
    if kinds <= {str, int, float, type(None)}:
        return {"v": values}  # JSON keeps 1 and 1.0 apart
    return {"x": [_scalar(v) for v in values]}


def _base64(numbers: array) -> str:
    return base64.b64encode(numbers.tobytes()).decode("ascii")


def _unbase64(typecode: str, text: str) -> array:
    """The array written by `_base64` (ValueError for bytes that are not whole items)."""
    return array(typecode, base64.b64decode(text, validate=True))


_NONE = {type(None)}
_DATES = {dt.date, type(None)}
_PLAIN = {str, int, float, bool, type(None)}  # what JSON gives back as is


def _decode_column(data: dict[str, Any], n: int) -> list[Any]:
    numbers = _numbers(data, n)
    if numbers is not None:
        return _expand(*numbers)
    if "k" in data:
        keys, positions = _keyed_parts(data, n)
        out = list(map(keys.__getitem__, positions))
    elif "v" in data:
        out = data["v"]
        if not set(map(type, out)) <= _PLAIN:
            raise ValueError("values")
    else:
        out = [_unscalar(v) for v in data["x"]]
    if len(out) != n:
        raise ValueError("length")
    return out


_MAX_DAY = dt.date.max.toordinal()


def _numbers(data: dict[str, Any], n: int) -> tuple[str, array] | None:
    """(kind, array) of a column stored as an array ("o" days, "f" or "fe" amounts), checked
    (its length, days that exist); None for a column stored otherwise."""
    for kind, typecode in (("o", "i"), ("f", "d"), ("fe", "d")):
        if kind in data:
            numbers = _unbase64(typecode, data[kind])
            if len(numbers) != n:
                raise ValueError("length")
            if kind == "o" and n and (min(numbers) < 0 or max(numbers) > _MAX_DAY):
                raise ValueError("day")
            return kind, numbers
    return None


def _expand(kind: str, numbers: array) -> list[Any]:
    if kind == "o":
        return list(map(_DAYS.__getitem__, numbers))
    if kind == "f":
        return numbers.tolist()
    return [None if v != v else v for v in numbers.tolist()]  # NaN: an empty cell


class _Columns(MutableMapping):
    """A table's columns as loaded from an entry. Columns of repeated values (codes, dates,
    counts: most of them) and columns stored as arrays (days, amounts) are checked when the
    entry is loaded (every index within the values, days that exist, the right length) but
    their per-row list is only built the first time it is asked for: the consolidation reads
    about half of the attribution columns, the CSV of detailed rows all. Until then they are a
    few shared values and machine arrays, which also travel between processes at little cost."""

    def __init__(self, encoded: dict[str, Any], n: int):
        self._ready: dict[str, list[Any]] = {}
        self._keyed: dict[str, tuple[list[Any], array]] = {}
        self._arrays: dict[str, tuple[str, array]] = {}
        self._order = list(encoded)
        for key, data in encoded.items():
            numbers = _numbers(data, n)
            if numbers is not None:
                self._arrays[key] = numbers
            elif "k" in data:
                self._keyed[key] = _keyed_parts(data, n)
            else:
                self._ready[key] = _decode_column(data, n)

    def __getitem__(self, key: str) -> list[Any]:
        try:
            return self._ready[key]
        except KeyError:
            pass
        if key in self._arrays:
            values = self._ready[key] = _expand(*self._arrays.pop(key))
            return values
        keys, positions = self._keyed.pop(key)
        values = self._ready[key] = list(map(keys.__getitem__, positions))
        return values

    def keyed(self, key: str) -> tuple[list[Any], array] | None:
        """(distinct values, the index of its value for each row) of a column of repeated values
        not expanded yet, else None: the CSV renders each distinct value once, the consolidation
        codes its rows from the indexes directly."""
        return self._keyed.get(key)

    def __setitem__(self, key: str, values: list[Any]) -> None:
        if key not in self._order:
            self._order.append(key)
        self._keyed.pop(key, None)
        self._arrays.pop(key, None)
        self._ready[key] = values

    def __delitem__(self, key: str) -> None:
        if key not in self._order:
            raise KeyError(key)
        self._ready.pop(key, None)
        self._keyed.pop(key, None)
        self._arrays.pop(key, None)
        self._order.remove(key)

    def __contains__(self, key: object) -> bool:  # (Mapping's would build the column)
        return key in self._ready or key in self._keyed or key in self._arrays

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __repr__(self) -> str:
        return repr(dict(self))


class _Days(dict):
    """Day ordinal → date, shared by every entry loaded in the process (a campaign's rows hold a
    few hundred distinct days): decoded through a C-level map, one object per day."""

    def __missing__(self, ordinal: int) -> dt.date:
        if ordinal.__class__ is not int:
            raise ValueError("day")
        day = self[ordinal] = dt.date.fromordinal(ordinal)
        return day


# Day 0 is no date: in an "o" column it is an empty cell (a keyed ["d", 0] is refused).
_DAYS = _Days({0: None})
_INDEXES = bytes(range(256))


def _keyed_parts(data: dict[str, Any], n: int) -> tuple[list[Any], array]:
    """The distinct values and the per-row indexes of a keyed column, checked: every index
    points at a value and there is one per row (ValueError otherwise)."""
    keys = data["k"]
    if not set(map(type, keys)) <= _PLAIN:
        keys = [_DAYS[k[1]] if k.__class__ is list and k[0] == "d" and k[1] else _unscalar(k) for k in keys]
    raw = base64.b64decode(data["i"], validate=True)
    positions = array({"B": "B", "H": "H"}[data["w"]], raw)
    if len(positions) != n:
        raise ValueError("length")
    # Every index below the number of values: for bytes, deleting the valid ones leaves nothing.
    if positions.typecode == "B" and len(keys) < 256:
        if raw.translate(None, _INDEXES[: len(keys)]):
            raise ValueError("index")
    elif n and max(positions) >= len(keys):
        raise ValueError("index")
    return keys, positions


MAX_ROWS = excel.MAX_ROWS  # a sheet's rows, in Excel as in LibreOffice


def _encode_rows(rows: list[int]) -> list[int] | dict[str, int]:
    """A table's sheet row numbers: its first row and its length when they follow each other
    (nearly always), else the list."""
    if rows and rows[-1] - rows[0] == len(rows) - 1 and rows == list(range(rows[0], rows[-1] + 1)):
        return {"first": rows[0], "count": len(rows)}
    return rows


def _decode_rows(data: Any) -> list[int]:
    if data.__class__ is dict:
        first, count = _count(data["first"]), _count(data["count"])
        if not (0 < first and 0 <= count and first + count <= MAX_ROWS + 1):
            raise ValueError("rows")
        return list(range(first, first + count))
    return [int(r) for r in data]


def _encode(rf: ReturnFile, context: str) -> dict[str, Any]:
    return {
        "format": CACHE_FORMAT,
        "context": context,
        "name": rf.name,
        "sha256": rf.sha256,
        "reader": rf.reader,
        "identity": dataclasses.astuple(rf.identity) if rf.identity else None,
        "tables": {
            key: {
                "sheet_key": t.sheet_key,
                "sheet_title": t.sheet_title,
                "rows": _encode_rows(t.rows),
                "letters": t.letters,
                "more": [[p.sheet_title, p.count, p.letters] for p in t.more],
                "columns": {k: _encode_column(v) for k, v in t.columns.items()},
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


def _decode(
    data: dict[str, Any], context: str, path: Path, sha256: str, size: int, modified: dt.datetime
) -> ReturnFile | None:
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
    for key, t in data["tables"].items():
        rows = _decode_rows(t["rows"])
        columns = _Columns({str(k): c for k, c in t["columns"].items()}, len(rows))
        letters = {str(k): str(v) for k, v in t["letters"].items()}
        more = [
            Part(str(title), _count(n), {str(k): str(v) for k, v in cols.items()})
            for title, n, cols in t["more"]
        ]
        if sum(p.count for p in more) > len(rows) or any(set(p.letters) != set(letters) for p in more):
            raise ValueError("parts")
        rf.tables[str(key)] = Table(str(t["sheet_key"]), str(t["sheet_title"]), rows, columns, letters, more)
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
