"""First stage of intake: open one received file safely and turn it into raw sheets and identity.

The reader never judges the content (that is `validate`); it only decides whether the file is a
workbook it can read, and says why not in French otherwise. Each sheet the schema reads is
loaded once by fastexcel (calamine underneath) straight into Arrow, every cell as text, into a
polars frame; openpyxl is a fallback for .xlsx files calamine refuses (and a second opinion in
tests), its values written as fastexcel writes them. Formulas and merged cells, which calamine
does not expose, are found by one streaming pass over the raw XML of the sheets that need it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from cia_workbook.intake.archive import (
    LEGACY_SUFFIXES,
    ODS_MIMETYPE,
    OLE_MAGIC,
    WORKBOOK_SUFFIXES,
    ZIP_MAGIC,
    beyond,
    declared_limits,
    describe_error,
    is_password_error,
    measured_limits,
    not_a_workbook,
    ole_finding,
)
from cia_workbook.intake.extent import EXACT_MAX, QuickProbe, SheetBounds, ods_bounds, xlsx_bounds
from cia_workbook.intake.sheetxml import (
    PartBeyondDeclared,
    _id_key,
    _scan_ods_table,
    _scan_xlsx_part,
    _xlsx_sheet_parts,
    _zip_id_sources,
    cell_position,
)
from cia_workbook.schema import sheets as schema
from cia_workbook.schema.findings import Finding, finding

Cell = Any  # str ('' = empty), int, float, bool, date, datetime, time, timedelta

# How fastexcel writes a cell as text: a date "2024-03-15 00:00:00" (OpenDocument: "2024-03-15"
# or "2024-03-15T10:00:00"), a number "14500" or "0.25" (nine decimals at most, never an
# exponent), a boolean "true".
DATE_CELL = {
    "xlsx": r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$",
    "ods": r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?)?$",
}
NUMBER_CELL = r"^-?(0|[1-9]\d*)(\.\d*[1-9])?$"


@dataclass
class RawSheet:
    """One sheet as read, every cell as text (null when empty): row i of `frame` is sheet row
    i + 1, its column named "j" is the sheet's 0-based column j (columns without any value are
    absent); the frame stops at the last row holding a value."""

    title: str
    index: int
    visible: bool
    frame: pl.DataFrame = field(default_factory=pl.DataFrame)
    merged: list[str] = field(default_factory=list)  # A1 ranges, filled by `scan_structure`
    # Not read: its extent could not be bounded (a finding says so); nothing is judged in it.
    unread: bool = False

    @property
    def height(self) -> int:
        return self.frame.height

    @property
    def width(self) -> int:
        return max((int(c) + 1 for c in self.frame.columns), default=0)

    def column(self, col: int) -> pl.Series:
        """The 0-based column `col`, as text (all null when the sheet holds nothing there)."""
        name = str(col)
        if name in self.frame.columns:
            return self.frame[name]
        return pl.Series(name, [None] * self.height, pl.String)

    def value(self, row: int, col: int) -> str:
        """Text at 1-based (row, col), '' when empty or outside the data."""
        name = str(col - 1)
        if 0 < row <= self.height and name in self.frame.columns:
            return self.frame[name][row - 1] or ""
        return ""

    def cell(self, ref: str) -> str:
        return self.value(*cell_position(ref))

    def row_values(self, row: int) -> list[str]:
        """The texts of the 1-based `row` ('' when empty), up to its last value."""
        if not 0 < row <= self.height:
            return []
        found = self.frame.row(row - 1, named=True)
        cells = [""] * self.width
        for name, text in found.items():
            cells[int(name)] = text or ""
        while cells and not cells[-1]:
            cells.pop()
        return cells

    @property
    def rows(self) -> list[list[Cell]]:
        """Every row as values of their own type again (numbers, dates, booleans, text; ''
        when empty), for rebuilding a workbook from what was read."""
        return [[typed_value(text) for text in self.row_values(r)] for r in range(1, self.height + 1)]


def typed_value(text: str) -> Cell:
    """A cell's text back as the value fastexcel wrote (a number, a date, a boolean or text)."""
    if not text:
        return ""
    if re.match(NUMBER_CELL, text):
        number = float(text)
        return int(number) if number.is_integer() and "." not in text else number
    if re.match(DATE_CELL["xlsx"], text) or re.match(DATE_CELL["ods"], text):
        moment = dt.datetime.fromisoformat(text)
        return moment.date() if moment.time() == dt.time(0) else moment
    if text in ("true", "false"):
        return text == "true"
    return text


def text_of(value: Any) -> str | None:
    """A value read by openpyxl written as fastexcel writes it (None for an empty cell)."""
    if value is None or value == "":
        return None
    if value.__class__ is bool:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):  # nine decimals, as fastexcel writes a number as text
        return f"{value:.9f}".rstrip("0").rstrip(".")
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat(" ")
    if isinstance(value, dt.date):
        return f"{value.isoformat()} 00:00:00"
    text = str(value)
    # A character XML cannot hold (a control character, a carriage return) is saved escaped,
    # « _x0001_ »: Excel and calamine read the character, openpyxl leaves the escape (it only
    # undoes « _x005F_ », the escaped « _ », so a text typed as « _x0001_ » itself, never seen in
    # a return, would be read as the character here).
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def frame_of_rows(rows: Iterable[Sequence[Any]]) -> pl.DataFrame:
    """The text frame of rows of values (openpyxl's), shaped as fastexcel's: rows are looked at
    one at a time and only those holding a value are kept (openpyxl pads a sheet's gaps)."""
    kept: dict[int, Sequence[Any]] = {}
    for r, cells in enumerate(rows):
        n = len(cells)
        while n and (cells[n - 1] is None or cells[n - 1] == ""):
            n -= 1
        if n:
            kept[r] = cells[:n]
    height = max(kept, default=-1) + 1
    columns = []
    for j in range(max(map(len, kept.values()), default=0)):
        texts: list[str | None] = [None] * height
        for r, cells in kept.items():
            if j < len(cells):
                texts[r] = text_of(cells[j])
        if any(t is not None for t in texts):
            columns.append(pl.Series(str(j), texts, pl.String))
    return pl.DataFrame(columns, height=height) if columns else pl.DataFrame(height=height)


@dataclass
class RawWorkbook:
    """A readable workbook: its sheets in workbook order and where its identity was found."""

    name: str
    format: str  # "xlsx" | "ods"
    reader: str  # "calamine" | "openpyxl"
    sheets: list[RawSheet]
    # Identification sources in the order they are trusted, each key → value as text:
    # the very hidden _cia sheet, then defined names, then document properties.
    id_sources: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    # Streaming scan of one sheet's XML: title → (formulas {A1: text}, merged A1 ranges).
    _scanner: Callable[[str], tuple[dict[str, str], list[str]]] | None = None

    def sheet(self, title: str) -> RawSheet | None:
        return next((s for s in self.sheets if s.title == title), None)

    def structure(self, title: str) -> tuple[dict[str, str], list[str]]:
        """Formulas and merged ranges of a sheet, found without loading styles."""
        if self._scanner is None:
            return {}, []
        try:
            return self._scanner(title)
        except Exception:  # a damaged part only costs us the structure check, not the data
            return {}, []


@dataclass
class ReadResult:
    workbook: RawWorkbook | None
    findings: list[Finding]
    ignored: bool = False  # lock files and non-workbooks: listed, never used


def is_lock_file(name: str) -> bool:
    """Excel (`~$x.xlsx`) and LibreOffice (`.~lock.x.xlsx#`) lock files."""
    return name.startswith("~$") or (name.startswith(".~lock.") and name.endswith("#"))


def read_workbook(
    path: Path, engine: str = "auto", skip: frozenset[str] = frozenset(), data: bytes | None = None
) -> ReadResult:
    """Read a received file; every problem becomes a finding, nothing raises.

    `engine` is "auto" (fastexcel, then openpyxl for .xlsx it refuses), "calamine" (fastexcel)
    or "openpyxl".
    `data`: the file's bytes when the caller has already read them (to hash them).
    Sheets titled as in `skip` are listed without their cells (the caller never looks at them:
    parsing the dropdown lists of a national convention costs a tenth of the reading).
    """
    path = Path(path)
    name = path.name
    try:
        return _read(path, engine, skip, data)
    except MemoryError:
        return ReadResult(None, [finding("FICHIER_TROP_GROS", name, detail="mémoire insuffisante")])
    except BaseException as exc:  # last line of defence: a damaged file must never stop the run
        if not _is_reader_failure(exc):
            raise
        return ReadResult(None, [finding("FICHIER_ILLISIBLE", name, detail=describe_error(exc))])


def _is_reader_failure(exc: BaseException) -> bool:
    """An error of a reader on a file: any exception, and the panics of calamine's Rust code
    (pyo3's PanicException derives from BaseException, beside KeyboardInterrupt)."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def _read(
    path: Path, engine: str, skip: frozenset[str] = frozenset(), data: bytes | None = None
) -> ReadResult:
    name = path.name
    suffix = path.suffix.lower()
    if is_lock_file(name):
        return ReadResult(None, [finding("FICHIER_VERROU", name)], ignored=True)
    if suffix not in WORKBOOK_SUFFIXES + LEGACY_SUFFIXES:
        return ReadResult(None, [finding("FICHIER_AUTRE_FORMAT", name)], ignored=True)
    # The file is read once into memory: sniffing, the archive's directory, calamine or openpyxl
    # and the formula scan then share these bytes, so everything judged comes from one version
    # of the file, the one the caller hashed.
    try:
        if data is None:
            data = path.read_bytes()
        size, head = len(data), data[:8]
    except OSError as exc:
        from cia_workbook.fileio import describe_os_error

        return ReadResult(
            None, [finding("FICHIER_ILLISIBLE", name, detail=describe_os_error(exc, writing=False))]
        )
    if size == 0:
        return ReadResult(None, [finding("FICHIER_VIDE", name, detail="le fichier fait 0 octet")])
    if head.startswith(OLE_MAGIC):
        return ReadResult(None, [ole_finding(data, name)])
    if not head.startswith(ZIP_MAGIC):
        return ReadResult(None, [not_a_workbook(data, name, head)])
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, EOFError, OSError, ValueError):
        return ReadResult(None, [finding("FICHIER_VIDE", name, detail="archive tronquée ou endommagée")])
    problem = declared_limits(zf)
    if problem:
        return ReadResult(None, [finding("FICHIER_TROP_GROS", name, detail=problem)])
    names = set(zf.namelist())
    if "mimetype" in names and zf.read("mimetype").strip().startswith(ODS_MIMETYPE):
        fmt = "ods"
    elif "xl/workbook.xml" in names:
        fmt = "xlsx"
    elif "EncryptionInfo" in names:
        return ReadResult(None, [finding("FICHIER_CHIFFRE", name)])
    else:
        kind = "un document Word" if "word/document.xml" in names else "une archive qui n'est pas un classeur"
        return ReadResult(None, [finding("FICHIER_ILLISIBLE", name, detail=f"c'est {kind}")])
    # Small XML parts parsed once for the identity and the sheets (Python's zipfile reads no
    # more than a part declares: these reads are safe before the parts are measured).
    parsed: dict[str, Any] = {}
    id_sources = _zip_id_sources(zf, fmt, parsed)
    part_of_sheet = _xlsx_sheet_parts(zf, parsed) if fmt == "xlsx" else {}
    parts = {}
    if fmt == "xlsx":
        parts = part_of_sheet or {
            m: m for m in names if m.startswith("xl/worksheets/") and m.endswith(".xml")
        }
    checked = {t: m for t, m in parts.items() if t not in skip}
    # A large sheet part is searched for formulas and merged cells before the readers open the
    # file, its extent checked and its inflated size measured in the same pass (inflated once
    # before calamine, not twice); the archive's other parts are measured now.
    scanned = {
        t: m
        for t, m in (checked.items() if part_of_sheet else ())
        if (info := zf.NameToInfo.get(m)) is not None and info.file_size > EXACT_MAX
    }
    problem = measured_limits(zf, data, frozenset(scanned.values()))
    if problem:
        return ReadResult(None, [finding("FICHIER_TROP_GROS", name, detail=problem)])

    # The extent of every sheet the readers will build, bounded before they allocate anything.
    if fmt == "xlsx":
        structures: dict[str, tuple[dict[str, str], list[str]]] = {}
        proved: set[str] = set()
        for title, member in scanned.items():
            probe = QuickProbe()
            try:
                structures[title] = _scan_xlsx_part(zf, member, probe, data)
            except PartBeyondDeclared:
                return ReadResult(None, [finding("FICHIER_TROP_GROS", name, detail=beyond(member))])
            except Exception:  # a damaged part: left to the readers, which report it
                continue
            if probe.proved():
                proved.add(title)
        bounds = xlsx_bounds(zf, checked, proved)
        if bounds and not part_of_sheet:  # sheets that cannot be told apart: none is read
            for b in bounds.values():
                b.title, b.refused = "", True
            return ReadResult(None, [f for b in bounds.values() for f in b.findings(name)])
    else:
        bounds = ods_bounds(zf)  # calamine reads every table of an OpenDocument file at once
        if bounds:
            return ReadResult(None, [f for b in bounds.values() for f in b.findings(name, whole_file=True)])

    raw: RawWorkbook | None = None
    errors: list[str] = []
    engines = ["calamine", "openpyxl"] if engine == "auto" else [engine]
    if fmt == "ods":
        engines = ["calamine"]  # openpyxl cannot read OpenDocument
    for eng in engines:
        try:
            if eng == "calamine":
                raw = _read_fastexcel(data, fmt, skip, bounds)
            else:
                raw = _read_openpyxl(io.BytesIO(data), skip, bounds)
            break
        except BaseException as exc:
            if not _is_reader_failure(exc):
                raise
            if is_password_error(exc):
                return ReadResult(None, [finding("FICHIER_CHIFFRE", name)])
            errors.append(describe_error(exc))
    if raw is None:
        return ReadResult(
            None, [finding("FICHIER_ILLISIBLE", name, detail=errors[0] if errors else "format inconnu")]
        )
    findings = [f for b in bounds.values() for f in b.findings(name)]
    raw.name = name
    raw.id_sources = [*_id_sheet_source(raw), *_resolve_references(raw, id_sources)]
    if fmt == "xlsx":
        raw._scanner = lambda title: structures.get(title) or _scan_xlsx_part(zf, part_of_sheet.get(title))
    else:
        raw._scanner = lambda title: _scan_ods_table(io.BytesIO(data), title)
    return ReadResult(raw, findings)


# -- Reading cells -------------------------------------------------------------------------


def _read_fastexcel(
    data: bytes, fmt: str, skip: frozenset[str] = frozenset(), bounds: dict[str, SheetBounds] | None = None
) -> RawWorkbook:
    """Every sheet by fastexcel, each in one load (every cell as text), except those of `skip`
    (listed without their cells) and of `bounds`: a sheet whose grid calamine would build far
    larger than its data is read by openpyxl within the rectangle of its data (or not at all
    when it is refused, or when openpyxl cannot read it: it is then refused)."""
    import fastexcel

    bounds = bounds or {}
    sheets: list[RawSheet] = []
    # From the bytes: calamine then sniffs the content instead of trusting the extension (a
    # .xlsx saved as .ods or .xls by a mail client stays readable).
    wb = fastexcel.read_excel(data)
    for index, name in enumerate(wb.sheet_names):
        if name in skip:
            sheets.append(RawSheet(name, index, True))
            continue
        if name in bounds:
            sheets.append(_bounded_sheet(data, name, index, True, bounds[name]))
            continue
        try:
            sheet = wb.load_sheet(name, header_row=None, skip_rows=0, dtypes="string")
        except fastexcel.UnsupportedColumnTypeCombinationError:
            sheets.append(RawSheet(name, index, True))  # a chart or dialog sheet: no cells
            continue
        visible = sheet.visible == "visible"
        names = {c.name: str(c.absolute_index) for c in sheet.selected_columns}
        frame = sheet.to_polars()
        frame.columns = [names[c] for c in frame.columns]  # renamed in place: no query
        sheets.append(RawSheet(name, index, visible, _trimmed(frame)))
    return RawWorkbook("", fmt, "calamine", sheets)


def _trimmed(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame without its columns of empty cells (formatted, never filled)."""
    if not frame.width:
        return frame
    # Each column's count of nulls is known without a query (a query costs more than a return).
    return pl.DataFrame([c for c in frame.iter_columns() if c.null_count() < frame.height])


def _bounded_sheet(data: bytes, title: str, index: int, visible: bool, bounds: SheetBounds) -> RawSheet:
    if not bounds.refused:
        if not bounds.rows or not bounds.cols:
            return RawSheet(title, index, visible)  # nothing but far cells
        try:
            raw = _read_openpyxl(io.BytesIO(data), frozenset(), {title: bounds}, only=title)
            if raw.sheets:
                return RawSheet(title, index, raw.sheets[0].visible, raw.sheets[0].frame)
        except Exception:
            pass
        bounds.refused = True  # openpyxl cannot read it either: refused, its far cells named
    return RawSheet(title, index, visible, unread=True)


def _read_openpyxl(
    path: Path | io.BytesIO,
    skip: frozenset[str] = frozenset(),
    bounds: dict[str, SheetBounds] | None = None,
    only: str | None = None,
) -> RawWorkbook:
    """Plain openpyxl path: values only (cached results of formulas), links never followed.

    The size a sheet declares is not trusted (openpyxl would pad every row to it): each row is
    read as long as its cells, and a sheet of `bounds` only within its rectangle. `only`: that
    sheet alone."""
    import openpyxl

    bounds = bounds or {}
    # A file object: openpyxl would refuse a misleading extension.
    fh = path if isinstance(path, io.BytesIO) else open(path, "rb")
    try:
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=True, keep_links=False, keep_vba=False)
    except Exception:
        fh.close()
        raise
    try:
        sheets: list[RawSheet] = []
        for index, ws in enumerate(wb.worksheets):
            if only is not None and ws.title != only:
                continue
            visible = ws.sheet_state == "visible"
            if ws.title in skip:
                sheets.append(RawSheet(ws.title, index, visible))
                continue
            box = bounds.get(ws.title)
            if box is not None and box.refused:
                sheets.append(RawSheet(ws.title, index, visible, unread=True))
                continue
            if box is not None and not (box.rows and box.cols):
                sheets.append(RawSheet(ws.title, index, visible))  # nothing but far cells
                continue
            ws.reset_dimensions()
            cells = (
                ws.iter_rows(values_only=True, max_row=box.rows, max_col=box.cols)
                if box
                else ws.iter_rows(values_only=True)
            )
            sheets.append(RawSheet(ws.title, index, visible, frame_of_rows(cells)))
    finally:
        wb.close()
        fh.close()
    return RawWorkbook("", "xlsx", "openpyxl", sheets)


# -- Identity ------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "OUI" if value else "NON"
    return str(value).strip()


def _id_sheet_source(raw: RawWorkbook) -> list[tuple[str, dict[str, str]]]:
    sheet = raw.sheet(schema.ID_SHEET)
    if sheet is None:
        return []
    values: dict[str, str] = {}
    for key, value in zip(sheet.column(0).to_list(), sheet.column(1).to_list(), strict=True):
        key = _id_key(key) if key else None
        if key and value:
            values[key] = _text(value)
    return [("feuille", values)] if values else []


_REFERENCE = re.compile(r"^'?([^'!]+)'?!\$?([A-Z]{1,3})\$?([0-9]{1,7})$")


def _resolve_references(raw: RawWorkbook, sources: list[tuple[str, dict[str, str]]]):
    """Defined names saved by LibreOffice point at cells (`_cia!$B$6`): read those cells."""
    out = []
    for source, values in sources:
        resolved = {}
        for key, value in values.items():
            m = _REFERENCE.match(value)
            if m:
                sheet = raw.sheet(m.group(1))
                cell = sheet.cell(m.group(2) + m.group(3)) if sheet else ""
                if cell == "":
                    continue
                value = _text(cell)
            resolved[key] = value
        if resolved:
            out.append((source, resolved))
    return out


__all__ = [
    "RawSheet",
    "RawWorkbook",
    "ReadResult",
    "is_lock_file",
    "read_workbook",
]
