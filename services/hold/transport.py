"""Hold's commands in over NATS request/reply: steps in a task's life, playbooks, reads of
personal details, erasures and the agency register. Each wire command (contracts/commands.py)
becomes hold's own (services/hold/commands.py) and is decided behind group commit; upstream
events are services/hold/policy.py's, outgoing ones services/hold/translation.py's."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError
from faststream.nats import NatsRouter

from contracts.agencies import AgencyDetails
from contracts.commands import AdoptPlaybook as AdoptPlaybookCommand
from contracts.commands import ChangeAgency as ChangeAgencyCommand
from contracts.commands import ChangeTask as ChangeTaskCommand
from contracts.commands import CommandReply, EraseHousehold, RecordPersonalRead
from contracts.commands import RegisterAgency as RegisterAgencyCommand
from services.hold import commands as hold
from services.hold.application import HoldApplication
from services.hold.commands import (
    PutPlaybookInForce,
    TakeTaskStep,
)
from services.hold.domain import CaseNotFound, TaskNotFound, playbook_scope
from services.hold.playbook import parse_playbook
from services.runtime.commands import (
    CommandPath,
    command_handlers,
    refusal_reply,
    refuse_invalid_commands,
)
from services.runtime.dead_letters import NIL
from services.runtime.errors import Invalid
from services.runtime.meta import Meta, derived_id
from services.runtime.translation import (
    actor_of,
    caller_of,
    command_of,
    sender_of,
)

log = structlog.get_logger()

AGENCY_FIELDS = set(AgencyDetails.model_fields)


def build_router(app: HoldApplication, on_recorded: Callable[[], None]) -> NatsRouter:
    """Hold's commands: steps in a task's life, adopting a playbook, the agency register."""
    router = NatsRouter(middlewares=[refuse_invalid_commands()])
    handles = command_handlers(router, "hold")

    path = CommandPath(app, on_recorded)

    async def record(command: object, operation_id: UUID | None) -> CommandReply | None:
        with structlog.contextvars.bound_contextvars(operation_id=str(operation_id or "")):
            return await path.record(command)

    @handles("change_task")
    async def change_task(cmd: ChangeTaskCommand) -> CommandReply:
        actor = actor_of(cmd.actor)
        try:
            task = await asyncio.to_thread(app.get_task, cmd.task_id)
        except AggregateNotFoundError:
            return refusal_reply(TaskNotFound(f"no task {cmd.task_id}"))
        # The envelope's reason is the code: free text travels only sealed, in the step itself.
        meta = Meta(
            occurred_at=app.clock.now(),
            operation_id=task.operation_id,
            actor=actor,
            reason=cmd.reason_code,
        )
        change = command_of(
            cmd, TakeTaskStep, agency=actor.agency, meta=meta, caller=caller_of(cmd.actor)
        )
        refused = await record(change, task.operation_id)
        if refused is not None:
            return refused
        task = await asyncio.to_thread(app.get_task, cmd.task_id)
        return CommandReply(
            status=200,
            result={
                "task_id": str(task.id),
                "status": task.status,
                "agency": task.agency,
                # The id its last event is published under: the front door waits for it.
                "event_id": str(derived_id("hold", task.id, task.version)),
            },
        )

    @handles("record_personal_read")
    async def record_personal_read(cmd: RecordPersonalRead) -> CommandReply:
        """Recorded before the front door shows anything: no record, no details."""
        try:
            case = await asyncio.to_thread(app.get_case, cmd.case_id)
        except AggregateNotFoundError:
            return refusal_reply(CaseNotFound(f"no case {cmd.case_id}"))
        meta = app.stamp(case.operation_id, sender_of(cmd))
        read = hold.LogPersonalRead(cmd.case_id, list(cmd.fields), meta, caller_of(cmd.actor))
        refused = await record(read, case.operation_id)
        if refused is not None:
            return refused
        return CommandReply(status=200, result={"case_id": str(cmd.case_id), "recorded": True})

    @handles("erase_household")
    async def erase_household(cmd: EraseHousehold) -> CommandReply:
        meta = app.stamp(NIL, sender_of(cmd))
        erase = hold.ForgetHousehold(cmd.household_ref, meta, caller_of(cmd.actor))
        refused = await record(erase, None)
        if refused is not None:
            return refused
        erasure = await asyncio.to_thread(app.get_erasure, cmd.household_ref)
        assert erasure is not None
        return CommandReply(
            status=200,
            result={"household_ref": cmd.household_ref, "erased_at": erasure.erased_at.isoformat()},
        )

    @handles("adopt_playbook")
    async def adopt_playbook(cmd: AdoptPlaybookCommand) -> CommandReply:
        if cmd.place and cmd.operation_id:
            return refusal_reply(Invalid("give a place or an operation, not both"))
        scope = playbook_scope(place=cmd.place, operation_id=cmd.operation_id)
        meta = app.stamp(cmd.operation_id or NIL, sender_of(cmd))
        adoption = PutPlaybookInForce(scope, cmd.document, meta, caller_of(cmd.actor), cmd.place)
        refused = await record(adoption, cmd.operation_id)
        if refused is not None:
            return refused
        playbook = parse_playbook(cmd.document)
        return CommandReply(status=201, result={"scope": scope, "playbook": playbook.label})

    # The agency register, each agency decided by its aggregate (services/hold/domain/agency.py).
    @handles("register_agency")
    async def register_agency(cmd: RegisterAgencyCommand) -> CommandReply:
        details = AgencyDetails.model_validate(cmd.model_dump(include=AGENCY_FIELDS))
        meta = app.stamp(NIL, sender_of(cmd))
        refused = await record(hold.AddAgency(caller_of(cmd.actor), details, meta), None)
        return refused or await agency_reply(cmd.code, 201)

    @handles("change_agency")
    async def change_agency(cmd: ChangeAgencyCommand) -> CommandReply:
        meta = app.stamp(NIL, sender_of(cmd))
        change = hold.AmendAgency(
            caller_of(cmd.actor), cmd.code, meta, cmd.name, cmd.kind, cmd.places
        )
        refused = await record(change, None)
        return refused or await agency_reply(cmd.code, 200)

    async def agency_reply(code: str, status: int) -> CommandReply:
        agency = await asyncio.to_thread(app.get_agency, code)
        assert agency is not None  # just recorded, or held already
        return CommandReply(status=status, result=agency.as_dict())

    return router
