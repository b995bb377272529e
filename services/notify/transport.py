"""Notify's transport: hold's and build's events in, notify's events out, its own commands.

The command dispatch is kept small and self-contained (one handler, ``contact_point``) so it
can move onto a shared command path later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog
from faststream.nats import NatsRouter

from contracts import (
    DeadLetterRecorded,
    IntegrationEvent,
    MilestoneChanged,
    MilestoneScheduled,
    SupportTaskChanged,
    SupportTaskOpened,
    SupportTaskRescheduled,
    WhanauCaseOpened,
)
from contracts.commands import CommandReply
from contracts.notify import (
    ContactPointChanged,
    ContactPointCommand,
    NotificationChanged,
    NotificationQuery,
)
from services.notify.application import NotifyApplication
from services.notify.commands import AddContact, DisableContact, FromUpstream, PingContact
from services.notify.domain import (
    AgencyContacts,
    Notification,
    public_contact,
)
from services.notify.index import NotificationIndex
from services.runtime.authorization import NotPermitted, check
from services.runtime.clock import Clock
from services.runtime.commands import CommandPath, command_handlers, refuse_invalid_commands
from services.runtime.dead_letters import NIL
from services.runtime.meta import Meta
from services.runtime.translation import (
    Translation,
    actor_of,
    caller_of,
    caused_by,
    envelope,
)

log = structlog.get_logger()

FOLLOWED = (
    WhanauCaseOpened,
    SupportTaskOpened,
    SupportTaskRescheduled,
    SupportTaskChanged,
    MilestoneScheduled,
    MilestoneChanged,
    DeadLetterRecorded,
)
# The steps of a task notify says something about (or must know, for what it says later).
TASK_CHANGES = ("offered", "accepted", "assigned", "unplaced", "reminded", "escalated")


def command_from(event: IntegrationEvent, clock: Clock) -> object | None:
    if not isinstance(event, FOLLOWED):
        return None
    if isinstance(event, SupportTaskChanged) and event.change not in TASK_CHANGES:
        return None
    if isinstance(event, MilestoneChanged) and event.change != "escalated":
        return None
    return FromUpstream(event, caused_by(event, "notify", clock))


def _contact_event(e: Any) -> ContactPointChanged | None:
    C = AgencyContacts
    if not isinstance(
        e, C.ContactAdded | C.ContactDisabled | C.ContactFailing | C.ContactRecovered
    ):
        return None
    common: dict[str, Any] = {
        **envelope("notify", e),
        "agency": e.agency,
        "contact_id": e.contact_id,
    }
    if isinstance(e, C.ContactAdded):
        return ContactPointChanged(
            **common, change="added", channel=e.channel, purpose=e.purpose, label=e.label
        )
    if isinstance(e, C.ContactDisabled):
        return ContactPointChanged(**common, change="disabled", why=e.why)
    change = "failing" if isinstance(e, C.ContactFailing) else "recovered"
    return ContactPointChanged(**common, change=change)


def translate(domain_event: Any) -> IntegrationEvent | None:
    e = domain_event
    N = Notification
    contact = _contact_event(e)
    if contact is not None:
        return contact
    if isinstance(e, N.Queued):
        return NotificationChanged(
            **envelope("notify", e),
            notification_id=e.originator_id,
            change="queued",
            kind=e.kind,
            agency=e.agency,
            purpose=e.purpose,
            channel=e.channel,
            contact_id=e.contact_id,
            item_id=e.item_id,
            facts=e.facts,
        )
    steps: dict[type, str] = {
        N.Attempted: "attempted",
        N.Delivered: "delivered",
        N.Failed: "failed",
        N.GaveUp: "given_up",
    }
    change = steps.get(type(e))
    if change is not None:
        return NotificationChanged(
            **envelope("notify", e),
            notification_id=e.originator_id,
            change=change,
            attempt=getattr(e, "attempt", None),
            detail=getattr(e, "detail", None) or getattr(e, "why", None),
            next_attempt_at=getattr(e, "next_attempt_at", None),
        )
    return DEAD_LETTERS(e)


# A dead letter translates the same in every service (the runtime's rule).
DEAD_LETTERS = Translation("notify")


def build_router(app: NotifyApplication, on_recorded: Callable[[], None]) -> NatsRouter:
    router = NatsRouter(middlewares=[refuse_invalid_commands()])
    handles = command_handlers(router, "notify")

    index = NotificationIndex(app)
    path = CommandPath(app, on_recorded)

    @handles("query")
    async def query(cmd: NotificationQuery) -> CommandReply:
        caller = caller_of(cmd.actor)
        action = "manage_contacts" if cmd.contacts_of is not None else "read_notifications"
        try:
            check(caller, action)
        except NotPermitted as error:
            return CommandReply(status=403, error=str(error))
        if cmd.contacts_of is not None:
            contacts = await asyncio.to_thread(app.get_contacts, cmd.contacts_of)
            found = [public_contact(c) for c in contacts.contacts.values()] if contacts else []
            return CommandReply(status=200, result={"contacts": found})
        item = str(cmd.item_id) if cmd.item_id else None
        listed = await asyncio.to_thread(index.select, cmd.agency, item, cmd.status, cmd.limit)
        return CommandReply(status=200, result={"notifications": listed})

    @handles("contact_point")
    async def contact_point(cmd: ContactPointCommand) -> CommandReply:
        # Decided here as at the front door, from the same table: a command that reaches
        # notify by another path is refused too.
        try:
            check(caller_of(cmd.actor), "manage_contacts")
        except NotPermitted as error:
            return CommandReply(status=403, error=str(error))
        meta = Meta(app.clock.now(), NIL, actor_of(cmd.actor), reason=cmd.reason)
        command: object
        if cmd.action == "add":
            if not (cmd.channel and cmd.purpose and cmd.target):
                return CommandReply(status=422, error="add needs channel, purpose and target")
            command = AddContact(
                cmd.agency,
                cmd.contact_id,
                cmd.channel,
                cmd.purpose,
                cmd.target,
                cmd.label or "",
                cmd.worker_ref,
                meta,
            )
        elif cmd.action == "disable":
            command = DisableContact(cmd.agency, cmd.contact_id, meta)
        else:
            ping_id = cmd.ping_id or cmd.contact_id
            command = PingContact(cmd.agency, cmd.contact_id, ping_id, meta)
        refused = await path.record(command)
        if refused is not None:
            return refused
        contacts = await asyncio.to_thread(app.get_contacts, cmd.agency)
        assert contacts is not None
        result = public_contact(contacts.contact(cmd.contact_id))
        if isinstance(command, PingContact):
            result["notification_id"] = str(
                Notification.create_id(command.ping_id, "ping", cmd.agency, cmd.contact_id)
            )
        return CommandReply(status=201 if cmd.action == "add" else 200, result=result)

    return router
