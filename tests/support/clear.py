"""Clear's commands as the tests ask for them: one call each, decided alone on the one command
path (``decide_one``: the outcome, or the refusal raised), with the arguments in the order
the tests have always written them."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from services.clear import commands
from services.clear.application import ClearApplication
from services.clear.domain import ArrestFacts, SeizureFacts, StagedHousehold, WitnessFacts
from services.runtime.authorization import Caller
from services.runtime.deciding import Sender
from services.runtime.meta import Actor


def plan_command(
    name: str,
    district: str,
    place: str,
    target_group: str,
    planned_start: datetime,
    actor: Actor,
    reason: str | None = None,
    command_id: UUID | None = None,
    caller: Caller | None = None,
) -> commands.Plan:
    sender = Sender(actor, caller, reason)
    return commands.Plan(name, district, place, target_group, planned_start, sender, command_id)


def arrest_command(
    operation_id: UUID,
    person_ref: str,
    household_ref: str,
    charges: list[str],
    children: list[dict[str, Any]],
    only_carer_present: bool,
    actor: Actor,
    reason: str | None = None,
    ages: str | None = None,
    personal: str | None = None,
    command_id: UUID | None = None,
    caller: Caller | None = None,
) -> commands.Arrest:
    facts = ArrestFacts(
        person_ref, household_ref, list(charges), children, only_carer_present, ages, personal
    )
    return commands.Arrest(operation_id, facts, Sender(actor, caller, reason), command_id)


def plan_operation(app: ClearApplication, *args: Any, **kwargs: Any) -> UUID:
    made = app.decide_one(plan_command(*args, **kwargs))
    assert isinstance(made, UUID)
    return made


def launch_operation(
    app: ClearApplication,
    operation_id: UUID,
    actor: Actor,
    reason: str | None = None,
    caller: Caller | None = None,
) -> None:
    app.decide_one(commands.Launch(operation_id, Sender(actor, caller, reason)))


def conclude_operation(
    app: ClearApplication,
    operation_id: UUID,
    actor: Actor,
    reason: str | None = None,
    caller: Caller | None = None,
) -> None:
    app.decide_one(commands.Conclude(operation_id, Sender(actor, caller, reason)))


def record_arrest(app: ClearApplication, *args: Any, **kwargs: Any) -> UUID:
    made = app.decide_one(arrest_command(*args, **kwargs))
    assert isinstance(made, UUID)
    return made


def record_seizure(
    app: ClearApplication,
    operation_id: UUID,
    kind: str,
    description: str,
    quantity: float,
    unit: str,
    actor: Actor,
    reason: str | None = None,
    household_ref: str | None = None,
    children: list[dict[str, Any]] | None = None,
    command_id: UUID | None = None,
    ages: str | None = None,
    caller: Caller | None = None,
) -> UUID:
    facts = SeizureFacts(kind, description, quantity, unit, household_ref, children or [], ages)
    made = app.decide_one(
        commands.Seize(operation_id, facts, Sender(actor, caller, reason), command_id)
    )
    assert isinstance(made, UUID)
    return made


def register_witness(
    app: ClearApplication,
    operation_id: UUID,
    witness_ref: str,
    household_ref: str,
    children: list[dict[str, Any]],
    actor: Actor,
    reason: str | None = None,
    command_id: UUID | None = None,
    ages: str | None = None,
    caller: Caller | None = None,
) -> UUID:
    facts = WitnessFacts(witness_ref, household_ref, children, ages)
    made = app.decide_one(
        commands.RegisterKeyWitness(operation_id, facts, Sender(actor, caller, reason), command_id)
    )
    assert isinstance(made, UUID)
    return made


def stage_support(
    app: ClearApplication,
    operation_id: UUID,
    household_ref: str,
    expected_children: int,
    only_carer_expected: bool,
    note: str | None,
    actor: Actor,
    reason: str | None = None,
    caller: Caller | None = None,
) -> None:
    household = StagedHousehold(household_ref, expected_children, only_carer_expected, note)
    app.decide_one(commands.Stage(operation_id, household, Sender(actor, caller, reason)))
