"""The marks of a corrected copy in a worksheet's XML (lxml): each faulty cell filled (a cell
format added to the styles part, `Styles`) and, when its text is beyond a cell's limit,
shortened; then the comments part and the legacy VML drawing Excel needs to show the comments.
Also the XML basics `xlsx_copy` shares: the namespaces, parsing without entities or DOCTYPE,
and `NotEditable`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from xml.sax.saxutils import escape

from cia_workbook.intake.sheetxml import cell_position, get_column_letter, range_boundaries
from cia_workbook.partners.corrections import Mark

M = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

# Worksheet children that come after legacyDrawing, in the schema's order (CT_Worksheet).
_AFTER_LEGACY = ("legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems",
                 "tableParts", "extLst")  # fmt: skip
_IDMAP = re.compile(rb"""<(?:[A-Za-z0-9_]+:)?idmap[^>]*\sdata=["']([0-9, ]+)["']""")
_TAB_SELECTED = re.compile(rb"""\stabSelected=["'](?:1|true)["']""")


class NotEditable(Exception):
    """This package is not edited in place; the reason says why (for developers, not users)."""


def parse(data: bytes):
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise NotEditable(f"unreadable XML: {exc}") from exc
    if root.getroottree().docinfo.doctype:
        raise NotEditable("DOCTYPE")
    return root


def serialize(root) -> bytes:
    from lxml import etree

    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def mark_cells(
    root, marks: list[Mark], styles: Styles, shared_strings: Callable[[], list[str]]
) -> list[tuple[int, int, Mark]]:
    """Fill the cells of `marks` in the worksheet `root`, shortening the texts beyond a cell's
    limit (`shared_strings()`: the workbook's shared texts, read when a cell needs them); returns
    (row, column, mark) of each cell kept, those inside a merged range left out."""
    if root.tag != q(M, "worksheet"):
        raise NotEditable("not a worksheet")
    if root.find(q(M, "legacyDrawing")) is not None:
        raise NotEditable("the sheet already has comments or a legacy drawing")
    _unselect_tree(root)
    data = root.find(q(M, "sheetData"))
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
            _fit(cell, shared_strings)
        kept.append((r, c, mark))
    return kept


def add_legacy_drawing(root, rid: str) -> None:
    """The worksheet's link to its legacy drawing `rid`, at its place in the schema's order."""
    from lxml import etree

    legacy = etree.Element(q(M, "legacyDrawing"))
    legacy.set(q(R, "id"), rid)
    after = [i for i, el in enumerate(root) if etree.QName(el).localname in _AFTER_LEGACY]
    if after:
        root.insert(after[0], legacy)
    else:
        root.append(legacy)


def last_vml_block(parts: dict[str, bytes]) -> int:
    """Each legacy drawing numbers its shapes in its own blocks of 1024 (o:idmap): the new
    drawings take blocks after those of the drawings already in the workbook."""
    used = [0]
    for name, data in parts.items():
        if name.lower().endswith(".vml"):
            for m in _IDMAP.finditer(data):
                used += [int(n) for n in m.group(1).split(b",") if n.strip().isdigit()]
    return max(used)


def _fit(cell, shared_strings: Callable[[], list[str]]) -> None:
    """A text cell beyond a cell's limit rewritten as an inline text shortened visibly
    (`excel.fit_cell`); a formula's result is left as it is."""
    from lxml import etree

    from cia_workbook.partners.excel import MAX_CELL_TEXT, fit_cell

    if cell.find(q(M, "f")) is not None:
        return
    kind = cell.get("t")
    if kind == "inlineStr":
        box = cell.find(q(M, "is"))
        text = "".join(t.text or "" for t in box.iter(q(M, "t"))) if box is not None else ""
    elif kind == "s":
        value = cell.find(q(M, "v"))
        text = shared_strings()[int(value.text)]
    else:
        return
    if len(text) <= MAX_CELL_TEXT:
        return
    for child in list(cell):
        cell.remove(child)
    cell.set("t", "inlineStr")
    box = etree.SubElement(cell, q(M, "is"))
    t = etree.SubElement(box, q(M, "t"))
    t.text = fit_cell(text)
    t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")


def shared_string_texts(root) -> list[str]:
    """The texts of a shared strings part: rich text, every run of an item; phonetic hints (rPh)
    are no part of the text."""
    return [
        "".join(t.text or "" for t in si.iter(q(M, "t")) if t.getparent().tag != q(M, "rPh"))
        for si in root.iter(q(M, "si"))
    ]


def unselect(data: bytes) -> bytes:
    """A sheet's bytes with its tab no longer selected (only the Corrections tab is)."""
    head = data.find(b"<sheetData")
    head = len(data) if head < 0 else head
    return _TAB_SELECTED.sub(b"", data[:head]) + data[head:]


def _unselect_tree(root) -> None:
    for view in root.iter(q(M, "sheetView")):
        view.attrib.pop("tabSelected", None)


def _merged(root) -> list[tuple[int, int, int, int]]:
    """(first row, first column, last row, last column) of each merged range of a sheet."""
    merges = root.find(q(M, "mergeCells"))
    out = []
    for el in merges if merges is not None else ():
        if ":" in el.get("ref", ""):
            c1, r1, c2, r2 = range_boundaries(el.get("ref"))
            out.append((r1, c1, r2, c2))
    return out


def _column_styles(root) -> list[tuple[int, int, int]]:
    cols = root.find(q(M, "cols"))
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
            if row.tag != q(M, "row") or row.get("r") is None:
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
            row = etree.Element(q(M, "row"), r=str(r))
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
        cell = etree.Element(q(M, "c"), r=f"{get_column_letter(c)}{r}")
        if style != "0":
            cell.set("s", style)
        row.insert(j, cell)
        return cell


class Styles:
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
        el = self.root.find(q(M, tag))
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
            fill = etree.Element(q(M, "fill"))
            pattern = etree.SubElement(fill, q(M, "patternFill"), patternType="solid")
            etree.SubElement(pattern, q(M, "fgColor"), rgb="FF" + color)
            etree.SubElement(pattern, q(M, "bgColor"), rgb="FF" + color)
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
                font.insert(0, etree.Element(q(M, "sz"), val=f"{size:g}"))
            if color:
                font.insert(0, etree.Element(q(M, "u")))
                font.append(etree.Element(q(M, "color"), rgb="FF" + color))
            if bold:
                font.insert(0, etree.Element(q(M, "b")))
            font_id = self._append(self.fonts, font)
        xf = etree.Element(q(M, "xf"), numFmtId="0", fontId=str(font_id), fillId="0", borderId="0", xfId="0")
        if font_id:
            xf.set("applyFont", "1")
        if fill:
            xf.set("fillId", str(self.fill(fill)))
            xf.set("applyFill", "1")
        if wrap or top:
            xf.set("applyAlignment", "1")
            alignment = etree.SubElement(xf, q(M, "alignment"), vertical="top")
            if wrap:
                alignment.set("wrapText", "1")
        self._named[key] = self._append(self.xfs, xf)
        return self._named[key]


def comments_xml(kept: Iterable[tuple[int, int, Mark]], author: str) -> bytes:
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


def vml_drawing(kept: Sequence[tuple[int, int, Mark]], blocks: list[int]) -> bytes:
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
