"""The result report's cell neutralisation (SPEC section 6), without AWS."""

from __future__ import annotations

import pytest

from lambdas.importer.report import neutralise


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_cell_a_spreadsheet_would_run_is_prefixed_with_a_quote(cell: str) -> None:
    # Given a cell starting with a formula character
    # When it is neutralised
    # Then a single quote precedes it
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["", "jdoe", "a=b", "2024-01-01", "'quoted"])
def test_ordinary_cell_is_kept_as_it_is(cell: str) -> None:
    # Given a cell that does not start with a formula character
    # When it is neutralised
    # Then it is unchanged
    assert neutralise(cell) == cell
