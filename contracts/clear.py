"""Events published by the clear service (Police operations)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts.envelope import Contract, IntegrationEvent, NoBool
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
    # The planning cell's note on the household, sealed with its key: read, once the case
    # exists, only through the case's personal details (every read recorded).
    note: SealedText | None = None


class OperationLaunched(IntegrationEvent):
    source: ClassVar[str] = "clear"
    event_type: Literal["OperationLaunched"] = "OperationLaunched"
    schema_version: Literal[1] = 1
    place: str
    staged_support: tuple[StagedHousehold, ...] = ()


class AffectedChild(Contract):
    """A child affected by an arrest, a seizure in their home or a witness in their household,
    as the event travels and rests: a reference only (its age is in the event's sealed
    ``ages``). ``child_ref`` is opaque: never a name."""

    child_ref: str = Field(min_length=1, max_length=128)


class Child(AffectedChild):
    """A child and their age, as the planning cell gives them (and inside sealed ages)."""

    age: Annotated[int, NoBool] = Field(ge=0, le=17)


class ChildrenAges(Contract):
    """What a seizure's or a witness's sealed ``ages`` open to: each child's age (rules on the
    youngest child). Only the front door and Hold's rules, in memory, ever see it in the
    clear."""

    children: tuple[Child, ...] = Field(default=(), max_length=50)


class ArrestAges(ChildrenAges):
    """What an arrest's sealed ``ages`` open to: each child's age, and the arrested person's
    where known (a young person's arrest calls for youth support)."""

    person_age: int | None = Field(default=None, ge=10, le=120)


class ArrestRecorded(IntegrationEvent):
    """Version 2: ages travel sealed with the household's key (version 1 carried them in the
    clear, so erasing the household could not reach them)."""

    source: ClassVar[str] = "clear"
    event_type: Literal["ArrestRecorded"] = "ArrestRecorded"
    schema_version: Literal[2] = 2
    arrest_id: UUID
    place: str
    person_ref: str
    household_ref: str
    charges: tuple[str, ...]
    children: tuple[AffectedChild, ...] = ()
    only_carer_present: bool = False
    # ArrestAges sealed with the household's key; None when no age was given at all.
    ages: SealedText | None = None
    # The household's names, address and notes, sealed with its key (contracts/personal.py).
    personal: SealedText | None = None


class SeizureRecorded(IntegrationEvent):
    """Version 2: the children travel as references, their ages sealed with the household's
    key (version 1 carried them in the clear, so erasing the household could not reach them)."""

    source: ClassVar[str] = "clear"
    event_type: Literal["SeizureRecorded"] = "SeizureRecorded"
    schema_version: Literal[2] = 2
    seizure_id: UUID
    place: str
    kind: Literal["drugs", "firearm", "cash"]
    description: str
    quantity: float
    unit: str
    # Where the seizure was made in a home: the household, and the children living there.
    household_ref: str | None = None
    children: tuple[AffectedChild, ...] = ()
    # ChildrenAges sealed with the household's key; None when no child was given.
    ages: SealedText | None = None


class WitnessRegistered(IntegrationEvent):
    """A key witness (for the trial) whose safety and support the ROCC group takes on.

    Version 2: the children travel as references, their ages sealed with the household's key
    (version 1 carried them in the clear)."""

    source: ClassVar[str] = "clear"
    event_type: Literal["WitnessRegistered"] = "WitnessRegistered"
    schema_version: Literal[2] = 2
    witness_id: UUID
    place: str
    witness_ref: str
    household_ref: str
    children: tuple[AffectedChild, ...] = ()
    # ChildrenAges sealed with the household's key; None when no child was given.
    ages: SealedText | None = None


class OperationConcluded(IntegrationEvent):
    source: ClassVar[str] = "clear"
    event_type: Literal["OperationConcluded"] = "OperationConcluded"
    schema_version: Literal[1] = 1
    place: str
    arrests: int
    concluded_at: AwareDatetime
