"""Events published by the clear service (Police operations)."""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts.envelope import Contract, IntegrationEvent
from contracts.personal import SealedText


class OperationPlanned(IntegrationEvent):
    source: ClassVar[str] = "clear"
    event_type: Literal["OperationPlanned"] = "OperationPlanned"
    schema_version: Literal[1] = 1
    name: str
    district: str
    place: str
    target_group: str
    planned_start: AwareDatetime


class StagedHousehold(Contract):
    """A household the planning cell expects to need support, released at launch."""

    household_ref: str = Field(min_length=1, max_length=128)
    expected_children: int = Field(ge=0, le=50)
    only_carer_expected: bool = False


class OperationLaunched(IntegrationEvent):
    source: ClassVar[str] = "clear"
    event_type: Literal["OperationLaunched"] = "OperationLaunched"
    schema_version: Literal[1] = 1
    place: str
    staged_support: tuple[StagedHousehold, ...] = ()


class Child(Contract):
    """A child affected by an arrest. ``child_ref`` is opaque: never a name."""

    child_ref: str = Field(min_length=1, max_length=128)
    age: int = Field(ge=0, le=17)


class ArrestRecorded(IntegrationEvent):
    source: ClassVar[str] = "clear"
    event_type: Literal["ArrestRecorded"] = "ArrestRecorded"
    schema_version: Literal[1] = 1
    arrest_id: UUID
    place: str
    person_ref: str
    household_ref: str
    charges: tuple[str, ...]
    children: tuple[Child, ...] = ()
    only_carer_present: bool = False
    # The arrested person's age where known: a young person's arrest calls for youth support.
    person_age: int | None = None
    # The household's names, address and notes, sealed with its key (contracts/personal.py).
    personal: SealedText | None = None


class SeizureRecorded(IntegrationEvent):
    source: ClassVar[str] = "clear"
    event_type: Literal["SeizureRecorded"] = "SeizureRecorded"
    schema_version: Literal[1] = 1
    seizure_id: UUID
    place: str
    kind: Literal["drugs", "firearm", "cash"]
    description: str
    quantity: float
    unit: str
    # Where the seizure was made in a home: the household, and the children living there.
    household_ref: str | None = None
    children: tuple[Child, ...] = ()


class WitnessRegistered(IntegrationEvent):
    """A key witness (for the trial) whose safety and support the ROCC group takes on."""

    source: ClassVar[str] = "clear"
    event_type: Literal["WitnessRegistered"] = "WitnessRegistered"
    schema_version: Literal[1] = 1
    witness_id: UUID
    place: str
    witness_ref: str
    household_ref: str
    children: tuple[Child, ...] = ()


class OperationConcluded(IntegrationEvent):
    source: ClassVar[str] = "clear"
    event_type: Literal["OperationConcluded"] = "OperationConcluded"
    schema_version: Literal[1] = 1
    place: str
    arrests: int
    concluded_at: AwareDatetime
