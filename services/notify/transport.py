"""Notify's transport: its wire commands in (contact points added, tested, disabled; the
record asked for), copied into its own commands and handed to the one command path."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog
from faststream.nats import NatsRouter

from contracts.commands import CommandReply
from contracts.notify import ContactPointCommand, NotificationQuery
from services.notify.application import NotifyApplication
from services.notify.commands import AddContact, DisableContact, PingContact
from services.notify.domain import Notification, public_contact
from services.notify.index import NotificationIndex
from services.runtime.authorization import NotPermitted, check
from services.runtime.commands import CommandPath, command_handlers, refuse_invalid_commands
from services.runtime.dead_letters import NIL
from services.runtime.meta import Meta
from services.runtime.translation import actor_of, caller_of

log = structlog.get_logger()


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
