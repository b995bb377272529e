"""Hold's transport layer: clear's integration events in, hold's integration events out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import PersistenceError
from faststream.nats import NatsRouter
from nats.errors import Error as NatsError
from nats.js import JetStreamContext

from contracts import (
    ArrestAges,
    ArrestLinkedToCase,
    ArrestRecorded,
    CaseTasksAttached,
    HouseholdCaseJoined,
    HouseholdErased,
    IntegrationEvent,
    OperationLaunched,
    PersonalDetailsRead,
    PlaybookAdopted,
    SeizureRecorded,
    SupportTaskChanged,
    SupportTaskOpened,
    SupportTaskRescheduled,
    WhanauCaseOpened,
    WitnessRegistered,
)
from contracts.commands import AdoptPlaybook as AdoptPlaybookCommand
from contracts.commands import ChangeTask as ChangeTaskCommand
from contracts.commands import CommandReply, EraseHousehold, RecordPersonalRead
from services.hold import commands as hold
from services.hold.agency_transport import agency_handlers, translate_agency
from services.hold.application import HoldApplication
from services.hold.commands import (
    AdoptPlaybook,
    ChangeTask,
    OpenedAges,
    ReleaseStagedSupport,
    SupportArrestedPersonsHousehold,
    SupportHousehold,
)
from services.hold.domain import (
    HouseholdCases,
    HouseholdErasure,
    PlaybookAdoption,
    WhanauCase,
    playbook_scope,
)
from services.hold.playbook import parse_playbook
from services.hold.task import SupportTask
from services.runtime.clock import Clock
from services.runtime.commands import (
    CommandPath,
    command_handlers,
    refuse_invalid_commands,
)
from services.runtime.dead_letters import NIL
from services.runtime.meta import Meta, derived_id
from services.runtime.sealing import HouseholdKeys, is_sealed
from services.runtime.translation import (
    actor_of,
    caller_of,
    caused_by,
    envelope,
    translate_dead_letter,
)

log = structlog.get_logger()


def command_from(event: IntegrationEvent, clock: Clock) -> object | None:
    """The hold command an upstream event calls for, if any."""
    if isinstance(event, ArrestRecorded):
        return SupportArrestedPersonsHousehold(
            arrest_id=event.arrest_id,
            household_ref=event.household_ref,
            place=event.place,
            arrested_at=event.occurred_at,
            children=[child.model_dump() for child in event.children],
            only_carer_present=event.only_carer_present,
            meta=caused_by(event, "hold", clock),
            ages=event.ages,
        )
    if isinstance(event, SeizureRecorded) and event.household_ref:
        return SupportHousehold(
            event="seizure",
            household_ref=event.household_ref,
            place=event.place,
            at=event.occurred_at,
            children=[child.model_dump() for child in event.children],
            meta=caused_by(event, "hold", clock),
            seizure_kind=event.kind,
            ages=event.ages,
        )
    if isinstance(event, WitnessRegistered):
        return SupportHousehold(
            event="witness_registered",
            household_ref=event.household_ref,
            place=event.place,
            at=event.occurred_at,
            children=[child.model_dump() for child in event.children],
            meta=caused_by(event, "hold", clock),
            ages=event.ages,
        )
    if isinstance(event, OperationLaunched) and event.staged_support:
        return ReleaseStagedSupport(
            place=event.place,
            launched_at=event.occurred_at,
            households=[h.model_dump() for h in event.staged_support],
            meta=caused_by(event, "hold", clock),
        )
    return None


class KeysUnavailable(PersistenceError):
    """The household keys could not be asked (NATS is away). Not the message's fault: the
    tracked consumer retries a PersistenceError for as long as it takes, and never
    dead-letters the arrest for it."""


class AgeOpener:
    """Opens sealed ages (an arrest's, a seizure's, a witness's) for the playbook's rules, in
    memory only.

    Hold may read the household keys and nothing more (services/runtime/nats_permissions.py).
    No key is kept between arrests, so an erasure takes effect from the next arrest on.
    """

    def __init__(self, jetstream: Callable[[], JetStreamContext]) -> None:
        self._jetstream = jetstream
        self._keys: HouseholdKeys | None = None

    async def open(self, sealed: str) -> OpenedAges | None:
        """The ages, or None when they cannot be read (the household's key is gone)."""
        try:
            if self._keys is None:
                self._keys = await HouseholdKeys.existing(self._jetstream())
            if self._keys is None:
                return None  # no bucket, so no key was ever made: nothing can open them
            opened = await self._keys.opener().text(sealed)
        except (NatsError, TimeoutError) as error:
            raise KeysUnavailable(f"household keys unavailable: {error!r}") from error
        if not isinstance(opened, str):
            return None
        # ChildrenAges (a seizure's, a witness's) read as ArrestAges with no person_age.
        ages = ArrestAges.model_validate_json(opened)
        return OpenedAges(ages.person_age, {child.child_ref: child.age for child in ages.children})

    async def command_from(self, event: IntegrationEvent, clock: Clock) -> object | None:
        """``command_from``, with the event's sealed ages opened for the rules."""
        command = command_from(event, clock)
        if (
            isinstance(command, SupportArrestedPersonsHousehold | SupportHousehold)
            and command.ages is not None
        ):
            command = replace(command, opened=await self.open(command.ages))
        return command


def coded_reason(e: Any) -> dict[str, Any]:
    """A decline's or a close's reason as it travels: the code, and free text only sealed (a
    reason typed in the clear before reasons were sealed stays in this store, unpublished)."""
    return {
        "reason_code": e.reason_code or "unspecified",
        "reason": e.reason if is_sealed(e.reason) else None,
    }


def _task_change(e: Any) -> SupportTaskChanged | None:
    """A step in a task's life as the integration event other services see.

    ``status`` is the task's status after the step, or None where the step leaves it as it was
    (a decline is always followed, in the same transaction, by an offer or by ``unplaced``).
    ``agency`` is who the step concerns, where the event says.
    """
    T = SupportTask
    step: tuple[str, str | None, dict[str, Any]]
    match e:
        case T.Accepted():
            step = ("accepted", "accepted", {})
        case T.Declined():
            step = ("declined", None, coded_reason(e))
        case T.Offered():
            step = ("offered", "offered", {})
        case T.Unplaced():
            step = ("unplaced", "unplaced", {})
        case T.Assigned():
            step = ("assigned", e.status, {})
        case T.Started():
            step = ("started", "in_progress", {})
        case T.ConsentRecorded():
            detail: dict[str, Any] = {
                "referral_agency": e.referral_agency,
                "consent": e.consent,
                "override_role": e.override_role,
                "override_reason": e.override_reason,
            }
            step = ("consent_recorded", None, detail)
        case T.Completed():
            detail = {"outcome": e.outcome, "referral_agency": e.referral_agency}
            step = ("completed", "completed", detail)
        case T.Closed():
            step = ("closed", "closed", coded_reason(e))
        case T.NoteAdded():
            step = ("note_added", None, {"text": e.text})
        case T.Reminded():
            step = ("reminded", None, {"step": e.step, "due_at": e.due_at.isoformat()})
        case T.Escalated():
            detail = {"step": e.step, "level": e.level, "due_at": e.due_at.isoformat()}
            step = ("escalated", None, detail)
        case _:
            return None
    change, status, detail = step
    return SupportTaskChanged(
        **envelope("hold", e),
        task_id=e.originator_id,
        change=change,
        status=status,
        agency=getattr(e, "agency", None),
        worker_ref=getattr(e, "worker_ref", None),
        detail=detail,
    )


def translate(domain_event: Any) -> IntegrationEvent | None:
    e = domain_event
    agency = translate_agency(e)
    if agency is not None:
        return agency
    if isinstance(e, WhanauCase.Opened):
        return WhanauCaseOpened(
            **envelope("hold", e),
            case_id=e.originator_id,
            household_ref=e.household_ref,
            place=e.place,
        )
    if isinstance(e, WhanauCase.ArrestLinked):
        return ArrestLinkedToCase(
            **envelope("hold", e),
            case_id=e.originator_id,
            arrest_id=e.arrest_id,
            children_total=e.children_total,
            only_carer_present=e.only_carer_present,
        )
    if isinstance(e, WhanauCase.TasksAttached):
        return CaseTasksAttached(
            **envelope("hold", e), case_id=e.originator_id, task_ids=tuple(e.task_ids)
        )
    if isinstance(e, HouseholdCases.Started | HouseholdCases.CaseJoined):
        return HouseholdCaseJoined(
            **envelope("hold", e), household_ref=e.household_ref, case_id=e.case_id, place=e.place
        )
    if isinstance(e, WhanauCase.PersonalDetailsRead):
        return PersonalDetailsRead(
            **envelope("hold", e),
            case_id=e.originator_id,
            household_ref=e.household_ref,
            fields=tuple(e.fields),
        )
    if isinstance(e, HouseholdErasure.Erased):
        return HouseholdErased(**envelope("hold", e), household_ref=e.household_ref)
    if isinstance(e, SupportTask.Opened):
        return SupportTaskOpened(
            **envelope("hold", e),
            task_id=e.originator_id,
            case_id=e.case_id,
            kind=e.kind,
            lead_agency=e.lead_agency,
            fallback_agencies=tuple(e.fallback_agencies),
            due_at=e.due_at,
            reminders_before_seconds=tuple(e.reminders_before),
            escalations_after_seconds=tuple(e.escalations_after),
            playbook=e.playbook,
            rule_id=e.rule_id,
        )
    if isinstance(e, PlaybookAdoption.Adopted):
        return PlaybookAdopted(
            **envelope("hold", e),
            scope=e.scope,
            name=e.name,
            version=e.version,
            rules=len(e.document.get("rules", [])),
        )
    change = _task_change(e)
    if change is not None:
        return change
    if isinstance(e, SupportTask.Rescheduled):
        return SupportTaskRescheduled(
            **envelope("hold", e),
            task_id=e.originator_id,
            case_id=e.case_id,
            due_at=e.due_at,
        )
    return translate_dead_letter("hold", e)


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
            return CommandReply(status=404, error=f"no task {cmd.task_id}")
        # The envelope's reason is the code: free text travels only sealed, in the step itself.
        meta = Meta(
            occurred_at=app.clock.now(),
            operation_id=task.operation_id,
            actor=actor,
            reason=cmd.reason_code,
        )
        change = ChangeTask(
            task_id=cmd.task_id,
            action=cmd.action,
            agency=actor.agency,
            meta=meta,
            reason_code=cmd.reason_code,
            reason=cmd.reason,
            worker_ref=cmd.worker_ref,
            outcome=cmd.outcome,
            referral_agency=cmd.referral_agency,
            consent=cmd.consent,
            override_role=cmd.override_role,
            text=cmd.text,
            to_agency=cmd.to_agency,
            caller=caller_of(cmd.actor),
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
            return CommandReply(status=404, error=f"no case {cmd.case_id}")
        meta = Meta(app.clock.now(), case.operation_id, actor_of(cmd.actor), reason=cmd.reason)
        read = hold.RecordPersonalRead(cmd.case_id, list(cmd.fields), meta, caller_of(cmd.actor))
        refused = await record(read, case.operation_id)
        if refused is not None:
            return refused
        return CommandReply(status=200, result={"case_id": str(cmd.case_id), "recorded": True})

    @handles("erase_household")
    async def erase_household(cmd: EraseHousehold) -> CommandReply:
        meta = Meta(app.clock.now(), NIL, actor_of(cmd.actor), reason=cmd.reason)
        erase = hold.EraseHousehold(cmd.household_ref, meta, caller_of(cmd.actor))
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
            return CommandReply(status=422, error="give a place or an operation, not both")
        scope = playbook_scope(place=cmd.place, operation_id=cmd.operation_id)
        actor = actor_of(cmd.actor)
        meta = Meta(
            occurred_at=app.clock.now(),
            operation_id=cmd.operation_id or NIL,
            actor=actor,
            reason=cmd.reason,
        )
        adoption = AdoptPlaybook(scope, cmd.document, meta, caller_of(cmd.actor), cmd.place)
        refused = await record(adoption, cmd.operation_id)
        if refused is not None:
            return refused
        playbook = parse_playbook(cmd.document)
        return CommandReply(status=201, result={"scope": scope, "playbook": playbook.label})

    agency_handlers(handles, app, record)
    return router
