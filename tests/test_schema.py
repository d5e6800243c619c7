"""The one schema is consistent with itself for every kind of partner and every year."""

from __future__ import annotations

import pytest

from cia_workbook.convention.settings import load_convention
from cia_workbook.schema.sheets import schema_for

CONVENTION = load_convention()


@pytest.mark.parametrize("year", [2020, 2024])
@pytest.mark.parametrize("partner", [p.id for p in CONVENTION.partners])
def test_every_coded_column_and_condition_points_at_something_real(partner, year):
    p = CONVENTION.partners_by_id[partner]
    wschema = schema_for(CONVENTION, p.kind, year, p.id)
    for sheet in wschema.sheets:
        keys = [c.key for c in sheet.columns]
        assert len(keys) == len(set(keys)), f"{sheet.title}: duplicate column key"
        headers = [c.header for c in sheet.columns]
        assert len(headers) == len(set(headers)), f"{sheet.title}: duplicate header"
        for column in sheet.columns:
            if column.kind in ("code", "yesno"):
                assert column.codelist in wschema.codelists, (sheet.title, column.key)
            assert bool(column.required_if) == bool(column.required_when), (sheet.title, column.key)
            assert not (column.required and column.required_if), (sheet.title, column.key)
            if column.required_if:
                other, codes = column.required_if
                allowed = wschema.codelists[sheet.column(other).codelist].by_code
                assert set(codes) <= set(allowed), (sheet.title, column.key, codes)


def test_without_local_zones_nor_actions_no_zone_column_list_or_formula_nor_actions_sheet():
    """Issue 16, item 3: a convention without local zones has no « Zone locale » column, list or
    formula term; without actions, no Actions sheet. The validator follows the schema."""
    from cia_workbook.partners.synthese import objective_formulas, range_names

    bare = CONVENTION.model_copy(update={"local_zones": [], "actions": []})
    wschema = schema_for(bare, "bailleur", 2024, "logis-cevenols")
    assert "zone_locale" not in [c.key for c in wschema.sheet("attributions").columns]
    assert "zone_locale" not in wschema.codelists
    assert "actions" not in [s.key for s in wschema.sheets]
    assert wschema.codelists["secteur"].displays[-1] == "Hors QPV"
    texts = [c.definition for s in wschema.sheets for c in s.columns] + [s.purpose for s in wschema.sheets]
    contingent = schema_for(bare, "reservataire", 2024).sheet("contingent")
    texts += [c.header for c in contingent.columns] + [c.definition for c in contingent.columns]
    assert not [t for t in texts if "zone" in t.lower()]
    formulas = objective_formulas(wschema, bare, 2024)
    assert "att_zone_locale" not in range_names(wschema)
    assert not [f for f in formulas.values() if "zone" in f.universe + f.numerator]
    # With them (the embedded convention): the column, its zone named, and each kind's questions.
    full = schema_for(CONVENTION, "bailleur", 2024, "habitat-du-gard")
    zone = full.sheet("attributions").column("zone_locale")
    assert "Quartier des Promelles" in zone.definition
    assert full.sheet("attributions").column("reference").example == "HDG-2024-00153"
    assert full.sheet("actions").purpose == "Réponses courtes sur les actions 3 et 5 de la convention."
    assert schema_for(CONVENTION, "reservataire", 2024).sheet("actions").columns[0].header == (
        "Action 6 – Votre contingent est-il géré en flux dans l'année ?"
    )
