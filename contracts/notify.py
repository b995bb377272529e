"""Events published by the notify service: contact points and each notification's life.

No target (URL, secret, address) is ever published; a notification carries what its message
said, which is ids, codes, times, a place and a link, never a name, an age, an address or a note.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import Field

from contracts.envelope import Code, IntegrationEvent


class ContactPointChanged(IntegrationEvent):
    source: ClassVar[str] = "notify"
    event_type: Literal["ContactPointChanged"] = "ContactPointChanged"
    schema_version: Literal[1] = 1
    agency: Code
    contact_id: UUID
    change: Literal["added", "disabled", "failing", "recovered"]
    channel: Literal["webhook", "email"] | None = None
    purpose: Code | None = None
    label: str | None = None  # a webhook's host, an address's domain
    why: str | None = None


class NotificationChanged(IntegrationEvent):
    """A step in one notification's life: queued, attempted, delivered, failed, given up."""

    source: ClassVar[str] = "notify"
    event_type: Literal["NotificationChanged"] = "NotificationChanged"
    schema_version: Literal[1] = 1
    notification_id: UUID
    change: Literal["queued", "attempted", "delivered", "failed", "given_up"]
    kind: Code | None = None  # offered, reminder, escalation, unplaced, ... (on queued)
    agency: Code | None = None
    purpose: Code | None = None
    channel: Literal["webhook", "email"] | None = None
    contact_id: UUID | None = None
    item_id: UUID | None = None
    facts: dict[str, Any] = Field(default_factory=dict)
    attempt: int | None = None
    detail: str | None = None
    next_attempt_at: datetime | None = None


# Commands the front door sends notify (cmd.notify.<name>); they are here, beside notify's
# events, so the command contracts of the other services stay as they were.
from contracts.commands import Command  # noqa: E402


class ContactPointCommand(Command):
    """Add a contact point (``add``: channel, purpose and the sealed target), or ``test`` or
    ``disable`` one (``contact_id``). ``target`` is sealed by the front door before it leaves:
    a webhook's URL and secret, or an e-mail address, as JSON."""

    action: Literal["add", "test", "disable"]
    agency: Code
    contact_id: UUID
    channel: Literal["webhook", "email"] | None = None
    purpose: Literal["intake", "lead", "chair", "operators", "worker"] | None = None
    target: str | None = Field(default=None, max_length=10_000)
    label: str | None = Field(default=None, max_length=200)
    worker_ref: str | None = Field(default=None, max_length=128)
    ping_id: UUID | None = None


class NotificationQuery(Command):
    """The notifications (filters: the agency told, the task or milestone, the status), or an
    agency's contact points (``contacts_of``), without their targets."""

    agency: Code | None = None
    item_id: UUID | None = None
    status: Literal["queued", "attempting", "failed", "delivered", "given_up"] | None = None
    contacts_of: Code | None = None
    limit: int = Field(default=500, ge=1, le=5000)
