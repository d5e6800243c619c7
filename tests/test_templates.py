"""The partner templates, opened with openpyxl as a reader would: structure from the schema,
dropdowns, protection, identification, pre-filled values and the Synthèse formulas."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.utils import get_column_letter

from cia_workbook.cli.commands import main
from cia_workbook.consolidate import objective_rates
from cia_workbook.convention.settings import OBJECTIVE_CODES, embedded_convention_text, load_convention
from cia_workbook.intake.model import ReturnFile, Table
from cia_workbook.partners.synthese import objective_formulas
from cia_workbook.partners.template_synthese import SYNTHESE_FIRST_ROW
from cia_workbook.partners.templates import MissingContact, template_filename, write_template, write_templates
from cia_workbook.render.typography import longest_word_width, text_width
from cia_workbook.schema import sheets as schema

CONVENTION = load_convention(None)


@pytest.fixture(scope="module")
def templates_2024(tmp_path_factory) -> dict[str, Path]:
    outdir = tmp_path_factory.mktemp("templates")
    paths = write_templates(CONVENTION, 2024, outdir)
    return {p.name: p for p in paths}


def _open(path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(path)


def _bailleur(templates) -> openpyxl.Workbook:
    return _open(templates[template_filename(CONVENTION.partners_by_id["logis-cevenols"], 2024)])


def _reservataire(templates) -> openpyxl.Workbook:
    return _open(templates[template_filename(CONVENTION.partners_by_id["etat"], 2024)])


def test_every_partner_gets_its_workbook(templates_2024):
    expected = {f"cia-2024-{p.id}.xlsx" for p in CONVENTION.partners}
    # and the EPCI's own Demande workbook (demand.py), when an action reports the tension
    demand = {"cia-2024-demande.xlsx"} if CONVENTION.collects_demand else set()
    assert set(templates_2024) == expected | demand
    assert "cia-2024-logis-cevenols.xlsx" in expected
    for partner in CONVENTION.partners:
        wb = _open(templates_2024[template_filename(partner, 2024)])
        titles = schema.schema_for(CONVENTION, partner.kind, 2024, partner.id).sheet_titles
        assert wb.sheetnames == titles + [schema.LISTS_SHEET, schema.ID_SHEET]
        assert [wb[t].sheet_state for t in titles] == ["visible"] * len(titles)
        assert wb[schema.LISTS_SHEET].sheet_state == "veryHidden"
        assert wb[schema.ID_SHEET].sheet_state == "veryHidden"


def test_partner_subset_and_no_temporary_file_left(tmp_path):
    paths = write_templates(CONVENTION, 2024, tmp_path, partner_ids=["semiga", "commune-anduze"])
    assert [p.name for p in paths] == ["cia-2024-semiga.xlsx", "cia-2024-commune-anduze.xlsx"]
    # Beside them, the year's format documentation and Table Schemas; nothing else.
    formats = ["format-2024.md"] + [
        f"schema-{t}-2024.json"
        for t in ("attributions", "patrimoine", "lieux-accueil", "relogements", "contingent")
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([p.name for p in paths] + formats)


def test_identification_in_hidden_sheet_names_and_properties(templates_2024):
    wb = _bailleur(templates_2024)
    rows = [[c.value for c in row] for row in wb[schema.ID_SHEET].iter_rows(max_col=2)]
    assert rows == [
        ["modele", schema.TEMPLATE_MARKER],
        ["version_schema", schema.SCHEMA_VERSION],
        ["convention", "ales-agglomeration-cia-2020-2026"],
        ["partenaire", "logis-cevenols"],
        ["type", "bailleur"],
        ["annee", 2024],
    ]
    for row, key in enumerate(schema.ID_KEYS, start=1):
        assert wb.defined_names[f"CIA_{key.upper()}"].attr_text == f"'{schema.ID_SHEET}'!$B${row}"
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    assert props == {
        "modele": "cia-workbook",
        "version_schema": schema.SCHEMA_VERSION,
        "convention": "ales-agglomeration-cia-2020-2026",
        "partenaire": "logis-cevenols",
        "type": "bailleur",
        "annee": 2024,
    }


@pytest.mark.parametrize("kind", ["bailleur", "reservataire"])
def test_headers_and_forms_follow_the_schema(templates_2024, kind):
    wb = _bailleur(templates_2024) if kind == "bailleur" else _reservataire(templates_2024)
    # Each workbook against its partner's schema (the State declares two contingents).
    wb_schema = schema.schema_for(CONVENTION, kind, 2024, "logis-cevenols" if kind == "bailleur" else "etat")
    for sheet in wb_schema.sheets:
        ws = wb[sheet.title]
        if sheet.layout == "table":
            headers = [c.value for c in ws[sheet.header_row]][: len(sheet.columns)]
            assert headers == [c.header for c in sheet.columns]
            assert ws.freeze_panes == f"B{sheet.first_data_row}"
            assert ws.print_title_rows == f"${sheet.header_row}:${sheet.header_row}"
            assert ws.page_setup.orientation == "landscape"
        elif sheet.layout == "form":
            for column in sheet.columns:
                assert ws[f"A{sheet.form_row(column.key)}"].value == column.header
    ident = wb_schema.sheet("identification")
    ws = wb["Identification"]
    partner = "Logis Cévenols" if kind == "bailleur" else "État (contingent préfectoral)"
    assert ws[ident.form_cell("partenaire")].value == partner
    assert ws[ident.form_cell("annee")].value == 2024


def test_dropdowns_and_number_checks_in_french(templates_2024):
    wb = _bailleur(templates_2024)
    wb_schema = schema.schema_for(CONVENTION, "bailleur", 2024)
    lists = wb[schema.LISTS_SHEET]
    sheet = wb_schema.sheet("attributions")
    ws = wb[sheet.title]
    by_column = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            by_column[rng.min_col] = (dv, rng)
    for index, column in enumerate(sheet.columns, start=1):
        dv, rng = by_column[index]
        assert (rng.min_row, rng.max_row) == (4, 4 + 1500 - 1)
        assert dv.promptTitle and dv.prompt, column.key
        if column.codelist:
            assert dv.type == "list"
            assert dv.errorStyle in (None, "stop")
            assert "menu déroulant" in dv.error
            # The dropdown reads a range of the hidden list sheet holding exactly the list.
            ref = dv.formula1.replace("'", "").split("!")[1].replace("$", "")
            values = [c.value for row in lists[ref] for c in row]
            assert values == wb_schema.codelists[column.codelist].displays
        elif column.kind == "integer":
            assert dv.type == "whole"
            assert (float(dv.formula1), float(dv.formula2)) == (column.minimum, column.maximum)
            assert "nombre entier" in dv.error
        elif column.kind == "date":
            assert dv.type == "date"
            assert "JJ/MM/AAAA" in dv.error


def test_long_lists_are_not_inline(templates_2024):
    wb = _bailleur(templates_2024)
    for ws in wb.worksheets:
        for dv in ws.data_validations.dataValidation:
            if dv.type == "list":
                assert dv.formula1.startswith(f"'{schema.LISTS_SHEET}'!") or dv.formula1.startswith(
                    f"{schema.LISTS_SHEET}!"
                )


def test_protection_without_password_keeps_inputs_editable(templates_2024):
    wb = _bailleur(templates_2024)
    for ws in wb.worksheets:
        assert ws.protection.sheet, ws.title
        assert not ws.protection.password
    ws = wb["Attributions"]
    # openpyxl stores "is this action protected": False means allowed.
    assert ws.protection.insertRows is False
    assert ws.protection.formatColumns is False
    assert ws.protection.insertColumns is not False
    assert ws["A3"].protection.locked  # header
    assert ws.column_dimensions["A"].protection.locked is False  # data column
    assert ws.column_dimensions["B"].number_format == "dd/mm/yyyy"
    ident = wb["Identification"]
    assert ident["B3"].protection.locked  # partner name, pre-filled
    assert ident["B5"].protection.locked is False  # person who answers
    synthese = wb["Synthèse"]
    assert synthese[f"B{SYNTHESE_FIRST_ROW}"].protection.locked


def test_required_cells_are_highlighted_until_filled(templates_2024):
    wb = _bailleur(templates_2024)
    ws = wb["Attributions"]
    rules = {str(cf.sqref): [r.formula[0] for r in cf.rules] for cf in ws.conditional_formatting}
    assert rules["A4:A1503"] == ["AND(COUNTA($A4:$W4)>0,LEN(A4)=0)"]
    assert rules["C4:C1503"] == ['AND($D4="Bail signé",LEN(C4)=0)']  # date_bail, if lease signed
    assert "K4:K1503" not in rules  # typologie is optional
    # The rehousing destination is required for both housed statuses, as the validator says.
    rehousing = wb["Relogements NPNRU"]
    formulas = [r.formula[0] for cf in rehousing.conditional_formatting for r in cf.rules]
    assert any("Relogé définitivement" in f and "Relogé temporairement" in f for f in formulas)
    ident = wb["Identification"]
    assert {str(cf.sqref) for cf in ident.conditional_formatting} == {"B5", "B8"}


def test_contingent_prefilled_with_every_bailleur(templates_2024):
    # One contingent: one row per bailleur.
    path = templates_2024[template_filename(CONVENTION.partners_by_id["action-logement"], 2024)]
    ws = _open(path)["Contingent"]
    names = [ws[f"A{r}"].value for r in range(4, 4 + len(CONVENTION.bailleurs))]
    assert names == [b.name for b in CONVENTION.bailleurs]
    assert ws["A4"].protection.locked is False
    assert ws["B3"].value != "Contingent"
    # The State's two contingents: one row per bailleur and per contingent.
    ws = _reservataire(templates_2024)["Contingent"]
    assert ws["B3"].value == "Contingent"
    n = 2 * len(CONVENTION.bailleurs)
    pairs = [(ws[f"A{r}"].value, ws[f"B{r}"].value) for r in range(4, 4 + n)]
    assert pairs == [
        (b.name, c) for b in CONVENTION.bailleurs
        for c in ("État – publics prioritaires", "État – fonctionnaires et agents de l'État")
    ]  # fmt: skip
    assert ws[f"A{4 + n}"].value is None


def _readme_pairs(ws) -> dict[str, str]:
    """The « key : value » lines of the Lisez-moi (key in A, value in C)."""
    return {r[0]: r[2] for r in ws.iter_rows(values_only=True) if r[0] and r[1] is None and r[2]}


def test_readme_tells_deadline_contact_and_every_column(templates_2024):
    wb = _bailleur(templates_2024)
    ws = wb["Lisez-moi"]
    text = "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value)
    pairs = _readme_pairs(ws)
    assert pairs["Date limite de retour"] == "31 mars 2025"
    assert pairs["Envoi du fichier"] == "par courriel à cia.habitat@alesagglo.fr"
    assert pairs["Questions"] == "Direction de l'habitat d'Alès Agglomération – cia.habitat@alesagglo.fr"
    assert "envoyez le fichier à cia.habitat@alesagglo.fr." in text
    assert "adresse indiquée" not in text  # the address itself, never a pointer to it
    assert "Collage spécial > Valeurs" in text
    assert "liste des communes de l'EPCI (72 valeurs" in text
    wb_schema = schema.schema_for(CONVENTION, "bailleur", 2024)
    listed = {(r[0], r[1]) for r in ws.iter_rows(values_only=True)}
    for sheet in wb_schema.sheets:
        for column in sheet.columns:
            assert (sheet.title, column.header) in listed


def test_readme_reads_as_a_page(templates_2024):
    """Short sections in a reader's order, one filled example row of the main table, and one
    landscape page wide at full size."""
    ws = _bailleur(templates_2024)["Lisez-moi"]
    sections = [c.value for c in ws["A"] if c.font.b and c.font.sz == 12]
    assert sections == [
        "L'essentiel",
        "Les feuilles à remplir",
        "Comment remplir",
        "Coller un export de votre logiciel",
        "Exemple\u00a0: une ligne remplie de la feuille «\u00a0Attributions\u00a0»",
        "Définition de chaque colonne",
    ]
    # The example: each header of the Attributions sheet above the value the schema gives.
    table = schema.schema_for(CONVENTION, "bailleur", 2024).sheet("attributions")
    start = next(c.row for c in ws["A"] if c.value == sections[4]) + 1
    shown = {}
    for r in range(start, start + 2 * -(-len(table.columns) // 6), 2):
        for head, value in zip(ws[r], ws[r + 1], strict=True):
            if head.value:
                shown[head.value] = value.value
    assert list(shown) == [c.header for c in table.columns]
    assert shown["Suite donnée"] == "Bail signé" and shown["Quartile du ménage"] == "2"
    # Print: landscape A4, one page wide, and the columns fit that width at 100 %.
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert (ws.page_setup.fitToWidth or 1, ws.page_setup.fitToHeight) == (1, 0)  # (1 is the default)
    widths = [ws.column_dimensions[get_column_letter(i)].width for i in range(1, 7)]
    printable = (11.69 - ws.page_margins.left - ws.page_margins.right) * 96  # pixels at 96 dpi
    assert sum(w * 7 for w in widths) <= printable  # (a stored width includes the cell's padding)
    # No paragraph wider than a short one: every text cell of the first sections is short.
    first_table = next(c.row for c in ws["A"] if c.value == sections[-1])
    assert max(len(str(c.value)) for row in ws.iter_rows(max_row=first_table) for c in row if c.value) < 330


def _min_height(text: str, width: float, size: float = 11, bold: bool = False) -> float:
    """A lower bound of the height a wrapped text needs: its length over the column's room for
    text (Excel: 7 px a character at 96 dpi), in lines of 1.2 times the font size."""
    room = width * 7 * 0.75
    lines = max(1, -(-text_width(text, size, bold) // room))
    return lines * size * 1.2


@pytest.mark.parametrize("partner_id", ["logis-cevenols", "etat", "operateur-relogement"])
def test_no_header_is_clipped(templates_2024, partner_id):
    """Every header of every table sheet and of the Synthèse: its row as tall as its wrapped
    text at its font, its column as wide as its longest word; the same for the Lisez-moi rows."""
    partner = CONVENTION.partners_by_id[partner_id]
    wb = _open(templates_2024[template_filename(partner, 2024)])
    wb_schema = schema.schema_for(CONVENTION, partner.kind, 2024, partner_id)
    checked = 0
    for sheet in wb_schema.sheets:
        ws = wb[sheet.title]
        header_row = {"table": sheet.header_row, "synthese": SYNTHESE_FIRST_ROW - 1}.get(sheet.layout)
        if header_row is None:
            continue
        for cell in ws[header_row]:
            if not cell.value:
                continue
            width = ws.column_dimensions[cell.column_letter].width
            size, bold = cell.font.sz, cell.font.b
            assert bold and cell.alignment.wrap_text
            assert ws.row_dimensions[header_row].height >= _min_height(cell.value, width, size, bold), (
                cell.value
            )
            assert longest_word_width(cell.value, size, bold) <= width * 7 * 0.75 - 3, cell.value
            checked += 1
    assert checked >= 10
    ws = wb["Lisez-moi"]
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if not isinstance(cell.value, str) or not cell.alignment.wrap_text:
                continue
            merged = next((m for m in ws.merged_cells.ranges if cell.coordinate in m), None)
            cols = range(merged.min_col, merged.max_col + 1) if merged else [cell.column]
            width = sum(ws.column_dimensions[get_column_letter(c)].width for c in cols)
            height = ws.row_dimensions[cell.row].height
            assert height >= _min_height(cell.value, width, cell.font.sz, cell.font.b), cell.value


def test_contingent_headers_are_sized_to_their_text(templates_2024):
    """The réservataire's Contingent sheet: its long « Dont publics prioritaires : … » headers
    wrap on up to four lines, and the header row is as tall as four lines."""
    ws = _reservataire(templates_2024)["Contingent"]
    longest = "Dont publics prioritaires : Autre public prioritaire (art. L. 441-1 du CCH)"
    cell = next(c for c in ws[3] if c.value == longest)
    assert ws.row_dimensions[3].height >= 4 * 11 * 1.2
    assert ws.row_dimensions[3].height >= _min_height(
        longest, ws.column_dimensions[cell.column_letter].width, 11, True
    )


def test_templates_refuse_a_convention_without_return_address(tmp_path):
    no_address = CONVENTION.model_copy(
        update={"campaign": CONVENTION.campaign.model_copy(update={"contact_email": ""})}
    )
    with pytest.raises(MissingContact, match="courriel_contact"):
        write_templates(no_address, 2024, tmp_path / "t")
    with pytest.raises(MissingContact):
        write_template(no_address, CONVENTION.partners[0], 2024, tmp_path / "t.xlsx")
    assert not (tmp_path / "t").exists() and not (tmp_path / "t.xlsx").exists()
    text = embedded_convention_text().replace(
        'courriel_contact = "cia.habitat@alesagglo.fr"', 'courriel_contact = ""'
    )
    (tmp_path / "convention.toml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["--dir", str(tmp_path), "templates", "--year", "2024"])
    assert result.exit_code == 1
    assert "renseignez « courriel_contact » dans la section [campagne]" in result.output
    assert str(tmp_path / "convention.toml") in result.output
    assert not list((tmp_path / "templates").glob("**/*.xlsx"))


@pytest.mark.parametrize(
    ("year", "qpv_code", "other_code", "target"),
    [(2020, "QP030001", "QN03001I", 0.6), (2024, "QN03001I", "QP030001", 0.7)],
)
def test_year_sets_geography_and_targets(tmp_path, year, qpv_code, other_code, target):
    partner = CONVENTION.partners_by_id["habitat-du-gard"]
    wb = _open(write_template(CONVENTION, partner, year, tmp_path / "t.xlsx"))
    values = [c.value for row in wb[schema.LISTS_SHEET].iter_rows() for c in row if c.value]
    assert any(str(v).startswith(qpv_code) for v in values)
    assert not any(str(v).startswith(other_code) for v in values)
    ws = wb["Synthèse"]
    row = SYNTHESE_FIRST_ROW + OBJECTIVE_CODES.index("qpv_q234")
    assert ws[f"E{row}"].value == target
    assert qpv_code in ws[f"C{row}"].value or f"'{schema.LISTS_SHEET}'" in ws[f"C{row}"].value


def test_formulas_stay_short_enough_for_excel():
    for year in (2020, 2024):
        wb_schema = schema.schema_for(CONVENTION, "bailleur", year)
        for formulas in objective_formulas(wb_schema, CONVENTION, year).values():
            for text in (formulas.numerator, formulas.universe, formulas.unknown_quartile or ""):
                assert len(text) < 8192


D = dt.date


def _row(**kw):
    base = {"suite": "BAIL_SIGNE", "date_cal": D(2023, 3, 1), "date_bail": D(2023, 4, 1), "qpv": "HORS_QPV",
            "zone_locale": "NON", "contingent": "PROPRE", "quartile": "2", "categorie": "AUCUNE"}  # fmt: skip
    return base | kw


def test_previous_year_figures_prefilled_in_synthese(tmp_path):
    records = [
        _row(quartile="1"),
        _row(quartile="3"),
        _row(qpv="QP030001", quartile="2"),
        _row(qpv="QP030001", quartile="1", categorie="DALO"),
    ]
    keys = list(records[0])
    table = Table.of("attributions", "Attributions", [4, 5, 6, 7], {k: [r[k] for r in records] for k in keys})
    previous = ReturnFile(
        Path("x.xlsx"), "0" * 64, 1, dt.datetime(2024, 2, 1), tables={"attributions": table}
    )
    partner = CONVENTION.partners_by_id["semiga"]
    ws = _open(write_template(CONVENTION, partner, 2024, tmp_path / "t.xlsx", previous))["Synthèse"]
    expected = objective_rates(CONVENTION, table, 2023)
    for i, code in enumerate(OBJECTIVE_CODES):
        row = SYNTHESE_FIRST_ROW + i
        rate = expected[code]
        assert (ws[f"I{row}"].value, ws[f"J{row}"].value, ws[f"K{row}"].value) == (
            rate.value,
            rate.numerator,
            rate.denominator,
        )
    assert ws[f"I{SYNTHESE_FIRST_ROW}"].value == 0.5  # 1 Q1 out of 2 leases outside QPV
    assert ws[f"L{SYNTHESE_FIRST_ROW + 1}"].value == 0.7  # 2023 target of qpv_q234


def test_cli_writes_every_template(tmp_path):
    result = CliRunner().invoke(main, ["--dir", str(tmp_path), "templates", "--year", "2020"])
    assert result.exit_code == 0, result.output
    assert f"{len(CONVENTION.partners) + CONVENTION.collects_demand} modèles écrits" in result.output
    assert (tmp_path / "templates" / "2020" / "cia-2020-logis-cevenols.xlsx").is_file()
