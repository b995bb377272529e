"""Notify's stored events as the integration events other services see (the relay publishes
what ``translate`` gives): contact points' changes without their targets, and each step of a
notification's life. Item facts and offer watches stay in notify's store."""

from __future__ import annotations

from typing import Any

from contracts.notify import ContactPointChanged, NotificationChanged
from services.notify.domain import AgencyContacts, Notification
from services.runtime.translation import Rule, Translation, envelope

C, N = AgencyContacts, Notification


def _contact(change: str, **given: Any) -> Rule:
    def rule(e: Any) -> ContactPointChanged:
        fields = {name: getattr(e, attr) for name, attr in given.items()}
        return ContactPointChanged(
            **envelope("notify", e),
            agency=e.agency,
            contact_id=e.contact_id,
            change=change,
            **fields,
        )

    return rule


def _queued(e: Any) -> NotificationChanged:
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


def _step(change: str) -> Rule:
    def rule(e: Any) -> NotificationChanged:
        return NotificationChanged(
            **envelope("notify", e),
            notification_id=e.originator_id,
            change=change,
            attempt=getattr(e, "attempt", None),
            detail=getattr(e, "detail", None) or getattr(e, "why", None),
            next_attempt_at=getattr(e, "next_attempt_at", None),
        )

    return rule


# A dead letter translates the same in every service (the runtime's rule, already in the table).
translate = Translation("notify")
translate.rules |= {
    C.ContactAdded: _contact("added", channel="channel", purpose="purpose", label="label"),
    C.ContactDisabled: _contact("disabled", why="why"),
    C.ContactFailing: _contact("failing"),
    C.ContactRecovered: _contact("recovered"),
    N.Queued: _queued,
    N.Attempted: _step("attempted"),
    N.Delivered: _step("delivered"),
    N.Failed: _step("failed"),
    N.GaveUp: _step("given_up"),
}
