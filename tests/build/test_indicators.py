"""Indicator CSV files checked whole (the before/after figures: tests/views/test_outcomes.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.build.indicators import read_indicator_csv

pytestmark = pytest.mark.domain

GOOD = """place,indicator,series,period_start,value,unit,source
Ōpōtiki,wastewater_drug_load,meth,2025-09-01,120,mg/1000 people/day,ESR
Ōpōtiki,wastewater_drug_load,meth,2025-10-01,100,mg/1000 people/day,ESR
"""


def test_a_good_file_reads_every_row() -> None:
    rows, rejected = read_indicator_csv(GOOD)
    assert rejected == [] and len(rows) == 2
    assert rows[0].value == Decimal("120") and rows[0].period_start == date(2025, 9, 1)


def test_every_bad_row_is_reported_with_row_column_and_reason() -> None:
    """Bad date, negative value, unknown indicator, empty place, a duplicate reading and an
    extra cell are each reported on their own line; the good rows are not enough to import."""
    text = GOOD + (
        "Ōpōtiki,wastewater_drug_load,meth,2025-13-01,90,mg,ESR\n"
        "Ōpōtiki,recorded_crime,,2025-09-01,-4,offences,Police\n"
        "Ōpōtiki,happiness,,2025-09-01,4,points,\n"
        ",recorded_crime,,2025-09-01,4,offences,\n"
        "Ōpōtiki,wastewater_drug_load,meth,2025-10-01,99,mg/1000 people/day,ESR\n"
        "Ōpōtiki,recorded_crime,,2025-10-01,4,offences,Police,extra\n"
    )
    rows, rejected = read_indicator_csv(text)
    assert [(r.row, r.column) for r in rejected] == [
        (4, "period_start"),
        (5, "value"),
        (6, "indicator"),
        (7, "place"),
        (8, "period_start"),
        (9, "-"),
    ]
    assert "the same reading as row 3" in rejected[4].reason
    assert len(rows) == 2


def test_a_file_without_the_required_columns_is_refused_at_the_header() -> None:
    rows, rejected = read_indicator_csv("place,indicator,when,value\nGore,recorded_crime,x,1\n")
    assert rows == []
    assert {(r.row, r.column) for r in rejected} == {
        (1, "period_start"),
        (1, "unit"),
        (1, "when"),
    }
