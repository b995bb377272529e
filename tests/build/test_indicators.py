"""Indicator CSV files checked whole, and before/after figures worked by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.build.indicators import read_indicator_csv
from services.views.outcomes import before_after

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


def test_before_and_after_an_operation_against_figures_worked_by_hand() -> None:
    """Monthly meth loads; launch 2026-03-01, concluded 2026-03-31.
    Baseline: Sep-Feb = 120, 110, 130, 125, 115, 120 -> mean 720/6 = 120.000.
    3 months after (Apr-Jun, from 2026-03-31: readings on 04-01, 05-01, 06-01) = 70, 60, 50 ->
    60.000, change (60-120)/120 = -50.0%.
    6 months (Apr-Sep): + 55, 65, 60 -> 360/6 = 60.000, -50.0%.
    12 months: only those six readings exist -> 60.000, -50.0% (6 readings)."""
    loads = [120, 110, 130, 125, 115, 120, 999, 70, 60, 50, 55, 65, 60]
    months = [date(2025, 9, 1)] + [date(2025, m, 1) for m in (10, 11, 12)]
    months += [date(2026, m, 1) for m in range(1, 10)]
    readings = [(d, Decimal(v)) for d, v in zip(months, loads, strict=True)]
    result = before_after(readings, before_end=date(2026, 3, 1), after_start=date(2026, 3, 31))
    assert result["baseline"] == {
        "from": "2025-09-01",
        "to": "2026-03-01",
        "mean": "120.000",
        "readings": 6,
    }
    assert [
        (w["months_after"], w["mean"], w["change_percent"], w["readings"]) for w in result["after"]
    ] == [
        (3, "60.000", "-50.0", 3),
        (6, "60.000", "-50.0", 6),
        (12, "60.000", "-50.0", 6),
    ]


def test_no_baseline_means_no_change_figure() -> None:
    result = before_after([(date(2026, 5, 1), Decimal(3))], date(2026, 3, 1), date(2026, 3, 31))
    assert result["baseline"]["mean"] is None
    assert result["after"][0]["change_percent"] is None and result["after"][0]["mean"] == "3.000"
