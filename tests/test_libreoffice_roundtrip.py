"""Templates filled and really re-saved by LibreOffice (tests/fixtures/libreoffice, made by
scripts/make_lo_fixtures.py): the identification survives, the returns are recognised, and
the Synthèse formulas recalculated by LibreOffice give the consolidation's rates."""

from __future__ import annotations

import datetime as dt
import importlib.util
import shutil
from pathlib import Path

import openpyxl
import pytest
from libreoffice import convert, needs_libreoffice
from python_calamine import CalamineWorkbook

from cia_workbook.consolidate import objective_rates
from cia_workbook.convention.settings import OBJECTIVE_CODES, load_convention
from cia_workbook.intake.files import read_return
from cia_workbook.intake.model import Table
from cia_workbook.partners.template_synthese import SYNTHESE_FIRST_ROW
from cia_workbook.schema import sheets as schema

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "libreoffice"
CONVENTION = load_convention(None)
YEAR = 2024
EXPECTED_ID = {
    "bailleur": [
        "cia-workbook",
        schema.SCHEMA_VERSION,
        CONVENTION.info.id,
        "logis-cevenols",
        "bailleur",
        YEAR,
    ],
    "reservataire": [
        "cia-workbook",
        schema.SCHEMA_VERSION,
        CONVENTION.info.id,
        "action-logement",
        "reservataire",
        YEAR,
    ],
}
# Counted by hand from the rows of scripts/make_lo_fixtures.py: (numerator, universe).
# LC-2024-014, DALO and rehoused by the NPNRU (« Relogé NPNRU »), counts in the outside-QPV objective.
EXPECTED_COUNTS = {"hors_qpv_q1": (5, 7), "qpv_q234": (3, 5), "publics_prioritaires": (5, 9)}


def _fixture(kind: str, fmt: str) -> Path:
    return FIXTURES / f"{kind}-{YEAR}-lo.{fmt}"


def _id_rows(path: Path) -> list[list]:
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(schema.ID_SHEET).to_python()
    # LibreOffice stores every number as a float: the year comes back as 2024.0.
    return [[key, int(value) if isinstance(value, float) else value] for key, value in rows]


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
@pytest.mark.parametrize("kind", ["bailleur", "reservataire"])
def test_identification_survives_libreoffice(kind, fmt):
    rows = _id_rows(_fixture(kind, fmt))
    assert rows == [list(pair) for pair in zip(schema.ID_KEYS, EXPECTED_ID[kind], strict=True)]
    wb = CalamineWorkbook.from_path(str(_fixture(kind, fmt)))
    # The partner's own template: Logis Cévenols' holds the rehousing sheet of the charter.
    titles = schema.schema_for(CONVENTION, kind, YEAR, EXPECTED_ID[kind][3]).sheet_titles
    assert wb.sheet_names == titles + [schema.LISTS_SHEET, schema.ID_SHEET]


def test_defined_names_and_properties_survive_libreoffice_xlsx():
    wb = openpyxl.load_workbook(_fixture("bailleur", "xlsx"))
    # LibreOffice has no "very hidden": the sheets come back merely hidden.
    assert wb[schema.ID_SHEET].sheet_state == "hidden"
    assert wb[schema.LISTS_SHEET].sheet_state == "hidden"
    assert wb.defined_names["CIA_PARTENAIRE"].attr_text.replace("'", "") == f"{schema.ID_SHEET}!$B$4"
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    assert props["partenaire"] == "logis-cevenols"
    assert props["annee"] == YEAR  # written as an integer, saved by LibreOffice as a float
    assert wb["Attributions"].protection.sheet


def _read_attributions(path: Path) -> Table:
    """The Attributions rows of a returned file as codes and dates, read independently of the
    project's reader (calamine, the codelists' own lookup)."""
    wb_schema = schema.schema_for(CONVENTION, "bailleur", YEAR)
    sheet = wb_schema.sheet("attributions")
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet.title).to_python()
    columns: dict[str, list] = {c.key: [] for c in sheet.columns}
    numbers = []
    for number, row in enumerate(rows[sheet.first_data_row - 1 :], start=sheet.first_data_row):
        if not any(v not in ("", None) for v in row):
            continue
        numbers.append(number)
        for column, value in zip(sheet.columns, list(row) + [""] * len(sheet.columns), strict=False):
            if value in ("", None):
                value = None
            elif isinstance(value, dt.datetime):
                value = value.date()
            elif column.codelist:
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                lookup = wb_schema.codelists[column.codelist].lookup()
                value = lookup[schema.normalize(str(value))]
            columns[column.key].append(value)
    return Table.of("attributions", sheet.title, numbers, columns)


def _synthese_counts(path: Path) -> dict[str, tuple]:
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Synthèse").to_python()
    out = {}
    for i, code in enumerate(OBJECTIVE_CODES):
        row = rows[SYNTHESE_FIRST_ROW - 1 + i]
        out[code] = (row[1], row[2], row[3], row[7])  # numerator, universe, rate, unknown quartile
    return out


def _assert_synthese_matches_consolidation(path: Path) -> None:
    table = _read_attributions(path)
    assert len(table) == 14
    official = objective_rates(CONVENTION, table, YEAR)
    cached = _synthese_counts(path)
    for code in OBJECTIVE_CODES:
        numerator, universe, rate, unknown = cached[code]
        assert (numerator, universe) == EXPECTED_COUNTS[code], code
        assert (numerator, universe) == (official[code].numerator, official[code].denominator), code
        assert rate == pytest.approx(official[code].value), code
        if code != "publics_prioritaires":
            assert unknown == official[code].unknown, code


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_synthese_recalculated_by_libreoffice_gives_the_consolidation_rates(fmt):
    _assert_synthese_matches_consolidation(_fixture("bailleur", fmt))


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
@pytest.mark.parametrize("kind", ["bailleur", "reservataire"])
def test_reader_recognises_libreoffice_returns(kind, fmt):
    rf = read_return(CONVENTION, YEAR, _fixture(kind, fmt))
    assert rf.identity is not None, [f.code for f in rf.findings]
    expected = EXPECTED_ID[kind]
    assert (rf.identity.schema_version, rf.identity.partner_id, rf.identity.kind, rf.identity.year) == (
        expected[1],
        expected[3],
        expected[4],
        YEAR,
    )
    assert not rf.has_errors, [(f.code, f.cell) for f in rf.findings if f.is_error]


def _make_lo_fixtures():
    spec = importlib.util.spec_from_file_location(
        "make_lo_fixtures", ROOT / "scripts" / "make_lo_fixtures.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) absent")
def test_fresh_template_filled_and_recalculated_by_libreoffice(tmp_path):
    script = _make_lo_fixtures()
    bailleur, _ = script.make_filled(tmp_path, CONVENTION)
    [saved] = script.libreoffice_convert([bailleur], tmp_path / "out", "xlsx", tmp_path / "profile")
    _assert_synthese_matches_consolidation(saved)
    assert _id_rows(saved)[3] == ["partenaire", "logis-cevenols"]


@pytest.mark.libreoffice
@needs_libreoffice
def test_corrected_copy_opens_in_libreoffice_with_its_marks(tmp_path):
    from cia_workbook.partners import corrections, feedback
    from cia_workbook.schema.findings import finding

    findings = [
        finding("DATE_TEXTE", "r.xlsx", "Attributions", "B4", value="x", column="c", parsed="p"),
        finding("VALEUR_HORS_LISTE", "r.xlsx", "Attributions", "D30", value="x", column="c", hint="a"),
    ]
    copy = feedback.write_corrected_copy(
        _fixture("bailleur", "xlsx"), findings, tmp_path / "copie.xlsx", dt.datetime(2025, 1, 1)
    )
    # Through LibreOffice's own format and back: what it kept is what it understood.
    ods = convert(copy, tmp_path / "ods", to="ods")
    back = openpyxl.load_workbook(convert(ods, tmp_path / "back", to="xlsx"))
    assert back.sheetnames[0] == "Corrections" and back.active.title == "Corrections"
    att = back["Attributions"]
    assert "[DATE_TEXTE]" in att["B4"].comment.text and "[VALEUR_HORS_LISTE]" in att["D30"].comment.text
    assert att["B4"].fill.fgColor.rgb.endswith(corrections.WARNING_FILL)
    assert att["D30"].fill.fgColor.rgb.endswith(corrections.ERROR_FILL)
    assert (
        back["Corrections"][f"E{corrections.CORRECTIONS_HEADER_ROW + 1}"].hyperlink.location
        == "'Attributions'!B4"
    )
    assert back["Attributions"].print_title_rows == "$3:$3"
