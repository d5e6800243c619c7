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

import bisect
import datetime as dt
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from cia_workbook.intake.sheetxml import cell_position, get_column_letter, range_boundaries
from cia_workbook.partners.corrections import CorrectionsSheet, Mark

M = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_R = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
DC = "http://purl.org/dc/elements/1.1/"
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
# Worksheet children that come after legacyDrawing, in the schema's order (CT_Worksheet).
_AFTER_LEGACY = ("legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems",
                 "tableParts", "extLst")  # fmt: skip
_IDMAP = re.compile(rb"""<(?:[A-Za-z0-9_]+:)?idmap[^>]*\sdata=["']([0-9, ]+)["']""")
_TAB_SELECTED = re.compile(rb"""\stabSelected=["'](?:1|true)["']""")


class NotEditable(Exception):
    """This package is not edited in place; the reason says why (for developers, not users)."""


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


def _parse(data: bytes):
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise NotEditable(f"unreadable XML: {exc}") from exc
    if root.getroottree().docinfo.doctype:
        raise NotEditable("DOCTYPE")
    return root


def _serialize(root) -> bytes:
    from lxml import etree

    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


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
        sheets = self.workbook.find(_q(M, "sheets"))
        if sheets is None:
            raise NotEditable("no sheets")
        targets = {r.get("Id"): r for r in self.workbook_rels}
        for el in sheets:
            rel = targets.get(el.get(_q(R, "id")))
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
        return _parse(self.parts[name])

    def _content_type(self, part: str) -> str | None:
        for el in self.types:
            if el.tag == _q(CT, "Override") and el.get("PartName", "").lstrip("/") == part:
                return el.get("ContentType")
        ext = part.rsplit(".", 1)[-1].lower()
        for el in self.types:
            if el.tag == _q(CT, "Default") and el.get("Extension", "").lower() == ext:
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

        etree.SubElement(self.types, _q(CT, "Override"), PartName="/" + part, ContentType=content_type)

    def _default(self, ext: str, content_type: str) -> None:
        from lxml import etree

        if not any(
            el.tag == _q(CT, "Default") and el.get("Extension", "").lower() == ext for el in self.types
        ):
            default = etree.Element(_q(CT, "Default"), Extension=ext, ContentType=content_type)
            self.types.insert(0, default)

    # -- The copy --------------------------------------------------------------------------

    def corrected(self, marks: Sequence[Mark], sheet: CorrectionsSheet, when, author: str) -> bytes:
        self.author = author
        styles = _Styles(self.styles)
        by_sheet: dict[str, list[Mark]] = {}
        for mark in marks:
            if mark.sheet in self.sheet_parts:
                by_sheet.setdefault(mark.sheet, []).append(mark)
        vml_block = self._last_vml_block() + 1
        for name, part in self.sheet_parts.items():
            if name in by_sheet:
                vml_block = self._mark_sheet(part, by_sheet[name], styles, vml_block)
            else:
                self.parts[part] = _unselect(self.parts[part])
        self._insert_corrections(sheet, styles)
        self._drop_calc_chain()
        self._stamp(when, author)
        self.parts[self.styles_part] = _serialize(styles.root)
        self.parts[self.workbook_part] = _serialize(self.workbook)
        self.parts[_rels_path(self.workbook_part)] = _serialize(self.workbook_rels)
        self.parts["[Content_Types].xml"] = _serialize(self.types)
        return zipped((name, self.parts[name]) for name in [*self.order, *self.added] if name in self.parts)

    def _last_vml_block(self) -> int:
        """Each legacy drawing numbers its shapes in its own blocks of 1024 (o:idmap): the new
        drawings take blocks after those of the drawings already in the workbook."""
        used = [0]
        for name in self.order:
            if name.lower().endswith(".vml"):
                for m in _IDMAP.finditer(self.parts[name]):
                    used += [int(n) for n in m.group(1).split(b",") if n.strip().isdigit()]
        return max(used)

    def _mark_sheet(self, part: str, marks: list[Mark], styles: _Styles, block: int) -> int:
        from lxml import etree

        root = _parse(self.parts[part])
        if root.tag != _q(M, "worksheet"):
            raise NotEditable("not a worksheet")
        if root.find(_q(M, "legacyDrawing")) is not None:
            raise NotEditable("the sheet already has comments or a legacy drawing")
        _unselect_tree(root)
        data = root.find(_q(M, "sheetData"))
        if data is None:
            raise NotEditable("no sheetData")
        rows = _Rows(data)
        merged = _merged(root)
        col_styles = _column_styles(root)
        kept: list[tuple[int, int, Mark]] = []
        for mark in marks:
            r, c = cell_position(mark.ref)
            if any(r1 <= r <= r2 and c1 <= c <= c2 and (r, c) != (r1, c1) for r1, c1, r2, c2 in merged):
                continue  # inside a merged range: only its first cell shows
            cell = rows.cell(r, c, col_styles)
            cell.set("s", str(styles.filled(int(cell.get("s", "0")), mark.color)))
            if mark.fit:
                self._fit(cell)
            kept.append((r, c, mark))
        if not kept:
            self.parts[part] = _serialize(root)
            return block
        rels_part = _rels_path(part)
        rels = (
            self._xml(rels_part)
            if rels_part in self.parts
            else etree.Element(_q(PKG_R, "Relationships"), nsmap={None: PKG_R})
        )
        if rels_part not in self.parts:
            self.added.append(rels_part)
        comments = self._new_name("xl/comments{}.xml")
        vml = self._new_name("xl/drawings/vmlDrawing{}.vml")
        self.parts[comments] = _comments_xml(kept, self.author)
        blocks = len(kept) // 1024 + 1
        self.parts[vml] = _vml(kept, list(range(block, block + blocks)))
        self._override(comments, COMMENTS_TYPE)
        self._default("vml", VML_TYPE)
        vml_id = _add_rel(rels, REL_VML, _relative(part, vml))
        _add_rel(rels, REL_COMMENTS, _relative(part, comments))
        legacy = etree.Element(_q(M, "legacyDrawing"))
        legacy.set(_q(R, "id"), vml_id)
        after = [i for i, el in enumerate(root) if etree.QName(el).localname in _AFTER_LEGACY]
        if after:
            root.insert(after[0], legacy)
        else:
            root.append(legacy)
        self.parts[part] = _serialize(root)
        self.parts[rels_part] = _serialize(rels)
        return block + blocks

    def _fit(self, cell) -> None:
        """A text cell beyond a cell's limit rewritten as an inline text shortened visibly
        (`excel.fit_cell`); a formula's result is left as it is."""
        from lxml import etree

        from cia_workbook.partners.excel import MAX_CELL_TEXT, fit_cell

        if cell.find(_q(M, "f")) is not None:
            return
        kind = cell.get("t")
        if kind == "inlineStr":
            box = cell.find(_q(M, "is"))
            text = "".join(t.text or "" for t in box.iter(_q(M, "t"))) if box is not None else ""
        elif kind == "s":
            value = cell.find(_q(M, "v"))
            text = self._shared_strings()[int(value.text)]
        else:
            return
        if len(text) <= MAX_CELL_TEXT:
            return
        for child in list(cell):
            cell.remove(child)
        cell.set("t", "inlineStr")
        box = etree.SubElement(cell, _q(M, "is"))
        t = etree.SubElement(box, _q(M, "t"))
        t.text = fit_cell(text)
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")

    def _shared_strings(self) -> list[str]:
        """The texts of the shared strings part (read once, when a cell needs them)."""
        if self._strings is None:
            rel = next((r for r in self.workbook_rels if r.get("Type", "").endswith("/sharedStrings")), None)
            if rel is None:
                raise NotEditable("shared strings")
            root = self._xml(_target(self.workbook_part, rel.get("Target")))
            # Rich text: every run of an item; phonetic hints (rPh) are no part of the text.
            self._strings = [
                "".join(t.text or "" for t in si.iter(_q(M, "t")) if t.getparent().tag != _q(M, "rPh"))
                for si in root.iter(_q(M, "si"))
            ]
        return self._strings

    def _insert_corrections(self, sheet: CorrectionsSheet, styles: _Styles) -> None:
        from lxml import etree

        part = self._new_name(posixpath.join(posixpath.dirname(self.workbook_part), "worksheets/sheet{}.xml"))
        self.parts[part] = _corrections_xml(sheet, styles)
        self._override(part, SHEET_TYPE)
        rid = _add_rel(self.workbook_rels, REL_SHEET, _relative(self.workbook_part, part))
        sheets = self.workbook.find(_q(M, "sheets"))
        ids = [int(el.get("sheetId", "0")) for el in sheets]
        el = etree.Element(_q(M, "sheet"), name=sheet.title, sheetId=str(max(ids, default=0) + 1))
        el.set(_q(R, "id"), rid)
        sheets.insert(0, el)
        names = self.workbook.find(_q(M, "definedNames"))
        if names is None:
            # In the schema's order: after sheets and the function groups, if any.
            names = etree.Element(_q(M, "definedNames"))
            groups = self.workbook.find(_q(M, "functionGroups"))
            (groups if groups is not None else sheets).addnext(names)
        for name in names:
            if name.get("localSheetId") is not None:
                name.set("localSheetId", str(int(name.get("localSheetId")) + 1))
        quoted = sheet.title.replace("'", "''")
        titles = etree.Element(_q(M, "definedName"), name="_xlnm.Print_Titles", localSheetId="0")
        titles.text = f"'{quoted}'!${sheet.header_row}:${sheet.header_row}"
        names.insert(0, titles)
        if sheet.lines:
            last = get_column_letter(len(sheet.headers))
            db = etree.Element(
                _q(M, "definedName"), name="_xlnm._FilterDatabase", localSheetId="0", hidden="1"
            )
            db.text = f"'{quoted}'!$A${sheet.header_row}:${last}${sheet.last_row}"
            names.insert(0, db)
        views = self.workbook.find(_q(M, "bookViews"))
        if views is None:
            views = etree.Element(_q(M, "bookViews"))
            sheets.addprevious(views)
        if len(views) == 0:
            etree.SubElement(views, _q(M, "workbookView"))
        for view in views:
            view.set("activeTab", "0")
            view.attrib.pop("firstSheet", None)

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
        from lxml import etree

        core_part = "docProps/core.xml"
        if core_part not in self.parts:
            return
        core = self._xml(core_part)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        for tag in (_q(DCTERMS, "created"), _q(DCTERMS, "modified")):
            el = core.find(tag)
            if el is None:
                el = etree.SubElement(core, tag)
            el.set(_q(XSI, "type"), "dcterms:W3CDTF")
            el.text = stamp
        by = core.find(_q(CP, "lastModifiedBy"))
        if by is None:
            by = etree.SubElement(core, _q(CP, "lastModifiedBy"))
        by.text = author
        self.parts[core_part] = _serialize(core)


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


def _add_rel(rels, rel_type: str, target: str) -> str:
    from lxml import etree

    ids = {el.get("Id") for el in rels}
    n = len(ids) + 1
    while f"rId{n}" in ids:
        n += 1
    rid = f"rId{n}"
    etree.SubElement(rels, _q(PKG_R, "Relationship"), Id=rid, Type=rel_type, Target=target)
    return rid


def _unselect(data: bytes) -> bytes:
    """A sheet's bytes with its tab no longer selected (only the Corrections tab is)."""
    head = data.find(b"<sheetData")
    head = len(data) if head < 0 else head
    return _TAB_SELECTED.sub(b"", data[:head]) + data[head:]


def _unselect_tree(root) -> None:
    for view in root.iter(_q(M, "sheetView")):
        view.attrib.pop("tabSelected", None)


def _merged(root) -> list[tuple[int, int, int, int]]:
    """(first row, first column, last row, last column) of each merged range of a sheet."""
    merges = root.find(_q(M, "mergeCells"))
    out = []
    for el in merges if merges is not None else ():
        if ":" in el.get("ref", ""):
            c1, r1, c2, r2 = range_boundaries(el.get("ref"))
            out.append((r1, c1, r2, c2))
    return out


def _column_styles(root) -> list[tuple[int, int, int]]:
    cols = root.find(_q(M, "cols"))
    return [
        (int(col.get("min", "0")), int(col.get("max", "0")), int(col.get("style", "0")))
        for col in (cols if cols is not None else ())
    ]


class _Rows:
    """The rows of a sheetData, found or created in order."""

    def __init__(self, data):
        self.data = data
        self.numbers: list[int] = []
        self.rows = []
        for row in data:
            if row.tag != _q(M, "row") or row.get("r") is None:
                raise NotEditable("row without a number")
            self.numbers.append(int(row.get("r")))
            self.rows.append(row)
        if self.numbers != sorted(self.numbers):
            raise NotEditable("rows out of order")

    def cell(self, r: int, c: int, col_styles: list[tuple[int, int, int]]):
        from lxml import etree

        i = bisect.bisect_left(self.numbers, r)
        if i < len(self.numbers) and self.numbers[i] == r:
            row = self.rows[i]
        else:
            row = etree.Element(_q(M, "row"), r=str(r))
            self.data.insert(i, row)
            self.numbers.insert(i, r)
            self.rows.insert(i, row)
        row.attrib.pop("spans", None)  # an optional hint; a new cell may fall outside it
        columns = []
        for cell in row:
            ref = cell.get("r")
            if ref is None:
                raise NotEditable("cell without a reference")
            columns.append(cell_position(ref)[1])
        j = bisect.bisect_left(columns, c)
        if j < len(columns) and columns[j] == c:
            return row[j]
        style = row.get("s") if row.get("customFormat") in ("1", "true") else None
        if style is None:
            style = next((str(s) for lo, hi, s in col_styles if lo <= c <= hi), "0")
        cell = etree.Element(_q(M, "c"), r=f"{get_column_letter(c)}{r}")
        if style != "0":
            cell.set("s", style)
        row.insert(j, cell)
        return cell


class _Styles:
    """Fills, fonts and cell formats added to a workbook's styles part."""

    def __init__(self, root):
        self.root = root
        self.fills = self._list("fills")
        self.fonts = self._list("fonts")
        self.xfs = self._list("cellXfs")
        self._fill_ids: dict[str, int] = {}
        self._filled: dict[tuple[int, str], int] = {}
        self._named: dict[tuple, int] = {}

    def _list(self, tag: str):
        el = self.root.find(_q(M, tag))
        if el is None or len(el) == 0:
            raise NotEditable(f"styles without {tag}")
        return el

    def _append(self, parent, child) -> int:
        parent.append(child)
        parent.set("count", str(len(parent)))
        return len(parent) - 1

    def fill(self, color: str) -> int:
        from lxml import etree

        if color not in self._fill_ids:
            fill = etree.Element(_q(M, "fill"))
            pattern = etree.SubElement(fill, _q(M, "patternFill"), patternType="solid")
            etree.SubElement(pattern, _q(M, "fgColor"), rgb="FF" + color)
            etree.SubElement(pattern, _q(M, "bgColor"), rgb="FF" + color)
            self._fill_ids[color] = self._append(self.fills, fill)
        return self._fill_ids[color]

    def filled(self, xf_id: int, color: str) -> int:
        """The cell format `xf_id` with a solid fill of `color`."""
        from copy import deepcopy

        key = (xf_id, color)
        if key not in self._filled:
            if not 0 <= xf_id < len(self.xfs):
                raise NotEditable("unknown cell style")
            xf = deepcopy(self.xfs[xf_id])
            xf.set("fillId", str(self.fill(color)))
            xf.set("applyFill", "1")
            self._filled[key] = self._append(self.xfs, xf)
        return self._filled[key]

    def xf(
        self,
        bold: bool = False,
        color: str | None = None,
        fill: str | None = None,
        wrap: bool = False,
        size: float | None = None,
        top: bool = False,
    ) -> int:
        """A cell format on the workbook's default font, with the given changes (`top`: aligned
        at the top of the cell, as `wrap` is too)."""
        from copy import deepcopy

        from lxml import etree

        key = (bold, color, fill, wrap, size, top)
        if key in self._named:
            return self._named[key]
        font_id = 0
        if bold or color or size:
            font = deepcopy(self.fonts[0])
            for el in list(font):
                if etree.QName(el).localname in ("b", "u", "color") or (
                    size and etree.QName(el).localname == "sz"
                ):
                    font.remove(el)
            if size:
                font.insert(0, etree.Element(_q(M, "sz"), val=f"{size:g}"))
            if color:
                font.insert(0, etree.Element(_q(M, "u")))
                font.append(etree.Element(_q(M, "color"), rgb="FF" + color))
            if bold:
                font.insert(0, etree.Element(_q(M, "b")))
            font_id = self._append(self.fonts, font)
        xf = etree.Element(_q(M, "xf"), numFmtId="0", fontId=str(font_id), fillId="0", borderId="0", xfId="0")
        if font_id:
            xf.set("applyFont", "1")
        if fill:
            xf.set("fillId", str(self.fill(fill)))
            xf.set("applyFill", "1")
        if wrap or top:
            xf.set("applyAlignment", "1")
            alignment = etree.SubElement(xf, _q(M, "alignment"), vertical="top")
            if wrap:
                alignment.set("wrapText", "1")
        self._named[key] = self._append(self.xfs, xf)
        return self._named[key]


# -- New parts -----------------------------------------------------------------------------


def _cell_xml(ref: str, value: Any, style: int) -> str:
    s = f' s="{style}"' if style else ""
    if isinstance(value, bool) or value is None or value == "":
        return f'<c r="{ref}"{s}/>' if style else ""
    if isinstance(value, int | float):
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'
    text = escape(str(value))
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _corrections_xml(sheet: CorrectionsSheet, styles: _Styles) -> bytes:
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


def _comments_xml(kept: Iterable[tuple[int, int, Mark]], author: str) -> bytes:
    out = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
        f'<comments xmlns="{M}"><authors><author>{escape(author)}</author></authors><commentList>',
    ]
    for r, c, mark in kept:
        text = escape(mark.text)
        out.append(
            f'<comment ref="{get_column_letter(c)}{r}" authorId="0"><text><t xml:space="preserve">{text}</t></text></comment>'
        )
    out.append("</commentList></comments>")
    return "".join(out).encode("utf-8")


def _vml(kept: Sequence[tuple[int, int, Mark]], blocks: list[int]) -> bytes:
    """The legacy drawing Excel needs to show comments: one hidden note shape per comment."""
    out = [
        '<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel">',
        f'<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{",".join(map(str, blocks))}"/></o:shapelayout>',
        '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">'
        '<v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>',
    ]
    for i, (r, c, mark) in enumerate(kept):
        shape_id = blocks[0] * 1024 + 1 + i
        height = min(60 + 45 * mark.lines, 300)
        out.append(
            f'<v:shape id="_x0000_s{shape_id}" type="#_x0000_t202" style="position:absolute;margin-left:59.25pt;'
            f'margin-top:1.5pt;width:240pt;height:{height}pt;z-index:{i + 1};visibility:hidden" '
            'fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/>'
            '<v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/>'
            '<v:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div></v:textbox>'
            '<x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
            f"<x:Anchor>{c}, 15, {max(r - 2, 0)}, 10, {c + 4}, 15, {r + 4}, 4</x:Anchor>"
            f"<x:AutoFill>False</x:AutoFill><x:Row>{r - 1}</x:Row><x:Column>{c - 1}</x:Column>"
            "</x:ClientData></v:shape>"
        )
    out.append("</xml>")
    return "".join(out).encode("utf-8")
