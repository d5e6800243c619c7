"""Intake: what a received file is before any of its XML is parsed — sniffing (an old .xls, an
encrypted workbook, a PDF or a CSV export under a workbook's name), and the safety limits on its
zip archive: the sizes it declares (parts, compression ratios, total), then the real size of the
parts that could lie (decompressed once, counting, never held). French reasons for the partner;
a library's own words never reach the message.
"""

from __future__ import annotations

import zipfile
import zlib

from cia_workbook.intake.sheetxml import PartBeyondDeclared, inflate_counting, raw_member
from cia_workbook.schema.findings import Finding, finding

# -- Safety limits, checked on the zip directory before any XML is parsed ------------------
MAX_PARTS = 10_000  # a real template has a few dozen parts
MAX_UNCOMPRESSED = 3 * 1024**3  # 3 GiB: a 500,000-row return is well under 1 GiB of XML
MAX_RATIO = 300  # per part; sheet XML compresses ~10-50x, zip bombs ~1000x and more
RATIO_MIN_SIZE = 10 * 1024**2  # small parts may compress extremely well and harm no one
# Declared sizes are checked against the real ones for the parts that could lie to harm: from
# this compressed size, and while the others together could grow past UNMEASURED_MAX.
MEASURE_FROM = 256 * 1024
UNMEASURED_MAX = 1024**3
DEFLATE_MAX_GROWTH = 1032  # deflate's largest expansion

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".ods")
LEGACY_SUFFIXES = (".xls",)
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"


# -- Sniffing ------------------------------------------------------------------------------


def ole_finding(data: bytes, name: str) -> Finding:
    """OLE compound files are either encrypted OOXML or legacy binary Office documents."""
    if "EncryptionInfo".encode("utf-16-le") in data:
        return finding("FICHIER_CHIFFRE", name)
    if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
        return finding("FICHIER_XLS", name)
    return finding(
        "FICHIER_ILLISIBLE", name, detail="c'est un ancien document Office qui n'est pas un classeur"
    )


def not_a_workbook(data: bytes, name: str, head: bytes) -> Finding:
    if head.startswith(b"%PDF"):
        detail = "c'est un document PDF"
    else:
        sample = data[:4096]
        try:
            sample.decode("utf-8")
            text = True
        except UnicodeDecodeError:
            text = not any(b < 9 for b in sample)
        if text and (b";" in sample or b"," in sample or b"\t" in sample):
            detail = "c'est un fichier texte, sans doute un export CSV"
        elif text:
            detail = "c'est un fichier texte"
        else:
            detail = "format inconnu"
    return finding("FICHIER_ILLISIBLE", name, detail=detail)


def declared_limits(zf: zipfile.ZipFile) -> str:
    """The limits on the sizes the archive declares: its parts, their compression ratios, their
    total once inflated (French description of the first exceeded, or '')."""
    infos = zf.infolist()
    if len(infos) > MAX_PARTS:
        return f"{len(infos)} parties, au plus {MAX_PARTS} admises"
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > RATIO_MIN_SIZE and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            return f"taux de compression anormal de la partie {info.filename}"
    if total > MAX_UNCOMPRESSED:
        return f"{total // 1024**2} Mo une fois décompressé, au plus {MAX_UNCOMPRESSED // 1024**2} Mo admis"
    return ""


def measured_limits(zf: zipfile.ZipFile, data: bytes, later: frozenset[str] = frozenset()) -> str:
    """The parts that could grow past the declared sizes if those lied, decompressed once,
    counting: an archive whose part grows beyond its declared size is refused. The parts in
    `later` are measured by the caller before any reader opens the archive (the formula scan
    of a large sheet, see `sheetxml.PartBeyondDeclared`)."""
    # A deflated part grows at most about 1,032-fold: the large parts are measured, then the
    # next largest while those left could still grow past UNMEASURED_MAX together. A usual
    # return (a few hundred kilobytes) has none to measure.
    infos = zf.infolist()
    unmeasured = sum(i.compress_size for i in infos)
    for info in sorted(infos, key=lambda i: i.compress_size, reverse=True):
        if info.compress_size < MEASURE_FROM and unmeasured * DEFLATE_MAX_GROWTH <= UNMEASURED_MAX:
            break
        unmeasured -= info.compress_size
        if info.filename not in later and inflated_beyond(data, info):
            return beyond(info.filename)
    return ""


def beyond(member: str) -> str:
    return f"la partie {member} se décompresse au-delà de la taille que l'archive déclare"


def inflated_beyond(data: bytes, info: zipfile.ZipInfo) -> bool:
    """Whether the part `info` of the archive `data` decompresses to more than its declared
    size (counted in steps, never held). A part that cannot be decompressed is left to the
    reader, which says the file is damaged."""
    if info.compress_type != zipfile.ZIP_DEFLATED:
        return False  # stored: as large as it is; other methods: read as declared, if at all
    try:
        for _piece in inflate_counting(raw_member(data, info), info):
            pass
    except PartBeyondDeclared:
        return True
    except (zlib.error, zipfile.BadZipFile, ValueError):
        pass
    return False


def is_password_error(exc: BaseException) -> bool:
    return "password" in str(exc).lower()


def describe_error(exc: BaseException) -> str:
    """A short French reason; the library's own words stay out of the partner's message."""
    cls = type(exc).__name__.lower()
    if cls == "calamineerror":  # fastexcel: calamine's own error is named in the message
        cls = str(exc).split("\n")[0].lower().replace(" error", "error").replace(" ", "")
    if cls == "panicexception":
        return "erreur interne du lecteur de classeurs"
    if "zip" in cls:
        return "archive endommagée"
    if "xml" in cls or "parse" in cls:
        return "contenu XML invalide ou interdit"
    if "entit" in cls or "dtd" in cls or "forbidden" in cls:
        return "contenu XML interdit (entités)"
    return "contenu endommagé ou format non reconnu"
