"""Clear's transport layer: commands in over NATS request/reply, integration events out.

The only module of the service that imports both the contracts and the aggregate events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog
from faststream.nats import NatsRouter

from contracts import (
    AffectedChild,
    ArrestRecorded,
    IntegrationEvent,
    OperationConcluded,
    OperationLaunched,
    OperationPlanned,
    SeizureRecorded,
    WitnessRegistered,
)
from contracts.commands import (
    CommandReply,
    ConcludeOperation,
    GetOperation,
    GetStagedSupport,
    LaunchOperation,
    PlanOperation,
    RecordArrest,
    RecordSeizure,
    RegisterWitness,
    StageSupport,
)
from services.clear.application import ClearApplication, OperationNotFound
from services.clear.domain import Operation, OperationRuleBroken
from services.runtime.authorization import Refusal
from services.runtime.commands import (
    command_handlers,
    refuse_invalid_commands,
    with_retry_on_conflict,
)
from services.runtime.group_commit import GroupCommit
from services.runtime.sealing import is_sealed
from services.runtime.translation import actor_of, caller_of, envelope, translate_dead_letter

log = structlog.get_logger()


def translate(domain_event: Any) -> IntegrationEvent | None:
    """A stored clear event as the integration event other services see."""
    e = domain_event
    if isinstance(e, Operation.Planned):
        return OperationPlanned(
            **envelope("clear", e),
            name=e.name,
            district=e.district,
            place=e.place,
            target_group=e.target_group,
            planned_start=e.planned_start,
        )
    if isinstance(e, Operation.Launched):
        return OperationLaunched(
            **envelope("clear", e),
            place=e.place,
            staged_support=tuple(_released(staged) for staged in e.staged),
        )
    if isinstance(e, Operation.ArrestRecorded):
        return ArrestRecorded(
            **envelope("clear", e),
            arrest_id=e.arrest_id,
            place=e.place,
            person_ref=e.person_ref,
            household_ref=e.household_ref,
            charges=tuple(e.charges),
            children=_references(e.children),
            only_carer_present=e.only_carer_present,
            ages=e.ages,
            personal=e.personal,
        )
    if isinstance(e, Operation.SeizureRecorded):
        return SeizureRecorded(
            **envelope("clear", e),
            seizure_id=e.seizure_id,
            place=e.place,
            kind=e.kind,
            description=e.description,
            quantity=e.quantity,
            unit=e.unit,
            household_ref=e.household_ref,
            children=_references(e.children),
            ages=e.ages,
        )
    if isinstance(e, Operation.WitnessRegistered):
        return WitnessRegistered(
            **envelope("clear", e),
            witness_id=e.witness_id,
            place=e.place,
            witness_ref=e.witness_ref,
            household_ref=e.household_ref,
            children=_references(e.children),
            ages=e.ages,
        )
    if isinstance(e, Operation.Concluded):
        return OperationConcluded(
            **envelope("clear", e),
            place=e.place,
            arrests=e.arrests,
            concluded_at=e.meta.occurred_at,
        )
    return translate_dead_letter("clear", e)


def _references(children: list[dict[str, Any]]) -> tuple[AffectedChild, ...]:
    """The children as references only, whatever the stored event holds: events recorded
    before ages were sealed carry each child's age too, and that is never published."""
    return tuple(AffectedChild(child_ref=child["child_ref"]) for child in children)


def _released(staged: dict[str, Any]) -> dict[str, Any]:
    """A staged household as the launch releases it. Its note goes only sealed: a note staged
    before notes were sealed stays in this store and is never published."""
    note = staged.get("note")
    return {**staged, "note": note if is_sealed(note) else None}


def build_router(app: ClearApplication, on_recorded: Callable[[], None]) -> NatsRouter:
    """Command handlers: each runs the application method in a thread and replies."""
    router = NatsRouter(middlewares=[refuse_invalid_commands()])

    handles = command_handlers(router, "clear")

    writer = GroupCommit(lambda calls: with_retry_on_conflict(lambda: app.execute_batch(calls)))

    async def run(
        operation_id: Any, call: Callable[[], Any], ok: Callable[[Any], CommandReply]
    ) -> CommandReply:
        structlog.contextvars.bind_contextvars(
            operation_id=str(operation_id) if operation_id else None
        )
        try:
            result = await writer.submit(call)
        except OperationNotFound as error:
            return CommandReply(status=404, error=str(error))
        except Refusal as error:
            log.info("command refused: not permitted", status=error.status)
            return CommandReply(status=error.status, error=str(error))
        except OperationRuleBroken as error:
            log.info("command refused", reason=str(error))
            return CommandReply(status=409, error=str(error))
        finally:
            structlog.contextvars.unbind_contextvars("operation_id")
        on_recorded()
        return ok(result)

    @handles("plan_operation")
    async def plan(cmd: PlanOperation) -> CommandReply:
        return await run(
            None,
            lambda: app.plan_operation(
                cmd.name,
                cmd.district,
                cmd.place,
                cmd.target_group,
                cmd.planned_start,
                actor_of(cmd.actor),
                cmd.reason,
                command_id=cmd.command_id,
                caller=caller_of(cmd.actor),
            ),
            lambda op_id: CommandReply(status=201, result={"operation_id": str(op_id)}),
        )

    @handles("launch_operation")
    async def launch(cmd: LaunchOperation) -> CommandReply:
        return await run(
            cmd.operation_id,
            lambda: app.launch_operation(
                cmd.operation_id, actor_of(cmd.actor), cmd.reason, caller=caller_of(cmd.actor)
            ),
            lambda _: CommandReply(
                status=200, result={"operation_id": str(cmd.operation_id), "status": "launched"}
            ),
        )

    @handles("record_arrest")
    async def arrest(cmd: RecordArrest) -> CommandReply:
        return await run(
            cmd.operation_id,
            lambda: app.record_arrest(
                cmd.operation_id,
                cmd.person_ref,
                cmd.household_ref,
                list(cmd.charges),
                [c.model_dump() for c in cmd.children],
                cmd.only_carer_present,
                actor_of(cmd.actor),
                cmd.reason,
                cmd.ages,
                cmd.personal,
                command_id=cmd.command_id,
                caller=caller_of(cmd.actor),
            ),
            lambda arrest_id: CommandReply(status=201, result={"arrest_id": str(arrest_id)}),
        )

    @handles("record_seizure")
    async def seizure(cmd: RecordSeizure) -> CommandReply:
        return await run(
            cmd.operation_id,
            lambda: app.record_seizure(
                cmd.operation_id,
                cmd.kind,
                cmd.description,
                cmd.quantity,
                cmd.unit,
                actor_of(cmd.actor),
                cmd.reason,
                cmd.household_ref,
                [c.model_dump() for c in cmd.children],
                command_id=cmd.command_id,
                ages=cmd.ages,
                caller=caller_of(cmd.actor),
            ),
            lambda seizure_id: CommandReply(status=201, result={"seizure_id": str(seizure_id)}),
        )

    @handles("conclude_operation")
    async def conclude(cmd: ConcludeOperation) -> CommandReply:
        return await run(
            cmd.operation_id,
            lambda: app.conclude_operation(
                cmd.operation_id, actor_of(cmd.actor), cmd.reason, caller=caller_of(cmd.actor)
            ),
            lambda _: CommandReply(
                status=200, result={"operation_id": str(cmd.operation_id), "status": "concluded"}
            ),
        )

    @handles("register_witness")
    async def witness(cmd: RegisterWitness) -> CommandReply:
        return await run(
            cmd.operation_id,
            lambda: app.register_witness(
                cmd.operation_id,
                cmd.witness_ref,
                cmd.household_ref,
                [c.model_dump() for c in cmd.children],
                actor_of(cmd.actor),
                cmd.reason,
                command_id=cmd.command_id,
                ages=cmd.ages,
                caller=caller_of(cmd.actor),
            ),
            lambda witness_id: CommandReply(status=201, result={"witness_id": str(witness_id)}),
        )

    @handles("stage_support")
    async def stage(cmd: StageSupport) -> CommandReply:
        return await run(
            cmd.operation_id,
            lambda: app.stage_support(
                cmd.operation_id,
                cmd.household_ref,
                cmd.expected_children,
                cmd.only_carer_expected,
                cmd.note,
                actor_of(cmd.actor),
                cmd.reason,
                caller=caller_of(cmd.actor),
            ),
            lambda _: CommandReply(status=201, result={"household_ref": cmd.household_ref}),
        )

    @handles("get_staged_support")
    async def staged(query: GetStagedSupport) -> CommandReply:
        """Read from clear's own store: staged support never leaves it before launch."""
        try:
            operation = await asyncio.to_thread(app.get_operation, query.operation_id)
            operation.check_permitted(caller_of(query.actor), "read_staged_support")
        except OperationNotFound as error:
            return CommandReply(status=404, error=str(error))
        except Refusal as error:
            return CommandReply(status=error.status, error=str(error))
        return CommandReply(
            status=200, result={"status": operation.status, "staged": operation.staged}
        )

    @handles("get_operation")
    async def get(query: GetOperation) -> CommandReply:
        try:
            operation = await asyncio.to_thread(app.get_operation, query.operation_id)
            if query.actor is not None:
                operation.check_permitted(caller_of(query.actor), "read_operation")
        except OperationNotFound as error:
            return CommandReply(status=404, error=str(error))
        except Refusal as error:
            return CommandReply(status=error.status, error=str(error))
        return CommandReply(status=200, result=operation_view(operation))

    return router


def operation_view(operation: Operation) -> dict[str, Any]:
    return {
        "operation_id": str(operation.id),
        "name": operation.name,
        "district": operation.district,
        "place": operation.place,
        "target_group": operation.target_group,
        "planned_start": operation.planned_start.isoformat(),
        "status": operation.status,
        "launched_at": operation.launched_at.isoformat() if operation.launched_at else None,
        "concluded_at": operation.concluded_at.isoformat() if operation.concluded_at else None,
        "arrests": operation.arrests,
        "seizures": operation.seizures,
        "version": operation.version,
    }
