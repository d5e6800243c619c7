"""Property-based: whatever bytes or cells a partner sends, intake answers with findings, never raises."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from workbooks import CONVENTION, attribution, make_return

from cia_workbook.intake.files import read_return
from cia_workbook.intake.reader import read_workbook
from cia_workbook.intake.validate import validate_workbook
from cia_workbook.schema.sheets import ATTRIBUTIONS

SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_BASE = Path(tempfile.mkdtemp(prefix="cia-prop-"))
VALID = make_return(_BASE / "valide.xlsx", rows=[attribution(), attribution(reference="R2")]).read_bytes()


def _answers(path: Path) -> None:
    rf = read_return(CONVENTION, 2024, path)
    assert rf.sha256 and (rf.findings or rf.identity is not None)
    for f in rf.findings:
        assert f.message and f.code  # every finding renders its French message


@SETTINGS
@given(data=st.binary(max_size=2048), suffix=st.sampled_from([".xlsx", ".xlsm", ".ods", ".xls"]))
def test_random_bytes(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("b") / f"retour{suffix}"
    path.write_bytes(data)
    _answers(path)


@SETTINGS
@given(
    cut=st.integers(min_value=0, max_value=len(VALID)),
    flips=st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), max_size=8),
)
def test_damaged_workbooks(tmp_path_factory, cut, flips):
    data = bytearray(VALID)
    for pos, value in flips:
        data[pos] = value
    path = tmp_path_factory.mktemp("d") / "retour.xlsx"
    path.write_bytes(bytes(data[: max(cut, 1)] if cut < len(VALID) else data))
    _answers(path)


CELL = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.integers(min_value=-(10**9), max_value=10**9),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9),
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2040, 12, 31)),
    st.booleans(),
    st.sampled_from(
        ["15/03/2024", "2024-03-15", "1 234,50", "Bail signé", "Hors QPV", "QP030001", "M. Dupont", "=1+1"]
    ),
)
KEYS = [c.key for c in ATTRIBUTIONS.columns]


@SETTINGS
@given(rows=st.lists(st.dictionaries(st.sampled_from(KEYS), CELL, max_size=len(KEYS)), max_size=6))
def test_random_cells_validate_the_same_whichever_reader(tmp_path_factory, rows):
    rows = [
        {
            k: v
            for k, v in row.items()
            if not (isinstance(v, str) and any(0xD800 <= ord(c) <= 0xDFFF or ord(c) < 32 for c in v))
        }
        for row in rows
    ]
    path = make_return(tmp_path_factory.mktemp("c") / "retour.xlsx", rows=rows)
    verdicts = []
    for engine in ("calamine", "openpyxl"):
        result = read_workbook(path, engine=engine)
        assert result.workbook is not None, result.findings
        v = validate_workbook(CONVENTION, 2024, result.workbook)
        verdicts.append(
            (
                sorted((f.sheet, f.cell, f.code) for f in v.findings),
                v.tables["attributions"].columns
                if v.tables.get("attributions") and v.tables["attributions"].rows
                else None,
            )
        )
    assert verdicts[0] == verdicts[1]


# -- A1 references: the reader's helpers answer as openpyxl's do -------------------------


def _outcome(fn, *args):
    try:
        return fn(*args)
    except Exception:  # openpyxl raises ValueError or its own CellCoordinatesException
        return "error"


_A1_TEXT = st.text(alphabet="ABCXYZabz$:0129", max_size=12)


@settings(max_examples=2000, deadline=None)
@given(
    ref=st.one_of(
        _A1_TEXT, st.from_regex(r"\$?[A-Z]{1,3}\$?[0-9]{1,7}(:\$?[A-Z]{1,3}\$?[0-9]{1,7})?", fullmatch=True)
    )
)
def test_a1_references_as_openpyxl(ref):
    """A reference read in a received file (a cell's r, a merged range) is understood, or refused
    with a ValueError, exactly as openpyxl's helpers would."""
    from openpyxl.utils import cell as op

    from cia_workbook.intake import sheetxml as reader

    def op_position(r):
        letters, row = op.coordinate_from_string(r)
        return row, op.column_index_from_string(letters)

    mine = _outcome(reader.cell_position, ref)
    assert mine == _outcome(op_position, ref)
    assert _outcome(reader.range_boundaries, ref) == _outcome(op.range_boundaries, ref)
    if mine == "error":
        with pytest.raises(ValueError):
            reader.cell_position(ref)


@given(index=st.integers(min_value=-5, max_value=20_000))
def test_column_letters_as_openpyxl(index):
    from openpyxl.utils import cell as op

    from cia_workbook.intake import sheetxml as reader

    assert _outcome(reader.get_column_letter, index) == _outcome(op.get_column_letter, index)
    letters = _outcome(op.get_column_letter, index)
    if letters != "error":
        assert reader.column_number(letters) == index == reader.column_number(letters.lower())
