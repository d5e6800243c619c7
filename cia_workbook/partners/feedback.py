"""Answers of `validate`: a corrected copy for each partner and the officer's summary workbook.

The corrected copy is a copy of the received workbook with every faulty cell filled and
commented, and a first sheet « Corrections » listing the findings with links to the cells (an
.xlsx is edited part by part, see `xlsx_copy`; other files go through openpyxl). The received
file is only read, never written. Partner text always goes into outputs as plain text
(never a formula or a link), and every file is written atomically with fixed metadata so that
two runs give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from cia_workbook.convention.settings import Convention
from cia_workbook.fileio import NAME_MAX, atomic_path, describe_os_error, fit_name
from cia_workbook.intake.campaign import CROSS_CHECKED_TABLES
from cia_workbook.intake.model import Campaign, ReturnFile, replaced_by, verdict
from cia_workbook.partners import excel
from cia_workbook.schema.findings import Finding, finding

if TYPE_CHECKING:
    from cia_workbook.intake.pool import Workers
    from cia_workbook.partners.xlsx_copy import CorrectionsSheet, Mark

CORRECTIONS_TITLE = "Corrections"
ERROR_FILL = "FFC7CE"  # Excel's own "bad" red
WARNING_FILL = "FFEB9C"  # Excel's own "neutral" yellow
MAX_RANGE_CELLS = 500  # a finding on a range highlights at most this many cells
AUTHOR = "cia-workbook"  # author of the comments, last to modify the copies
# Characters XML 1.0 cannot hold (a workbook is XML): partner text pasted with a control
# character is written without it, in every text of a copy.
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _plain(text: str) -> str:
    return _NOT_IN_XML.sub("", text)


def return_address(convention: Convention) -> str:
    """Where a partner sends its corrected file, as the Corrections sheet says it:
    « cia.habitat@… (Direction de l'habitat …) », or "" when the convention gives no address."""
    campaign = convention.campaign
    address = campaign.contact_email.strip()
    if not address:
        return ""
    return f"{address} ({campaign.contact_service})" if campaign.contact_service else address


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


class CopyOnRead:
    """Writes a file's corrected copy right where the file was read (`collect_campaign`'s
    `after_read`), so the copies are made on the workers while others files are still being
    read. `write_feedback` then writes only what this could not know: the copies of files that
    the cross-checks between partners add findings to, and those of files taken from the cache.
    """

    def __init__(self, targets: dict[Path, Path], year: int, contact: str = ""):
        self.targets = targets
        self.year = year
        self.contact = contact  # where the corrected file goes back (`return_address`)

    def __call__(self, rf: ReturnFile) -> None:
        target = self.targets.get(rf.path)
        if target is None or rf.ignored or not rf.reader or not rf.findings:
            return
        # The cross-checks may add findings to a réservataire's Contingent sheet or to a
        # Relogements sheet: those copies are written once, after them.
        if CROSS_CHECKED_TABLES.intersection(rf.tables):
            return
        try:  # from the bytes just judged, whatever the file holds by now
            write_corrected_copy(
                rf.path, rf.findings, target, fixed_time(self.year), rf.data, rf.sha256, self.contact
            )
        except (OSError, FileChanged):  # tried again by `write_feedback`, which says why it fails
            return
        rf.copy_written = (target, len(rf.findings))


def write_feedback(
    convention: Convention,
    campaign: Campaign,
    outdir: Path,
    pool: Workers | None = None,
    problems: list[Finding] | None = None,
) -> list[Path]:
    """Corrected copies in outdir/retours/ and outdir/controle-<year>.xlsx; returns written paths.

    Copies are for the files that count: a version replaced by a newer one gets none (its
    findings no longer apply), see `remove_replaced_copies`. A copy already written by
    `CopyOnRead` with the same findings is kept. With a `pool` (see `intake.Workers`) the other
    copies are written on its workers while this process writes the summary.

    An output that cannot be written (read-only folder, full disk, a file changed since it was
    judged) is added to `problems` as a finding naming it, and the others are still written;
    without `problems` the first one raises.
    """
    outdir = Path(outdir)
    written: list[Path] = []
    failed: list[Finding] = []
    cross = _cross_by_file(campaign)
    targets = copy_targets([rf.path for rf in campaign.files], outdir)
    replaced = replaced_by(campaign)
    jobs = []
    for rf in campaign.files:
        findings = rf.findings + cross.get(id(rf), [])
        if rf.ignored or not rf.reader or not findings or id(rf) in replaced:
            continue
        target = targets[rf.path]
        written.append(target)
        if rf.copy_written == (target, len(findings)):
            continue  # written where the file was read, and nothing was added since
        when = fixed_time(campaign.year)
        jobs.append((rf, (rf.path, findings, target, when, rf.data, rf.sha256, return_address(convention))))
    pooled = pool is not None and pool.size > 1 and len(jobs) > 1
    futures = [pool.submit(write_corrected_copy, *job) for _, job in jobs] if pooled else []  # type: ignore[union-attr]
    done: list[Any] = []
    for _rf, job in [] if pooled else jobs:
        done.append(_attempt(write_corrected_copy, *job))
    summary = outdir / f"controle-{campaign.year}.xlsx"
    summary_error = _attempt(write_summary, convention, campaign, summary)
    for future in futures:
        done.append(_attempt(future.result))
    for (rf, job), error in zip(jobs, done, strict=True):
        if error is None:
            continue
        written.remove(job[2])
        if isinstance(error, FileChanged):
            failed.append(finding("FICHIER_MODIFIE", rf.name))
        else:
            failed.append(_not_written(job[2], error))
    if summary_error is None:
        written.append(summary)
    else:
        failed.append(_not_written(summary, summary_error))
    if failed and problems is None:
        raise OutputError(failed)
    if problems is not None:
        problems.extend(failed)
    return written


class FileChanged(Exception):
    """The received file no longer holds the bytes that were judged: no copy is made from it."""


class OutputError(Exception):
    """Outputs that could not be written (the findings say which and why)."""

    def __init__(self, failed: list[Finding]):
        super().__init__("\n".join(f.message for f in failed))
        self.failed = failed


def _attempt(fn, *args) -> Exception | None:
    try:
        fn(*args)
    except (OSError, FileChanged) as exc:
        return exc
    return None


def _not_written(path: Path, exc: Exception) -> Finding:
    why = describe_os_error(exc) if isinstance(exc, OSError) else str(exc)
    return finding("SORTIE_NON_ECRITE", Path(path).name, path=str(path), why=why)


def remove_replaced_copies(campaign: Campaign, outdir: Path) -> StaleCopies:
    """Remove the annotated copy of each version replaced by a newer one (written when it was
    read, or left by an earlier run): the officer could send it back for the wrong file."""
    replaced = replaced_by(campaign)
    targets = copy_targets([rf.path for rf in campaign.files], outdir)
    result = StaleCopies([], [])
    for rf in campaign.files:
        target = targets[rf.path]
        if id(rf) not in replaced or not target.is_file():
            continue
        try:
            target.unlink()
            result.removed.append(target)
        except OSError:
            result.left.append(target)
    return result


class StaleCopies(NamedTuple):
    """Annotated copies of earlier runs no longer due: removed, and those that could not be
    (open in a spreadsheet on Windows, a read-only folder)."""

    removed: list[Path]
    left: list[Path]


def remove_stale_copies(outdir: Path, written: list[Path]) -> StaleCopies:
    """Remove the corrected copies in outdir/retours/ that were not just written: those of
    files corrected since (no finding left), unreadable now, renamed or taken out of forms/.
    Only after a run over the whole forms folder, whose copies are then all in `written`."""
    kept = {Path(p).resolve() for p in written}
    folder = Path(outdir) / "retours"
    stale = sorted(p for p in folder.glob(f"*{COPY_SUFFIX}") if p.is_file() and p.resolve() not in kept)
    result = StaleCopies([], [])
    for path in stale:
        try:
            path.unlink()
            result.removed.append(path)
        except OSError:
            result.left.append(path)
    return result


def _cross_by_file(campaign: Campaign) -> dict[int, list[Finding]]:
    by_name = {rf.name: rf for rf in campaign.used.values()}
    out: dict[int, list[Finding]] = {}
    for f in campaign.cross_findings:
        rf = by_name.get(f.file)
        if rf is not None:
            out.setdefault(id(rf), []).append(f)
    return out


# -- Corrected copy ------------------------------------------------------------------------

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


def write_corrected_copy(
    path: Path,
    findings: list[Finding],
    target: Path,
    when: dt.datetime,
    data: bytes | None = None,
    sha256: str | None = None,
    contact: str = "",
) -> Path:
    """Copy of the received workbook `path` with the faulty cells marked and a Corrections sheet
    first, whose instructions say to send the corrected file back to `contact` (`return_address`).

    The copy is made from `data`, the bytes that were judged; without them the file is read, and
    when it no longer has the SHA-256 `sha256` that was judged, `FileChanged` is raised: a copy
    of other bytes would mark the wrong cells.

    An .xlsx is copied part for part with only those changes (`xlsx_copy`); a workbook that
    cannot be edited so (OpenDocument, macros, external links, existing comments on a sheet to
    mark…) is loaded and saved with openpyxl, or rebuilt from its values.
    """
    path = Path(path)
    if data is None:
        data = path.read_bytes()
        if sha256 is not None:
            import hashlib

            if hashlib.sha256(data).hexdigest() != sha256:
                raise FileChanged(path.name)
    if path.suffix.lower() == ".xlsx":
        from cia_workbook.partners import xlsx_copy

        try:
            copy = xlsx_copy.edit_copy(
                data,
                lambda names: (_marks(findings, names), _corrections(findings, names, path.name, contact)),
                when,
                AUTHOR,
            )
        except xlsx_copy.NotEditable:
            pass
        else:
            with atomic_path(target) as tmp:
                tmp.write_bytes(copy)
            return target
    wb = _load_copy(path, data)
    _mark_cells(wb, findings)
    _corrections_sheet(wb, _corrections(findings, wb.sheetnames, path.name, contact))
    wb.properties.created = when
    wb.properties.modified = when
    wb.properties.lastModifiedBy = AUTHOR
    with atomic_path(target) as tmp:
        wb.save(tmp)
        normalize_zip(tmp, when)
    return target


def _load_copy(path: Path, data: bytes):
    """The received workbook (its bytes `data`) loaded for writing a copy; rebuilt from its
    values when openpyxl cannot open it (OpenDocument, odd producers)."""
    import io

    import openpyxl

    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            # keep_vba=False: the copy is a plain .xlsx, macros are not carried over.
            return openpyxl.load_workbook(io.BytesIO(data), keep_links=False, keep_vba=False, rich_text=False)
        except Exception:
            pass
    from cia_workbook.intake.reader import read_workbook

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    result = read_workbook(path, data=data)
    for sheet in result.workbook.sheets if result.workbook else []:
        ws = wb.create_sheet(sheet.title[:31])
        if not sheet.visible:
            ws.sheet_state = "hidden"
        for r, row in enumerate(sheet.rows, start=1):
            for c, value in enumerate(row, start=1):
                if value != "":
                    _write(ws, r, c, value)
    return wb


def _write(ws, row: int, col: int, value: Any):
    """Write a value; text stays text even when it starts with = + - @."""
    if isinstance(value, dt.timedelta | dt.time):
        value = str(value)
    if isinstance(value, str):
        value = _plain(value)
    cell = ws.cell(row, col, value)
    if isinstance(value, str):
        cell.data_type = "s"
    elif isinstance(value, dt.date):
        cell.number_format = "DD/MM/YYYY"
    return cell


def _cells(ref: str) -> list[str]:
    from cia_workbook.intake.sheetxml import get_column_letter, range_boundaries

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


def _marks(findings: list[Finding], sheetnames: list[str]) -> list[Mark]:
    """The cells to mark, in sheet and cell order: fill of the worst finding, one comment line
    per finding; a cell whose text is beyond Excel's limit (TEXTE_TROP_LONG) is shortened in
    the copy."""
    from cia_workbook.partners.xlsx_copy import Mark

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
    lines = [_plain(f"[{f.code}] {f.message}") for f in items]
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


def _mark_cells(wb, findings: list[Finding]) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    for mark in _marks(findings, wb.sheetnames):
        cell = wb[mark.sheet][mark.ref]
        if type(cell).__name__ == "MergedCell":
            continue
        if mark.fit and isinstance(cell.value, str):
            # (openpyxl cut the text at Excel's limit when it loaded it: it is shortened visibly)
            cell.value = excel.shortened(cell.value, excel.MAX_CELL_TEXT, mark.fit)
        cell.fill = PatternFill("solid", start_color=mark.color, end_color=mark.color)
        comment = Comment(mark.text, AUTHOR)
        comment.width = 320
        comment.height = min(80 + 60 * mark.lines, 400)
        cell.comment = comment


def _corrections(
    findings: list[Finding], sheetnames: list[str], source: str = "", contact: str = ""
) -> CorrectionsSheet:
    """The Corrections sheet of the copy of `source`: a heading, three lines of instruction
    (the colours, correct your own file, send it back to `contact`), then one line per finding,
    each linked to its cell when it has one."""
    from cia_workbook.partners import sheet_layout as layout
    from cia_workbook.partners.xlsx_copy import CorrectionsSheet, Line
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
        values = (n, f.severity, f.code, _plain(f.sheet), f.cell, _plain(f.message))
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
        f"Corrections à apporter à votre fichier « {_plain(source)} »" if source else "Corrections à apporter"
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


def _corrections_sheet(wb, sheet: CorrectionsSheet) -> None:
    """The Corrections sheet `sheet` inserted first in the openpyxl workbook `wb`, laid out as
    `xlsx_copy` lays it out."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.hyperlink import Hyperlink

    from cia_workbook.intake.sheetxml import get_column_letter

    ws = wb.create_sheet(sheet.title, 0)
    # Fonts on the workbook's own (Calibri in a template): a bare Font() would leave the name out.
    base = wb._fonts[0] if getattr(wb, "_fonts", None) else Font(name="Calibri", sz=11)

    def font(**changes) -> Font:
        return Font(name=base.name or "Calibri", sz=changes.pop("sz", base.sz or 11), **changes)

    top = Alignment(vertical="top")
    wrap = Alignment(wrap_text=True, vertical="top")
    hr = sheet.header_row
    for r, text in enumerate([sheet.heading, *sheet.notes] if sheet.heading else list(sheet.notes), start=1):
        cell = _write(ws, r, 1, text)
        cell.alignment = wrap
        if sheet.heading and r == 1:
            cell.font = font(b=True, sz=sheet.heading_size)
    for ref in sheet.merged:
        ws.merge_cells(ref)
    fill = PatternFill("solid", start_color=sheet.header_fill, end_color=sheet.header_fill)
    for c, text in enumerate(sheet.headers, start=1):
        cell = _write(ws, hr, c, text)
        cell.font, cell.fill, cell.alignment = font(b=True), fill, wrap
    for r, line in enumerate(sheet.lines, start=hr + 1):
        for c, value in enumerate(line.values):
            cell = _write(ws, r, c + 1, value)
            cell.alignment = top
            if c == sheet.severity_col:
                cell.fill = PatternFill("solid", start_color=line.color, end_color=line.color)
            elif c == sheet.link_col and line.link:
                cell.hyperlink = Hyperlink(ref=cell.coordinate, location=line.link, display=value)
                cell.font = font(color=sheet.link_color, u="single")
            elif c == sheet.wrap_col:
                cell.alignment = wrap
    for r, height in enumerate(sheet.heights, start=1):
        ws.row_dimensions[r].height = height
    for c, width in enumerate(sheet.widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = width
    ws.freeze_panes = f"A{hr + 1}"
    ws.auto_filter.ref = f"A{hr}:{get_column_letter(len(sheet.headers))}{sheet.last_row}"
    ws.print_title_rows = f"{hr}:{hr}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = 9
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    left, right, top_, bottom = sheet.margins
    ws.page_margins.left, ws.page_margins.right, ws.page_margins.top, ws.page_margins.bottom = (
        left,
        right,
        top_,
        bottom,
    )
    if sheet.footer:
        ws.oddFooter.left.text, ws.oddFooter.right.text = _footer_parts(sheet.footer)
        ws.oddFooter.left.size = ws.oddFooter.right.size = 8
    for ws_ in wb.worksheets:
        ws_.sheet_view.tabSelected = False
    ws.sheet_view.tabSelected = True
    wb.active = 0


def _footer_parts(footer: str) -> tuple[str, str]:
    """The left and right texts of a footer written « &L…&R… » (openpyxl sets each part)."""
    left, _, right = footer.removeprefix("&L").partition("&R")
    return left.removeprefix("&8"), right.removeprefix("&8")


_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def normalize_zip(path: Path, when: dt.datetime | None = None) -> None:
    """Rewrite a zip with fixed entry times and, if `when` is given, a fixed modification time:
    openpyxl stamps each part, and the document's « modified » property, with the current time."""
    from cia_workbook.partners.xlsx_copy import zipped

    with zipfile.ZipFile(path) as src:
        entries = [(info.filename, src.read(info)) for info in src.infolist()]
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode() if when else None
    if stamp:
        entries = [
            (
                name,
                _MODIFIED.sub(rb"\g<1>" + stamp + rb"\g<2>", data) if name == "docProps/core.xml" else data,
            )
            for name, data in entries
        ]
    path.write_bytes(zipped(entries))


# -- The officer's summary -----------------------------------------------------------------

# Every sheet of controle-<year>.xlsx: a title, two lines saying what it holds, then its header.
SUMMARY_HEADER_ROW = 4
PARTNER_KINDS = {
    "bailleur": "Bailleur",
    "reservataire": "Réservataire",
    "operateur": "Opérateur de relogement",
}
# The situation of a partner's return, in the order the officer chases them: missing first,
# then the returns kept out of the bilan for errors.
SITUATIONS = ("Aucun retour", "Écarté (erreurs)", "Retenu, avec avertissements", "Retenu")
SITUATION_FILLS = ("#D9D9D9", "#" + ERROR_FILL, "#" + WARNING_FILL, "#C6EFCE")
# How many kinds of finding, and cells of each, a sentence of « À demander » names.
ASK_KINDS = 3
ASK_CELLS = 3
# Rows whose height is measured from their text (beyond, the spreadsheet's default height).
MEASURED_ROWS = 10_000
# Width of the printed columns of « Partenaires »: one landscape A4 page at 100 % (narrow margins).
PRINTED_WIDTH = 143


class _Column(NamedTuple):
    header: str
    width: float
    wrap: bool = False
    small: bool = False  # set a size smaller (fingerprints)


def _situation(rf: ReturnFile | None, findings: list[Finding]) -> int:
    """Index in SITUATIONS of a partner's return and the findings of its annotated copy."""
    if rf is None:
        return 0
    if any(f.is_error for f in findings):
        return 1
    return 2 if findings else 3


def _lower_first(text: str) -> str:
    """« Valeur hors liste » → « valeur hors liste », but « QPV hors de la commune » kept."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _kinds(findings: list[Finding]) -> str:
    """« valeur hors liste (Attributions D5, D9 et 2 autres cellules) ; date invalide (…) »: the
    kinds of `findings` in sheet order, each with the cells where it is."""
    from cia_workbook.render.typography import count, join

    by_kind: dict[str, list[Finding]] = {}
    for f in sorted(findings, key=Finding.sort_key):
        by_kind.setdefault(f.code, []).append(f)
    parts = []
    for items in list(by_kind.values())[:ASK_KINDS]:
        title = _lower_first(items[0].type.title)
        places: dict[str, list[str]] = {}
        for f in items:
            if f.sheet and f.cell:
                places.setdefault(_plain(f.sheet), []).append(f.cell)
        where = []
        for sheet, cells in places.items():
            shown = cells[:ASK_CELLS]
            more = len(cells) - len(shown)
            where.append(f"{sheet} " + join(shown + ([count(more, "autre cellule")] if more else [])))
        n = len(items)
        parts.append(
            f"{title} ({' ; '.join(where)})" if where else title if n == 1 else f"{title} ({n} fois)"
        )
    left = len(by_kind) - len(parts)
    if left:
        parts.append(
            f"{count(left, 'autre sorte de constat', 'autres sortes de constats')} (feuille « Constats »)"
        )
    return " ; ".join(parts)


def _ask(rf: ReturnFile | None, findings: list[Finding], aside: list[str], deadline: str) -> str:
    """What to ask the partner, as the officer says it on the phone."""
    from cia_workbook.render.typography import count, join, plural

    out = []
    if rf is None:
        out.append(f"Relancer : aucun fichier reçu (date limite : {deadline}).")
    errors = [f for f in findings if f.is_error]
    warnings = [f for f in findings if not f.is_error]
    if errors:
        out.append(f"Corriger {count(len(errors), 'erreur')} puis renvoyer le fichier : {_kinds(errors)}.")
    if warnings:
        also = "aussi " if errors else ""
        out.append(f"Vérifier {also}{count(len(warnings), 'avertissement')} : {_kinds(warnings)}.")
    if aside:
        files = join([f"« {name} »" for name in aside])
        out.append(
            f"Examiner {plural(len(aside), 'le fichier', 'les fichiers')} {files}, non "
            f"{plural(len(aside), 'retenu')}, qui {plural(len(aside), 'le désigne', 'le désignent')} "
            "(identification contradictoire)."
        )
    return " ".join(out) or "Rien à demander."


def _answered(rf: ReturnFile) -> dt.date | None:
    """The date of the answer the partner typed in its Identification sheet."""
    answered = (rf.forms.get("identification") or {}).get("date_reponse")
    return answered if isinstance(answered, dt.date) else None


def write_summary(convention: Convention, campaign: Campaign, target: Path) -> Path:
    """controle-<year>.xlsx, the officer's control workbook: one line per partner to chase (the
    missing and the excluded first, with who answered, their e-mail and phone, what to ask), then
    every file considered and every finding, one per line; each sheet printed landscape, one page
    wide, its header repeated."""
    import xlsxwriter
    from babel.dates import format_date

    from cia_workbook.partners import sheet_layout as layout
    from cia_workbook.render.typography import count, fr, text_width

    year = campaign.year
    epci = convention.epci.name
    with atomic_path(target) as tmp:
        wb = xlsxwriter.Workbook(
            str(tmp), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
        )
        wb.set_properties(
            {"title": f"Contrôle des réponses {year}", "author": "cia-workbook",
             "created": fixed_time(year)}
        )  # fmt: skip
        base = {"font_name": "Calibri", "font_size": 11, "valign": "top"}
        f_title = wb.add_format({**base, "bold": True, "font_size": 14})
        f_note = wb.add_format({**base, "italic": True, "font_color": "#404040", "text_wrap": True})
        f_header = wb.add_format({**base, "bold": True, "bg_color": "#DDEBF7", "text_wrap": True,
                                  "border": 1, "valign": "vcenter"})  # fmt: skip
        f_cell = wb.add_format({**base, "border": 1, "border_color": "#BFBFBF"})
        f_wrap = wb.add_format({**base, "border": 1, "border_color": "#BFBFBF", "text_wrap": True})
        f_small = wb.add_format({**base, "border": 1, "border_color": "#BFBFBF", "font_size": 8})
        f_date = wb.add_format({**base, "border": 1, "border_color": "#BFBFBF", "num_format": "dd/mm/yyyy"})
        f_when = wb.add_format(
            {**base, "border": 1, "border_color": "#BFBFBF", "num_format": "dd/mm/yyyy hh:mm"}
        )
        f_situation = [
            wb.add_format(
                {**base, "border": 1, "border_color": "#BFBFBF", "text_wrap": True, "bg_color": fill}
            )
            for fill in SITUATION_FILLS
        ]
        hr = SUMMARY_HEADER_ROW - 1  # 0-based

        def sheet(name: str, title: str, notes: tuple[str, str], columns: list[_Column], rows: list[list[Any]],
                  fills: list[Any] | None = None, more: str = "", print_cols: int | None = None):  # fmt: skip
            """A sheet of `rows` under a title and two lines of notes; beyond a sheet's rows, the last row
            says how many more (`more`, with the number of rows left out). `fills`: a format per row
            for its third cell (the situation); `print_cols`: the columns printed, when not all."""
            ws = wb.add_worksheet(name)
            widths = [c.width for c in columns]
            shown_width = sum(widths[:print_cols]) if print_cols else sum(widths)
            for c, col in enumerate(columns):
                ws.set_column(c, c, col.width)
            last = (print_cols or len(columns)) - 1
            ws.merge_range(0, 0, 0, last, fr(title), f_title)
            ws.set_row(0, layout.row_height([(title, shown_width)], 14, bold=True))
            for r, note in enumerate(notes, start=1):
                ws.merge_range(r, 0, r, last, fr(note), f_note)
                ws.set_row(r, layout.row_height([(note, shown_width)]))
            for c, col in enumerate(columns):
                ws.write_string(hr, c, col.header, f_header)
            ws.set_row(hr, layout.row_height([(c.header, c.width) for c in columns], bold=True))
            room = excel.MAX_ROWS - SUMMARY_HEADER_ROW
            if len(rows) > room:
                left = len(rows) - (room - 1)
                rows = [*rows[: room - 1], [""] * (len(columns) - 1) + [more.format(excel.count(left))]]
            for r, row in enumerate(rows, start=hr + 1):
                texts = []
                for c, value in enumerate(row):
                    col = columns[c]
                    fmt = f_small if col.small else (f_wrap if col.wrap else f_cell)
                    if fills is not None and c == 2 and r - hr - 1 < len(fills):
                        fmt = fills[r - hr - 1]
                    if value is None or value == "":
                        ws.write_blank(r, c, None, fmt)
                    elif isinstance(value, bool):
                        ws.write_string(r, c, "oui" if value else "non", fmt)
                    elif isinstance(value, int | float):
                        ws.write_number(r, c, value, fmt)
                    elif isinstance(value, dt.datetime):
                        ws.write_datetime(r, c, value, f_when)
                    elif isinstance(value, dt.date):
                        ws.write_datetime(r, c, dt.datetime.combine(value, dt.time()), f_date)
                    else:
                        text = excel.fit_cell(str(value))
                        ws.write_string(r, c, text, fmt)
                        if col.wrap and r < MEASURED_ROWS:
                            texts.append((text, col.width))
                if texts:
                    ws.set_row(r, layout.row_height(texts))
            ws.freeze_panes(hr + 1, 1)
            ws.autofilter(hr, 0, hr + max(len(rows), 1), len(columns) - 1)
            ws.repeat_rows(hr)
            if print_cols:
                ws.print_area(0, 0, hr + max(len(rows), 1), print_cols - 1)
            ws.set_landscape()
            ws.set_paper(9)
            ws.set_margins(0.4, 0.4, 0.6, 0.6)
            ws.fit_to_pages(1, 0)
            ws.set_footer(f"&L&8{fr(title).replace('&', '&&')}&R&8&A – page &P sur &N")
            return ws

        # -- Partenaires: whom to chase, and for what ----------------------------------------
        cross = _cross_by_file(campaign)
        aside = campaign.set_aside()
        copies = copy_targets([rf.path for rf in campaign.files], Path(target).parent)
        deadline = format_date(convention.campaign.deadline_for(year), format="long", locale="fr_FR")
        lines = []
        for i, p in enumerate(convention.partners):
            rf = campaign.used.get(p.id)
            findings = (rf.findings + cross.get(id(rf), [])) if rf else []
            who = (rf.forms.get("identification") or {}) if rf else {}
            situation = _situation(rf, findings)
            copy = copies[rf.path].name if rf and findings else ""
            lines.append((situation, i, [
                p.name, PARTNER_KINDS.get(p.kind, p.kind), SITUATIONS[situation],
                who.get("repondant"), who.get("courriel"), who.get("telephone"),
                fr(_ask(rf, findings, aside.get(p.id, []), deadline)),
                rf.name if rf else "", copy, sum(f.is_error for f in findings),
                sum(not f.is_error for f in findings),
                ", ".join(old.name for old in campaign.superseded.get(p.id, [])),
                ", ".join(aside.get(p.id, [])),
            ]))  # fmt: skip
        lines.sort(key=lambda line: line[:2])
        # The e-mail column as wide as the longest address (an address cut in two is misread).
        mail = min(max([20.0, *(layout.word_width(str(line[2][4] or "")) for line in lines)]), 30.0)
        tally = [sum(line[0] == k for line in lines) for k in range(len(SITUATIONS))]
        said = [f"{count(n, label.lower())}" for n, label in zip(tally, ("sans retour", "retour écarté pour erreurs",
                "retour retenu avec avertissements", "retour retenu sans remarque"), strict=True) if n]  # fmt: skip
        unattached = [rf for rf in campaign.files if rf.partner_id is None]
        summary = f"{count(len(lines), 'partenaire')} : {', '.join(said)}."
        if unattached:
            summary += (
                f" {count(len(unattached), 'fichier reçu')} sans partenaire reconnu "
                "(illisible ou qui n'est pas une réponse) : voir la feuille « Fichiers »."
            )
        sheet(
            "Partenaires",
            f"Contrôle des réponses {year} – {epci}",
            (
                f"{summary} Date limite de retour : {deadline}.",
                "Une ligne par partenaire, à relancer dans cet ordre : sans retour, puis écartés pour erreurs. "
                "Le contact vient de la feuille Identification du fichier reçu. Colonnes H à M (non imprimées) : "
                "fichier retenu, copie annotée à lui envoyer (dossier « retours »), versions.",
            ),
            [_Column("Partenaire", 22, True), _Column("Type", 12, True), _Column("Situation", 14, True),
             _Column("Personne qui répond", 19, True), _Column("Courriel", mail, True),
             _Column("Téléphone", 13, True), _Column("À demander", PRINTED_WIDTH - 80 - mail, True),
             _Column("Fichier retenu", 30, True), _Column("Copie annotée à envoyer", 30, True),
             _Column("Erreurs", 8), _Column("Avertissements", 14), _Column("Versions remplacées", 30, True),
             _Column("Fichiers non retenus qui le désignent", 30, True)],
            [line[2] for line in lines],
            fills=[f_situation[line[0]] for line in lines],
            print_cols=7,
        )  # fmt: skip

        # -- Fichiers: every file considered -------------------------------------------------
        used = {id(rf) for rf in campaign.used.values()}
        replaced = replaced_by(campaign)
        names = {p.id: p.name for p in convention.partners}
        rows = [
            [rf.name, names.get(rf.partner_id or "", rf.partner_id), rf.identity.year if rf.identity else None,
             f"remplacé par {replaced[id(rf)].name}" if id(rf) in replaced else verdict(rf), id(rf) in used,
             rf.sha256, rf.size, _answered(rf), rf.modified, rf.reader]
            for rf in campaign.files
        ]  # fmt: skip
        sheet(
            "Fichiers",
            f"Fichiers reçus pour {year} – {epci}",
            (
                f"{count(len(rows), 'fichier examiné')}, dont {count(len(used), 'version utilisée')} : la plus "
                "récente de chaque partenaire (date de réponse de sa feuille Identification), même avec des erreurs.",
                "L'empreinte SHA-256 identifie le contenu exact de chaque fichier : deux fichiers de même empreinte "
                "sont identiques ; un fichier modifié depuis le contrôle n'a plus la même.",
            ),
            [_Column("Fichier", 30, True), _Column("Partenaire", 22, True), _Column("Année", 7),
             _Column("Statut", 20, True), _Column("Version utilisée", 9, True),
             _Column("Empreinte SHA-256", layout.width_for(text_width("0" * 64, 8)), small=True),
             _Column("Taille (octets)", 10), _Column("Date de la réponse", 11, True), _Column("Modifié le", 15),
             _Column("Lu par", 10)],
            rows,
        )  # fmt: skip

        # -- Constats: every finding, one per line ------------------------------------------
        rows = []
        for rf in campaign.files:
            if id(rf) in replaced:  # its findings no longer apply: the newer version's do
                continue
            for f in rf.findings:
                rows.append([rf.name, names.get(rf.partner_id or "", ""), f.sheet, f.cell, f.code,
                             f.severity, f.type.title, f.message])  # fmt: skip
        by_name = {rf.name: rf for rf in campaign.used.values()}
        for f in campaign.cross_findings:
            owner = names.get(by_name[f.file].partner_id or "", "") if f.file in by_name else ""
            rows.append([f.file, owner, f.sheet, f.cell, f.code, f.severity, f.type.title, f.message])
        errors = sum(row[5] == "erreur" for row in rows)
        sheet(
            "Constats",
            f"Constats du contrôle {year} – {epci}",
            (
                f"{count(len(rows), 'constat')} : {count(errors, 'erreur')} (le fichier n'est pas retenu tant "
                f"qu'elles ne sont pas corrigées), {count(len(rows) - errors, 'avertissement')}.",
                "Un constat par ligne, avec sa feuille et sa cellule ; le code est stable d'une année à l'autre "
                "(filtrez la colonne « Code » pour retrouver les mêmes). Les versions remplacées n'y figurent pas.",
            ),
            [_Column("Fichier", 26, True), _Column("Partenaire", 20, True), _Column("Feuille", 14, True),
             _Column("Cellule", 9), _Column("Code", 26), _Column("Gravité", 13), _Column("Constat", 20, True),
             _Column("Message", 56, True)],
            rows,
            more=f"… et {{}} autres constats, que cette feuille ne peut pas tenir (une feuille Excel a au plus "
                 f"{excel.count(excel.MAX_ROWS)} lignes) : la liste complète est donnée par "
                 "« cia-workbook validate --json ».",
        )  # fmt: skip
        wb.close()
    return target
