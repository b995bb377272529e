"""An agency's contact points: webhooks and e-mail addresses, per purpose, and whether each is
in use (disabled on request, on an HTTP 410, or after failing for a day)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.notify.domain.errors import (
    ACTIVE,
    DISABLED,
    ContactNotFound,
    check_channel,
    check_purpose,
)
from services.runtime.meta import Meta, derived_id

Channel = Literal["webhook", "email"]
# The local leadership group: its contact points are told of unplaced tasks, undeliverable
# offers and failing contact points; its "chair" contact points of the last escalation step.
LEADERSHIP = "rocc_leadership_group"


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
        check_channel(channel)
        check_purpose(purpose, worker_ref)
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
