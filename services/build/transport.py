"""Build's transport layer: clear's integration events in, build's integration events out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog
from faststream.nats import NatsRouter

from contracts import (
    IndicatorImportCommitted,
    IndicatorImportStarted,
    IndicatorRowsAdded,
    IntegrationEvent,
    MilestoneChanged,
    MilestoneScheduled,
    OperationConcluded,
    PlanGateDecided,
    PlanGateSignedOff,
    ProgrammeChanged,
    ProgrammeRegistered,
    ResiliencePlanOpened,
)
from contracts.build import SignedBy
from contracts.commands import AddMilestone as AddMilestoneCommand
from contracts.commands import ChangeProgrammeCommand, CommandReply, ImportIndicatorsCommand
from contracts.commands import CheckInMilestone as CheckInCommand
from contracts.commands import Command as BuildCommand
from contracts.commands import DecideGate as DecideGateCommand
from contracts.commands import RegisterProgramme as RegisterProgrammeCommand
from contracts.commands import SignOffGate as SignOffGateCommand
from services.build.application import BuildApplication
from services.build.commands import (
    AddMilestone,
    ChangeProgramme,
    CheckInMilestone,
    DecideGate,
    FireMilestoneDeadlines,
    ImportIndicators,
    PlanFollowUp,
    RegisterProgramme,
    SignOffGate,
)
from services.build.domain import IndicatorImport, Milestone, ResiliencePlan
from services.build.programme import Programme
from services.runtime.clock import Clock
from services.runtime.commands import (
    CommandPath,
    command_handlers,
    refuse_invalid_commands,
)
from services.runtime.dead_letters import NIL
from services.runtime.deadlines import DeadlineScheduler
from services.runtime.meta import Meta
from services.runtime.translation import (
    actor_of,
    caller_of,
    caused_by,
    envelope,
    translate_dead_letter,
)

log = structlog.get_logger()


def command_from(event: IntegrationEvent, clock: Clock) -> object | None:
    if isinstance(event, OperationConcluded):
        return PlanFollowUp(
            place=event.place,
            concluded_at=event.concluded_at,
            meta=caused_by(event, "build", clock),
        )
    return None


def translate(domain_event: Any) -> IntegrationEvent | None:
    e = domain_event
    if isinstance(e, ResiliencePlan.Opened):
        return ResiliencePlanOpened(**envelope("build", e), plan_id=e.originator_id, place=e.place)
    if isinstance(e, Milestone.Scheduled):
        return MilestoneScheduled(
            **envelope("build", e),
            milestone_id=e.originator_id,
            plan_id=e.plan_id,
            place=e.place,
            label=e.label,
            days_after_conclusion=e.days_after_conclusion,
            owner_agency=e.owner_agency,
            due_at=e.due_at,
        )
    if isinstance(e, ResiliencePlan.GateSignedOff):
        return PlanGateSignedOff(**envelope("build", e), plan_id=e.originator_id, place=e.place)
    if isinstance(e, ResiliencePlan.GateDecided):
        return PlanGateDecided(
            **envelope("build", e),
            plan_id=e.originator_id,
            place=e.place,
            to_phase="build",
            signed_off_by=tuple(SignedBy.model_validate(s) for s in e.signed_off_by),
            evidence=tuple(e.evidence),
        )
    if isinstance(e, Milestone.CheckedIn):
        return MilestoneChanged(
            **envelope("build", e),
            milestone_id=e.originator_id,
            change="checked_in",
            status=e.status,
            detail={"note": e.note, "evidence_link": e.evidence_link},
        )
    if isinstance(e, Milestone.Escalated):
        return MilestoneChanged(
            **envelope("build", e),
            milestone_id=e.originator_id,
            change="escalated",
            detail={"step": e.step, "level": e.level},
        )
    if isinstance(e, IndicatorImport.Started):
        return IndicatorImportStarted(
            **envelope("build", e),
            import_id=e.originator_id,
            file_name=e.file_name,
            rows_expected=e.rows_expected,
            starter_agency=e.starter_agency or e.meta.actor.agency,
        )
    if isinstance(e, IndicatorImport.RowsAdded):
        return IndicatorRowsAdded(
            **envelope("build", e), import_id=e.originator_id, rows=tuple(e.rows)
        )
    if isinstance(e, IndicatorImport.Committed):
        return IndicatorImportCommitted(
            **envelope("build", e), import_id=e.originator_id, file_name=e.file_name, rows=e.rows
        )
    if isinstance(e, Programme.Registered):
        return ProgrammeRegistered(
            **envelope("build", e),
            programme_id=e.originator_id,
            name=e.name,
            provider=e.provider,
            place=e.place,
            focus_area=e.focus_area,
            funding_source=e.funding_source,
            agreement_kind=e.agreement_kind,
        )
    if isinstance(e, Programme.PanelVoted):
        return _programme_change(e, "panel_vote_cast", amount=e.amount, decision=e.decision)
    if isinstance(e, Programme.PanelDecided):
        return _programme_change(
            e,
            "panel_decided",
            committed=e.committed_total,
            amount=e.amount,
            decision=e.decision,
            panel=tuple(SignedBy.model_validate(p) for p in e.panel),
        )
    if isinstance(e, Programme.SpendRecorded):
        return _programme_change(
            e, "spend_recorded", spent=e.spent_total, amount=e.amount, period=e.period
        )
    if isinstance(e, Programme.ResultReported):
        return _programme_change(
            e,
            "result_reported",
            period=e.period,
            people_engaged=e.people_engaged,
            cost=e.cost,
            outcome_value=e.outcome_value,
            detail={"note": e.note},
        )
    return translate_dead_letter("build", e)


def _programme_change(e: Any, change: Any, **fields: Any) -> ProgrammeChanged:
    return ProgrammeChanged(
        **envelope("build", e), programme_id=e.originator_id, change=change, **fields
    )


def build_router(app: BuildApplication, on_recorded: Callable[[], None]) -> NatsRouter:
    """Build's commands: sign-offs and the gate decision, milestones and check-ins,
    programmes and indicator imports. Each is decided for the caller the command names
    (``caller_of``: role, agency, the token's places and operations), as the front door did."""
    router = NatsRouter(middlewares=[refuse_invalid_commands()])
    handles = command_handlers(router, "build")

    path = CommandPath(app, on_recorded)
    record = path.record

    def meta_of(cmd: BuildCommand) -> Meta:
        actor = actor_of(cmd.actor)
        return Meta(occurred_at=app.clock.now(), operation_id=NIL, actor=actor, reason=cmd.reason)

    @handles("sign_off_gate")
    async def sign_off_gate(cmd: SignOffGateCommand) -> CommandReply:
        refused = await record(SignOffGate(cmd.place, caller_of(cmd.actor), meta_of(cmd)))
        return refused or CommandReply(
            status=200, result={"place": cmd.place, "signed_off_by": cmd.actor.id}
        )

    @handles("decide_gate")
    async def decide_gate(cmd: DecideGateCommand) -> CommandReply:
        command = DecideGate(cmd.place, list(cmd.evidence), caller_of(cmd.actor), meta_of(cmd))
        refused = await record(command)
        return refused or CommandReply(status=200, result={"place": cmd.place, "phase": "build"})

    @handles("add_milestone")
    async def add_milestone(cmd: AddMilestoneCommand) -> CommandReply:
        command = AddMilestone(
            cmd.place,
            cmd.label,
            cmd.owner_agency,
            cmd.due_at,
            caller_of(cmd.actor),
            meta_of(cmd),
        )
        refused = await record(command)
        milestone_id = Milestone.create_id(ResiliencePlan.create_id(cmd.place), NIL, 0, cmd.label)
        return refused or CommandReply(status=201, result={"milestone_id": str(milestone_id)})

    @handles("check_in_milestone")
    async def check_in(cmd: CheckInCommand) -> CommandReply:
        command = CheckInMilestone(
            cmd.milestone_id,
            cmd.status,
            cmd.note,
            cmd.evidence_link,
            caller_of(cmd.actor),
            meta_of(cmd),
        )
        refused = await record(command)
        return refused or CommandReply(
            status=200, result={"milestone_id": str(cmd.milestone_id), "status": cmd.status}
        )

    @handles("import_indicators")
    async def import_indicators(cmd: ImportIndicatorsCommand) -> CommandReply:
        command = ImportIndicators(
            import_id=cmd.import_id,
            step=cmd.step,
            caller=caller_of(cmd.actor),
            meta=meta_of(cmd),
            file_name=cmd.file_name,
            rows_expected=cmd.rows_expected,
            rows=[row.model_dump(mode="json") for row in cmd.rows],
        )
        refused = await record(command)
        return refused or CommandReply(
            status=200, result={"import_id": str(cmd.import_id), "step": cmd.step}
        )

    @handles("register_programme")
    async def register_programme(cmd: RegisterProgrammeCommand) -> CommandReply:
        command = RegisterProgramme(
            cmd.programme_id,
            cmd.name,
            cmd.provider,
            cmd.place,
            cmd.focus_area,
            cmd.funding_source,
            cmd.agreement_kind,
            caller_of(cmd.actor),
            meta_of(cmd),
        )
        refused = await record(command)
        return refused or CommandReply(status=201, result={"programme_id": str(cmd.programme_id)})

    @handles("change_programme")
    async def change_programme(cmd: ChangeProgrammeCommand) -> CommandReply:
        command = ChangeProgramme(
            programme_id=cmd.programme_id,
            action=cmd.action,
            caller=caller_of(cmd.actor),
            meta=meta_of(cmd),
            decision=cmd.decision,
            amount=cmd.amount,
            period=cmd.period,
            people_engaged=cmd.people_engaged,
            cost=cmd.cost,
            outcome_value=cmd.outcome_value,
            note=cmd.note,
        )
        refused = await record(command)
        if refused:
            return refused
        programme = await asyncio.to_thread(app.get_programme, cmd.programme_id)
        return CommandReply(status=200, result=programme_view(programme))

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


def milestone_scheduler(
    app: BuildApplication, clock: Clock, on_recorded: Callable[[], None] = lambda: None
) -> DeadlineScheduler:
    """Overdue milestones escalate as hold's tasks do: stored, and fired once each."""
    return DeadlineScheduler(
        app,
        clock,
        kind=Milestone,
        finished=lambda milestone: milestone.status == "met",
        fire=lambda milestone_id, now: FireMilestoneDeadlines(milestone_id=milestone_id, now=now),
        on_recorded=on_recorded,
    )
