"""Clear's commands in over NATS request/reply: each wire command (contracts/commands.py)
becomes clear's own (services/clear/commands.py), the facts of an arrest, a seizure or a
witness as one value, and is decided behind group commit. Queries read the store. Outgoing
events are services/clear/translation.py's."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from uuid import UUID

import structlog
from faststream.nats import NatsRouter

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
from services.clear import commands
from services.clear.application import ClearApplication
from services.clear.domain import (
    ArrestFacts,
    Operation,
    SeizureFacts,
    StagedHousehold,
    WitnessFacts,
)
from services.runtime.commands import (
    CommandPath,
    command_handlers,
    refusal_reply,
    refuse_invalid_commands,
)
from services.runtime.errors import DomainError
from services.runtime.translation import (
    caller_of,
    command_of,
    facts_from,
    sender_of,
)

log = structlog.get_logger()


def build_router(app: ClearApplication, on_recorded: Callable[[], None]) -> NatsRouter:
    """Command handlers: each wire command becomes clear's own and is decided behind group
    commit (services/runtime/commands.py); queries read the store in a thread."""
    router = NatsRouter(middlewares=[refuse_invalid_commands()])
    handles = command_handlers(router, "clear")
    path = CommandPath(app, on_recorded)

    async def decide(
        operation_id: UUID | None, command: object, ok: Callable[[Any], CommandReply]
    ) -> CommandReply:
        with structlog.contextvars.bound_contextvars(
            operation_id=str(operation_id) if operation_id else None
        ):
            return await path.reply(command, ok)

    @handles("plan_operation")
    async def plan(cmd: PlanOperation) -> CommandReply:
        command = command_of(cmd, commands.Plan, sender=sender_of(cmd))
        return await decide(
            None,
            command,
            lambda op_id: CommandReply(status=201, result={"operation_id": str(op_id)}),
        )

    @handles("launch_operation")
    async def launch(cmd: LaunchOperation) -> CommandReply:
        return await decide(
            cmd.operation_id,
            commands.Launch(cmd.operation_id, sender_of(cmd)),
            lambda _: CommandReply(
                status=200, result={"operation_id": str(cmd.operation_id), "status": "launched"}
            ),
        )

    @handles("record_arrest")
    async def arrest(cmd: RecordArrest) -> CommandReply:
        facts = facts_from(cmd, ArrestFacts)
        return await decide(
            cmd.operation_id,
            commands.Arrest(cmd.operation_id, facts, sender_of(cmd), cmd.command_id),
            lambda arrest_id: CommandReply(status=201, result={"arrest_id": str(arrest_id)}),
        )

    @handles("record_seizure")
    async def seizure(cmd: RecordSeizure) -> CommandReply:
        facts = facts_from(cmd, SeizureFacts)
        return await decide(
            cmd.operation_id,
            commands.Seize(cmd.operation_id, facts, sender_of(cmd), cmd.command_id),
            lambda seizure_id: CommandReply(status=201, result={"seizure_id": str(seizure_id)}),
        )

    @handles("conclude_operation")
    async def conclude(cmd: ConcludeOperation) -> CommandReply:
        return await decide(
            cmd.operation_id,
            commands.Conclude(cmd.operation_id, sender_of(cmd)),
            lambda _: CommandReply(
                status=200, result={"operation_id": str(cmd.operation_id), "status": "concluded"}
            ),
        )

    @handles("register_witness")
    async def witness(cmd: RegisterWitness) -> CommandReply:
        facts = facts_from(cmd, WitnessFacts)
        return await decide(
            cmd.operation_id,
            commands.RegisterKeyWitness(cmd.operation_id, facts, sender_of(cmd), cmd.command_id),
            lambda witness_id: CommandReply(status=201, result={"witness_id": str(witness_id)}),
        )

    @handles("stage_support")
    async def stage(cmd: StageSupport) -> CommandReply:
        household = facts_from(cmd, StagedHousehold)
        return await decide(
            cmd.operation_id,
            commands.Stage(cmd.operation_id, household, sender_of(cmd)),
            lambda _: CommandReply(status=201, result={"household_ref": cmd.household_ref}),
        )

    @handles("get_staged_support")
    async def staged(query: GetStagedSupport) -> CommandReply:
        """Read from clear's own store: staged support never leaves it before launch."""
        try:
            operation = await asyncio.to_thread(app.get_operation, query.operation_id)
            operation.check_permitted(caller_of(query.actor), "read_staged_support")
        except DomainError as refused:
            return refusal_reply(refused)
        return CommandReply(
            status=200, result={"status": operation.status, "staged": operation.staged}
        )

    @handles("get_operation")
    async def get(query: GetOperation) -> CommandReply:
        try:
            operation = await asyncio.to_thread(app.get_operation, query.operation_id)
            if query.actor is not None:
                operation.check_permitted(caller_of(query.actor), "read_operation")
        except DomainError as refused:
            return refusal_reply(refused)
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
