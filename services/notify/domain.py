"""Notify's aggregates: agencies' contact points, each notification's life, and offer watches.

Nothing here does I/O. A notification is one message to one contact point (or the record that
there was none to send it to); its id is derived from the upstream event that caused it and the
contact point, so deciding it again lands on the same aggregate. The retry schedule is stored
in its events (``next_attempt_at``), so a restart resumes it where it was.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.runtime.errors import Missing, RuleBroken
from services.runtime.meta import Meta, derived_id

Channel = Literal["webhook", "email"]
CHANNELS: tuple[str, ...] = ("webhook", "email")
# Who at an agency a contact point reaches. "worker" is one worker's address (its worker_ref).
PURPOSES: tuple[str, ...] = ("intake", "lead", "chair", "operators", "worker")
# The local leadership group: its contact points are told of unplaced tasks, undeliverable
# offers and failing contact points; its "chair" contact points of the last escalation step.
LEADERSHIP = "rocc_leadership_group"

QUEUED, ATTEMPTING, FAILED, DELIVERED, GIVEN_UP = (
    "queued",
    "attempting",
    "failed",
    "delivered",
    "given_up",
)
STATUSES = (QUEUED, ATTEMPTING, FAILED, DELIVERED, GIVEN_UP)
FINISHED = (DELIVERED, GIVEN_UP)

ACTIVE, DISABLED = "active", "disabled"


class ContactRuleBroken(RuleBroken):
    """A change the agency's contact points do not allow (HTTP 409)."""


class ContactNotFound(Missing):
    """No such contact point at this agency (HTTP 404)."""


class AgencyContacts(Aggregate):
    """One agency's contact points. The target (URL and secret, or address) is stored sealed
    (services/runtime/sealing.py) and only the notifier opens it, in memory, to send; the
    label (a webhook's host, an address's domain) is what anyone is shown."""

    class Started(Aggregate.Created):
        agency: str
        meta: Meta

    class ContactAdded(Aggregate.Event):
        agency: str
        contact_id: UUID
        channel: str
        purpose: str
        target: str  # sealed
        label: str
        worker_ref: str | None
        meta: Meta

    class ContactDisabled(Aggregate.Event):
        agency: str
        contact_id: UUID
        why: str  # by_request | gone (HTTP 410) | failing (a day without a delivery)
        meta: Meta

    class ContactFailing(Aggregate.Event):
        agency: str
        contact_id: UUID
        since: datetime
        meta: Meta

    class ContactRecovered(Aggregate.Event):
        agency: str
        contact_id: UUID
        meta: Meta

    @staticmethod
    def create_id(agency: str) -> UUID:
        return derived_id("notify-contacts", agency)

    @event(Started)
    def __init__(self, agency: str, meta: Meta) -> None:
        self.agency = agency
        self.contacts: dict[str, dict[str, Any]] = {}

    def contact(self, contact_id: UUID) -> dict[str, Any]:
        found = self.contacts.get(str(contact_id))
        if found is None:
            raise ContactNotFound(f"no contact point {contact_id} at {self.agency}")
        return found

    def active(self, *purposes: str, worker_ref: str | None = None) -> list[dict[str, Any]]:
        """Active contact points for any of ``purposes`` (a worker's only for that worker)."""
        return [
            c
            for c in self.contacts.values()
            if c["status"] == ACTIVE
            and c["purpose"] in purposes
            and (c["purpose"] != "worker" or c["worker_ref"] == worker_ref)
        ]

    def add(
        self,
        contact_id: UUID,
        channel: str,
        purpose: str,
        target: str,
        label: str,
        worker_ref: str | None,
        meta: Meta,
    ) -> None:
        if channel not in CHANNELS:
            raise ContactRuleBroken(f"channel must be one of {', '.join(CHANNELS)}")
        if purpose not in PURPOSES:
            raise ContactRuleBroken(f"purpose must be one of {', '.join(PURPOSES)}")
        if (purpose == "worker") != bool(worker_ref):
            raise ContactRuleBroken("a worker_ref goes with purpose worker, and only with it")
        if str(contact_id) in self.contacts:
            return  # the same request again: already added
        self._added(
            agency=self.agency,
            contact_id=contact_id,
            channel=channel,
            purpose=purpose,
            target=target,
            label=label,
            worker_ref=worker_ref,
            meta=meta,
        )

    @event(ContactAdded)
    def _added(
        self,
        agency: str,
        contact_id: UUID,
        channel: str,
        purpose: str,
        target: str,
        label: str,
        worker_ref: str | None,
        meta: Meta,
    ) -> None:
        self.contacts[str(contact_id)] = {
            "contact_id": str(contact_id),
            "agency": self.agency,
            "channel": channel,
            "purpose": purpose,
            "target": target,
            "label": label,
            "worker_ref": worker_ref,
            "status": ACTIVE,
            "disabled_why": None,
            "failing_since": None,
            "added_at": meta.occurred_at.isoformat(),
        }

    def disable(self, contact_id: UUID, why: str, meta: Meta) -> bool:
        """False when it was disabled already (nothing recorded)."""
        if self.contact(contact_id)["status"] == DISABLED:
            return False
        self._disabled(agency=self.agency, contact_id=contact_id, why=why, meta=meta)
        return True

    @event(ContactDisabled)
    def _disabled(self, agency: str, contact_id: UUID, why: str, meta: Meta) -> None:
        c = self.contacts[str(contact_id)]
        c["status"], c["disabled_why"] = DISABLED, why

    def failed(self, contact_id: UUID, meta: Meta, window: timedelta) -> bool:
        """A delivery to it failed. True when it has now failed for ``window`` and was disabled."""
        c = self.contact(contact_id)
        if c["status"] == DISABLED:
            return False
        if c["failing_since"] is None:
            self._failing(
                agency=self.agency, contact_id=contact_id, since=meta.occurred_at, meta=meta
            )
            return False
        if meta.occurred_at - datetime.fromisoformat(c["failing_since"]) >= window:
            self._disabled(agency=self.agency, contact_id=contact_id, why="failing", meta=meta)
            return True
        return False

    @event(ContactFailing)
    def _failing(self, agency: str, contact_id: UUID, since: datetime, meta: Meta) -> None:
        self.contacts[str(contact_id)]["failing_since"] = since.isoformat()

    def succeeded(self, contact_id: UUID, meta: Meta) -> None:
        if self.contact(contact_id)["failing_since"] is not None:
            self._recovered(agency=self.agency, contact_id=contact_id, meta=meta)

    @event(ContactRecovered)
    def _recovered(self, agency: str, contact_id: UUID, meta: Meta) -> None:
        self.contacts[str(contact_id)]["failing_since"] = None


def public_contact(c: dict[str, Any]) -> dict[str, Any]:
    """A contact point as anyone may see it: never its target (URL, secret or address)."""
    return {k: v for k, v in c.items() if k != "target"}


class Notification(Aggregate):
    """One message to one contact point, from queued to delivered or given up.

    ``facts`` is all a message says: the kind of event, the item (task or milestone) by id,
    kind, due time, agency, operation and place, and a link. Never a name, an age, an address
    or a note: the policy builds it from ids and codes only.
    """

    class Queued(Aggregate.Created):
        cause: UUID  # the upstream event (or request) it was decided for
        kind: str
        agency: str  # whose contact point it goes to
        purpose: str
        contact_id: UUID | None  # None: the agency had no contact point for it
        channel: str | None
        item_id: UUID | None  # the task or milestone it is about
        facts: dict[str, Any]
        meta: Meta

    class Attempted(Aggregate.Event):
        attempt: int
        meta: Meta

    class Delivered(Aggregate.Event):
        detail: str  # "HTTP 200", "SMTP 250"
        meta: Meta

    class Failed(Aggregate.Event):
        detail: str  # "HTTP 503", "timeout": never the receiver's text
        next_attempt_at: datetime
        meta: Meta

    class GaveUp(Aggregate.Event):
        why: str  # no_contact_point | contact_disabled | gone | expired
        meta: Meta

    @staticmethod
    def create_id(cause: UUID, kind: str, agency: str, contact_id: UUID | str | None) -> UUID:
        return derived_id("notification", cause, kind, agency, contact_id or "none")

    @event(Queued)
    def __init__(
        self,
        cause: UUID,
        kind: str,
        agency: str,
        purpose: str,
        contact_id: UUID | None,
        channel: str | None,
        item_id: UUID | None,
        facts: dict[str, Any],
        meta: Meta,
    ) -> None:
        self.cause = cause
        self.kind = kind
        self.agency = agency
        self.purpose = purpose
        self.contact_id = contact_id
        self.channel = channel
        self.item_id = item_id
        self.facts = facts
        self.operation_id = meta.operation_id
        self.queued_at = meta.occurred_at
        self.status = QUEUED
        self.attempts = 0
        self.next_attempt_at: datetime | None = meta.occurred_at
        self.delivered_at: datetime | None = None
        self.detail: str | None = None

    def next_deadline(self) -> datetime | None:
        """When it is next to be sent (the dispatcher's index, runtime/deadlines.py)."""
        return None if self.status in FINISHED else self.next_attempt_at

    @property
    def due_at(self) -> datetime:
        # What "overdue" means for a notification: not delivered when it was first to be sent.
        return self.queued_at

    def attempted(self, meta: Meta) -> None:
        self._attempted(attempt=self.attempts + 1, meta=meta)

    @event(Attempted)
    def _attempted(self, attempt: int, meta: Meta) -> None:
        self.attempts = attempt
        self.status = ATTEMPTING

    @event(Delivered)
    def delivered(self, detail: str, meta: Meta) -> None:
        self.status = DELIVERED
        self.delivered_at = meta.occurred_at
        self.detail = detail
        self.next_attempt_at = None

    @event(Failed)
    def failed(self, detail: str, next_attempt_at: datetime, meta: Meta) -> None:
        self.status = FAILED
        self.detail = detail
        self.next_attempt_at = next_attempt_at

    @event(GaveUp)
    def gave_up(self, why: str, meta: Meta) -> None:
        self.status = GIVEN_UP
        self.detail = why
        self.next_attempt_at = None


def retry_delay(attempt: int, jitter: float, base: float, cap: float) -> timedelta:
    """Exponential back-off with jitter: ``base * 2^(attempt-1)`` up to ``cap`` seconds, times
    a jitter factor in [0.5, 1] so receivers that came back are not hit by every sender at once.
    The jitter is drawn by the caller and the result stored, so a replay decides the same."""
    return timedelta(seconds=min(base * 2 ** (attempt - 1), cap) * (0.5 + jitter / 2))


class OfferWatch(Aggregate):
    """An offer of a task to an agency, watched until one of its contact points accepted it:
    at ``deadline`` without a delivery, the leadership group is told (once)."""

    class Started(Aggregate.Created):
        cause: UUID  # the offer
        task_id: UUID
        agency: str
        deadline: datetime
        notification_ids: list[UUID]
        facts: dict[str, Any]
        meta: Meta

    class Settled(Aggregate.Event):
        delivered: bool  # False: nobody accepted it in time, and the leadership group was told
        meta: Meta

    @staticmethod
    def create_id(cause: UUID) -> UUID:
        return derived_id("offer-watch", cause)

    @event(Started)
    def __init__(
        self,
        cause: UUID,
        task_id: UUID,
        agency: str,
        deadline: datetime,
        notification_ids: list[UUID],
        facts: dict[str, Any],
        meta: Meta,
    ) -> None:
        self.cause = cause
        self.task_id = task_id
        self.agency = agency
        self.deadline = deadline
        self.notification_ids = notification_ids
        self.facts = facts
        self.operation_id = meta.operation_id
        self.settled = False

    @property
    def due_at(self) -> datetime:
        return self.deadline

    def next_deadline(self) -> datetime | None:
        return None if self.settled else self.deadline

    @event(Settled)
    def settle(self, delivered: bool, meta: Meta) -> None:
        self.settled = True


class ItemFacts(Aggregate):
    """What notify knows of a task, a case or a milestone from upstream events: ids, codes,
    times and a place, the only things a notification may say."""

    class Noted(Aggregate.Created):
        item_id: UUID
        facts: dict[str, Any]

    class Updated(Aggregate.Event):
        facts: dict[str, Any]

    @staticmethod
    def create_id(item_id: UUID) -> UUID:
        return derived_id("notify-facts", item_id)

    @event(Noted)
    def __init__(self, item_id: UUID, facts: dict[str, Any]) -> None:
        self.item_id = item_id
        self.facts = dict(facts)

    def update(self, **changes: Any) -> None:
        changed = {k: v for k, v in changes.items() if self.facts.get(k) != v}
        if changed:
            self._updated(facts=changed)

    @event(Updated)
    def _updated(self, facts: dict[str, Any]) -> None:
        self.facts.update(facts)
