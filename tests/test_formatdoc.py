"""docs/format.md is generated from the schema and must never drift from it."""

from __future__ import annotations

from pathlib import Path

from cia_workbook import schema
from cia_workbook.convention import load_convention
from cia_workbook.formatdoc import REGENERATE_COMMAND, render_format_doc

ROOT = Path(__file__).resolve().parents[1]
CONVENTION = load_convention(None)


def test_format_doc_is_up_to_date():
    committed = (ROOT / "docs" / "format.md").read_text(encoding="utf-8")
    expected = render_format_doc(CONVENTION, CONVENTION.info.last_year)
    assert committed == expected, (
        f"docs/format.md ne correspond plus au schéma : régénérez-le avec « {REGENERATE_COMMAND} » "
        "(depuis la racine du dépôt, avec l'environnement du projet) puis committez-le."
    )


def test_one_line_per_column_of_every_sheet():
    text = render_format_doc(CONVENTION, 2024)
    for kind in ("bailleur", "reservataire"):
        for sheet in schema.schema_for(CONVENTION, kind, 2024).sheets:
            assert f"### Feuille « {sheet.title} »" in text
            for column in sheet.columns:
                assert f"| {column.header} | {column.definition} |" in text
    assert "| Date de signature du bail |" in text
    assert "Obligatoire si la suite donnée est « Bail signé »" in text
    # Long lists are described with their size, short ones spelled out.
    assert "liste des communes de l'EPCI (72 valeurs, menu déroulant)" in text
    assert "« Bail signé » ; « Refus du ménage »" in text


def test_lists_follow_the_year():
    assert "QP030001" in render_format_doc(CONVENTION, 2020)
    assert "QP030001" not in render_format_doc(CONVENTION, 2024)
    assert "QN03001I" in render_format_doc(CONVENTION, 2024)
