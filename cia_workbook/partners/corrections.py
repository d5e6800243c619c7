"""A partner's corrected copy, whichever way it is written (`xlsx_copy` or `annotate`): its name
and date, the findings it carries, the cells it marks and its first sheet « Corrections ».

Texts taken from partners are given as XML can hold them (`plain`: control characters removed).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cia_workbook.fileio import NAME_MAX, fit_name
from cia_workbook.intake.model import Campaign
from cia_workbook.intake.sheetxml import get_column_letter, range_boundaries
from cia_workbook.partners import excel
from cia_workbook.schema.findings import Finding

CORRECTIONS_TITLE = "Corrections"
ERROR_FILL = "FFC7CE"  # Excel's own "bad" red
WARNING_FILL = "FFEB9C"  # Excel's own "neutral" yellow
MAX_RANGE_CELLS = 500  # a finding on a range highlights at most this many cells
AUTHOR = "cia-workbook"  # author of the comments, last to modify the copies
# Characters XML 1.0 cannot hold (a workbook is XML): partner text pasted with a control
# character is written without it, in every text of a copy.
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def plain(text: str) -> str:
    return _NOT_IN_XML.sub("", text)


def fixed_time(year: int) -> dt.datetime:
    """Document timestamps of every output of a campaign: fixed, so reruns give the same bytes."""
    return dt.datetime(year + 1, 1, 1)


COPY_SUFFIX = "-corrections.xlsx"


def copy_targets(paths: list[Path], outdir: Path) -> dict[Path, Path]:
    """Where the corrected copy of each received file goes: outdir/retours/<stem>-corrections.xlsx,
    or <stem>-<extension>-corrections.xlsx when an earlier file has the same stem (r.xlsx, r.ods).
    A name that would pass the system's limit (255 bytes) keeps the start of the stem and a short
    digest of the whole name, so it stays distinct."""
    import hashlib

    out: dict[Path, Path] = {}
    stems: set[str] = set()
    for path in paths:
        path = Path(path)
        stem = path.stem
        if stem in stems:
            stem = f"{stem}-{path.suffix.lstrip('.')}"
        stems.add(path.stem)
        if len(f"{stem}{COPY_SUFFIX}".encode()) > NAME_MAX:
            digest = hashlib.sha256(path.name.encode()).hexdigest()[:8]
            room = NAME_MAX - len(COPY_SUFFIX.encode()) - len(digest) - 1
            stem = f"{fit_name(stem, room)}-{digest}"
        out[path] = Path(outdir) / "retours" / f"{stem}{COPY_SUFFIX}"
    return out


def cross_by_file(campaign: Campaign) -> dict[int, list[Finding]]:
    """The findings the cross-checks between partners add to each file kept (by its id)."""
    by_name = {rf.name: rf for rf in campaign.used.values()}
    out: dict[int, list[Finding]] = {}
    for f in campaign.cross_findings:
        rf = by_name.get(f.file)
        if rf is not None:
            out.setdefault(id(rf), []).append(f)
    return out


@dataclass(frozen=True)
class Mark:
    """One faulty cell of the copy: its fill colour (RRGGBB) and its comment (texts here and in
    `Line` are given as XML can hold them: the caller removes control characters)."""

    sheet: str
    ref: str
    color: str
    text: str
    lines: int = 1
    # The length of the cell's text when it is beyond a cell's limit: shortened in the copy.
    fit: int = 0


@dataclass(frozen=True)
class Line:
    """One line of the Corrections sheet: its cells (text or number), the fill of its severity
    cell, and the cell the « Cellule » column links to (an internal location, or None)."""

    values: tuple[Any, ...]
    color: str
    link: str | None = None


@dataclass(frozen=True)
class CorrectionsSheet:
    """The Corrections sheet as both ways of making a copy lay it out: a heading and lines of
    instruction merged across the columns, the header row, one line per finding; row heights
    (points, rows 1…) sized to their wrapped text; printed landscape, one page wide."""

    title: str
    headers: tuple[str, ...]
    widths: tuple[float, ...]
    lines: tuple[Line, ...]
    severity_col: int  # 0-based columns of the severity and of the linked cell
    link_col: int
    wrap_col: int
    link_color: str = "0563C1"
    heading: str = ""
    notes: tuple[str, ...] = ()
    heights: tuple[float, ...] = ()
    footer: str = ""
    header_fill: str = "DDEBF7"
    heading_size: float = 14
    margins: tuple[float, float, float, float] = (0.4, 0.4, 0.6, 0.6)  # left, right, top, bottom (inches)

    @property
    def header_row(self) -> int:
        """1-based row of the headers, below the heading and the notes."""
        return 1 + bool(self.heading) + len(self.notes)

    @property
    def last_row(self) -> int:
        return self.header_row + len(self.lines)

    @property
    def merged(self) -> list[str]:
        """The ranges of the heading and the notes, across every column."""
        last = get_column_letter(len(self.headers))
        return [f"A{r}:{last}{r}" for r in range(1, self.header_row)]


# -- What the copy says ---------------------------------------------------------------------

CORRECTIONS_HEADERS = (
    "N°",
    "Gravité",
    "Code",
    "Feuille",
    "Cellule",
    "Ce qui ne va pas et comment le corriger",
)
# Widths of N°, Gravité, then the least the code, sheet and cell columns take (they grow to
# their longest text); the message takes the rest of a landscape A4 page (CORRECTIONS_PAGE).
CORRECTIONS_WIDTHS = (5, 13, 14, 12, 8, 60)
CORRECTIONS_PAGE = 143  # column widths that fit one landscape A4 page at 100 % (narrow margins)
# The Corrections sheet: a heading, three lines of instruction, then the header row.
CORRECTIONS_HEADER_ROW = 5


def _cells(ref: str) -> list[str]:
    if ":" not in ref:
        return [ref]
    c1, r1, c2, r2 = range_boundaries(ref)
    out = []
    for r in range(r1, r2 + 1):
        for c in range(c1, c2 + 1):
            out.append(f"{get_column_letter(c)}{r}")
            if len(out) >= MAX_RANGE_CELLS:
                return out
    return out


def cell_marks(findings: list[Finding], sheetnames: list[str]) -> list[Mark]:
    """The cells to mark, in sheet and cell order: fill of the worst finding, one comment line
    per finding; a cell whose text is beyond Excel's limit (TEXTE_TROP_LONG) is shortened in
    the copy."""
    notes: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        if f.sheet in sheetnames and f.cell:
            try:
                cells = _cells(f.cell)
            except (ValueError, TypeError):
                continue
            for ref in cells:
                notes.setdefault((f.sheet, ref), []).append(f)
    return [
        Mark(sheet, ref, ERROR_FILL if any(f.is_error for f in items) else WARNING_FILL,
             _comment(items), len(items),
             max((int(dict(f.params).get("chars", 0)) for f in items if f.code == "TEXTE_TROP_LONG"), default=0))
        for (sheet, ref), items in sorted(notes.items())
    ]  # fmt: skip


def _comment(items: list[Finding]) -> str:
    """The comment of a cell: one line per finding, as many whole lines as a comment holds
    (Excel's limit of a cell), then how many more the Corrections sheet lists."""
    lines = [plain(f"[{f.code}] {f.message}") for f in items]
    kept, size = [], 0
    for i, line in enumerate(lines):
        rest = len(lines) - i
        others = "autre constat" if rest < 2 else "autres constats"
        more = f"… et {excel.count(rest)} {others} sur cette cellule : voir la feuille {CORRECTIONS_TITLE}."
        if size + len(line) + 1 + (len(more) if rest > 1 else 0) > excel.MAX_CELL_TEXT:
            kept.append(more)
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)


def corrections_sheet(
    findings: list[Finding], sheetnames: list[str], source: str = "", contact: str = ""
) -> CorrectionsSheet:
    """The Corrections sheet of the copy of `source`: a heading, three lines of instruction
    (the colours, correct your own file, send it back to `contact`), then one line per finding,
    each linked to its cell when it has one."""
    from cia_workbook.partners import sheet_layout as layout
    from cia_workbook.render.typography import fr, plural

    title, n = CORRECTIONS_TITLE, 1
    while title in sheetnames:  # (a sheet name has at most 31 characters)
        n += 1
        title = f"{CORRECTIONS_TITLE} {n}"[: excel.MAX_SHEET_NAME]
    lines = []
    ordered = sorted(findings, key=Finding.sort_key)
    # One line a finding, below the header, as many as a sheet has rows; the last says how many more.
    room = excel.MAX_ROWS - CORRECTIONS_HEADER_ROW
    shown = ordered if len(ordered) <= room else ordered[: room - 1]
    for n, f in enumerate(shown, start=1):
        link = None
        if f.sheet in sheetnames and f.cell:
            quoted = f.sheet.replace("'", "''")
            link = f"'{quoted}'!{f.cell.split(':')[0]}"
            if len(link) > excel.MAX_LINK_LOCATION:  # a sheet named beyond Excel's limit: no link
                link = None
        values = (n, f.severity, f.code, plain(f.sheet), f.cell, plain(f.message))
        lines.append(Line(values, ERROR_FILL if f.is_error else WARNING_FILL, link))
    if len(shown) < len(ordered):
        more = len(ordered) - len(shown)
        text = (f"… et {excel.count(more)} autres constats, que cette feuille ne peut pas tenir (une feuille "
                f"Excel a au plus {excel.count(excel.MAX_ROWS)} lignes) : corrigez ceux-ci, puis renvoyez le "
                "fichier ; les suivants seront signalés au prochain contrôle.")  # fmt: skip
        lines.append(Line((len(shown) + 1, "", "", "", "", text), WARNING_FILL, None))

    errors = sum(f.is_error for f in findings)
    warnings = len(findings) - errors
    to = f"à {contact}" if contact else "à l'agglomération"
    heading = (
        f"Corrections à apporter à votre fichier « {plain(source)} »" if source else "Corrections à apporter"
    )
    counts = []
    if errors:
        counts.append(
            f"en rouge, {errors} {plural(errors, 'erreur')} à corriger pour que le fichier soit retenu"
        )
    if warnings:
        counts.append(f"en jaune, {warnings} {plural(warnings, 'avertissement')} à vérifier")
    colours = " ; ".join(counts)
    notes = (
        f"{colours[:1].upper()}{colours[1:]}. Les cellules en cause ont la même couleur dans leur feuille, "
        "avec un commentaire ; le lien de la colonne « Cellule » y mène.",
        "Corrigez votre propre fichier, celui que vous avez envoyé, et non cette copie : elle sert "
        "seulement à repérer les cellules.",
        f"Renvoyez ensuite le fichier corrigé {to}."
        if errors
        else f"Le fichier est retenu tel quel ; si vous le corrigez, renvoyez-le {to}.",
    )
    heading, notes = fr(heading), tuple(fr(n) for n in notes)

    # Columns: the code, sheet and cell columns as wide as their longest text, the message the rest.
    widths = list(CORRECTIONS_WIDTHS)
    for col in (2, 3, 4):
        texts = [CORRECTIONS_HEADERS[col], *(str(line.values[col]) for line in lines[:1000])]
        widths[col] = min(max(widths[col], *(layout.word_width(t) for t in texts)), 30)
    widths[5] = max(CORRECTIONS_PAGE - sum(widths[:5]), CORRECTIONS_WIDTHS[5])
    total = sum(widths)
    heights = [layout.row_height([(heading, total)], 14, bold=True)]
    heights += [layout.row_height([(note, total)]) for note in notes]
    heights.append(layout.row_height(zip(CORRECTIONS_HEADERS, widths, strict=True), bold=True))
    # (row heights for the first lines: a sheet of a million findings is not measured line by line)
    heights += [layout.row_height([(str(line.values[5]), widths[5])]) for line in lines[:10_000]]
    footer = f"&L&8{heading.replace('&', '&&')}&R&8page &P sur &N"
    return CorrectionsSheet(title, CORRECTIONS_HEADERS, tuple(widths), tuple(lines),
                            severity_col=1, link_col=4, wrap_col=5, heading=heading, notes=notes,
                            heights=tuple(heights), footer=footer)  # fmt: skip
