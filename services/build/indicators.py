"""Reading indicator CSV files (the comparison before and after an operation is a view:
``services/views/outcomes.py``).

A file is checked whole before anything is imported: every bad row is reported with its row
number, column and reason, and a file with any bad row imports nothing.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError

from contracts.indicators import IndicatorRow
from contracts.place import place_key

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
        key = (place_key(row.place), row.indicator, row.series, row.period_start)
        if key in seen:
            rejected.append(Rejected(line, "period_start", f"the same reading as row {seen[key]}"))
            continue
        seen[key] = line
        rows.append(row)
    return rows, rejected
