"""Build's commands in over NATS request/reply: each wire command (contracts/commands.py)
becomes build's own (services/build/commands.py) and is decided behind group commit. Upstream
events are services/build/policy.py's, outgoing ones services/build/translation.py's."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.domain import Aggregate
from faststream.nats import NatsRouter

from contracts.build_commands import AddMilestone as AddMilestoneCommand
from contracts.build_commands import ChangeProgrammeCommand, ImportIndicatorsCommand
from contracts.build_commands import CheckInMilestone as CheckInCommand
from contracts.build_commands import DecideGate as DecideGateCommand
from contracts.build_commands import RegisterProgramme as RegisterProgrammeCommand
from contracts.build_commands import SignOffGate as SignOffGateCommand
from contracts.commands import Command as BuildCommand
from contracts.commands import CommandReply
from services.build.application import BuildApplication
from services.build.commands import (
    AddOwnMilestone,
    ChangeProgramme,
    CheckIn,
    EnrolProgramme,
    ImportIndicators,
    MoveToBuild,
    SignOffMove,
)
from services.build.domain import Milestone, Programme, ResiliencePlan
from services.runtime.commands import (
    CommandPath,
    command_handlers,
    refuse_invalid_commands,
)
from services.runtime.dead_letters import NIL
from services.runtime.meta import derived_id
from services.runtime.translation import (
    caller_of,
    command_of,
    sender_of,
)

log = structlog.get_logger()


def build_router(app: BuildApplication, on_recorded: Callable[[], None]) -> NatsRouter:
    """Build's commands: sign-offs and the gate decision, milestones and check-ins,
    programmes and indicator imports. Each is decided for the caller the command names
    (``caller_of``: role, agency, the token's places and operations), as the front door did."""
    router = NatsRouter(middlewares=[refuse_invalid_commands()])
    handles = command_handlers(router, "build")

    path = CommandPath(app, on_recorded)
    record = path.record

    def sent(cmd: BuildCommand) -> dict[str, Any]:
        """Who sent it (as the authorization table asks about them), and the meta the
        application stamps: every build command carries both."""
        return {"caller": caller_of(cmd.actor), "meta": app.stamp(NIL, sender_of(cmd))}

    async def last_event(aggregate_id: UUID) -> str:
        """The id the aggregate's last event is published under: the front door waits for
        the views to show it, so the sender's next page shows their own change."""
        aggregate: Aggregate = await asyncio.to_thread(app.repository.get, aggregate_id)
        return str(derived_id("build", aggregate_id, aggregate.version))

    @handles("sign_off_gate")
    async def sign_off_gate(cmd: SignOffGateCommand) -> CommandReply:
        refused = await record(command_of(cmd, SignOffMove, **sent(cmd)))
        if refused:
            return refused
        event_id = await last_event(ResiliencePlan.create_id(cmd.place))
        return CommandReply(
            status=200,
            result={"place": cmd.place, "signed_off_by": cmd.actor.id, "event_id": event_id},
        )

    @handles("decide_gate")
    async def decide_gate(cmd: DecideGateCommand) -> CommandReply:
        command = command_of(cmd, MoveToBuild, evidence=list(cmd.evidence), **sent(cmd))
        refused = await record(command)
        if refused:
            return refused
        event_id = await last_event(ResiliencePlan.create_id(cmd.place))
        return CommandReply(
            status=200, result={"place": cmd.place, "phase": "build", "event_id": event_id}
        )

    @handles("add_milestone")
    async def add_milestone(cmd: AddMilestoneCommand) -> CommandReply:
        command = command_of(cmd, AddOwnMilestone, **sent(cmd))
        refused = await record(command)
        milestone_id = Milestone.create_id(ResiliencePlan.create_id(cmd.place), NIL, 0, cmd.label)
        return refused or CommandReply(status=201, result={"milestone_id": str(milestone_id)})

    @handles("check_in_milestone")
    async def check_in(cmd: CheckInCommand) -> CommandReply:
        command = command_of(cmd, CheckIn, **sent(cmd))
        refused = await record(command)
        if refused:
            return refused
        event_id = await last_event(cmd.milestone_id)
        return CommandReply(
            status=200,
            result={
                "milestone_id": str(cmd.milestone_id),
                "status": cmd.status,
                "event_id": event_id,
            },
        )

    @handles("import_indicators")
    async def import_indicators(cmd: ImportIndicatorsCommand) -> CommandReply:
        rows = [row.model_dump(mode="json") for row in cmd.rows]
        command = command_of(cmd, ImportIndicators, rows=rows, **sent(cmd))
        refused = await record(command)
        return refused or CommandReply(
            status=200, result={"import_id": str(cmd.import_id), "step": cmd.step}
        )

    @handles("register_programme")
    async def register_programme(cmd: RegisterProgrammeCommand) -> CommandReply:
        command = command_of(cmd, EnrolProgramme, **sent(cmd))
        refused = await record(command)
        return refused or CommandReply(status=201, result={"programme_id": str(cmd.programme_id)})

    @handles("change_programme")
    async def change_programme(cmd: ChangeProgrammeCommand) -> CommandReply:
        command = command_of(cmd, ChangeProgramme, **sent(cmd))
        refused = await record(command)
        if refused:
            return refused
        programme = await asyncio.to_thread(app.get_programme, cmd.programme_id)
        event_id = str(derived_id("build", programme.id, programme.version))
        return CommandReply(status=200, result={**programme_view(programme), "event_id": event_id})

    return router


def programme_view(programme: Programme) -> dict[str, Any]:
    return {
        "programme_id": str(programme.id),
        "committed": str(programme.committed),
        "spent": str(programme.spent),
        "people_engaged": programme.people_engaged,
        "social_return": None if programme.social_return is None else str(programme.social_return),
        # The votes cast since the last decision, each by its voter.
        "votes": list(programme.votes.values()),
    }
