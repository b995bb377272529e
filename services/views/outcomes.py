"""A place's outcomes: an indicator before each operation there against after it, and its
programmes' social return, from the views alone."""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from contracts.place import same_place
from services.views.read_model import ReadModel
from services.views.rows import Row


def place_outcomes(
    model: ReadModel,
    place: str,
    indicator: str,
    series: str | None,
    before_months: int,
    covered: bool,
    covers_item: Callable[[Row], bool],
) -> dict[str, Any]:
    """For each concluded operation in the place that ``covers_item`` lets the caller see: the
    indicator's mean in the ``before_months`` before it launched against 3, 6 and 12 months
    after it concluded; and the place's programmes' social return. Readings and programmes
    count only if the caller's token ``covered`` the place."""
    readings = [
        (r.period_start, r.value)
        for r in model.indicator_readings(place, indicator, series)
        if covered
    ]
    operations = []
    for op in model.operations.values():
        if not same_place(op.place, place) or op.concluded_at is None:
            continue
        if not covers_item(op):
            continue
        launched = datetime.fromisoformat(op.launched_at or op.planned_start).date()
        concluded = datetime.fromisoformat(op.concluded_at).date()
        comparison = before_after(readings, launched, concluded, before_months)
        operations.append(
            {
                "operation_id": op.operation_id,
                "name": op.name,
                "launched": launched.isoformat(),
                "concluded": concluded.isoformat(),
                **comparison,
            }
        )
    programmes = [
        {
            "programme_id": p.programme_id,
            "name": p.name,
            "social_return": p.social_return,
        }
        for p in model.programmes.values()
        if same_place(p.place, place) and covered
    ]
    return {
        "place": place,
        "indicator": indicator,
        "series": series,
        "operations": operations,
        "programmes": programmes,
    }


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def mean(values: list[Decimal]) -> Decimal | None:
    return sum(values, Decimal(0)) / len(values) if values else None


def before_after(
    readings: list[tuple[date, Decimal]],
    before_end: date,
    after_start: date,
    before_months: int = 6,
    after_windows: tuple[int, ...] = (3, 6, 12),
) -> dict[str, Any]:
    """The mean of the readings in the ``before_months`` before ``before_end`` (the baseline,
    e.g. the six months before the operation launched) against the mean in each window of
    months after ``after_start`` (e.g. its conclusion), with the change as a percentage.
    Windows are half-open: [start, end)."""
    baseline_from = add_months(before_end, -before_months)
    baseline = mean([v for d, v in readings if baseline_from <= d < before_end])
    windows = []
    for months in after_windows:
        window_end = add_months(after_start, months)
        value = mean([v for d, v in readings if after_start <= d < window_end])
        change = None
        if value is not None and baseline:
            change = ((value - baseline) / baseline * 100).quantize(Decimal("0.1"))
        windows.append(
            {
                "months_after": months,
                "mean": None if value is None else str(value.quantize(Decimal("0.001"))),
                "change_percent": None if change is None else str(change),
                "readings": sum(1 for d, _ in readings if after_start <= d < window_end),
            }
        )
    return {
        "baseline": {
            "from": baseline_from.isoformat(),
            "to": before_end.isoformat(),
            "mean": None if baseline is None else str(baseline.quantize(Decimal("0.001"))),
            "readings": sum(1 for d, _ in readings if baseline_from <= d < before_end),
        },
        "after": windows,
    }
