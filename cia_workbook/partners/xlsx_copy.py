"""Corrected copies made by editing the received workbook's package instead of re-writing it.

A partner's return is an Office Open XML package (a zip of XML parts). The corrected copy is the
same package with four changes: the faulty cells get a fill and a comment, a « Corrections »
sheet is inserted first, the workbook opens on it, and the document dates are fixed. Every
other part is copied byte for byte, so the copy keeps what a load-and-save through openpyxl
loses (the formulas' last computed values, drawings, extensions it does not know) and costs a
few milliseconds instead of a few hundred.

Only plain workbooks are edited: a package holding macros, external links, data connections,
controls or embedded objects, a sheet to be marked that already has comments or legacy
drawings, or anything this module does not recognise raises `NotEditable`, and the caller falls
back to the openpyxl copy (which drops such content).
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from cia_workbook.intake.sheetxml import get_column_letter
from cia_workbook.partners.corrections import CorrectionsSheet, Mark
from cia_workbook.partners.xlsx_marks import (
    M,
    NotEditable,
    R,
    Styles,
    add_legacy_drawing,
    comments_xml,
    last_vml_block,
    mark_cells,
    parse,
    q,
    serialize,
    shared_string_texts,
    unselect,
    vml_drawing,
)

PKG_R = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
DCTERMS = "http://purl.org/dc/terms/"
CP = "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

REL_DOC = R + "/officeDocument"
REL_SHEET = R + "/worksheet"
REL_COMMENTS = R + "/comments"
REL_VML = R + "/vmlDrawing"
REL_CALC_CHAIN = R + "/calcChain"
WORKBOOK_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
COMMENTS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
VML_TYPE = "application/vnd.openxmlformats-officedocument.vmlDrawing"
ZIP_TIME = (2000, 1, 1, 0, 0, 0)

# Parts whose content could act (macros, links to other files or sources, controls, embedded
# objects): a copy sent back to a partner never carries them; such a file goes the openpyxl way.
_ACTIVE = re.compile(
    r"vbaProject|externalLink|connections\.xml|queryTable|activeX|ctrlProp|embeddings/|customUI|"
    r"attachedToolbars|vbaData",
    re.IGNORECASE,
)


def edit_copy(
    data: bytes,
    plan: Callable[[list[str]], tuple[Sequence[Mark], CorrectionsSheet]],
    when: dt.datetime,
    author: str,
) -> bytes:
    """The corrected copy of the package `data` (bytes of an .xlsx); raises NotEditable.

    `plan(sheet names)` gives the cells to mark and the Corrections sheet to insert."""
    try:
        package = _Package(data)
        marks, sheet = plan(list(package.sheet_parts))
        return package.corrected(marks, sheet, when, author)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        # An attribute this module reads is malformed (a row numbered "x", a style "abc"…).
        raise NotEditable(f"unexpected value: {exc!r}") from exc


# -- The package ---------------------------------------------------------------------------


def _rels_path(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _target(source: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def _relative(source: str, target: str) -> str:
    return posixpath.relpath(target, posixpath.dirname(source) or ".")


class _Package:
    def __init__(self, data: bytes):
        try:
            with zipfile.ZipFile(BytesIO(data)) as zf:
                infos = zf.infolist()
                self.order = [i.filename for i in infos]
                self.parts: dict[str, bytes] = {i.filename: zf.read(i) for i in infos}
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, ValueError) as exc:
            raise NotEditable(f"archive: {exc}") from exc
        if len(self.parts) != len(self.order):
            raise NotEditable("duplicate parts")
        active = [name for name in self.order if _ACTIVE.search(name)]
        if active:
            raise NotEditable(f"active content: {active[0]}")
        self.types = self._xml("[Content_Types].xml")
        root_rels = self._xml("_rels/.rels")
        docs = [r.get("Target") for r in root_rels if r.get("Type") == REL_DOC]
        if len(docs) != 1:
            raise NotEditable("main document")
        self.workbook_part = _target("", docs[0])
        if self._content_type(self.workbook_part) != WORKBOOK_TYPE:
            raise NotEditable("workbook content type")  # macro-enabled, template, strict…
        self.workbook = self._xml(self.workbook_part)
        self.workbook_rels = self._xml(_rels_path(self.workbook_part))
        self.sheet_parts: dict[str, str] = {}
        sheets = self.workbook.find(q(M, "sheets"))
        if sheets is None:
            raise NotEditable("no sheets")
        targets = {r.get("Id"): r for r in self.workbook_rels}
        for el in sheets:
            rel = targets.get(el.get(q(R, "id")))
            if rel is None or rel.get("Type") != REL_SHEET or rel.get("TargetMode") == "External":
                raise NotEditable("sheet without a worksheet part")
            self.sheet_parts[el.get("name")] = _target(self.workbook_part, rel.get("Target"))
        for part in self.sheet_parts.values():
            if part not in self.parts:
                raise NotEditable(f"missing part: {part}")
        styles = [r for r in self.workbook_rels if r.get("Type", "").endswith("/styles")]
        if len(styles) != 1:
            raise NotEditable("no single styles part")
        self.styles_part = _target(self.workbook_part, styles[0].get("Target"))
        self.styles = self._xml(self.styles_part)
        self.added: list[str] = []
        self._strings: list[str] | None = None

    def _xml(self, name: str):
        if name not in self.parts:
            raise NotEditable(f"missing part: {name}")
        return parse(self.parts[name])

    def _content_type(self, part: str) -> str | None:
        for el in self.types:
            if el.tag == q(CT, "Override") and el.get("PartName", "").lstrip("/") == part:
                return el.get("ContentType")
        ext = part.rsplit(".", 1)[-1].lower()
        for el in self.types:
            if el.tag == q(CT, "Default") and el.get("Extension", "").lower() == ext:
                return el.get("ContentType")
        return None

    def _new_name(self, pattern: str) -> str:
        n = 1
        while pattern.format(n) in self.parts:
            n += 1
        name = pattern.format(n)
        self.parts[name] = b""
        self.added.append(name)
        return name

    def _override(self, part: str, content_type: str) -> None:
        from lxml import etree

        etree.SubElement(self.types, q(CT, "Override"), PartName="/" + part, ContentType=content_type)

    def _default(self, ext: str, content_type: str) -> None:
        from lxml import etree

        if not any(
            el.tag == q(CT, "Default") and el.get("Extension", "").lower() == ext for el in self.types
        ):
            default = etree.Element(q(CT, "Default"), Extension=ext, ContentType=content_type)
            self.types.insert(0, default)

    # -- The copy --------------------------------------------------------------------------

    def corrected(self, marks: Sequence[Mark], sheet: CorrectionsSheet, when, author: str) -> bytes:
        self.author = author
        styles = Styles(self.styles)
        by_sheet: dict[str, list[Mark]] = {}
        for mark in marks:
            if mark.sheet in self.sheet_parts:
                by_sheet.setdefault(mark.sheet, []).append(mark)
        vml_block = last_vml_block(self.parts) + 1
        for name, part in self.sheet_parts.items():
            if name in by_sheet:
                vml_block = self._mark_sheet(part, by_sheet[name], styles, vml_block)
            else:
                self.parts[part] = unselect(self.parts[part])
        self._insert_corrections(sheet, styles)
        self._drop_calc_chain()
        self._stamp(when, author)
        self.parts[self.styles_part] = serialize(styles.root)
        self.parts[self.workbook_part] = serialize(self.workbook)
        self.parts[_rels_path(self.workbook_part)] = serialize(self.workbook_rels)
        self.parts["[Content_Types].xml"] = serialize(self.types)
        return zipped((name, self.parts[name]) for name in [*self.order, *self.added] if name in self.parts)

    def _mark_sheet(self, part: str, marks: list[Mark], styles: Styles, block: int) -> int:
        """The sheet `part` with its cells marked, and its comments and legacy drawing added
        (their shapes numbered from the drawing block `block`); returns the next free block."""
        from lxml import etree

        root = parse(self.parts[part])
        kept = mark_cells(root, marks, styles, self._shared_strings)
        if not kept:
            self.parts[part] = serialize(root)
            return block
        rels_part = _rels_path(part)
        rels = (
            self._xml(rels_part)
            if rels_part in self.parts
            else etree.Element(q(PKG_R, "Relationships"), nsmap={None: PKG_R})
        )
        if rels_part not in self.parts:
            self.added.append(rels_part)
        comments = self._new_name("xl/comments{}.xml")
        vml = self._new_name("xl/drawings/vmlDrawing{}.vml")
        self.parts[comments] = comments_xml(kept, self.author)
        blocks = len(kept) // 1024 + 1
        self.parts[vml] = vml_drawing(kept, list(range(block, block + blocks)))
        self._override(comments, COMMENTS_TYPE)
        self._default("vml", VML_TYPE)
        add_legacy_drawing(root, _add_rel(rels, REL_VML, _relative(part, vml)))
        _add_rel(rels, REL_COMMENTS, _relative(part, comments))
        self.parts[part] = serialize(root)
        self.parts[rels_part] = serialize(rels)
        return block + blocks

    def _shared_strings(self) -> list[str]:
        """The texts of the shared strings part (read once, when a cell needs them)."""
        if self._strings is None:
            rel = next((r for r in self.workbook_rels if r.get("Type", "").endswith("/sharedStrings")), None)
            if rel is None:
                raise NotEditable("shared strings")
            self._strings = shared_string_texts(self._xml(_target(self.workbook_part, rel.get("Target"))))
        return self._strings

    def _insert_corrections(self, sheet: CorrectionsSheet, styles: Styles) -> None:

        part = self._new_name(posixpath.join(posixpath.dirname(self.workbook_part), "worksheets/sheet{}.xml"))
        self.parts[part] = _corrections_xml(sheet, styles)
        self._override(part, SHEET_TYPE)
        rid = _add_rel(self.workbook_rels, REL_SHEET, _relative(self.workbook_part, part))
        _list_first(self.workbook, sheet, rid)

    def _drop_calc_chain(self) -> None:
        """The calculation chain lists formula cells by sheet; Excel rebuilds it when absent."""
        for rel in list(self.workbook_rels):
            if rel.get("Type") == REL_CALC_CHAIN:
                part = _target(self.workbook_part, rel.get("Target"))
                self.workbook_rels.remove(rel)
                self.parts.pop(part, None)
                for el in list(self.types):
                    if el.get("PartName", "").lstrip("/") == part:
                        self.types.remove(el)

    def _stamp(self, when: dt.datetime, author: str) -> None:
        """The document's dates fixed to `when`, `author` the last to modify it."""
        if "docProps/core.xml" in self.parts:
            self.parts["docProps/core.xml"] = _stamped(self._xml("docProps/core.xml"), when, author)


def zipped(parts: Iterable[tuple[str, bytes]]) -> bytes:
    """A package of `parts` (name, bytes) with fixed entry times and modes: the same parts give
    the same bytes from one run to the next."""
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            zf.writestr(info, data)
    return out.getvalue()


def _stamped(core, when: dt.datetime, author: str) -> bytes:
    from lxml import etree

    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    for tag in (q(DCTERMS, "created"), q(DCTERMS, "modified")):
        el = core.find(tag)
        if el is None:
            el = etree.SubElement(core, tag)
        el.set(q(XSI, "type"), "dcterms:W3CDTF")
        el.text = stamp
    by = core.find(q(CP, "lastModifiedBy"))
    if by is None:
        by = etree.SubElement(core, q(CP, "lastModifiedBy"))
    by.text = author
    return serialize(core)


def _list_first(workbook, sheet: CorrectionsSheet, rid: str) -> None:
    """The Corrections sheet (relationship `rid`) listed first in the workbook part, with its
    print titles and filter range; the workbook opens on it."""
    from lxml import etree

    sheets = workbook.find(q(M, "sheets"))
    ids = [int(el.get("sheetId", "0")) for el in sheets]
    el = etree.Element(q(M, "sheet"), name=sheet.title, sheetId=str(max(ids, default=0) + 1))
    el.set(q(R, "id"), rid)
    sheets.insert(0, el)
    names = workbook.find(q(M, "definedNames"))
    if names is None:
        # In the schema's order: after sheets and the function groups, if any.
        names = etree.Element(q(M, "definedNames"))
        groups = workbook.find(q(M, "functionGroups"))
        (groups if groups is not None else sheets).addnext(names)
    for name in names:
        if name.get("localSheetId") is not None:
            name.set("localSheetId", str(int(name.get("localSheetId")) + 1))
    quoted = sheet.title.replace("'", "''")
    titles = etree.Element(q(M, "definedName"), name="_xlnm.Print_Titles", localSheetId="0")
    titles.text = f"'{quoted}'!${sheet.header_row}:${sheet.header_row}"
    names.insert(0, titles)
    if sheet.lines:
        last = get_column_letter(len(sheet.headers))
        db = etree.Element(q(M, "definedName"), name="_xlnm._FilterDatabase", localSheetId="0", hidden="1")
        db.text = f"'{quoted}'!$A${sheet.header_row}:${last}${sheet.last_row}"
        names.insert(0, db)
    views = workbook.find(q(M, "bookViews"))
    if views is None:
        views = etree.Element(q(M, "bookViews"))
        sheets.addprevious(views)
    if len(views) == 0:
        etree.SubElement(views, q(M, "workbookView"))
    for view in views:
        view.set("activeTab", "0")
        view.attrib.pop("firstSheet", None)


def _add_rel(rels, rel_type: str, target: str) -> str:
    from lxml import etree

    ids = {el.get("Id") for el in rels}
    n = len(ids) + 1
    while f"rId{n}" in ids:
        n += 1
    rid = f"rId{n}"
    etree.SubElement(rels, q(PKG_R, "Relationship"), Id=rid, Type=rel_type, Target=target)
    return rid


# -- New parts -----------------------------------------------------------------------------


def _cell_xml(ref: str, value: Any, style: int) -> str:
    s = f' s="{style}"' if style else ""
    if isinstance(value, bool) or value is None or value == "":
        return f'<c r="{ref}"{s}/>' if style else ""
    if isinstance(value, int | float):
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'
    text = escape(str(value))
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _corrections_xml(sheet: CorrectionsSheet, styles: Styles) -> bytes:
    heading = styles.xf(bold=True, size=sheet.heading_size, wrap=True)
    note = styles.xf(wrap=True)
    header = styles.xf(bold=True, fill=sheet.header_fill, wrap=True)
    link = styles.xf(color=sheet.link_color, top=True)
    wrap = styles.xf(wrap=True)
    top = styles.xf(top=True)
    hr = sheet.header_row
    out = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
        f'<worksheet xmlns="{M}" xmlns:r="{R}">',
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>',
        '<sheetViews><sheetView tabSelected="1" workbookViewId="0">'
        f'<pane ySplit="{hr}" topLeftCell="A{hr + 1}" activePane="bottomLeft" state="frozen"/>'
        f'<selection pane="bottomLeft" activeCell="A{hr + 1}" sqref="A{hr + 1}"/></sheetView></sheetViews>',
        '<sheetFormatPr defaultRowHeight="15"/><cols>',
    ]
    for i, width in enumerate(sheet.widths, start=1):
        out.append(f'<col min="{i}" max="{i}" width="{width}" customWidth="1"/>')
    out.append("</cols><sheetData>")

    def row(r: int) -> str:
        height = sheet.heights[r - 1] if r <= len(sheet.heights) else None
        return f'<row r="{r}" ht="{height:g}" customHeight="1">' if height else f'<row r="{r}">'

    above = ([sheet.heading] if sheet.heading else []) + list(sheet.notes)
    for r, text in enumerate(above, start=1):
        style = heading if sheet.heading and r == 1 else note
        out.append(row(r) + _cell_xml(f"A{r}", text, style) + "</row>")
    out.append(row(hr))
    for i, text in enumerate(sheet.headers, start=1):
        out.append(_cell_xml(f"{get_column_letter(i)}{hr}", text, header))
    out.append("</row>")
    links = []
    for r, line in enumerate(sheet.lines, start=hr + 1):
        out.append(row(r))
        for c, value in enumerate(line.values):
            ref = f"{get_column_letter(c + 1)}{r}"
            style = top
            if c == sheet.severity_col:
                style = styles.xf(fill=line.color, top=True)
            elif c == sheet.link_col and line.link:
                style = link
                links.append((ref, line.link, str(value)))
            elif c == sheet.wrap_col:
                style = wrap
            out.append(_cell_xml(ref, value, style))
        out.append("</row>")
    out.append("</sheetData>")
    last = get_column_letter(len(sheet.headers))
    if sheet.lines:
        out.append(f'<autoFilter ref="A{hr}:{last}{sheet.last_row}"/>')
    if sheet.merged:
        out.append(f'<mergeCells count="{len(sheet.merged)}">')
        out.extend(f'<mergeCell ref="{ref}"/>' for ref in sheet.merged)
        out.append("</mergeCells>")
    if links:
        out.append("<hyperlinks>")
        for ref, location, display in links:
            out.append(
                f"<hyperlink ref={quoteattr(ref)} location={quoteattr(location)} "
                f"display={quoteattr(display)}/>"
            )
        out.append("</hyperlinks>")
    left, right, top_, bottom = sheet.margins
    out.append(
        f'<pageMargins left="{left}" right="{right}" top="{top_}" bottom="{bottom}" header="0.3" footer="0.3"/>'
        '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/>'
    )
    if sheet.footer:
        out.append(f"<headerFooter><oddFooter>{escape(sheet.footer)}</oddFooter></headerFooter>")
    out.append("</worksheet>")
    return "".join(out).encode("utf-8")
