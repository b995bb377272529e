"""Hold's transport for the agency register: its commands in, its events out.

Kept beside services/hold/transport.py (tasks, cases, playbooks) so each stays readable; the
router there includes these handlers and its ``translate`` asks ``translate_agency`` first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from contracts import AgencyChanged, AgencyRegistered, IntegrationEvent
from contracts.agencies import AgencyDetails
from contracts.commands import ChangeAgency, CommandReply, RegisterAgency
from services.hold import commands as hold
from services.hold.agencies import (
    Agency,
)
from services.hold.application import HoldApplication
from services.runtime.dead_letters import NIL
from services.runtime.meta import Meta
from services.runtime.translation import actor_of, caller_of, envelope

AGENCY_FIELDS = set(AgencyDetails.model_fields)

Record = Callable[[object, UUID | None], Awaitable[CommandReply | None]]
Handles = Callable[[str], Callable[[Any], Any]]


def translate_agency(e: Any) -> IntegrationEvent | None:
    if isinstance(e, Agency.Registered):
        return AgencyRegistered(
            **envelope("hold", e), code=e.code, name=e.name, kind=e.kind, places=tuple(e.places)
        )
    if isinstance(e, Agency.Changed):
        return AgencyChanged(
            **envelope("hold", e),
            code=e.code,
            name=e.name,
            kind=e.kind,
            places=tuple(e.places),
            changed=tuple(e.changed),
        )
    return None


def agency_handlers(handles: Handles, app: HoldApplication, record: Record) -> None:
    """``register_agency`` and ``change_agency``, decided by the agency's aggregate."""

    @handles("register_agency")
    async def register_agency(cmd: RegisterAgency) -> CommandReply:
        details = AgencyDetails.model_validate(cmd.model_dump(include=AGENCY_FIELDS))
        meta = Meta(app.clock.now(), NIL, actor_of(cmd.actor), reason=cmd.reason)
        refused = await record(hold.RegisterAgency(caller_of(cmd.actor), details, meta), None)
        return refused or await reply(cmd.code, 201)

    @handles("change_agency")
    async def change_agency(cmd: ChangeAgency) -> CommandReply:
        meta = Meta(app.clock.now(), NIL, actor_of(cmd.actor), reason=cmd.reason)
        change = hold.ChangeAgency(
            caller_of(cmd.actor), cmd.code, meta, cmd.name, cmd.kind, cmd.places
        )
        refused = await record(change, None)
        return refused or await reply(cmd.code, 200)

    async def reply(code: str, status: int) -> CommandReply:
        agency = await asyncio.to_thread(app.get_agency, code)
        assert agency is not None  # just recorded, or held already
        return CommandReply(status=status, result=agency.as_dict())
