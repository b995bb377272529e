"""Reading indicator CSV files, and comparing an indicator before and after an operation.

A file is checked whole before anything is imported: every bad row is reported with its row
number, column and reason, and a file with any bad row imports nothing.
"""

from __future__ import annotations

import csv
import io
from calendar import monthrange
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from contracts.indicators import IndicatorRow

COLUMNS = ("place", "indicator", "series", "period_start", "value", "unit", "source")
REQUIRED = ("place", "indicator", "period_start", "value", "unit")


@dataclass(frozen=True)
class Rejected:
    row: int  # the line in the file (the header is line 1)
    column: str
    reason: str


def read_indicator_csv(text: str) -> tuple[list[IndicatorRow], list[Rejected]]:
    """Every row checked; returns the good rows and every rejection (row, column, reason)."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        problems = [Rejected(1, c, "required column is missing") for c in missing]
        problems += [
            Rejected(1, c, f"unknown column (expected {', '.join(COLUMNS)})") for c in unknown
        ]
        return [], problems
    rows: list[IndicatorRow] = []
    rejected: list[Rejected] = []
    seen: dict[tuple[str, str, str, date], int] = {}
    for line, record in enumerate(reader, start=2):
        if None in record:  # more cells than columns
            rejected.append(Rejected(line, "-", "more values than columns"))
            continue
        data: dict[str, Any] = {k: (v or "").strip() for k, v in record.items()}
        try:
            row = IndicatorRow.model_validate(data)
        except ValidationError as error:
            for problem in error.errors():
                column = str(problem["loc"][0]) if problem["loc"] else "-"
                rejected.append(Rejected(line, column, problem["msg"]))
            continue
        key = (row.place.casefold(), row.indicator, row.series, row.period_start)
        if key in seen:
            rejected.append(Rejected(line, "period_start", f"the same reading as row {seen[key]}"))
            continue
        seen[key] = line
        rows.append(row)
    return rows, rejected


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
