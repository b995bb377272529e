"""Commands the front door sends to the owning service (NATS request/reply), and their replies.

The HTTP API validates request bodies with the same models, so a bad field is refused with a 422
naming it before anything reaches NATS.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args
from uuid import UUID

from pydantic import AfterValidator, ConfigDict, Field, field_validator, model_validator

from contracts.agencies import (
    SAYS_SOMETHING,
    AgencyDetails,
    AgencyKind,
    AgencyName,
    PlaceName,
    Reason,
)
from contracts.clear import AffectedChild, Child
from contracts.envelope import Actor, Code, Contract, Instant, NoBool, Ref, Requester
from contracts.personal import PersonalDetails, SealedText


class OperationDetails(Contract):
    name: str = Field(min_length=1, max_length=200)
    district: str = Field(min_length=1, max_length=100)
    place: str = Field(min_length=1, max_length=100)
    target_group: str = Field(min_length=1, max_length=200)
    planned_start: Instant


class ArrestCore(Contract):
    """An arrest's facts that carry nothing personal: they travel as they are."""

    person_ref: Ref
    household_ref: Ref
    charges: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=200
    )
    only_carer_present: bool = Field(default=False, strict=True)  # not 0 or 1


class ArrestFacts(ArrestCore):
    """The facts with the children's and the arrested person's ages, in the clear: only in the
    request to the front door, which seals the ages before the command goes on."""

    children: list[Child] = Field(default_factory=list, max_length=50)
    person_age: Annotated[int | None, NoBool] = Field(default=None, ge=10, le=120)


class ArrestDetails(ArrestFacts):
    """What the planning cell sends: the facts, and the household's personal details in the
    clear (the front door seals them before they go any further)."""

    personal: PersonalDetails | None = None


class SeizureCore(Contract):
    """A seizure's facts that carry nothing personal: they travel as they are."""

    kind: Literal["drugs", "firearm", "cash"]
    description: str = Field(min_length=1, max_length=500)
    quantity: Annotated[float, NoBool] = Field(gt=0)
    unit: str = Field(min_length=1, max_length=20)
    household_ref: Ref | None = None


class SeizureDetails(SeizureCore):
    """What the planning cell sends: the facts, and the ages of the children living where the
    seizure was made, in the clear (the front door seals them with the household's key before
    the command goes on, so children need the household)."""

    # The rule below, said in the schema too: children need a household_ref.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"required": ["children"], "properties": {"children": {"minItems": 1}}},
            "then": {
                "required": ["household_ref"],
                "properties": {"household_ref": {"type": "string"}},
            },
        }
    )

    children: list[Child] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _children_live_in_a_household(self) -> SeizureDetails:
        if self.children and self.household_ref is None:
            raise ValueError("children need the household_ref of the home they live in")
        return self


def _says_something(value: str) -> str:
    if not value.strip():
        raise ValueError("must say something: not only spaces")
    return value.strip()


# A reason a person must give: trimmed, and refused when nothing is left.
RealText = Annotated[str, Field(pattern=SAYS_SOMETHING), AfterValidator(_says_something)]


class Command(Contract):
    actor: Requester

    @field_validator("actor", mode="before")
    @classmethod
    def _a_plain_actor_is_an_unlimited_requester(cls, value: Any) -> Any:
        # An Actor names no scope: a requester not limited to places or operations.
        if isinstance(value, Actor) and not isinstance(value, Requester):
            return value.model_dump()
        return value

    reason: str | None = None


class Idempotent(Contract):
    """A command that makes something. ``command_id`` is the caller's id for this one command
    (the API derives it from the caller and the request's ``Idempotency-Key``): sent again with
    the same id, it is answered with what the first made and nothing is recorded twice, by
    whichever process of the owning service receives it."""

    command_id: UUID | None = None


class PlanOperation(Command, OperationDetails, Idempotent):
    pass


class LaunchOperation(Command):
    operation_id: UUID


class RecordArrest(Command, ArrestCore, Idempotent):
    operation_id: UUID
    children: list[AffectedChild] = Field(default_factory=list, max_length=50)
    # contracts.clear.ArrestAges, sealed with the household's key by the front door.
    ages: SealedText | None = None
    personal: SealedText | None = None


class RecordSeizure(Command, SeizureCore, Idempotent):
    operation_id: UUID
    children: list[AffectedChild] = Field(default_factory=list, max_length=50)
    # contracts.clear.ChildrenAges, sealed with the household's key by the front door.
    ages: SealedText | None = None


class ConcludeOperation(Command):
    operation_id: UUID


class GetOperation(Contract):
    """The operation as clear holds it; with ``actor``, only if they may see it (else 404)."""

    operation_id: UUID
    actor: Requester | None = None


class CommandReply(Contract):
    """``status`` follows HTTP so the front door can pass it on: 200, 201, 404, 409."""

    status: int
    result: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None


TaskAction = Literal[
    "accept", "decline", "offer", "assign", "start", "consent", "complete", "close", "note"
]

# Why an agency declines a task, and why a task is closed unable to complete: codes, so lists
# and figures count them without free text that may name someone. A reason given as free
# text beside the code (required for "other") travels and rests sealed with the household's key.
DeclineReason = Literal[
    "no_capacity",
    "outside_service_area",
    "not_our_service",
    "conflict_of_interest",
    "already_supported",
    "other",
]
CloseReason = Literal[
    "whanau_declined_support",
    "could_not_contact",
    "moved_away",
    "no_longer_needed",
    "referred_elsewhere",
    "other",
]
DECLINE_REASONS: tuple[str, ...] = get_args(DeclineReason)
CLOSE_REASONS: tuple[str, ...] = get_args(CloseReason)
ReasonCode = Literal[
    "no_capacity",
    "outside_service_area",
    "not_our_service",
    "conflict_of_interest",
    "already_supported",
    "whanau_declined_support",
    "could_not_contact",
    "moved_away",
    "no_longer_needed",
    "referred_elsewhere",
    "other",
]


class TaskActionDetails(Contract):
    """What a step in a task's life needs; which fields depends on the action: a decline or a
    close its ``reason_code`` (and ``reason`` in free text for "other"), an override its
    ``reason``, a completion its ``outcome``, a note its ``text``. Free text may name people:
    the front door seals it with the household's key before it goes on."""

    reason_code: ReasonCode | None = None
    reason: str | None = Field(default=None, max_length=1000)
    worker_ref: Ref | None = None
    outcome: str | None = Field(default=None, max_length=1000)
    referral_agency: Code | None = None
    consent: Literal["given", "override"] | None = None
    override_role: str | None = Field(default=None, max_length=64)
    text: str | None = Field(default=None, max_length=4000)
    to_agency: Code | None = None


class ChangeTask(Command, TaskActionDetails):
    task_id: UUID
    action: TaskAction
    # Free text may name people: it travels and rests sealed with the household's key.
    reason: SealedText | None = None
    outcome: SealedText | None = None
    text: SealedText | None = None


class AdoptPlaybook(Command):
    """Put a playbook in force nationally, for a place, or for one operation (at most one)."""

    place: str | None = Field(default=None, min_length=1, max_length=100)
    operation_id: UUID | None = None
    document: dict[str, Any]


class StagedSupportDetails(Contract):
    household_ref: Ref
    expected_children: Annotated[int, NoBool] = Field(ge=0, le=50)
    only_carer_expected: bool = Field(default=False, strict=True)  # not 0 or 1
    note: str | None = Field(default=None, max_length=2000)


class StageSupport(Command, StagedSupportDetails):
    operation_id: UUID
    # A note may name people: it travels and rests sealed with the household's key.
    note: SealedText | None = None


class GetStagedSupport(Contract):
    """What the planning cell staged: for the cell itself, auditors and the administrator."""

    operation_id: UUID
    actor: Requester


class WitnessCore(Contract):
    """A key witness's facts that carry nothing personal: they travel as they are."""

    witness_ref: Ref
    household_ref: Ref


class WitnessDetails(WitnessCore):
    """What the planning cell sends: the witness, and their household's children with their
    ages in the clear (the front door seals the ages before the command goes on)."""

    children: list[Child] = Field(default_factory=list, max_length=50)


class RegisterWitness(Command, WitnessCore, Idempotent):
    operation_id: UUID
    children: list[AffectedChild] = Field(default_factory=list, max_length=50)
    # contracts.clear.ChildrenAges, sealed with the household's key by the front door.
    ages: SealedText | None = None


PersonalField = Literal[
    "person_name", "address", "children", "notes", "ages", "task_notes", "staged_note"
]
PERSONAL_FIELDS: tuple[PersonalField, ...] = get_args(PersonalField)


class RecordPersonalRead(Command):
    """Record, before anything is shown, that the actor is reading a household's personal
    details, and why (``reason`` is required)."""

    case_id: UUID
    fields: tuple[PersonalField, ...] = PERSONAL_FIELDS


class ErasureDetails(Contract):
    reason: RealText = Field(
        min_length=10, max_length=1000, description="why, e.g. the request's reference"
    )


class EraseHousehold(Command):
    """Destroy the household's key (its personal details become unreadable everywhere)."""

    household_ref: Ref


class AgencyRegistration(AgencyDetails):
    """A new agency for the register, and why it is added (kept on the record)."""

    reason: Reason


class RegisterAgency(Command, AgencyRegistration):
    reason: Reason  # required here, unlike most commands' reason


class AgencyChange(Contract):
    """What changes in an agency's entry (the fields given; at least one), and why."""

    # The rule below, said in the schema too: at least one of them, and not null.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": [name], "properties": {name: {"not": {"type": "null"}}}}
                for name in ("name", "kind", "places")
            ]
        }
    )

    name: AgencyName | None = None
    kind: AgencyKind | None = None
    places: tuple[PlaceName, ...] | None = Field(default=None, max_length=100)
    reason: Reason

    @model_validator(mode="after")
    def _something_changes(self) -> AgencyChange:
        if self.name is None and self.kind is None and self.places is None:
            raise ValueError("give at least one of name, kind or places")
        return self


class ChangeAgency(Command, AgencyChange):
    code: Code
    reason: Reason
