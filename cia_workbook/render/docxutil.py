"""The Word documents' pure helpers on python-docx's XML: a cell's text from its value, column
widths from the text they hold, shading, rows kept whole, fields, the template's {fields} and
French spacing over the whole document. No state: `word.Word` lays out with them.
"""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import escape

from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn

from cia_workbook.consolidate import Col
from cia_workbook.render import frformat
from cia_workbook.render.typography import NBSP, fr, longest_word_width, text_width

TABLE_FONT_PT = 8.0  # the size of the template's « Texte de tableau » and « En-tête de tableau »
SMALL_TABLE_FONT_PT = 7.0  # last resort for a table too wide even in landscape
CELL_PADDING_PT = 11.0  # Word's and LibreOffice's default cell margins (2 × 0.19 cm) and a little air
NB_HYPHEN = "\u2011"
QUOTE = {'"': "&quot;"}
FIELD = re.compile(r"\{(\w+)\}")


def cell_text(kind: str, value: Any) -> str:
    """A cell's value as the tables print it (a text given is kept: masked or already worded)."""
    if isinstance(value, str) and kind != "text":
        return value  # masked (« < 11 », « secret statistique ») or already worded
    if value is None:
        return "–"
    if kind == "count" or kind == "number":
        return frformat.integer(value)
    if kind == "rate":
        return frformat.percent(value)
    if kind == "ratio":
        return frformat.decimal(value, 1)
    if kind == "delta":
        value = round(value, 1) or 0.0  # never « -0,0 »
        return ("+" if value > 0 else "") + frformat.decimal(value, 1)
    if kind == "target":
        return frformat.target(value * 100)
    if kind == "date":
        return frformat.date(value)
    return str(value)


# -- Column widths ---------------------------------------------------------------------------


def fit_columns(cols: list[Col], texts: list[list[str]], available: float, size: float) -> list[float] | None:
    """Column widths in points from the text they hold, or None when the table cannot fit.

    A column is never narrower than its longest word (header words in bold): no word is broken
    inside (« Propositio|n »). Headers may wrap to three lines; figures ask for their full
    width; the space left is shared in proportion to what each column would still like.
    """
    need, want = column_needs(cols, texts, size)
    if sum(need) > available:
        return None
    if sum(want) <= available:
        extra = available - sum(want)
        total = sum(want)
        return [w + extra * w / total for w in want]
    share = (available - sum(need)) / (sum(want) - sum(need))
    return [n + (w - n) * share for n, w in zip(need, want, strict=True)]


def table_widths(cols: list[Col], texts: list[list[str]], available: float) -> tuple[float, list[float]]:
    """The font size and the column widths of a table: fitted in the table style's size, else
    one point smaller, else squeezed."""
    widths = fit_columns(cols, texts, available, TABLE_FONT_PT)
    if widths is not None:
        return TABLE_FONT_PT, widths
    size = SMALL_TABLE_FONT_PT
    return size, fit_columns(cols, texts, available, size) or squeeze_columns(cols, texts, available, size)


def squeeze_columns(cols: list[Col], texts: list[list[str]], available: float, size: float) -> list[float]:
    """Last resort: the needed widths scaled down to the page (long words may then break)."""
    need, _ = column_needs(cols, texts, size)
    return [n * available / sum(need) for n in need]


def column_needs(cols: list[Col], texts: list[list[str]], size: float) -> tuple[list[float], list[float]]:
    need, want = [], []
    for j, col in enumerate(cols):
        # Measured as printed: French spacing glues « : » and « % » to the word before them.
        label = fr(col.label)
        header_word = longest_word_width(label, size, bold=True)
        header_full = text_width(label, size, bold=True)
        body = [fr(row[j]) for row in texts]
        body_word = max((longest_word_width(t, size) for t in body), default=0.0)
        body_full = max((text_width(t, size) for t in body), default=0.0)
        n = max(header_word, body_word) + CELL_PADDING_PT
        cap = 150.0 if col.kind == "text" else 80.0  # a long label wraps rather than widening its column
        w = max(n, min(max(body_full, header_full / 3), cap) + CELL_PADDING_PT)
        need.append(n)
        want.append(w)
    return need, want


# -- XML helpers -----------------------------------------------------------------------------


def typeset(doc) -> None:
    """French spacing on every text of the document (body, tables, headers, footers), one
    paragraph at a time so that a space at the end of one run before « : » in the next is
    mended too."""
    parts = [doc.element.body]
    for section in doc.sections:
        for part in (section.header, section.footer):
            if not part.is_linked_to_previous:
                parts.append(part._element)
    seen = set()
    for part in parts:
        if id(part) in seen:
            continue
        seen.add(id(part))
        for p in part.iter(qn("w:p")):
            texts = [t for t in p.iter(qn("w:t")) if t.text]
            for t in texts:
                t.text = fr(t.text)
            for a, b in zip(texts, texts[1:], strict=False):
                if a.text.endswith(" ") and b.text[:1] in ":»":
                    a.text = a.text[:-1] + NBSP
                elif a.text.endswith(" ") and b.text[:1] in ";!?%":
                    a.text = a.text[:-1] + ("\u202f" if b.text[0] != "%" else NBSP)
                elif a.text.endswith("«") and b.text[:1] == " ":
                    b.text = NBSP + b.text[1:]


def fill_fields(p, fields: dict[str, str]) -> None:
    """Replace {name} in a paragraph whose text may be split across runs (Word splits runs
    where it likes): the value goes in the run where the field starts."""
    texts = [t for t in p.iter(qn("w:t"))]
    whole = "".join(t.text or "" for t in texts)
    matches = [m for m in FIELD.finditer(whole) if m.group(1) in fields]
    if not matches:
        return
    bounds, pos = [], 0
    for t in texts:
        bounds.append((pos, pos + len(t.text or "")))
        pos += len(t.text or "")
    new = [list(t.text or "") for t in texts]
    for m in reversed(matches):
        start, end = m.span()
        for k, (a, b) in enumerate(bounds):
            lo, hi = max(start, a), min(end, b)
            if lo >= hi:
                continue
            chars = new[k]
            replacement = fields[m.group(1)] if a <= start < b else ""
            chars[lo - a : hi - a] = list(replacement)
    for t, chars in zip(texts, new, strict=True):
        t.text = "".join(chars)
        t.set(qn("xml:space"), "preserve")


def shade(cell, fill: str | None) -> None:
    if not fill:
        return
    tc_pr = cell._tc.get_or_add_tcPr()
    for old in tc_pr.findall(qn("w:shd")):
        tc_pr.remove(old)
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tc_pr.append(shd)


def style_fill(style) -> str | None:
    """The background colour a paragraph style of the template gives (its shading)."""
    ppr = style.element.pPr
    shd = ppr.find(qn("w:shd")) if ppr is not None else None
    return shd.get(qn("w:fill")) if shd is not None else None


def keep_with_next(cell) -> None:
    for p in cell.paragraphs:
        p.paragraph_format.keep_with_next = True


def chart_value(value: Any) -> float | None:
    """A figure for a chart; masked cells (text) are not drawn."""
    return value if isinstance(value, int | float) else None


def chart_mask(value: Any) -> str | None:
    """What a chart shows instead of the bar of a cell hidden by statistical secrecy (text)."""
    return "secret statistique" if isinstance(value, str) else None


def repeat_header(row) -> None:
    """Repeat the header row at the top of each page the table runs over (w:tblHeader)."""
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


def cant_split(tr) -> None:
    """A row is never split across two pages (w:cantSplit)."""
    tr_pr = tr.get_or_add_trPr()
    el = OxmlElement("w:cantSplit")
    el.set(qn("w:val"), "true")
    tr_pr.insert(0, el)


def add_row(grid, widths: list | None = None):
    """A row added at the end of `grid`, never split across pages, its cells `widths` wide."""
    row = grid.add_row()
    cant_split(row._tr)
    for cell, width in zip(row.cells, widths or [], strict=widths is not None):
        cell.width = width
    return row


def field(paragraph, instruction: str, placeholder: str) -> None:
    """A complex field (PAGE, NUMPAGES) computed by Word or LibreOffice when rendered."""

    def fld(kind: str):
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        return el

    paragraph.add_run()._r.append(fld("begin"))
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    paragraph.add_run()._r.append(instr)
    paragraph.add_run()._r.append(fld("separate"))
    paragraph.add_run(placeholder)
    paragraph.add_run()._r.append(fld("end"))


def no_break_hyphens(doc) -> None:
    """Every U+2011 of the document becomes Word's non-breaking hyphen (w:noBreakHyphen), which
    Word and LibreOffice draw as a hyphen in the text's own font and read back as « - »."""
    for t in list(doc.element.body.iter(qn("w:t"))):
        if not t.text or NB_HYPHEN not in t.text:
            continue
        parts = t.text.split(NB_HYPHEN)
        run, at = t.getparent(), t.getparent().index(t)
        run.remove(t)
        for k, part in enumerate(parts):
            if k:
                run.insert(at, OxmlElement("w:noBreakHyphen"))
                at += 1
            if part:
                new = OxmlElement("w:t")
                new.set(qn("xml:space"), "preserve")
                new.text = part
                run.insert(at, new)
                at += 1


def min_height(tr, cm: float) -> None:
    """A row at least `cm` high (room to write by hand)."""
    tr_pr = tr.get_or_add_trPr()
    el = OxmlElement("w:trHeight")
    el.set(qn("w:val"), str(round(cm / 2.54 * 1440)))
    el.set(qn("w:hRule"), "atLeast")
    tr_pr.append(el)


# -- A whole table as one piece of XML --------------------------------------------------------


def _run_xml(text: str, props: str) -> str:
    """A run of `text` as python-docx writes it: a tab is a w:tab, a line break a w:br, the rest
    w:t elements (xml:space="preserve" when the text has outer spaces)."""
    parts = []
    for piece in re.split(r"(\t|\r|\n)", text):
        if piece == "\t":
            parts.append("<w:tab/>")
        elif piece in ("\r", "\n"):
            parts.append("<w:br/>")
        elif piece:
            space = ' xml:space="preserve"' if piece.strip() != piece else ""
            parts.append(f"<w:t{space}>{escape(piece)}</w:t>")
    return f"<w:r>{props}{''.join(parts)}</w:r>" if props or parts else "<w:r/>"


def _run_props_xml(size: float | None, bold: bool) -> str:
    """A run's properties: bold, and a size in points."""
    if size is None and not bold:
        return ""
    sz = f'<w:sz w:val="{round(2 * size)}"/>' if size is not None else ""
    return f"<w:rPr>{'<w:b/>' if bold else ''}{sz}</w:rPr>"


def table_xml(
    widths: list[int],
    header: list[str],
    rows: list[list[str]],
    *,
    style_id: str | None,
    header_style: str | None,
    row_style: str | None,
    right: list[bool],
    bold: list[bool],
    size: float | None,
    keep_last: bool,
):
    """A centred table of fixed column `widths` (EMU): a header row repeated on every page,
    then `rows`; no row split across pages; figures (`right`) right-aligned; `bold` rows in bold;
    every run at `size` points when given (else the styles'); the last row kept with what follows
    when `keep_last`. Styles by id (None: the template lacks it, or it is the default one, which
    Word applies unnamed). Made as one piece of XML and parsed
    once: python-docx builds each cell through many small objects, several times slower. The
    XML is the one python-docx's calls would make (add_table, styles, widths, cell texts)."""
    twips = [str(int(round(w / 635))) for w in widths]
    grid = "".join(f'<w:gridCol w:w="{t}"/>' for t in twips)

    def cell(twip: str, style: str | None, keep: bool, jc: bool, run: str) -> str:
        ppr = (f'<w:pStyle w:val="{escape(style, QUOTE)}"/>' if style else "") + (
            "<w:keepNext/>" if keep else ""
        )
        ppr += '<w:jc w:val="right"/>' if jc else ""
        return (
            f'<w:tc><w:tcPr><w:tcW w:type="dxa" w:w="{twip}"/></w:tcPr>'
            f"<w:p>{f'<w:pPr>{ppr}</w:pPr>' if ppr else ''}{run}</w:p></w:tc>"
        )

    small = _run_props_xml(size, False)
    out = [
        f"<w:tbl {nsdecls('w')}><w:tblPr>"
        + (f'<w:tblStyle w:val="{escape(style_id, QUOTE)}"/>' if style_id else "")
        + '<w:tblW w:type="auto" w:w="0"/><w:jc w:val="center"/><w:tblLayout w:type="fixed"/>'
        '<w:tblLook w:firstColumn="1" w:firstRow="1" w:lastColumn="0" w:lastRow="0" w:noHBand="0" '
        f'w:noVBand="1" w:val="04A0"/></w:tblPr><w:tblGrid>{grid}</w:tblGrid>'
        '<w:tr><w:trPr><w:cantSplit w:val="true"/><w:tblHeader w:val="true"/></w:trPr>',
        *(
            cell(t, header_style, False, False, _run_xml(label, small))
            for t, label in zip(twips, header, strict=True)
        ),
        "</w:tr>",
    ]
    last = len(rows) - 1
    for i, (values, strong) in enumerate(zip(rows, bold, strict=True)):
        props = _run_props_xml(size, strong)
        keep = keep_last and i == last
        out.append('<w:tr><w:trPr><w:cantSplit w:val="true"/></w:trPr>')
        out += (
            cell(t, row_style, keep, r, f'<w:r>{props}<w:t xml:space="preserve">{escape(text)}</w:t></w:r>')
            for t, r, text in zip(twips, right, values, strict=True)
        )
        out.append("</w:tr>")
    out.append("</w:tbl>")
    return parse_xml("".join(out))
