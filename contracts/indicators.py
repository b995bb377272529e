"""Outcome indicators: time series per place, imported from CSV."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import BeforeValidator, Field, WithJsonSchema

from contracts.envelope import Contract, IntegrationEvent

INDICATORS = (
    "wastewater_drug_load",
    "recorded_crime",
    "referrals_made",
    "referrals_completed",
    "tasks_done_on_time",
    "people_engaged",
)
Indicator = Literal[
    "wastewater_drug_load",
    "recorded_crime",
    "referrals_made",
    "referrals_completed",
    "tasks_done_on_time",
    "people_engaged",
]


# A whole number may be sent as a JSON number; a fraction only as text ("12.5"): a binary
# float cannot say how many decimal places it has, so no schema could promise which floats
# fit six places, and a value silently rounded would be a different reading.
DECIMAL_SCHEMA = {
    "anyOf": [
        {"type": "integer", "minimum": 0, "maximum": 999_999_999_999},
        {"type": "string", "pattern": r"^\d{1,12}(\.\d{1,6})?$"},
    ]
}


def no_float(value: object) -> object:
    if isinstance(value, float) and not value.is_integer():
        raise ValueError('a fractional value is sent as text, e.g. "12.5"')
    return value


class IndicatorRow(Contract):
    """One reading: a place's indicator (and series, e.g. a wastewater catchment) on a date."""

    place: str = Field(min_length=1, max_length=100)
    indicator: Indicator
    series: str = Field(default="", max_length=100)
    period_start: date
    # The schema says what the string form must look like: an empty or odd one is refused.
    value: Annotated[Decimal, BeforeValidator(no_float), WithJsonSchema(DECIMAL_SCHEMA)] = Field(
        ge=0, max_digits=18, decimal_places=6
    )
    unit: str = Field(min_length=1, max_length=50)
    source: str = Field(default="", max_length=200)


class IndicatorImportStarted(IntegrationEvent):
    """An import begun: its rows and commit are for the agency that started it."""

    source: ClassVar[str] = "build"
    event_type: Literal["IndicatorImportStarted"] = "IndicatorImportStarted"
    schema_version: Literal[1] = 1
    import_id: UUID
    file_name: str
    rows_expected: int
    starter_agency: str


class IndicatorRowsAdded(IntegrationEvent):
    """A chunk of an import; not in force until the import is committed."""

    source: ClassVar[str] = "build"
    event_type: Literal["IndicatorRowsAdded"] = "IndicatorRowsAdded"
    schema_version: Literal[1] = 1
    import_id: UUID
    rows: tuple[IndicatorRow, ...]


class IndicatorImportCommitted(IntegrationEvent):
    """Every row of the import arrived: its rows are now part of the record, together."""

    source: ClassVar[str] = "build"
    event_type: Literal["IndicatorImportCommitted"] = "IndicatorImportCommitted"
    schema_version: Literal[1] = 1
    import_id: UUID
    file_name: str
    rows: int
