"""Agencies' contact points and the notifications sent to them (notify keeps both).

A contact point's target (a webhook's URL and secret, an e-mail address) is sealed here with
its own key before it leaves for notify, and never shown again: a webhook's secret is in the
answer that adds it and nowhere else. The lists come from notify over NATS (its own index).
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from uuid import UUID, uuid4

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import JSONResponse
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from pydantic import Field, model_validator

from contracts.agencies import SYSTEM_AGENCY, not_registered
from contracts.commands import CommandReply
from contracts.envelope import Contract
from contracts.notify import ContactPointCommand, NotificationQuery
from services.api.access import Caller
from services.api.deps import Door, reply
from services.api.problems import responses
from services.runtime.authorization import check, permitted
from services.runtime.sealing import contact_ref
from services.runtime.topology import NOTIFY, command_subject

router = APIRouter()

AgencyCode = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
EMAIL = r"^[^@\s]{1,64}@[^@\s]{1,255}$"


class ContactRequest(Contract):
    """``add`` a contact point (a webhook: ``url``, and ``secret`` or one is made; an e-mail:
    ``address``), or ``test`` (a ping) or ``disable`` one by ``contact_id``."""

    action: Literal["add", "test", "disable"] = "add"
    contact_id: UUID | None = None
    purpose: Literal["intake", "lead", "chair", "operators", "worker"] = "intake"
    url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://")
    secret: str | None = Field(default=None, pattern=r"^whsec_[A-Za-z0-9+/=]{16,200}$")
    address: str | None = Field(default=None, max_length=320, pattern=EMAIL)
    worker_ref: str | None = Field(default=None, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    reason: str | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _complete(self) -> ContactRequest:
        if self.action == "add" and bool(self.url) == bool(self.address):
            raise ValueError("add a webhook (url) or an e-mail address, one of them")
        if self.action != "add" and self.contact_id is None:
            raise ValueError(f"{self.action} needs the contact_id")
        return self


def _agency_known(door: Any, code: str) -> None:
    # The system's own code holds the operators' contact points (dead letters).
    if code != SYSTEM_AGENCY and code not in door.read_model.agencies:
        raise HTTPException(status_code=404, detail=not_registered(code, door.read_model.agencies))


@router.post(
    "/agencies/{code}/contacts",
    responses={
        **responses(400, 404, 409, 503),
        201: {"description": "A contact point added", "content": {"application/json": {}}},
    },
)
async def change_contacts(
    door: Door, code: AgencyCode, body: ContactRequest, who: Caller
) -> JSONResponse:
    """Add, test (a ``ping`` delivery) or disable one of an agency's contact points."""
    check(who, "manage_contacts")
    _agency_known(door, code)
    shown: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    if body.action == "add":
        contact_id = uuid4()
        if body.url:
            secret = body.secret or "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
            target = {"url": body.url, "secret": secret}
            fields = {"channel": "webhook", "label": urlsplit(body.url).hostname or ""}
            shown = {"secret": secret}  # this once, to set up the receiver
        else:
            assert body.address is not None
            target = {"address": body.address}
            fields = {"channel": "email", "label": body.address.rsplit("@", 1)[1]}
        sealed = await door.keys.seal(contact_ref(contact_id), json.dumps(target))
        fields |= {"target": sealed, "purpose": body.purpose, "worker_ref": body.worker_ref}
    else:
        assert body.contact_id is not None
        contact_id = body.contact_id
        if body.action == "test":
            fields = {"ping_id": uuid4()}
    command = ContactPointCommand(
        action=body.action,
        agency=code,
        contact_id=contact_id,
        actor=who.actor,
        reason=body.reason,
        **fields,
    )
    answer = await door.send(NOTIFY, "contact_point", command)
    reply(answer)  # a refusal is raised as its problem document
    return JSONResponse(status_code=answer.status, content={**answer.result, **shown})


@router.get("/agencies/{code}/contacts", responses=responses(404, 503))
async def list_contacts(door: Door, code: AgencyCode, who: Caller) -> Any:
    """An agency's contact points: channel, purpose, label and status, never the target."""
    check(who, "manage_contacts")
    _agency_known(door, code)
    query = NotificationQuery(contacts_of=code, actor=who.actor)
    return (await _asked(door, query))["contacts"]


@router.get("/notifications", responses=responses(503))
async def list_notifications(
    door: Door,
    who: Caller,
    agency: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)] = None,
    task: UUID | None = None,
    status: Literal["queued", "attempting", "failed", "delivered", "given_up"] | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> Any:
    """What was sent to whom and how it went: each notification's kind, agency, channel, the
    task it is about, its status and every attempt. Ids, codes and times only."""
    check(who, "read_notifications")
    query = NotificationQuery(
        agency=agency, item_id=task, status=status, limit=limit, actor=who.actor
    )
    return (await _asked(door, query))["notifications"]


async def _asked(door: Any, query: NotificationQuery) -> dict[str, Any]:
    answer = await door.send(NOTIFY, "query", query)
    reply(answer)  # a refusal is raised as its problem document
    result: dict[str, Any] = answer.result
    return result


# How long a task's page waits for notify's list of what was sent about it: the page is shown
# without it rather than held up (NATS answers at once when no notifier is running at all).
TASK_NOTIFICATIONS_TIMEOUT_SECONDS = 1.0


async def notifications_of_task(door: Any, who: Any, task_id: UUID) -> list[dict[str, Any]]:
    """What was sent about a task (offers, reminders, escalations, an undeliverable offer):
    each with its channel, status and every attempt; [] when notify does not answer in time
    or the caller may not read notifications."""
    if not permitted(who, "read_notifications"):
        return []
    query = NotificationQuery(item_id=task_id, actor=who.actor)
    try:
        response = await door.broker.request(
            query,
            command_subject(NOTIFY, "query"),
            timeout=TASK_NOTIFICATIONS_TIMEOUT_SECONDS,
        )
    except (NoRespondersError, NatsTimeoutError, TimeoutError):
        return []
    answer = CommandReply.model_validate_json(response.body)
    found: list[dict[str, Any]] = answer.result.get("notifications", [])
    return found
