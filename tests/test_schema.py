"""The one schema is consistent with itself for every kind of partner and every year."""

from __future__ import annotations

import pytest

from cia_workbook.convention import load_convention
from cia_workbook.schema import schema_for

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
