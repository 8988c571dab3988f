"""CSV cells: formula-looking text is neutralised, values keep their meaning."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sportello_gateway.kpi.csv_export import safe


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\r=x"])
def test_formula_starts_are_quoted(text: str) -> None:
    assert safe(text) == "'" + text


def test_plain_values() -> None:
    assert safe("billing") == "billing"
    assert safe(None) == ""
    assert safe(True) == "true"
    assert safe(-1.5) == "-1.5"  # our own numbers are not formulas
    assert safe(3) == "3"
    assert safe(datetime(2026, 3, 2, 9, tzinfo=UTC)) == "2026-03-02T09:00:00+00:00"
