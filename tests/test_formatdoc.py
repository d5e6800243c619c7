"""docs/format.md is generated from the schema and must never drift from it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from cia_workbook.convention.settings import load_convention
from cia_workbook.schema import sheets as schema
from cia_workbook.schema.formatdoc import REGENERATE_COMMAND, render_format_doc, write_format_files

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


def test_templates_write_the_format_doc_and_a_table_schema_per_table(tmp_path):
    """Beside the templates: format-<year>.md for the folder's convention, and one Table Schema
    (Frictionless, as schema.data.gouv.fr has them) per table sheet, valid against the spec."""
    frictionless = pytest.importorskip("frictionless")
    paths = write_format_files(CONVENTION, 2024, tmp_path)
    assert [p.name for p in paths] == [
        "format-2024.md",
        "schema-attributions-2024.json",
        "schema-patrimoine-2024.json",
        "schema-lieux-accueil-2024.json",
        "schema-relogements-2024.json",
        "schema-contingent-2024.json",
    ]
    text = paths[0].read_text(encoding="utf-8")
    assert "Écrit par « cia-workbook templates » pour l'année 2024" in text
    assert REGENERATE_COMMAND not in text
    assert "| Attributions | `schema-attributions-2024.json` |" in text
    bailleur = schema.schema_for(CONVENTION, "bailleur", 2024, "logis-cevenols")
    for path in paths[1:]:
        descriptor = json.loads(path.read_text(encoding="utf-8"))
        report = frictionless.Schema.validate_descriptor(descriptor)
        assert report.valid, [e.message for e in report.errors]
        assert descriptor["$schema"] == "https://frictionlessdata.io/schemas/table-schema.json"
        assert descriptor["countryCode"] == "FR" and descriptor["version"] == schema.SCHEMA_VERSION
    attributions = json.loads(paths[1].read_text(encoding="utf-8"))
    fields = {f["name"]: f for f in attributions["fields"]}
    assert list(fields) == [c.key for c in bailleur.sheet("attributions").columns]
    assert fields["reference"]["title"] == "Référence du dossier"
    assert fields["reference"]["constraints"] == {"required": True}
    assert fields["qpv"]["constraints"]["enum"] == bailleur.codelists["qpv"].displays
    assert fields["date_bail"] == {
        "name": "date_bail",
        "title": "Date de signature du bail",
        "description": "Date de signature du bail ; vide si aucun bail n'est signé. "
        "Obligatoire si la suite donnée est « Bail signé ».",
        "type": "date",
        "example": "02/04/2024",
        "format": "%d/%m/%Y",
    }
    assert fields["mutation"]["type"] == "boolean" and fields["mutation"]["trueValues"] == ["Oui"]
    assert fields["taille_menage"]["constraints"] == {"minimum": 1, "maximum": 20}
    assert fields["ressources"]["example"] == "14500"


def test_an_export_that_follows_the_table_schema_is_valid_and_a_wrong_one_is_not(tmp_path):
    """A software vendor's export checked with frictionless against the schema written for it:
    the demo's rows of a bailleur as its software would write them, then one value off the list."""
    frictionless = pytest.importorskip("frictionless")
    from cia_workbook.partners.demo import generate_campaign

    [path] = [p for p in write_format_files(CONVENTION, 2024, tmp_path) if "attributions" in p.name]
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    table = frictionless.Schema.from_descriptor(descriptor)
    filled = next(f for f in generate_campaign(CONVENTION, 2024, mistakes=False) if f.partner.is_bailleur)
    keys = [f["name"] for f in descriptor["fields"]]

    def export(rows) -> Path:
        out = tmp_path / "export.csv"
        with out.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(keys)
            for row in rows:
                writer.writerow(
                    [v.strftime("%d/%m/%Y") if hasattr(v, "strftime") else "" if v is None else v for v in
                     (row.get(k) for k in keys)]
                )  # fmt: skip
        return out

    rows = filled.tables["attributions"][:50]
    report = frictionless.validate(
        frictionless.Resource(path=export(rows).name, basepath=str(tmp_path), schema=table)
    )
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type"])[:5]
    rows[3] = {**rows[3], "qpv": "Hors QVP"}
    report = frictionless.validate(
        frictionless.Resource(path=export(rows).name, basepath=str(tmp_path), schema=table)
    )
    assert report.flatten(["rowNumber", "fieldName", "type"]) == [[5, "qpv", "constraint-error"]]
