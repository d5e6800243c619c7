"""How far each sheet of a received workbook really extends, found before any reader allocates it.

python-calamine builds every sheet as one dense grid from A1 to the last cell holding a value:
a single space typed in XFD1048576 asks it for 17 billion cells (it aborts the process), one in
XFD5000 for 82 million (3 GB). Here the cells of each sheet part are looked at in the XML itself,
without building anything, and a sheet whose grid would be far larger than what it holds is
bounded: the cells typed far from the data (beyond a wide gap of empty rows or columns) are left
out and named in a finding, the rest is read within those bounds; a sheet that cannot be bounded
so is not read at all, with a finding.

The check costs little on an ordinary return: each sheet part is searched with a byte count
and two regular expressions (`QuickProbe`; for a large part, fed by the reader's formula scan so
the part is inflated once), which prove on the usual writers' XML (Excel, LibreOffice, openpyxl,
xlsxwriter: every cell with its `r` reference first) that its grid stays within the budget;
only a part that does not prove it this way is walked cell by cell (`_bounds`). A hostile large part that fooled the search would still only kill the worker
process reading it, which intake.read_returns survives.
"""

from __future__ import annotations

import functools
import html
import re
import zipfile
from array import array
from dataclasses import dataclass, field

from cia_workbook.schema.findings import Finding, finding

# The dense grid a sheet may ask of the reader: this many cells whatever it holds, or this many
# times the cells it holds (a real table fills more than one cell in eight of its rectangle).
AREA_MIN = 1_000_000
AREA_FACTOR = 8
# A cell is "far from the data" beyond this many empty rows or columns after the data.
ROW_GAP = 1000
COL_GAP = 100
# Parts beyond this size (uncompressed) are searched by the reader's formula scan as it reads them.
EXACT_MAX = 1024**2
CHUNK = 4 * 1024**2
MAX_SHOWN = 3  # far cells named in a finding
_HUGE = 10**12  # a reference beyond any sheet (its letters or digits overflow): far away


@dataclass
class FarCell:
    row: int
    col: int
    text: str | None  # the cell's content as text; None when it was not looked at

    @property
    def ref(self) -> str:
        return cell_ref(self.row, self.col)


@dataclass
class SheetBounds:
    """A sheet that cannot be read as it is: the rectangle to read, or `refused`."""

    title: str
    rows: int  # last row and column kept (the rectangle A1:<cols><rows>); 0: nothing kept
    cols: int
    cells: int  # cells holding a value in the whole sheet
    last_row: int  # the sheet's whole extent
    last_col: int
    # Left out: the first ones in reading order, and how many, of the cells holding only spaces
    # (or nothing, as a formula giving "") and of the cells holding something else.
    blank: list[FarCell] = field(default_factory=list)
    blank_count: int = 0
    valued: list[FarCell] = field(default_factory=list)
    valued_count: int = 0
    refused: bool = False

    def findings(self, file: str, whole_file: bool = False) -> list[Finding]:
        """What the partner is told: the far cells ignored (spaces only) or not read (a value),
        or the sheet (or the whole OpenDocument file) not read."""
        if self.refused:
            far = self.valued or self.blank
            where = far[0].ref if far else cell_ref(self.last_row, self.last_col)
            return [
                finding(
                    "FEUILLE_DEMESUREE",
                    file,
                    self.title,
                    where,
                    rows=_count(self.last_row),
                    cols=_count(self.last_col),
                    last=cell_ref(self.last_row, self.last_col),
                    cells=_count(self.cells),
                    scope=" (ni le reste du classeur : un fichier OpenDocument est lu en entier)"
                    if whole_file
                    else "",
                )
            ]
        around = (
            f"des données (qui s'arrêtent en {cell_ref(self.rows, self.cols)})"
            if self.rows and self.cols
            else "du début de la feuille, qui ne contient rien d'autre"
        )
        out = []
        for code, cells, count in (
            ("CELLULE_ELOIGNEE", self.blank, self.blank_count),
            ("VALEUR_ELOIGNEE", self.valued, self.valued_count),
        ):
            if count:
                listing = _listing(cells, count, with_text=code == "VALEUR_ELOIGNEE")
                out.append(
                    finding(
                        code,
                        file,
                        self.title,
                        cells[0].ref,
                        count=_count(count),
                        cells=listing,
                        around=around,
                    )
                )
        return out


def cell_ref(row: int, col: int) -> str:
    """'XFD1048576' for (1048576, 16384); any size (beyond Excel's sheets too)."""
    letters = ""
    while col > 0:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row}"


def _count(n: int) -> str:
    from cia_workbook.render.frformat import integer

    return integer(n)


def _listing(cells: list[FarCell], count: int, with_text: bool = False) -> str:
    shown = []
    for c in cells[:MAX_SHOWN]:
        if with_text and c.text is not None:
            text = c.text if len(c.text) <= 40 else c.text[:39] + "…"
            shown.append(f"{c.ref} : « {text} »")
        else:
            shown.append(c.ref)
    more = count - len(shown)
    return ", ".join(shown) + (f" et {_count(more)} {'autres' if more >= 2 else 'autre'}" if more > 0 else "")


def _budget(cells: int) -> int:
    return max(AREA_MIN, AREA_FACTOR * cells)


# -- .xlsx ---------------------------------------------------------------------------------


def xlsx_bounds(
    zf: zipfile.ZipFile, parts: dict[str, str], proved: frozenset[str] | set[str] = frozenset()
) -> dict[str, SheetBounds]:
    """Sheet title → its bounds, for each sheet of `parts` (title → XML part) that cannot be read
    as it is; the sheets absent from the answer are read whole. `proved`: titles a `QuickProbe`
    fed by another pass over their part (the reader's formula scan) has already proved."""
    out: dict[str, SheetBounds] = {}
    strings: _SharedStrings | None = None
    for title, member in parts.items():
        if member not in zf.NameToInfo or title in proved:
            continue
        if _quick(zf, member):
            continue
        if strings is None:
            strings = _SharedStrings(zf)
        bounds = _bounds(zf, member, title, strings)
        if bounds is not None:
            out[title] = bounds
    return out


def _chunks(zf: zipfile.ZipFile, member: str, cut: re.Pattern[bytes]):
    """The part inflated piece by piece, each piece ending just before the last tag matching
    `cut` that it holds (the tag starts the next piece), so that no cell is split between two
    pieces; without such a tag near its end, before its last `<`."""
    with zf.open(member) as fh:
        tail = b""
        while True:
            chunk = fh.read(CHUNK)
            if not chunk:
                if tail:
                    yield tail
                return
            buf = tail + chunk
            window = max(0, len(buf) - 65536)
            at = -1
            for m in cut.finditer(buf, window):
                at = m.start()
            if at <= 0:
                at = buf.rfind(b"<")
            if at <= 0:
                tail = buf
                continue
            yield buf[:at]
            tail = buf[at:]


_CUT_QUICK = re.compile(rb"<c[\s>/]")
_CUT_EXACT = re.compile(rb"<(?:[A-Za-z0-9_]+:)?(?:c|row)[\s/>]")
_PREFIX = re.compile(rb"<([A-Za-z0-9_]+:)?worksheet[\s>]")
_TWO_LETTERS = re.compile(rb'<c r="([A-Z]{2})[0-9]')


@functools.cache
def _unusual(letters: int, digits: int) -> re.Pattern[bytes]:
    """A cell tag that does not start `<c r="` + up to `letters` letters and `digits` digits."""
    return re.compile(rb'<c(?! r="[A-Z]{1,%d}[0-9]{1,%d}")[\s>/]' % (letters, digits))


class QuickProbe:
    """Fed the pieces of a sheet part in order (no tag split between two), `proved()` tells
    whether they prove that the sheet's grid stays within the budget.

    It relies on what every usual writer does (Excel, LibreOffice, openpyxl, xlsxwriter): each
    cell starts `<c r="A1"`, each row `<row r="1"`, rows in order. A part that does not show it
    (a cell without `r`, or `r` not first, a column beyond ZZ, a cell below every row seen, a
    namespace prefix) is not proved here and is walked cell by cell. Three searches of each
    piece: the last row tag, the cells counted, the first unusual cell."""

    def __init__(self) -> None:
        self.last_row = self.cells = 0
        self.letters = 1
        self.widest = 26
        self.failed = False
        self.started = False

    def feed(self, piece: bytes, start: int = 0, end: int | None = None) -> None:
        """The next piece: `piece[start:end]` (searched in place, not copied)."""
        if self.failed:
            return
        end = len(piece) if end is None else end
        if not self.started:
            self.started = True
            m = _PREFIX.search(piece, start, min(end, start + 4096))
            if m is None or m.group(1):
                self.failed = True  # prefixed (x:c) or unknown root: the exact walk handles every form
                return
        at = piece.rfind(b'<row r="', start, end)
        if at >= 0:
            close = piece.find(b'"', at + 8, end)
            digits = piece[at + 8 : close] if close >= 0 else b""
            if not digits.isdigit():
                self.failed = True
                return
            self.last_row = max(self.last_row, int(digits))
        self.cells += piece.count(b'<c r="', start, end)
        digits = len(str(self.last_row))  # a cell below every row tag seen so far is unusual
        if _unusual(self.letters, digits).search(piece, start, end):
            self.letters = 2
            if _unusual(self.letters, digits).search(piece, start, end):
                self.failed = True
                return
        if self.letters == 2:
            for two in set(_TWO_LETTERS.findall(piece, start, end)):
                self.widest = max(self.widest, _column(two))

    def proved(self) -> bool:
        return self.started and not self.failed and self.last_row * self.widest <= _budget(self.cells)


def _quick(zf: zipfile.ZipFile, member: str) -> bool:
    probe = QuickProbe()
    for piece in _chunks(zf, member, _CUT_QUICK):
        probe.feed(piece)
        if probe.failed:
            return False
    return probe.proved()


def _number(digits: bytes) -> int:
    return int(digits) if len(digits) < 13 else _HUGE


def _column(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
        if n > _HUGE:
            return _HUGE
    return n


_R_ATTR = re.compile(rb"""(?:^|\s)r\s*=\s*["']([A-Za-z]*)([0-9]*)["']""")


def _bounds(zf: zipfile.ZipFile, member: str, title: str, strings: _SharedStrings) -> SheetBounds | None:
    """None when the sheet's grid is within the budget; else the rectangle of its data (the
    cells beyond a wide gap of empty rows or columns after the data left out, and the cells
    holding only spaces wherever they are), or refused when that rectangle too is beyond."""
    rows, cols = array("q"), array("q")
    try:
        for r, c, _attrs, _body in _cells(zf, member):
            rows.append(r)
            cols.append(c)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None  # a damaged part: the reader reports it
    n = len(rows)
    if not n:
        return None
    last_row, last_col = max(rows), max(cols)
    if last_row * last_col <= _budget(n):
        return None
    # Beyond the budget (rare): each cell's content is looked at; only what is not blank sets
    # the rectangle of the data.
    solid = bytearray(n)
    for i, (_r, _c, attrs, body) in enumerate(_cells(zf, member)):
        text = _cell_text(attrs, body, strings)
        solid[i] = text is None or bool(text.strip())
    keep_rows = _before_gap((r for r, s_ in zip(rows, solid, strict=True) if s_), ROW_GAP)
    keep_cols = _before_gap((c for c, s_ in zip(cols, solid, strict=True) if s_), COL_GAP)
    bounds = SheetBounds(title, keep_rows, keep_cols, n, last_row, last_col)
    shown: list[int] = []  # indexes of the far values named in the finding
    for i in range(n):
        if rows[i] > keep_rows or cols[i] > keep_cols:
            if solid[i]:
                bounds.valued_count += 1
                if len(bounds.valued) < MAX_SHOWN:
                    bounds.valued.append(FarCell(rows[i], cols[i], None))
                    shown.append(i)
            else:
                bounds.blank_count += 1
                if len(bounds.blank) < MAX_SHOWN:
                    bounds.blank.append(FarCell(rows[i], cols[i], ""))
    kept = n - bounds.valued_count - bounds.blank_count
    if kept == n or keep_rows * keep_cols > _budget(kept):
        bounds.refused = True
    elif shown:  # their text, for the finding
        texts = dict.fromkeys(shown)
        for i, (_r, _c, attrs, body) in enumerate(_cells(zf, member)):
            if i in texts:
                texts[i] = _cell_text(attrs, body, strings)
                if i == shown[-1]:
                    break
        for cell, i in zip(bounds.valued, shown, strict=True):
            cell.text = texts[i]
    return bounds


def _before_gap(values, gap: int) -> int:
    """The last of the sorted distinct `values` before the first gap wider than `gap`, counted
    from 0 (the grid starts at A1): 0 when the first value is already beyond such a gap."""
    last = 0
    for v in sorted(set(values)):
        if v - last > gap + 1:
            break
        last = v
    return last


def _cells(zf: zipfile.ZipFile, member: str):
    """(row, column, attributes, content) of every cell holding a value, in reading order,
    positioned as calamine does (its reference, else the one after the previous cell)."""
    row = 0
    col = 0
    columns: dict[bytes, int] = {}
    for piece in _chunks(zf, member, _CUT_EXACT):
        for is_row, row_attrs, attrs, empty, body in _TOKEN.findall(piece):
            if is_row:
                if row_attrs.startswith(b' r="'):
                    digits = row_attrs[4 : row_attrs.find(b'"', 4)]
                else:
                    ref = _R_ATTR.search(row_attrs)
                    digits = ref.group(2) if ref else b""
                row = _number(digits) if digits.isdigit() else row + 1
                col = 0
                continue
            if attrs.startswith(b' r="'):  # what every usual writer does
                end = attrs.find(b'"', 4)
                ref_text = attrs[4:end]
                digits = ref_text.lstrip(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
                letters = ref_text[: len(ref_text) - len(digits)]
            else:
                ref = _R_ATTR.search(attrs)
                letters, digits = (ref.group(1), ref.group(2)) if ref else (b"", b"")
            if letters:
                col = columns.get(letters) or columns.setdefault(letters, _column(letters))
            else:
                col += 1
            cell_row = _number(digits) if digits.isdigit() else row
            if not empty and (b"v>" in body or b"is>" in body):  # <v>…</v>, <is>…</is>
                yield cell_row, col, attrs, body


# A row's opening tag, or a whole cell: `<c …/>` (no value) or `<c …>…</c>`.
_TOKEN = re.compile(
    rb"<(?:[A-Za-z0-9_]+:)?(?:(row)(?=[\s/>])([^>]*)>"
    rb"|c(?=[\s/>])([^>]*?)(?:(/)>|>(.*?)</(?:[A-Za-z0-9_]+:)?c\s*>))",
    re.S,
)
_T_ATTR = re.compile(rb"""\st\s*=\s*["']([A-Za-z]+)["']""")
_V_TEXT = re.compile(rb"<(?:[A-Za-z0-9_]+:)?v(?:\s[^>]*)?>([^<]*)<")
_T_TEXT = re.compile(rb"<(?:[A-Za-z0-9_]+:)?t(?:\s[^>]*)?>([^<]*)<")


def _cell_text(attrs: bytes, body: bytes, strings: _SharedStrings) -> str | None:
    """A cell's content as text (None when it cannot be told)."""
    kind = _T_ATTR.search(attrs)
    kind = kind.group(1) if kind else b"n"
    if kind == b"inlineStr" or b"is>" in body:
        return _unescape(b"".join(_T_TEXT.findall(body)))
    v = _V_TEXT.search(body)
    if v is None:
        return None
    if kind == b"s":
        try:
            return strings.get(int(v.group(1)))
        except ValueError:
            return None
    return _unescape(v.group(1))


def _unescape(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8", "replace"))


class _SharedStrings:
    """The workbook's shared strings, looked up by index (parsed only when asked)."""

    def __init__(self, zf: zipfile.ZipFile):
        self._zf = zf
        self._items: list[bytes] | None = None

    def get(self, index: int) -> str | None:
        if self._items is None:
            self._items = []
            names = [n for n in self._zf.namelist() if n.lower().endswith("sharedstrings.xml")]
            if names:
                data = self._zf.read(names[0])
                self._items = re.findall(
                    rb"<(?:[A-Za-z0-9_]+:)?si[\s>](.*?)</(?:[A-Za-z0-9_]+:)?si>", data, re.S
                )
        if 0 <= index < len(self._items):
            return _unescape(b"".join(_T_TEXT.findall(self._items[index])))
        return None


# -- .ods ----------------------------------------------------------------------------------

_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"


def ods_bounds(zf: zipfile.ZipFile) -> dict[str, SheetBounds]:
    """Table name → its bounds, for each table of an OpenDocument file whose grid would be far
    larger than what it holds. calamine reads every table of such a file at once and cannot be
    bounded: the file is not read when there is any (each bounds says where)."""
    if "content.xml" not in zf.NameToInfo:
        return {}
    from defusedxml.ElementTree import iterparse

    out: dict[str, SheetBounds] = {}
    title = ""
    rects: list[tuple[int, int, int, int]] = []  # first row, rows, first column, columns (1-based)
    row = col = 0
    repeat_rows = 1
    depth = 0  # tables within a table's cells are not the sheet's
    try:
        with zf.open("content.xml") as fh:
            for event, el in iterparse(fh, events=("start", "end")):
                tag = el.tag
                if event == "start":
                    if tag == _TABLE + "table":
                        depth += 1
                        if depth == 1:
                            title, rects, row = el.get(_TABLE + "name", ""), [], 0
                    elif depth == 1 and tag == _TABLE + "table-row":
                        repeat_rows = _repeat(el.get(_TABLE + "number-rows-repeated"))
                        col = 0
                    continue
                if tag == _TABLE + "table":
                    if depth == 1:
                        bounds = _ods_table_bounds(title, rects)
                        if bounds is not None:
                            out[title] = bounds
                    depth -= 1
                elif depth == 1 and tag in (_TABLE + "table-cell", _TABLE + "covered-table-cell"):
                    repeat = _repeat(el.get(_TABLE + "number-columns-repeated"))
                    if el.get(_OFFICE + "value-type") or len(el):
                        rects.append((row + 1, repeat_rows, col + 1, repeat))
                    col += repeat
                    el.clear()
                elif depth == 1 and tag == _TABLE + "table-row":
                    row += repeat_rows
                    el.clear()
    except Exception:  # broken or refused XML: the reader says the file is unreadable
        return out
    return out


def _repeat(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), _HUGE))
    except ValueError:
        return 1


def _ods_table_bounds(title: str, rects: list[tuple[int, int, int, int]]) -> SheetBounds | None:
    if not rects:
        return None
    cells = sum(nr * nc for _r, nr, _c, nc in rects)
    last_row = max(r + nr - 1 for r, nr, _c, _nc in rects)
    last_col = max(c + nc - 1 for _r, _nr, c, nc in rects)
    if last_row * last_col <= _budget(cells):
        return None
    keep_rows = _intervals_before_gap([(r, r + nr - 1) for r, nr, _c, _nc in rects], ROW_GAP)
    keep_cols = _intervals_before_gap([(c, c + nc - 1) for _r, _nr, c, nc in rects], COL_GAP)
    bounds = SheetBounds(title, keep_rows, keep_cols, cells, last_row, last_col, refused=True)
    for r, nr, c, nc in rects:  # the first cell beyond the data, for the finding
        if r + nr - 1 > keep_rows or c + nc - 1 > keep_cols:
            row = max(r, keep_rows + 1) if r + nr - 1 > keep_rows else r
            col = max(c, keep_cols + 1) if c + nc - 1 > keep_cols else c
            bounds.valued.append(FarCell(row, col, None))
            break
    return bounds


def _intervals_before_gap(intervals: list[tuple[int, int]], gap: int) -> int:
    intervals.sort()
    last = 0
    for start, end in intervals:
        if start - last > gap + 1:
            break
        last = max(last, end)
    return last
