"""The operation aggregate: a Police operation from plan to conclusion (the Clear phase)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.clear.domain.errors import (
    OperationAlreadyConcluded,
    OperationAlreadyLaunched,
    OperationNotLaunched,
)
from services.runtime.authorization import (
    Caller,
    check,
    operation_relation,
    operation_visible,
)
from services.runtime.meta import Meta

PLANNED, LAUNCHED, CONCLUDED = "planned", "launched", "concluded"


# The facts of an enforcement action, as one value from the front door to the stored event: a
# field added here reaches the event without another edit on the way (the event's own class
# below declares it too, for the library to store).
Children = list[dict[str, Any]]  # references only: {"child_ref": ...}


@dataclass(frozen=True)
class ArrestFacts:
    person_ref: str
    household_ref: str
    charges: list[str]
    children: Children
    only_carer_present: bool
    ages: str | None = None  # sealed (contracts.clear.ArrestAges)
    personal: str | None = None  # sealed (contracts/personal.py)


@dataclass(frozen=True)
class SeizureFacts:
    kind: str
    description: str
    quantity: float
    unit: str
    household_ref: str | None = None
    children: Children = field(default_factory=list)
    ages: str | None = None  # sealed (contracts.clear.ChildrenAges)


@dataclass(frozen=True)
class WitnessFacts:
    witness_ref: str
    household_ref: str
    children: Children
    ages: str | None = None  # sealed, as for a seizure


@dataclass(frozen=True)
class StagedHousehold:
    household_ref: str
    expected_children: int
    only_carer_expected: bool
    note: str | None = None  # sealed with the household's key by the front door


class CommandReceipt(Aggregate):
    """That the command with this id was decided, and the id of what it made. Its id is
    derived from the command's, so a second save of it fails in the store: two clear processes
    deciding the same retried command at once cannot both record it."""

    @staticmethod
    def create_id(command_id: UUID) -> UUID:
        return uuid5(RECEIPTS, str(command_id))

    @event("Issued")
    def __init__(self, command_id: UUID, made: UUID) -> None:
        self.made = made


# The namespace of receipt ids (a fixed random UUID; never change it).
RECEIPTS = UUID("6f0d2f8e-3c1b-4d59-9a57-8f6a3b2c1d40")


class Operation(Aggregate):
    class Planned(Aggregate.Created):
        name: str
        district: str
        place: str
        target_group: str
        planned_start: datetime
        meta: Meta

    class SupportStaged(Aggregate.Event):
        """Expected support, known only to the planning cell until launch."""

        household_ref: str
        expected_children: int
        only_carer_expected: bool
        note: str | None  # sealed with the household's key by the front door
        meta: Meta

    class Launched(Aggregate.Event):
        place: str
        # The staged support, released to the agencies with the launch.
        staged: list[dict[str, Any]]
        meta: Meta

    class ArrestRecorded(Aggregate.Event):
        place: str
        arrest_id: UUID
        person_ref: str
        household_ref: str
        charges: list[str]
        children: list[dict[str, Any]]  # references only: {"child_ref": ...}
        only_carer_present: bool
        meta: Meta
        # Names, address and notes, sealed with the household's key by the front door before
        # they reach this service: the store never holds them readable (contracts/personal.py).
        personal: str | None = None
        # The children's and the arrested person's ages (contracts.clear.ArrestAges), sealed
        # likewise. Events recorded before ages were sealed have ``person_age`` and ages in
        # ``children`` instead; the relay publishes neither.
        ages: str | None = None

    class SeizureRecorded(Aggregate.Event):
        place: str
        seizure_id: UUID
        kind: str
        description: str
        quantity: float
        unit: str
        household_ref: str | None
        children: list[dict[str, Any]]  # references only: {"child_ref": ...}
        meta: Meta
        # The children's ages (contracts.clear.ChildrenAges), sealed with the household's key
        # by the front door. Events recorded before ages were sealed have them in ``children``
        # instead; the relay publishes only the references.
        ages: str | None = None

    class WitnessRegistered(Aggregate.Event):
        place: str
        witness_id: UUID
        witness_ref: str
        household_ref: str
        children: list[dict[str, Any]]  # references only, as for a seizure
        meta: Meta
        ages: str | None = None  # sealed, as for a seizure

    class Concluded(Aggregate.Event):
        place: str
        arrests: int
        meta: Meta

    @event(Planned)
    def __init__(
        self,
        id: UUID,
        name: str,
        district: str,
        place: str,
        target_group: str,
        planned_start: datetime,
        meta: Meta,
    ) -> None:
        self.name = name
        self.district = district
        self.place = place
        self.target_group = target_group
        self.planned_start = planned_start
        self.status = PLANNED
        self.launched_at: datetime | None = None
        self.concluded_at: datetime | None = None
        # Counts, not lists: the aggregate is loaded for every arrest, and its state (and so its
        # snapshot and each copy from the cache) must not grow with the operation.
        self.arrests = 0
        self.seizures = 0
        self.witnesses = 0
        self.staged: list[dict[str, Any]] = []

    # Guards: named errors, raised before any event is triggered.
    def check_permitted(self, caller: Caller, action: str) -> None:
        """The authorization table's answer for this operation: a planned operation outside
        the caller's planning cell, or one outside their token's scope, does not exist for
        them (refused as an unknown id would be); otherwise the action must be theirs."""
        check(
            caller,
            action,
            operation_relation(caller),
            visible=operation_visible(caller, self.status, self.place, self.id),
            hidden_as=f"no operation {self.id}",
        )

    def check_not_concluded(self) -> None:
        if self.status == CONCLUDED:
            raise OperationAlreadyConcluded(
                f"operation {self.id} was concluded at {self.concluded_at}"
            )

    def check_launched(self) -> None:
        self.check_not_concluded()
        if self.status != LAUNCHED:
            raise OperationNotLaunched(f"operation {self.id} is {self.status}, not launched")

    def launch(self, meta: Meta) -> None:
        self.check_not_concluded()
        if self.status == LAUNCHED:
            raise OperationAlreadyLaunched(
                f"operation {self.id} was launched at {self.launched_at}"
            )
        self._launched(place=self.place, staged=self.staged, meta=meta)

    def stage_support(self, household: StagedHousehold, meta: Meta) -> None:
        """Only before launch: after it, support follows the arrests themselves."""
        self.check_not_concluded()
        if self.status != PLANNED:
            raise OperationAlreadyLaunched(
                f"operation {self.id} is {self.status}: support is staged before launch"
            )
        self._support_staged(**asdict(household), meta=meta)

    @event(SupportStaged)
    def _support_staged(
        self,
        household_ref: str,
        expected_children: int,
        only_carer_expected: bool,
        note: str | None,
        meta: Meta,
    ) -> None:
        self.staged = [s for s in self.staged if s["household_ref"] != household_ref]
        self.staged.append(
            {
                "household_ref": household_ref,
                "expected_children": expected_children,
                "only_carer_expected": only_carer_expected,
                "note": note,
            }
        )

    # Events after the first repeat the place, so each can be read on its own downstream.
    @event(Launched)
    def _launched(self, place: str, staged: list[dict[str, Any]], meta: Meta) -> None:
        self.status = LAUNCHED
        self.launched_at = meta.occurred_at

    def record_arrest(self, arrest_id: UUID, facts: ArrestFacts, meta: Meta) -> None:
        self.check_launched()
        self._arrest_recorded(place=self.place, arrest_id=arrest_id, meta=meta, **asdict(facts))

    @event(ArrestRecorded)
    def _arrest_recorded(
        self,
        place: str,
        arrest_id: UUID,
        person_ref: str,
        household_ref: str,
        charges: list[str],
        children: list[dict[str, Any]],
        only_carer_present: bool,
        meta: Meta,
        personal: str | None = None,
        ages: str | None = None,
    ) -> None:
        self.arrests += 1

    def record_seizure(self, seizure_id: UUID, facts: SeizureFacts, meta: Meta) -> None:
        self.check_launched()
        self._seizure_recorded(place=self.place, seizure_id=seizure_id, meta=meta, **asdict(facts))

    @event(SeizureRecorded)
    def _seizure_recorded(
        self,
        place: str,
        seizure_id: UUID,
        kind: str,
        description: str,
        quantity: float,
        unit: str,
        household_ref: str | None,
        children: list[dict[str, Any]],
        meta: Meta,
        ages: str | None = None,
    ) -> None:
        self.seizures += 1

    def register_witness(self, witness_id: UUID, facts: WitnessFacts, meta: Meta) -> None:
        """Key witnesses are registered once the operation is under way, and after it, for the
        trial; a planned operation has none yet."""
        if self.status == PLANNED:
            raise OperationNotLaunched(f"operation {self.id} is planned, not launched")
        self._witness_registered(
            place=self.place, witness_id=witness_id, meta=meta, **asdict(facts)
        )

    @event(WitnessRegistered)
    def _witness_registered(
        self,
        place: str,
        witness_id: UUID,
        witness_ref: str,
        household_ref: str,
        children: list[dict[str, Any]],
        meta: Meta,
        ages: str | None = None,
    ) -> None:
        self.witnesses += 1

    def conclude(self, meta: Meta) -> None:
        self.check_launched()
        self._concluded(place=self.place, arrests=self.arrests, meta=meta)

    @event(Concluded)
    def _concluded(self, place: str, arrests: int, meta: Meta) -> None:
        self.status = CONCLUDED
        self.concluded_at = meta.occurred_at
