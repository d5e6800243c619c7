"""Answers for people: corrected copies, the officer's summary, safety of outputs and inputs."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter
from workbooks import CONVENTION, attribution, make_return, rezipped

from cia_workbook.intake.campaign import collect_campaign
from cia_workbook.intake.sheetxml import cell_position
from cia_workbook.partners import annotate, control, corrections, feedback, xlsx_copy
from cia_workbook.partners.corrections import (
    CORRECTIONS_HEADER_ROW,
    CORRECTIONS_HEADERS,
    ERROR_FILL,
    WARNING_FILL,
)
from cia_workbook.partners.feedback import write_feedback
from cia_workbook.render.typography import text_width

# The Corrections sheet: its header row (below a heading and three lines of instruction), its first line.
HEADER = CORRECTIONS_HEADER_ROW
FIRST = HEADER + 1
# The header row of every sheet of the control workbook.
SUMMARY = control.SUMMARY_HEADER_ROW


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def forms(tmp_path):
    folder = tmp_path / "forms"
    make_return(
        folder / "logis.xlsx",
        rows=[
            attribution(),
            attribution(reference='=HYPERLINK("http://x")', suite="Bail sgné"),
            attribution(reference="R3", date_cal="15/03/2024"),
        ],
        form={"repondant": "Marie Dupont, chargée de gestion locative", "courriel": "m.dupont@logis.example",
              "telephone": "04 65 71 00 12"},
    )  # fmt: skip
    make_return(folder / "hdg.xlsx", "habitat-du-gard", rows=[attribution()])
    (folder / "vide.xlsx").write_bytes(b"")
    return folder


def test_corrected_copy_marks_cells_and_lists_findings_first(tmp_path, forms):
    campaign = collect_campaign(CONVENTION, 2024, [forms])
    written = write_feedback(CONVENTION, campaign, tmp_path / "out")
    names = sorted(p.name for p in written)
    assert names == ["controle-2024.xlsx", "logis-corrections.xlsx"]  # hdg is valid, vide is unreadable
    wb = openpyxl.load_workbook(tmp_path / "out" / "retours" / "logis-corrections.xlsx")
    assert wb.sheetnames[0] == "Corrections"
    rows = list(wb["Corrections"].iter_rows(min_row=FIRST, values_only=True))
    assert [(r[2], r[3], r[4]) for r in rows] == [
        ("VALEUR_HORS_LISTE", "Attributions", "D5"),
        ("DATE_TEXTE", "Attributions", "B6"),
    ]
    link = wb["Corrections"][f"E{FIRST}"].hyperlink
    assert link.location == "'Attributions'!D5"
    sheet = wb["Attributions"]
    assert sheet["D5"].fill.start_color.rgb.endswith(ERROR_FILL)
    assert sheet["B6"].fill.start_color.rgb.endswith(WARNING_FILL)
    assert "Bail signé" in sheet["D5"].comment.text
    # Partner text stays text: never a formula in an output.
    assert sheet["A5"].data_type == "s" and sheet["A5"].value.startswith("=HYPERLINK")


def _summary_rows(ws) -> list[dict]:
    """The lines of a sheet of the control workbook, by header."""
    rows = list(ws.iter_rows(min_row=SUMMARY, values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_summary_workbook_lists_partners_files_and_findings(tmp_path, forms):
    campaign = collect_campaign(CONVENTION, 2024, [forms])
    write_feedback(CONVENTION, campaign, tmp_path / "out")
    wb = openpyxl.load_workbook(tmp_path / "out" / "controle-2024.xlsx")
    assert wb.sheetnames == ["Partenaires", "Fichiers", "Constats"]
    partners = {r["Partenaire"]: r for r in _summary_rows(wb["Partenaires"])}
    assert partners["Logis Cévenols"]["Situation"] == "Écarté (erreurs)"
    assert partners["Habitat du Gard"]["Situation"] == "Retenu"
    assert partners["SFHE"]["Situation"] == "Aucun retour"
    files = {r["Fichier"]: r for r in _summary_rows(wb["Fichiers"])}
    assert files["vide.xlsx"]["Statut"] == "illisible" and files["hdg.xlsx"][
        "Date de la réponse"
    ] == dt.datetime(2025, 2, 15)
    assert (
        files["hdg.xlsx"]["Empreinte SHA-256"] == sha(forms / "hdg.xlsx")
        and files["hdg.xlsx"]["Version utilisée"] == "oui"
    )
    found = [(r["Fichier"], r["Cellule"], r["Code"]) for r in _summary_rows(wb["Constats"])]
    assert ("vide.xlsx", None, "FICHIER_VIDE") in found and ("logis.xlsx", "D5", "VALEUR_HORS_LISTE") in found
    assert wb["Constats"].auto_filter.ref.startswith(f"A{SUMMARY}:")


def test_the_control_workbook_says_whom_to_chase_and_for_what(tmp_path, forms):
    """One line per partner, the missing first, then the excluded: with the respondent's name,
    e-mail and phone from the Identification sheet, and the sentence to say to them."""
    campaign = collect_campaign(CONVENTION, 2024, [forms])
    write_feedback(CONVENTION, campaign, tmp_path / "out")
    ws = openpyxl.load_workbook(tmp_path / "out" / "controle-2024.xlsx")["Partenaires"]
    lines = _summary_rows(ws)
    assert len(lines) == len(CONVENTION.partners)
    order = [control.SITUATIONS.index(r["Situation"]) for r in lines]
    assert order == sorted(order) and order[0] == 0 and order[-1] == 3
    missing = [r["Partenaire"] for r in lines if r["Situation"] == "Aucun retour"]
    assert missing == [
        p.name for p in CONVENTION.partners if p.id not in ("logis-cevenols", "habitat-du-gard")
    ]
    logis = next(r for r in lines if r["Partenaire"] == "Logis Cévenols")
    assert (logis["Personne qui répond"], logis["Courriel"], logis["Téléphone"]) == (
        "Marie Dupont, chargée de gestion locative", "m.dupont@logis.example", "04 65 71 00 12")  # fmt: skip
    assert logis["À demander"] == (
        "Corriger 1\u00a0erreur puis renvoyer le fichier\u00a0: valeur hors liste (Attributions D5). "
        "Vérifier aussi 1\u00a0avertissement\u00a0: date saisie comme texte (Attributions B6)."
    )
    assert logis["Copie annotée à envoyer"] == "logis-corrections.xlsx"
    sfhe = next(r for r in lines if r["Partenaire"] == "SFHE")
    assert sfhe["À demander"] == "Relancer\u00a0: aucun fichier reçu (date limite\u00a0: 31 mars 2025)."
    assert next(r for r in lines if r["Partenaire"] == "Habitat du Gard")["À demander"] == "Rien à demander."
    # French labels only: the types are words, no internal code is shown.
    assert {r["Type"] for r in lines} == {"Bailleur", "Réservataire", "Opérateur de relogement"}
    assert ws["A1"].value == "Contrôle des réponses 2024 – Alès Agglomération"
    assert ws["A2"].value.startswith(
        "15\u00a0partenaires\u00a0: 13\u00a0sans retour, 1\u00a0retour écarté pour erreurs"
    )


def test_the_control_workbook_has_french_labels_and_prints_one_page_wide(tmp_path, forms):
    campaign = collect_campaign(CONVENTION, 2024, [forms])
    write_feedback(CONVENTION, campaign, tmp_path / "out")
    wb = openpyxl.load_workbook(tmp_path / "out" / "controle-2024.xlsx")
    headers = {ws.title: [c.value for c in ws[SUMMARY]] for ws in wb}
    assert headers == {
        "Partenaires": ["Partenaire", "Type", "Situation", "Personne qui répond", "Courriel", "Téléphone",
                        "À demander", "Fichier retenu", "Copie annotée à envoyer", "Erreurs", "Avertissements",
                        "Versions remplacées", "Fichiers non retenus qui le désignent"],
        "Fichiers": ["Fichier", "Partenaire", "Année", "Statut", "Version utilisée", "Empreinte SHA-256",
                     "Taille (octets)", "Date de la réponse", "Modifié le", "Lu par"],
        "Constats": ["Fichier", "Partenaire", "Feuille", "Cellule", "Code", "Gravité", "Constat", "Message"],
    }  # fmt: skip
    english = re.compile(
        r"\b(file|files|status|missing|valid|errors?|warnings?|used|size|partner|sheet|cell)\b", re.I
    )
    for ws in wb:
        for row in ws.iter_rows(max_row=SUMMARY, values_only=True):
            assert not any(english.search(str(v)) for v in row if v), row
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert (ws.page_setup.fitToWidth or 1, ws.page_setup.fitToHeight) == (1, 0)
        assert ws.print_title_rows == f"${SUMMARY}:${SUMMARY}" and ws.freeze_panes == f"B{SUMMARY + 1}"
        assert ws.oddFooter.right.text and "page &P sur &N" in ws.oddFooter.right.text
    ws = wb["Partenaires"]
    assert ws.print_area == f"'Partenaires'!$A$1:$G${SUMMARY + len(CONVENTION.partners)}"
    printed = sum(ws.column_dimensions[get_column_letter(c)].width for c in range(1, 8))
    assert printed * 7 <= (11.69 - ws.page_margins.left - ws.page_margins.right) * 96


def test_two_runs_give_byte_identical_outputs_and_inputs_are_untouched(tmp_path, forms):
    before = {p.name: sha(p) for p in forms.iterdir()}
    first = write_feedback(CONVENTION, collect_campaign(CONVENTION, 2024, [forms]), tmp_path / "a")
    time.sleep(1.1)  # document and zip times have a one-second resolution: make them differ
    second = write_feedback(CONVENTION, collect_campaign(CONVENTION, 2024, [forms]), tmp_path / "b")
    assert [sha(p) for p in first] == [sha(p) for p in second]
    assert {p.name: sha(p) for p in forms.iterdir()} == before


def test_ods_copy_is_rebuilt_as_xlsx(tmp_path):
    from cia_workbook.intake.model import ReturnFile
    from cia_workbook.schema.findings import finding

    # Any file openpyxl cannot open is rebuilt from the values calamine read.
    src = make_return(tmp_path / "r.xlsx", rows=[attribution()])
    rf = ReturnFile(src, sha(src), 1, dt.datetime(2025, 1, 1))
    target = tmp_path / "copie.xlsx"
    ods_like = tmp_path / "r.ods"
    ods_like.write_bytes(src.read_bytes())
    rf.path = ods_like
    feedback.write_corrected_copy(
        rf.path,
        [finding("DATE_TEXTE", "r.ods", "Attributions", "B4", value="x", column="c", parsed="p")],
        target,
        dt.datetime(2025, 1, 1),
    )
    wb = openpyxl.load_workbook(target)
    assert (
        wb.sheetnames[:2] == ["Corrections", "Lisez-moi"] and wb["Attributions"]["A4"].value == "LC-2024-0001"
    )


@pytest.mark.parametrize("way", ["edited", "openpyxl"])
def test_an_interrupted_run_leaves_no_half_written_output(tmp_path, forms, monkeypatch, way):
    campaign = collect_campaign(CONVENTION, 2024, [forms])
    out = tmp_path / "out"

    def boom(*args, **kwargs):
        raise RuntimeError("interrupted")

    if way == "edited":
        real = Path.write_bytes

        def half_then_boom(self, data):  # the disk fills up half-way through the copy
            real(self, data[: len(data) // 2])
            boom()

        monkeypatch.setattr(Path, "write_bytes", half_then_boom)
    else:
        monkeypatch.setattr(
            xlsx_copy, "edit_copy", lambda *a, **k: (_ for _ in ()).throw(xlsx_copy.NotEditable("x"))
        )
        monkeypatch.setattr(annotate, "normalize_zip", boom)
    with pytest.raises(RuntimeError):
        write_feedback(CONVENTION, campaign, out)
    leftovers = [p for p in out.rglob("*") if p.is_file()]
    assert leftovers == []


# -- The copy edited in place (xlsx_copy) ---------------------------------------------------

LO_RETURN = Path(__file__).parent / "fixtures" / "libreoffice" / "bailleur-2024-lo.xlsx"
WHEN = dt.datetime(2025, 1, 1)


def _finding(sheet, cell, code="DATE_TEXTE"):
    from cia_workbook.schema.findings import finding

    if code == "DATE_TEXTE":
        return finding(code, "r.xlsx", sheet, cell, value="x", column="c", parsed="p")
    return finding(code, "r.xlsx", sheet, cell, value="x", column="c", hint="a, b")


def _values(path):
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    return {name: wb.get_sheet_by_name(name).to_python() for name in wb.sheet_names}


def _copy(tmp_path, src, findings):
    target = tmp_path / "copie.xlsx"
    feedback.write_corrected_copy(src, findings, target, WHEN)
    return target


@pytest.mark.parametrize("way", ["edited", "openpyxl"])
def test_the_corrections_sheet_tells_what_to_do_and_prints_one_page_wide(tmp_path, monkeypatch, way):
    """Both ways of making a copy give the same sheet: a title naming the file, three lines of
    instruction (the colours, correct your own file and not this copy, send it back to the
    convention's address), the header row repeated on each printed page, landscape, one page wide."""
    if way == "openpyxl":
        monkeypatch.setattr(
            xlsx_copy, "edit_copy", lambda *a, **k: (_ for _ in ()).throw(xlsx_copy.NotEditable("x"))
        )
    src = make_return(tmp_path / "cia-2024-logis-cevenols.xlsx", rows=[attribution()])
    findings = [_finding("Attributions", "B4"), _finding("Attributions", "D4", "VALEUR_HORS_LISTE")]
    target = tmp_path / "copie.xlsx"
    feedback.write_corrected_copy(src, findings, target, WHEN, contact=feedback.return_address(CONVENTION))
    ws = openpyxl.load_workbook(target)["Corrections"]
    lines = [ws.cell(r, 1).value for r in range(1, HEADER)]
    assert lines[0] == "Corrections à apporter à votre fichier «\u00a0cia-2024-logis-cevenols.xlsx\u00a0»"
    assert lines[1].startswith("En rouge, 1 erreur à corriger pour que le fichier soit retenu\u202f; en jaune, "
                               "1 avertissement à vérifier.")  # fmt: skip
    assert "et non cette copie" in lines[2] and "Corrigez votre propre fichier" in lines[2]
    assert lines[3] == (
        "Renvoyez ensuite le fichier corrigé à cia.habitat@alesagglo.fr (Direction de l'habitat d'Alès Agglomération)."
    )
    assert ws["A1"].font.b and ws["A1"].font.sz == 14 and ws["A1"].font.name == "Calibri"
    assert {str(r) for r in ws.merged_cells.ranges} == {f"A{r}:F{r}" for r in range(1, HEADER)}
    assert [c.value for c in ws[HEADER]] == list(CORRECTIONS_HEADERS)
    assert all(c.font.b and c.font.name == "Calibri" for c in ws[HEADER])
    assert ws.print_title_rows == f"${HEADER}:${HEADER}" and ws.freeze_panes == f"A{FIRST}"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert (ws.page_setup.fitToWidth or 1, ws.page_setup.fitToHeight) == (1, 0)
    widths = [ws.column_dimensions[get_column_letter(c)].width for c in range(1, 7)]
    assert sum(widths) * 7 <= (11.69 - ws.page_margins.left - ws.page_margins.right) * 96
    # Every row as tall as its wrapped text (the message column, the notes across the sheet).
    for r in range(1, FIRST + 2):
        text = str(ws.cell(r, 6 if r >= FIRST else 1).value)
        room = (widths[5] if r >= FIRST else sum(widths)) * 7 * 0.75
        size = ws.cell(r, 1).font.sz or 11
        assert ws.row_dimensions[r].height >= -(-text_width(text, size) // room) * size * 1.2


def test_a_copy_with_warnings_only_says_the_file_is_kept(tmp_path):
    src = make_return(tmp_path / "r.xlsx", rows=[attribution()])
    target = _copy(tmp_path, src, [_finding("Attributions", "B4")])
    ws = openpyxl.load_workbook(target)["Corrections"]
    assert ws["A2"].value.startswith("En jaune, 1 avertissement à vérifier.")
    assert (
        ws["A4"].value
        == "Le fichier est retenu tel quel\u202f; si vous le corrigez, renvoyez-le à l'agglomération."
    )


def test_copy_of_a_libreoffice_return_keeps_every_value_and_setting(tmp_path):
    # A file really saved by LibreOffice: the copy shows what the partner sent, formulas'
    # results included (a load-and-save through openpyxl dropped the Synthèse values).
    findings = [
        _finding("Attributions", "B4"),
        _finding("Attributions", "B4", "VALEUR_HORS_LISTE"),
        _finding("Attributions", "K900"),
        _finding("Identification", "B3"),
    ]
    target = _copy(tmp_path, LO_RETURN, findings)
    before, after = _values(LO_RETURN), _values(target)
    assert list(after) == ["Corrections", *before]
    assert all(after[name] == rows for name, rows in before.items())
    assert any(isinstance(v, float) and v for row in after["Synthèse"] for v in row)  # computed rates
    with zipfile.ZipFile(target) as zf:
        assert not any("calcChain" in n for n in zf.namelist())

    wb = openpyxl.load_workbook(target)
    assert wb.active.title == "Corrections"
    assert [bool(ws.sheet_view.tabSelected) for ws in wb.worksheets] == [True] + [False] * (
        len(wb.worksheets) - 1
    )
    original = openpyxl.load_workbook(LO_RETURN)
    # Names bound to one sheet (print titles, filters) still point at their sheet.
    for ws in original.worksheets:
        assert wb[ws.title].print_title_rows == ws.print_title_rows
    att = wb["Attributions"]
    assert att["B4"].fill.fgColor.rgb.endswith(ERROR_FILL)  # the worst of the two
    assert att["B4"].comment.text.count("\n") == 1 and "[VALEUR_HORS_LISTE]" in att["B4"].comment.text
    assert att["B4"].number_format == original["Attributions"]["B4"].number_format
    assert att["K900"].fill.fgColor.rgb.endswith(WARNING_FILL) and att["K900"].value is None
    corrections = wb["Corrections"]
    assert (
        corrections.freeze_panes == f"A{FIRST}" and corrections.auto_filter.ref == f"A{HEADER}:F{FIRST + 3}"
    )
    assert [c.value for c in corrections[HEADER]] == list(CORRECTIONS_HEADERS)
    assert {corrections.cell(r, 5).hyperlink.location for r in range(FIRST, FIRST + 4)} == {
        "'Attributions'!B4",
        "'Attributions'!K900",
        "'Identification'!B3",
    }
    fills = {
        corrections.cell(r, 2).value: corrections.cell(r, 2).fill.fgColor.rgb for r in range(FIRST, FIRST + 4)
    }
    assert fills == {"erreur": "FF" + ERROR_FILL, "avertissement": "FF" + WARNING_FILL}
    assert corrections[f"E{FIRST}"].font.u == "single" and corrections[f"F{FIRST}"].alignment.wrap_text
    assert wb.properties.lastModifiedBy == "cia-workbook" and wb.properties.modified == WHEN


def test_merged_cells_keep_one_mark_and_new_cells_fall_in_order(tmp_path):
    def merge(wb):
        wb["Attributions"].merge_cells("M4:N5")

    src = make_return(tmp_path / "r.xlsx", rows=[attribution(), attribution(reference="R2")], edit=merge)
    refs = ["N5", "M4", "AA4", "C4", "B200", "B1"]
    target = _copy(tmp_path, src, [_finding("Attributions", ref) for ref in refs])
    ws = openpyxl.load_workbook(target)["Attributions"]
    marked = {c.coordinate for row in ws.iter_rows() for c in row if c.comment}
    assert marked == {"M4", "AA4", "C4", "B200", "B1"}  # N5 is hidden under M4
    _assert_in_order(target, "Attributions")


def _assert_in_order(path, title):
    """Excel refuses a sheet whose rows, or cells within a row, are out of order."""
    from lxml import etree

    ns = {"m": xlsx_copy.M, "r": xlsx_copy.R, "p": xlsx_copy.PKG_R}
    with zipfile.ZipFile(path) as zf:
        book = etree.fromstring(zf.read("xl/workbook.xml"))
        rid = book.xpath("//m:sheet[@name=$t]/@r:id", namespaces=ns, t=title)[0]
        rels = etree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        target = rels.xpath("//p:Relationship[@Id=$i]/@Target", namespaces=ns, i=rid)[0]
        sheet = etree.fromstring(zf.read("xl/" + target.lstrip("/").removeprefix("xl/")))
    rows = sheet.findall(".//m:sheetData/m:row", ns)
    numbers = [int(row.get("r")) for row in rows]
    assert numbers == sorted(set(numbers))
    for row in rows:
        cols = [cell_position(c.get("r"))[1] for c in row]
        assert cols == sorted(set(cols)) and all(c.get("r").endswith(row.get("r")) for c in row)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    refs=st.lists(
        st.tuples(st.integers(1, 40), st.integers(1, 60)).map(
            lambda rc: f"{get_column_letter(rc[0])}{rc[1]}"
        ),
        min_size=1,
        max_size=30,
    )
)
def test_every_finding_is_marked_and_no_value_changes(tmp_path, refs):
    src = make_return(tmp_path / "p.xlsx", rows=[attribution(), attribution(reference="R2", suite="x")])
    target = _copy(tmp_path, src, [_finding("Attributions", ref) for ref in refs])
    before, after = _values(src), _values(target)
    assert all(after[name] == rows for name, rows in before.items())
    ws = openpyxl.load_workbook(target)["Attributions"]
    for ref in set(refs):
        assert ws[ref].comment is not None and ws[ref].fill.fgColor.rgb.endswith(WARNING_FILL)
    assert sum(1 for row in ws.iter_rows() for c in row if c.comment) == len(set(refs))
    _assert_in_order(target, "Attributions")


def test_files_that_cannot_be_edited_still_get_a_copy(tmp_path):
    from openpyxl.comments import Comment

    def note(wb):
        wb["Attributions"]["A4"].comment = Comment("Vérifié avec le service", "Logis")

    # A partner's own comment on a sheet to mark, and a link to another workbook: not edited
    # in place; the copy is made through openpyxl, which keeps the comment and drops the link.
    commented = make_return(tmp_path / "c.xlsx", rows=[attribution()], edit=note)
    linked = rezipped(
        make_return(tmp_path / "l.xlsx", rows=[attribution()]),
        tmp_path / "lien.xlsx",
        add={"xl/externalLinks/externalLink1.xml": b"<x/>"},
    )
    findings = [_finding("Attributions", "B4")]
    for src in (commented, linked):
        with pytest.raises(xlsx_copy.NotEditable):
            xlsx_copy.edit_copy(
                src.read_bytes(),
                lambda names: (
                    corrections.cell_marks(findings, names),
                    corrections.corrections_sheet(findings, names),
                ),
                WHEN,
                "cia-workbook",
            )
        target = _copy(tmp_path, src, findings)
        wb = openpyxl.load_workbook(target)
        assert wb.sheetnames[0] == "Corrections"
        assert "[DATE_TEXTE]" in wb["Attributions"]["B4"].comment.text
        with zipfile.ZipFile(target) as zf:
            assert not any("externalLink" in n for n in zf.namelist())
        if src is commented:
            assert wb["Attributions"]["A4"].comment.text == "Vérifié avec le service"


def test_a_malformed_sheet_still_gets_a_copy(tmp_path):
    src = make_return(tmp_path / "m.xlsx", rows=[attribution()])
    # A style number that is not one, in every sheet.
    broken = rezipped(
        src,
        tmp_path / "casse.xlsx",
        lambda name, data: data.replace(b' s="', b' s="x', 1) if name.startswith("xl/worksheets/") else data,
    )
    target = _copy(tmp_path, broken, [_finding("Attributions", "B4")])
    wb = openpyxl.load_workbook(target)
    assert wb.sheetnames[0] == "Corrections" and "[DATE_TEXTE]" in wb["Attributions"]["B4"].comment.text


def test_partner_comments_on_other_sheets_are_kept_and_not_shadowed(tmp_path):
    from openpyxl.comments import Comment

    def note(wb):
        wb["Identification"]["B3"].comment = Comment("Nom repris de l'an dernier", "Logis")

    src = make_return(tmp_path / "n.xlsx", rows=[attribution()], edit=note)
    target = _copy(tmp_path, src, [_finding("Attributions", "B4"), _finding("Attributions", "C4")])
    with zipfile.ZipFile(target) as zf:
        drawings = [zf.read(n) for n in zf.namelist() if n.endswith(".vml")]
    # Each drawing numbers its note shapes in its own block (shared numbers make Excel repair
    # the file).
    assert len(drawings) == 2
    blocks = [re.search(rb'idmap[^>]*data="([0-9]+)"', d).group(1) for d in drawings]
    assert len(set(blocks)) == 2
    wb = openpyxl.load_workbook(target)
    assert wb["Identification"]["B3"].comment.text == "Nom repris de l'an dernier"
    assert "[DATE_TEXTE]" in wb["Attributions"]["C4"].comment.text


WORKBOOK_ORDER = ["fileVersion", "fileSharing", "workbookPr", "workbookProtection", "bookViews", "sheets",
                  "functionGroups", "externalReferences", "definedNames", "calcPr", "oleSize",
                  "customWorkbookViews", "pivotCaches", "smartTagPr", "smartTagTypes", "webPublishing",
                  "fileRecoveryPr", "webPublishObjects", "extLst"]  # fmt: skip


@pytest.mark.parametrize("names", [True, False])
def test_the_copy_keeps_the_workbook_parts_in_the_schema_order(tmp_path, names):
    from lxml import etree

    src = make_return(tmp_path / "o.xlsx", rows=[attribution()], defined_names=names)
    target = _copy(tmp_path, src, [_finding("Attributions", "B4")])
    with zipfile.ZipFile(target) as zf:
        book = etree.fromstring(zf.read("xl/workbook.xml"))
    children = [etree.QName(el).localname for el in book]
    assert children == sorted(children, key=WORKBOOK_ORDER.index)
    assert "definedNames" in children  # the Corrections filter's own name
    assert openpyxl.load_workbook(target)["Corrections"].auto_filter.ref == f"A{HEADER}:F{FIRST}"


WORKSHEET_ORDER = ["sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData", "sheetCalcPr",
                   "sheetProtection", "protectedRanges", "scenarios", "autoFilter", "sortState",
                   "dataConsolidate", "customSheetViews", "mergeCells", "phoneticPr", "conditionalFormatting",
                   "dataValidations", "hyperlinks", "printOptions", "pageMargins", "pageSetup", "headerFooter",
                   "rowBreaks", "colBreaks", "customProperties", "cellWatches", "ignoredErrors", "smartTags",
                   "drawing", "legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects",
                   "controls", "webPublishItems", "tableParts", "extLst"]  # fmt: skip


@pytest.mark.parametrize("src", [LO_RETURN, None], ids=["libreoffice", "openpyxl"])
def test_every_sheet_of_the_copy_keeps_the_schema_order(tmp_path, src):
    from lxml import etree

    def table(wb):  # a sheet with a table: its part comes after the comments' drawing
        from openpyxl.worksheet.table import Table

        wb["Attributions"].add_table(Table(displayName="Attributions_2024", ref="A3:C5"))

    rows = [attribution(), attribution(reference="R2")]
    src = src or make_return(tmp_path / "s.xlsx", rows=rows, edit=table)
    findings = [_finding(sheet, "B4") for sheet in ("Identification", "Attributions", "Patrimoine")]
    target = _copy(tmp_path, src, findings)
    with zipfile.ZipFile(target) as zf:
        sheets = [etree.fromstring(zf.read(n)) for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
    assert len(sheets) == len(openpyxl.load_workbook(target).sheetnames)
    for sheet in sheets:
        children = [etree.QName(el).localname for el in sheet]
        assert children == sorted(children, key=WORKSHEET_ORDER.index)
    assert sum("legacyDrawing" in [etree.QName(el).localname for el in s] for s in sheets) == 3


@pytest.mark.parametrize("way", ["edited", "openpyxl"])
def test_control_characters_pasted_by_a_partner_do_not_stop_the_copy(tmp_path, monkeypatch, way):
    from cia_workbook.schema.findings import finding

    if way == "openpyxl":
        monkeypatch.setattr(
            xlsx_copy, "edit_copy", lambda *a, **k: (_ for _ in ()).throw(xlsx_copy.NotEditable("x"))
        )
    src = make_return(tmp_path / "c.xlsx", rows=[attribution()])
    pasted = finding(
        "VALEUR_HORS_LISTE", "c.xlsx", "Attributions", "D4", value="Bail\x01 sgn\x1f", column="c", hint="a"
    )
    target = _copy(tmp_path, src, [pasted])
    wb = openpyxl.load_workbook(target)
    assert "« Bail sgn »" in wb["Attributions"]["D4"].comment.text
    assert "« Bail sgn »" in wb["Corrections"][f"F{FIRST}"].value


def test_a_copy_no_longer_due_is_removed_after_a_run_over_the_whole_folder(tmp_path, monkeypatch):
    """A partner sends back a corrected file under the same name: the annotated copy of the old
    one would mislead (its comments point at mistakes that are gone); it is removed, and said.
    A run over chosen files only touches no other copy."""
    import json

    from click.testing import CliRunner

    from cia_workbook.cli.commands import main

    forms = tmp_path / "forms" / "2024"
    make_return(forms / "logis.xlsx", rows=[attribution(suite="Bail sgné")])
    make_return(forms / "hdg.xlsx", "habitat-du-gard", rows=[attribution(suite="Bail sgné")])
    retours = tmp_path / "outputs" / "2024" / "retours"
    (retours).mkdir(parents=True)
    (retours / "notes-agglo.xlsx").write_bytes(b"not ours")  # not a copy: never touched
    args = ["--dir", str(tmp_path), "validate", "--year", "2024"]
    CliRunner().invoke(main, args)
    assert sorted(p.name for p in retours.iterdir()) == [
        "hdg-corrections.xlsx",
        "logis-corrections.xlsx",
        "notes-agglo.xlsx",
    ]
    make_return(forms / "logis.xlsx", rows=[attribution()])  # corrected
    # Only the corrected file, named: the other copy stays, and so does this one's (for now).
    result = CliRunner().invoke(main, [*args, str(forms / "logis.xlsx")])
    assert "retirées" not in result.output
    assert (retours / "hdg-corrections.xlsx").exists() and (retours / "logis-corrections.xlsx").exists()
    result = CliRunner().invoke(main, args)  # the whole folder
    assert sorted(p.name for p in retours.iterdir()) == ["hdg-corrections.xlsx", "notes-agglo.xlsx"]
    assert "Copies annotées retirées" in result.output and "logis-corrections.xlsx" in result.output
    (forms / "hdg.xlsx").unlink()  # taken out of forms/
    # Its copy open in a spreadsheet (Windows refuses to delete it): said, with what to do.
    original_unlink = Path.unlink

    def locked(self, *a, **k):
        if self.name == "hdg-corrections.xlsx":
            raise PermissionError(13, "fichier ouvert")
        return original_unlink(self, *a, **k)

    monkeypatch.setattr(Path, "unlink", locked)
    result = CliRunner().invoke(main, args)
    assert "n'ont pas pu être retirées" in result.output and "hdg-corrections.xlsx" in result.output
    assert "relancez « cia-workbook validate »" in result.output
    monkeypatch.setattr(Path, "unlink", original_unlink)
    result = CliRunner().invoke(main, [*args, "--json"])
    data = json.loads(result.stdout)
    assert [Path(p).name for p in data["retires"]] == ["hdg-corrections.xlsx"] and data["non_retires"] == []
    assert sorted(p.name for p in retours.iterdir()) == ["notes-agglo.xlsx"]
