"""A place's outcomes: an indicator before and after an operation, figures worked by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.views.outcomes import before_after

pytestmark = pytest.mark.domain


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
