"""What the reader finds in a workbook's XML itself, without a spreadsheet library: A1
references, the identification kept in defined names and document properties, which part holds
which sheet, and the formulas and merged cells of a sheet (which calamine does not expose).

Used by `reader` (and the A1 helpers by every stage that names cells); every part is parsed with
defusedxml or searched as bytes, never trusted for its size (`archive.declared_limits` ran first,
and a large sheet's part is measured as it is searched).
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

from cia_workbook.intake.extent import QuickProbe
from cia_workbook.schema import sheets as schema

CHUNK = 4 * 1024**2
INFLATE_STEP = 1024**2  # compressed bytes fed at a time: a sheet's usually inflate past CHUNK

# A1 notation. Not through openpyxl's helpers: importing openpyxl costs a quarter of a second
# (numpy included), which each worker paid before its first file. xlsxwriter's utility module
# converts letters and numbers; the checks openpyxl made are kept, so a malformed reference
# in a received file raises a ValueError.
MAX_COLUMN = 18278  # "ZZZ", the widest column openpyxl's helpers accept
_LETTERS = re.compile(r"[A-Za-z]{1,3}")
_CELL = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]+)")
_RANGE = re.compile(r"\$?([A-Za-z]{1,3})?\$?([0-9]+)?(?:(:)\$?([A-Za-z]{1,3})?\$?([0-9]+)?)?")


def get_column_letter(index: int) -> str:
    """'A' for 1, 'AB' for 28."""
    from xlsxwriter.utility import xl_col_to_name

    if not 1 <= index <= MAX_COLUMN:
        raise ValueError(f"column number {index} out of range")
    return xl_col_to_name(index - 1)


def column_number(letters: str) -> int:
    """1 for 'A' (or 'a'), 28 for 'AB'."""
    from xlsxwriter.utility import xl_cell_to_rowcol

    if not _LETTERS.fullmatch(letters):
        raise ValueError(f"{letters!r} is not a column")
    return xl_cell_to_rowcol(letters.upper() + "1")[1] + 1


def cell_position(ref: str) -> tuple[int, int]:
    """(row, column), 1-based, of a reference such as 'B3' or '$B$3'."""
    m = _CELL.fullmatch(ref)
    if m is None or int(m.group(2)) == 0:
        raise ValueError(f"{ref!r} is not a cell reference")
    return int(m.group(2)), column_number(m.group(1))


def range_boundaries(ref: str) -> tuple[int | None, int | None, int | None, int | None]:
    """(first column, first row, last column, last row) of 'A1:C3', 'A1', 'A:C' (rows None) or
    '2:4' (columns None), as openpyxl's helper of that name."""
    m = _RANGE.fullmatch(ref)
    if m is None:
        raise ValueError(f"{ref!r} is not a range")
    c1, r1, sep, c2, r2 = m.groups()
    if sep and not (
        (c1 and r1 and c2 and r2) or (c1 and c2 and not r1 and not r2) or (r1 and r2 and not c1 and not c2)
    ):
        raise ValueError(f"{ref!r} is not a range")
    first_col = column_number(c1) if c1 else None
    first_row = int(r1) if r1 else None
    last_col = column_number(c2) if c2 else first_col
    last_row = int(r2) if r2 else first_row
    return first_col, first_row, last_col, last_row


def _id_key(name: str) -> str | None:
    """`CIA_ANNEE`, `cia_annee`, `annee` → `annee` when it is an identification key."""
    key = name.strip().lower()
    if key.startswith("cia_"):
        key = key[4:]
    return key if key in schema.ID_KEYS else None


def _parse_part(zf: zipfile.ZipFile, member: str, parsed: dict[str, Any]):
    """A small XML part parsed with defusedxml (None when absent, too large or refused), once."""
    if member not in parsed:
        from defusedxml import ElementTree

        parsed[member] = None
        if member in zf.NameToInfo and zf.getinfo(member).file_size <= 5 * 1024**2:
            try:
                parsed[member] = ElementTree.fromstring(zf.read(member))
            except Exception:  # entity attacks and broken XML: the part is simply absent
                pass
    return parsed[member]


def _zip_id_sources(
    zf: zipfile.ZipFile, fmt: str, parsed: dict[str, Any] | None = None
) -> list[tuple[str, dict[str, str]]]:
    """Defined names and custom document properties: small parts, parsed with defusedxml."""
    sources: list[tuple[str, dict[str, str]]] = []
    memo: dict[str, Any] = {} if parsed is None else parsed

    def parse(member: str):
        return _parse_part(zf, member, memo)

    if fmt == "xlsx":
        root = parse("xl/workbook.xml")
        if root is not None:
            values = {}
            for el in root.iter():
                if el.tag.endswith("definedName") and el.get("name"):
                    key = _id_key(el.get("name", ""))
                    if key and el.text:
                        values[key] = _unquote_formula(el.text)
            if values:
                sources.append(("noms", values))
        root = parse("docProps/custom.xml")
        if root is not None:
            values = {}
            for el in root:
                key = _id_key(el.get("name", ""))
                if key:
                    values[key] = "".join(t.strip() for t in el.itertext()).strip()
            if values:
                sources.append(("proprietes", values))
    else:
        root = parse("meta.xml")
        if root is not None:
            values = {}
            for el in root.iter():
                if el.tag.endswith("user-defined"):
                    name = next((v for k, v in el.attrib.items() if k.endswith("name")), "")
                    key = _id_key(name)
                    if key and el.text:
                        values[key] = el.text.strip()
            if values:
                sources.append(("proprietes", values))
    return sources


def _unquote_formula(text: str) -> str:
    text = text.strip().lstrip("=").strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].replace('""', '"')
    return text.strip()


# -- Structure: formulas and merged cells without loading styles ---------------------------


def _xlsx_sheet_parts(zf: zipfile.ZipFile, parsed: dict[str, Any] | None = None) -> dict[str, str]:
    """Sheet title → its XML part, from workbook.xml and its relationships."""
    memo: dict[str, Any] = {} if parsed is None else parsed
    wb = _parse_part(zf, "xl/workbook.xml", memo)
    rels = _parse_part(zf, "xl/_rels/workbook.xml.rels", memo)
    if wb is None or rels is None:
        return {}
    targets = {}
    for rel in rels:
        target = rel.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else "xl/" + target
        targets[rel.get("Id")] = target
    parts = {}
    for el in wb.iter():
        if el.tag.endswith("}sheet") or el.tag == "sheet":
            rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
            if rid in targets:
                parts[el.get("name", "")] = targets[rid]
    return parts


_C_REF = re.compile(rb'\sr="([A-Z]{1,3}[0-9]{1,7})"')
_F_NAME_END = re.compile(rb"f[ />]")
_F_TEXT = re.compile(rb"<(?:[A-Za-z0-9_]+:)?f(?:\s[^>]*)?(/?)>(?:([^<]*)<)?")
_MERGE = re.compile(rb'<(?:[A-Za-z0-9_]+:)?mergeCell\s[^>]*?ref="([A-Z0-9:]+)"')
_PREFIX = re.compile(rb"<([A-Za-z0-9_]+:)?worksheet[\s>]")


class PartBeyondDeclared(Exception):
    """A part of the archive inflates to more than the size its directory declares (a zip bomb
    lying about its size; Python's zipfile would stop at the declared size, calamine would not)."""


def raw_member(data: bytes, info: zipfile.ZipInfo) -> memoryview:
    """The stored (compressed) bytes of the part `info` of the archive `data`."""
    start = info.header_offset
    name_length = int.from_bytes(data[start + 26 : start + 28], "little")
    extra_length = int.from_bytes(data[start + 28 : start + 30], "little")
    begin = start + 30 + name_length + extra_length
    return memoryview(data)[begin : begin + info.compress_size]


def _inflated(zf: zipfile.ZipFile, member: str, data: bytes | None):
    """The inflated part in pieces of about CHUNK bytes, each with whether it is the last.

    From the archive's bytes `data` when given and the part is deflated: inflated here, its size
    counted (PartBeyondDeclared past the declared one) and its CRC checked at the end
    (zipfile.BadZipFile). Otherwise through zipfile, which reads no more than declared."""
    info = zf.getinfo(member)
    if data is None or info.compress_type != zipfile.ZIP_DEFLATED:
        with zf.open(member) as fh:
            if info.file_size <= CHUNK:  # the usual size: one piece, one pass, no overlap
                yield fh.read(), True
                return
            piece = fh.read(CHUNK)
            while True:
                following = fh.read(CHUNK) if piece else b""
                yield piece, not following
                if not following:
                    return
                piece = following
    yield from inflate_counting(raw_member(data, info), info)


def inflate_counting(view: memoryview, info: zipfile.ZipInfo):
    """`_inflated` of a deflated part from its stored bytes: the input fed a step at a time, the
    output of each call bounded to CHUNK bytes (a bomb never makes a larger piece)."""
    inflate = zlib.decompressobj(-15)
    produced = crc = pos = 0
    waiting: bytes = b""  # input a call left unconsumed (its output was bounded)
    piece: bytes | None = None
    while not inflate.eof:
        if waiting:
            source: Any = waiting
        elif pos < len(view):
            source, pos = view[pos : pos + INFLATE_STEP], pos + INFLATE_STEP
        else:
            break  # the input ends before the deflate stream does
        out = inflate.decompress(source, CHUNK)
        waiting = inflate.unconsumed_tail
        produced += len(out)
        if produced > info.file_size:
            raise PartBeyondDeclared(info.filename)
        crc = zlib.crc32(out, crc)
        if out:
            if piece is not None:
                yield piece, False
            piece = out
    if not inflate.eof or crc != info.CRC or produced != info.file_size:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")
    yield piece or b"", True


def _scan_xlsx_part(
    zf: zipfile.ZipFile, member: str | None, probe: QuickProbe | None = None, data: bytes | None = None
) -> tuple[dict[str, str], list[str]]:
    """Formula cells and merged ranges of one sheet part, in one streaming pass.

    The part is inflated chunk by chunk and searched with `bytes.find` (memchr speed) for the
    few tags that matter, so the cost stays a fraction of calamine's own parse and memory stays
    flat on a 500,000-row sheet. A `probe` (see extent.py) is fed the same bytes, each once,
    cut between tags: the sheet's extent is checked without inflating the part again. With the
    archive's bytes `data`, the part's inflated size is measured in the same pass (see
    `_inflated`).
    """
    formulas: dict[str, str] = {}
    merged: list[str] = []
    if not member:
        return formulas, merged
    import html

    tail = b""
    prefix: bytes | None = None
    base = fed = 0  # offsets in the part of buf[0] and of the end of what the probe has
    for chunk, final in _inflated(zf, member, data):
        buf = tail + chunk
        if prefix is None:
            m = _PREFIX.search(buf)
            prefix = (m.group(1) or b"") if m else b""
        f_open, c_open = b"<" + prefix + b"f", b"<" + prefix + b"c "
        # Only handle tags far enough from the end to be complete; the rest waits.
        limit = len(buf) if final else max(0, len(buf) - 8192)
        # "f" followed by a space, "/" or ">" is rare in a sheet (searching "<f" stopped at
        # every "<"); each is kept if the tag name before it is the formula's.
        for m in _F_NAME_END.finditer(buf, len(f_open) - 1, limit):
            pos = m.start() - len(f_open) + 1
            if buf[pos : m.start() + 1] == f_open:
                start = buf.rfind(c_open, 0, pos)
                ref = _C_REF.search(buf, start, pos) if start >= 0 else None
                if ref:
                    text = _F_TEXT.match(buf, pos)
                    body = text.group(2) if text and text.group(2) else b""
                    shown = (
                        "=" + html.unescape(body.decode("utf-8", "replace")) if body else "formule recopiée"
                    )
                    formulas[ref.group(1).decode()] = shown[:60]
        if b"mergeCell" in buf:
            for m in _MERGE.finditer(buf, 0, limit):
                merged.append(m.group(1).decode())
        keep = 0 if final else max(limit - 65536, 0)
        if probe is not None:
            cut = len(buf) if final else buf.rfind(b"<", keep, limit)
            if cut < keep or cut < fed - base:
                probe.failed = True  # no tag boundary where the piece ends: not proved
            else:
                probe.feed(buf, fed - base, cut)
                fed = base + cut
        if final:
            break
        # Keep enough of the end to find the opening <c> of a formula cut by the chunk;
        # tags found twice in the overlap land on the same key.
        tail = buf[keep:]
        base += keep
    return formulas, sorted(set(merged))


def _scan_ods_table(path: Path | io.BytesIO, title: str) -> tuple[dict[str, str], list[str]]:
    """Formulas and merged cells of one ODS table, parsed only when content.xml has any."""
    formulas: dict[str, str] = {}
    merged: list[str] = []
    with zipfile.ZipFile(path) as zf:
        with zf.open("content.xml") as fh:
            found = False
            tail = b""
            while chunk := fh.read(CHUNK):
                buf = tail + chunk
                if (
                    b"table:formula=" in buf
                    or b"number-columns-spanned" in buf
                    or b"number-rows-spanned" in buf
                ):
                    found = True
                    break
                tail = buf[-64:]
        if not found:
            return formulas, merged
        from defusedxml.ElementTree import iterparse

        T = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
        with zf.open("content.xml") as fh:
            in_table = False
            row = 0
            col = 0
            for event, el in iterparse(fh, events=("start", "end")):
                tag = el.tag
                if event == "start":
                    if tag == T + "table":
                        in_table = el.get(T + "name") == title
                        row = 0
                    elif in_table and tag == T + "table-row":
                        col = 0
                    elif in_table and tag in (T + "table-cell", T + "covered-table-cell"):
                        r, c = row + 1, col + 1
                        if tag == T + "table-cell":
                            f = el.get(T + "formula")
                            if f:
                                formulas[f"{get_column_letter(c)}{r}"] = (
                                    "=" + f.split(":=", 1)[-1].lstrip("=")
                                )[:60]
                            cs = int(el.get(T + "number-columns-spanned", "1"))
                            rs = int(el.get(T + "number-rows-spanned", "1"))
                            if cs > 1 or rs > 1:
                                merged.append(
                                    f"{get_column_letter(c)}{r}:{get_column_letter(c + cs - 1)}{r + rs - 1}"
                                )
                        col += int(el.get(T + "number-columns-repeated", "1"))
                else:
                    if tag == T + "table":
                        if in_table:
                            break
                    elif in_table and tag == T + "table-row":
                        row += int(el.get(T + "number-rows-repeated", "1"))
                    if tag in (T + "table-row", T + "table-cell"):
                        el.clear()
    return formulas, sorted(set(merged))
