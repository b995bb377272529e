"""What notify is asked to do, in its own words: its policy (upstream events), its transport
(the front door's contact-point requests) and its dispatcher (attempts, outcomes, watches)
build these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from contracts import IntegrationEvent
from services.runtime.meta import Meta


@dataclass(frozen=True)
class FromUpstream:
    """An upstream event notify has something to do with."""

    event: IntegrationEvent
    meta: Meta


@dataclass(frozen=True)
class AddContact:
    agency: str
    contact_id: UUID
    channel: str
    purpose: str
    target: str  # sealed
    label: str
    worker_ref: str | None
    meta: Meta


@dataclass(frozen=True)
class DisableContact:
    agency: str
    contact_id: UUID
    meta: Meta


@dataclass(frozen=True)
class PingContact:
    """A test delivery to one contact point; ``ping_id`` makes the request idempotent."""

    agency: str
    contact_id: UUID
    ping_id: UUID
    meta: Meta


# The dispatcher's commands carry only the time: the application makes their meta from the
# notification (or watch) itself, its operation and the upstream event that caused it.
@dataclass(frozen=True)
class RecordAttempt:
    notification_id: UUID
    at: datetime


@dataclass(frozen=True)
class RecordOutcome:
    notification_id: UUID
    outcome: Literal["delivered", "failed", "gone"]
    detail: str
    at: datetime
    jitter: float = 0.5  # in [0, 1]: drawn by the dispatcher, stored in the schedule


@dataclass(frozen=True)
class SettleWatch:
    watch_id: UUID
    at: datetime
