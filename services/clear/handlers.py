"""How clear decides each command: the table ``HANDLERS`` (command type → function), run by
the one command path (services/runtime/application.py), in batches behind group commit.

Each handler reads and changes operations through its ``Unit``, so it sees what earlier
commands of its batch did and a refusal leaves nothing behind. Guards come first: the
operation checks the caller and its state before it triggers an event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID, uuid4

from services.clear.commands import (
    Arrest,
    Conclude,
    Launch,
    Plan,
    RegisterKeyWitness,
    Seize,
    Stage,
)
from services.clear.domain import CommandReceipt, Operation, OperationNotFound
from services.runtime.authorization import check_may_plan
from services.runtime.deciding import Handlers, Sender, Unit

if TYPE_CHECKING:
    from services.clear.application import ClearApplication


def operation_for(unit: Unit, operation_id: UUID, sender: Sender, action: str) -> Operation:
    """The operation, if the caller may do ``action`` on it (the authorization table, as the
    front door asked it): a hidden one is refused as an unknown one would be."""
    operation = unit.get(operation_id, Operation)
    if operation is None:
        raise OperationNotFound(f"no operation {operation_id}")
    operation.check_permitted(sender.as_caller, action)
    return operation


def made_by(unit: Unit, command_id: UUID | None) -> UUID | None:
    """What an earlier command with this id made (recorded, or earlier in this batch), so
    that a retry answers the same instead of recording it again; None if it is new."""
    if command_id is None:
        return None
    receipt = unit.get(CommandReceipt.create_id(command_id), CommandReceipt)
    return None if receipt is None else receipt.made


def made(unit: Unit, operation: Operation, command_id: UUID | None, made_id: UUID) -> UUID:
    """Keep the operation's changes, and with them (one transaction) the command's receipt:
    its id is derived from the command's, so a second process deciding the same retried
    command at once cannot record it twice (the store refuses the second receipt)."""
    unit.collect(operation)
    if command_id is not None:
        unit.collect(CommandReceipt(command_id=command_id, made=made_id))
    return made_id


def plan(app: ClearApplication, c: Plan, unit: Unit) -> UUID:
    check_may_plan(c.sender.as_caller, c.place)
    if (earlier := made_by(unit, c.command_id)) is not None:
        return earlier
    operation_id = uuid4()
    operation = Operation(
        id=operation_id,
        name=c.name,
        district=c.district,
        place=c.place,
        target_group=c.target_group,
        planned_start=c.planned_start,
        meta=app.stamp(operation_id, c.sender),
    )
    return made(unit, operation, c.command_id, operation_id)


def launch(app: ClearApplication, c: Launch, unit: Unit) -> None:
    operation = operation_for(unit, c.operation_id, c.sender, "launch_operation")
    operation.launch(app.stamp(c.operation_id, c.sender))
    unit.collect(operation)


def stage(app: ClearApplication, c: Stage, unit: Unit) -> None:
    operation = operation_for(unit, c.operation_id, c.sender, "stage_support")
    operation.stage_support(c.household, app.stamp(c.operation_id, c.sender))
    unit.collect(operation)


def arrest(app: ClearApplication, c: Arrest, unit: Unit) -> UUID:
    if (earlier := made_by(unit, c.command_id)) is not None:
        return earlier
    operation = operation_for(unit, c.operation_id, c.sender, "record_arrest")
    arrest_id = uuid4()
    operation.record_arrest(arrest_id, c.facts, app.stamp(c.operation_id, c.sender))
    return made(unit, operation, c.command_id, arrest_id)


def seize(app: ClearApplication, c: Seize, unit: Unit) -> UUID:
    if (earlier := made_by(unit, c.command_id)) is not None:
        return earlier
    operation = operation_for(unit, c.operation_id, c.sender, "record_seizure")
    seizure_id = uuid4()
    operation.record_seizure(seizure_id, c.facts, app.stamp(c.operation_id, c.sender))
    return made(unit, operation, c.command_id, seizure_id)


def register_witness(app: ClearApplication, c: RegisterKeyWitness, unit: Unit) -> UUID:
    if (earlier := made_by(unit, c.command_id)) is not None:
        return earlier
    operation = operation_for(unit, c.operation_id, c.sender, "register_witness")
    witness_id = uuid4()
    operation.register_witness(witness_id, c.facts, app.stamp(c.operation_id, c.sender))
    return made(unit, operation, c.command_id, witness_id)


def conclude(app: ClearApplication, c: Conclude, unit: Unit) -> None:
    operation = operation_for(unit, c.operation_id, c.sender, "conclude_operation")
    operation.conclude(app.stamp(c.operation_id, c.sender))
    unit.collect(operation)


HANDLERS: Handlers = {
    Plan: plan,
    Launch: launch,
    Stage: stage,
    Arrest: arrest,
    Seize: seize,
    RegisterKeyWitness: register_witness,
    Conclude: conclude,
}
