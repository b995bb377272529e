"""How notify decides each command: the table ``HANDLERS`` (command type → function), run by
the one command path (services/runtime/application.py). Upstream events' commands come in
batches from the tracked consumer, one transaction with their tracking position, so a
notification is decided exactly once per upstream event; the dispatcher's (attempts, outcomes,
watches) in batches of their own; the front door's (contact points) behind group commit.

Each handler reads and changes aggregates through its ``Unit``: it sees what earlier commands
of its batch did, and a refusal leaves nothing behind. Guards come first. What upstream events
decide is in upstream.py; the front door's and the dispatcher's commands are here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple
from uuid import UUID

from services.notify.commands import (
    AddContact,
    DisableContact,
    FromUpstream,
    PingContact,
    RecordAttempt,
    RecordOutcome,
    SettleWatch,
)
from services.notify.domain import (
    ACTIVE,
    DELIVERED,
    FINISHED,
    LEADERSHIP,
    AgencyContacts,
    ContactNotFound,
    Notification,
    OfferWatch,
    check_active,
    retry_delay,
)
from services.notify.policy import LEADERSHIP_PURPOSES
from services.notify.upstream import contacts_of, decide, facts_of, from_upstream
from services.runtime.deciding import Handlers, Unit
from services.runtime.meta import SERVICE_ACTORS, Meta

if TYPE_CHECKING:
    from services.notify.application import NotifyApplication


def add_contact(app: NotifyApplication, c: AddContact, unit: Unit) -> None:
    contacts = contacts_of(unit, c.agency)
    if contacts is None:
        contacts = AgencyContacts(agency=c.agency, meta=c.meta)
    contacts.add(c.contact_id, c.channel, c.purpose, c.target, c.label, c.worker_ref, c.meta)
    unit.collect(contacts)


def disable_contact(app: NotifyApplication, c: DisableContact, unit: Unit) -> None:
    contacts = contacts_of(unit, c.agency)
    if contacts is None:
        raise ContactNotFound(f"no contact point {c.contact_id}")
    if contacts.disable(c.contact_id, "by_request", c.meta):
        unit.collect(contacts)


def ping_contact(app: NotifyApplication, c: PingContact, unit: Unit) -> None:
    contacts = contacts_of(unit, c.agency)
    if contacts is None:
        raise ContactNotFound(f"no contact point {c.contact_id} at {c.agency}")
    contact = contacts.contact(c.contact_id)
    check_active(contact)
    nid = Notification.create_id(c.ping_id, "ping", c.agency, c.contact_id)
    if unit.get(nid, Notification) is not None:
        return
    n = Notification(
        cause=c.ping_id,
        kind="ping",
        agency=c.agency,
        purpose=contact["purpose"],
        contact_id=c.contact_id,
        channel=contact["channel"],
        item_id=None,
        facts={"event": "ping", "agency": c.agency},
        meta=c.meta,
    )
    unit.collect(n)


def notifier_meta(at: datetime, operation_id: UUID, cause: UUID | None) -> Meta:
    """The dispatcher's commands carry only a time: their meta is the notifier's own."""
    return Meta(at, operation_id, SERVICE_ACTORS["notify"], causation_id=cause)


class ToSend(NamedTuple):
    """An attempt recorded: the notification as it now is, and its contact point's sealed
    target, so the dispatcher sends without reading either again."""

    notification: Notification
    target: str  # sealed


def record_attempt(app: NotifyApplication, c: RecordAttempt, unit: Unit) -> ToSend | None:
    """The attempt recorded before the message is sent; None: not to be sent (finished, or its
    contact point was disabled meanwhile and it was given up)."""
    n = unit.get(c.notification_id, Notification)
    if n is None or n.status in FINISHED:
        return None
    meta = notifier_meta(c.at, n.operation_id, n.cause)
    contacts = contacts_of(unit, n.agency, to_change=False)
    assert n.contact_id is not None  # one without a contact point was given up at once
    if contacts is None or contacts.contact(n.contact_id)["status"] != ACTIVE:
        n.gave_up(why="contact_disabled", meta=meta)
        unit.collect(n)
        return None
    n.attempted(meta)
    unit.collect(n)
    return ToSend(n, contacts.contact(n.contact_id)["target"])


def record_outcome(app: NotifyApplication, c: RecordOutcome, unit: Unit) -> None:
    n = unit.get(c.notification_id, Notification)
    if n is None or n.status in FINISHED or n.contact_id is None:
        return
    contacts = contacts_of(unit, n.agency)
    assert contacts is not None
    p = app.policy_of
    meta = notifier_meta(c.at, n.operation_id, n.cause)
    if c.outcome == "delivered":
        n.delivered(detail=c.detail, meta=meta)
        contacts.succeeded(n.contact_id, meta)
    elif c.outcome == "gone":
        n.gave_up(why="gone", meta=meta)
        if contacts.disable(n.contact_id, "gone", meta):
            contact_lost(app, unit, contacts, n.contact_id, "gone", meta)
    elif contacts.failed(n.contact_id, meta, p.contact_fail_window):
        n.gave_up(why="contact_disabled", meta=meta)
        contact_lost(app, unit, contacts, n.contact_id, "failing", meta)
    else:
        delay = retry_delay(n.attempts, c.jitter, p.retry_base_seconds, p.retry_cap_seconds)
        at = c.at + delay
        if at - n.queued_at > p.retry_window:
            n.gave_up(why="expired", meta=meta)
        else:
            n.failed(detail=c.detail, next_attempt_at=at, meta=meta)
    unit.collect(n, contacts)


def contact_lost(
    app: NotifyApplication,
    unit: Unit,
    contacts: AgencyContacts,
    contact_id: UUID,
    why: str,
    meta: Meta,
) -> None:
    """A contact point was disabled by its failures: the leadership group is told."""
    contact = contacts.contact(contact_id)
    facts = {
        "agency": contacts.agency,
        "contact_id": str(contact_id),
        "channel": contact["channel"],
        "purpose": contact["purpose"],
        "why": why,
    }
    cause = Notification.create_id(contact_id, "contact_disabled", why, None)
    decide(app, unit, "contact_disabled", cause, LEADERSHIP, LEADERSHIP_PURPOSES, None, facts, meta)


def settle_watch(app: NotifyApplication, c: SettleWatch, unit: Unit) -> None:
    watch = unit.get(c.watch_id, OfferWatch)
    if watch is None or watch.settled:
        return
    delivered = any(
        (n := unit.get(nid, Notification)) is not None and n.status == DELIVERED
        for nid in watch.notification_ids
    )
    meta = notifier_meta(c.at, watch.operation_id, watch.cause)
    watch.settle(delivered=delivered, meta=meta)
    unit.collect(watch)
    if not delivered:
        # What is known of the task now (a watch started before it was stored once, as the
        # item's facts, carries its own).
        known = facts_of(unit, watch.task_id, to_change=False)
        facts = {**(watch.facts or (known.facts if known else {})), "agency": watch.agency}
        decide(
            app, unit, "undeliverable_offer", watch.id, LEADERSHIP, LEADERSHIP_PURPOSES,
            watch.task_id, facts, meta,
        )  # fmt: skip


HANDLERS: Handlers = {
    FromUpstream: from_upstream,
    AddContact: add_contact,
    DisableContact: disable_contact,
    PingContact: ping_contact,
    RecordAttempt: record_attempt,
    RecordOutcome: record_outcome,
    SettleWatch: settle_watch,
}
