"""What partners really send, read without ever raising: every unreadable case has its finding."""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from workbooks import CONVENTION, attribution, flat, make_return, rezipped

from cia_workbook.intake.reader import is_lock_file, read_workbook
from cia_workbook.intake.validate import validate_workbook


def codes(result):
    return [f.code for f in result.findings]


def test_xlsx_is_read_with_types_and_identity(tmp_path):
    path = make_return(tmp_path / "r.xlsx", rows=[attribution()])
    result = read_workbook(path)
    raw = result.workbook
    assert result.findings == [] and raw.reader == "calamine" and raw.format == "xlsx"
    # Every cell as fastexcel writes it as text, its type still told by its form.
    assert raw.sheet("Attributions").cell("B4") == "2024-03-15 00:00:00"
    assert raw.sheet("Attributions").cell("L4") == "3"
    assert (
        raw.sheet("Attributions").rows[3][1] == dt.date(2024, 3, 15)
        and raw.sheet("Attributions").rows[3][11] == 3
    )
    assert [name for name, _ in raw.id_sources] == ["feuille", "noms", "proprietes"]
    assert raw.sheet("_cia").visible is False


def test_xlsm_is_read_and_macros_are_never_run(tmp_path):
    path = make_return(tmp_path / "r.xlsx", rows=[attribution()])
    xlsm = tmp_path / "r.xlsm"
    shutil.copy(path, xlsm)
    result = read_workbook(xlsm)
    assert result.findings == [] and result.workbook.sheet("Attributions").cell("A4") == "LC-2024-0001"


@pytest.mark.parametrize("name", ["~$retour.xlsx", ".~lock.retour.xlsx#"])
def test_lock_files_are_ignored(tmp_path, name):
    (tmp_path / name).write_bytes(b"\x00lock")
    result = read_workbook(tmp_path / name)
    assert codes(result) == ["FICHIER_VERROU"] and result.ignored
    assert is_lock_file(name)


def test_other_formats_are_ignored(tmp_path):
    (tmp_path / "courrier.pdf").write_bytes(b"%PDF-1.4")
    result = read_workbook(tmp_path / "courrier.pdf")
    assert codes(result) == ["FICHIER_AUTRE_FORMAT"] and result.ignored


@pytest.mark.parametrize(
    ("content", "code", "detail"),
    [
        (b"", "FICHIER_VIDE", "0 octet"),
        (b"%PDF-1.7\n...", "FICHIER_ILLISIBLE", "PDF"),
        (b"reference;date\nLC-1;15/03/2024\n", "FICHIER_ILLISIBLE", "CSV"),
        (b"PK\x03\x04\x14\x00\x00\x00garbage", "FICHIER_VIDE", "tronquée"),
    ],
)
def test_not_a_workbook(tmp_path, content, code, detail):
    path = tmp_path / "retour.xlsx"
    path.write_bytes(content)
    result = read_workbook(path)
    assert codes(result) == [code] and not result.ignored
    assert detail in result.findings[0].message


def test_truncated_workbook(tmp_path):
    path = make_return(tmp_path / "r.xlsx", rows=[attribution()])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert codes(read_workbook(path)) == ["FICHIER_VIDE"]


def test_legacy_xls_and_encrypted_files(tmp_path):
    # Minimal OLE compound files: the directory names their streams in UTF-16.
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    (tmp_path / "ancien.xls").write_bytes(ole + "Workbook".encode("utf-16-le"))
    (tmp_path / "secret.xlsx").write_bytes(
        ole + "EncryptionInfo".encode("utf-16-le") + "EncryptedPackage".encode("utf-16-le")
    )
    (tmp_path / "texte.xlsx").write_bytes(ole + "WordDocument".encode("utf-16-le"))
    assert codes(read_workbook(tmp_path / "ancien.xls")) == ["FICHIER_XLS"]
    assert codes(read_workbook(tmp_path / "secret.xlsx")) == ["FICHIER_CHIFFRE"]
    assert codes(read_workbook(tmp_path / "texte.xlsx")) == ["FICHIER_ILLISIBLE"]


def test_word_document_renamed(tmp_path):
    path = tmp_path / "retour.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
    result = read_workbook(path)
    assert codes(result) == ["FICHIER_ILLISIBLE"] and "Word" in result.findings[0].message


def test_broken_sheet_xml_falls_back_then_reports(tmp_path):
    path = make_return(tmp_path / "r.xlsx", rows=[attribution()])
    broken = rezipped(
        path,
        tmp_path / "broken.xlsx",
        lambda name, data: data[: len(data) // 2] if name == "xl/workbook.xml" else data,
    )
    result = read_workbook(broken)
    assert codes(result) == ["FICHIER_ILLISIBLE"]


def test_openpyxl_path_reads_the_same_cells(tmp_path):
    path = make_return(
        tmp_path / "r.xlsx",
        rows=[attribution(), attribution(reference="R2", date_bail="02/04/2024", ressources="1 234,5")],
    )
    a = read_workbook(path, engine="calamine").workbook
    b = read_workbook(path, engine="openpyxl").workbook
    assert b.reader == "openpyxl"
    for sheet in a.sheets:
        assert b.sheet(sheet.title).rows == sheet.rows, sheet.title
    va = validate_workbook(CONVENTION, 2024, a)
    vb = validate_workbook(CONVENTION, 2024, b)
    assert flat(va.findings) == flat(vb.findings) != []
    assert va.tables["attributions"].columns == vb.tables["attributions"].columns


def test_formula_scan_finds_cells_even_across_chunks(tmp_path, monkeypatch):
    import cia_workbook.intake.sheetxml as sheetxml

    monkeypatch.setattr(sheetxml, "CHUNK", 64)  # force many chunk boundaries
    rows = [attribution(reference=f"R{i}") for i in range(40)]

    def formulas(wb):
        ws = wb["Attributions"]
        for r in (5, 20, 43):
            ws.cell(r, 12, f"=2+{r}")
        ws.merge_cells("Q10:R10")

    path = make_return(tmp_path / "r.xlsx", rows=rows, edit=formulas)
    found, merged = read_workbook(path).workbook.structure("Attributions")
    assert found == {"L5": "=2+5", "L20": "=2+20", "L43": "=2+43"}
    assert merged == ["Q10:R10"]


_CELL = st.one_of(
    st.tuples(st.just("value"), st.integers(0, 99)),
    st.tuples(st.just("formula"), st.sampled_from(["1+1", "A1&amp;B1", "IF(A1&gt;0,1,2)", "SUM(A1:A3)"])),
    st.tuples(st.just("master"), st.just("B1*2")),
    st.tuples(st.just("child"), st.just("")),
    st.tuples(st.just("text"), st.sampled_from(["if f> 0", "f/ x", "ref f ", "<f>"])),
)


@settings(max_examples=60, deadline=None)
@given(
    prefix=st.sampled_from(["", "x:"]),
    rows=st.lists(st.lists(_CELL, min_size=1, max_size=4), min_size=1, max_size=30),
    chunk=st.sampled_from([64, 300, 1 << 20]),
)
def test_formula_scan_finds_what_an_xml_parser_finds(tmp_path_factory, prefix, rows, chunk):
    """Formula cells (plain, shared, prefixed) in the data, and none in text or in the data
    validations' and conditional formats' own formulas."""
    import zipfile
    from xml.sax.saxutils import escape

    from lxml import etree

    import cia_workbook.intake.sheetxml as sheetxml

    p = prefix
    body = []
    for r, cells in enumerate(rows, start=1):
        body.append(f'<{p}row r="{r}">')
        for c, (kind, data) in enumerate(cells):
            ref = f"{'ABCD'[c]}{r}"
            if kind == "value":
                body.append(f'<{p}c r="{ref}"><{p}v>{data}</{p}v></{p}c>')
            elif kind == "formula":
                body.append(f'<{p}c r="{ref}" s="1"><{p}f>{data}</{p}f><{p}v>2</{p}v></{p}c>')
            elif kind == "master":
                body.append(f'<{p}c r="{ref}"><{p}f t="shared" ref="{ref}:{ref}" si="0">{data}</{p}f></{p}c>')
            elif kind == "child":
                body.append(f'<{p}c r="{ref}"><{p}f t="shared" si="0"/><{p}v>1</{p}v></{p}c>')
            else:
                body.append(
                    f'<{p}c r="{ref}" t="inlineStr"><{p}is><{p}t>{escape(data)}</{p}t></{p}is></{p}c>'
                )
        body.append(f"</{p}row>")
    ns = f'xmlns{":x" if p else ""}="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    xml = (
        f'<?xml version="1.0"?><{p}worksheet {ns}><{p}sheetData>{"".join(body)}</{p}sheetData>'
        f'<{p}conditionalFormatting sqref="A1"><{p}cfRule type="expression" priority="1"><{p}formula>A1&gt;0'
        f'</{p}formula></{p}cfRule></{p}conditionalFormatting><{p}dataValidations count="1">'
        f'<{p}dataValidation sqref="B1"><{p}formula1>"a,b"</{p}formula1></{p}dataValidation>'
        f"</{p}dataValidations></{p}worksheet>"
    ).encode()
    path = tmp_path_factory.mktemp("scan") / "s.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", xml)
    m = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    expected = {}
    for cell in etree.fromstring(xml).iter(f"{m}c"):
        f = cell.find(f"{m}f")
        if f is not None:
            expected[cell.get("r")] = ("=" + f.text if f.text else "formule recopiée")[:60]
    reader_chunk = sheetxml.CHUNK
    sheetxml.CHUNK = chunk
    try:
        with zipfile.ZipFile(path) as zf:
            found, merged = sheetxml._scan_xlsx_part(zf, "xl/worksheets/sheet1.xml")
    finally:
        sheetxml.CHUNK = reader_chunk
    assert found == expected and merged == []
