"""How notify decides each command: the table ``HANDLERS`` (command type → function), run by
the one command path (services/runtime/application.py). Upstream events' commands come in
batches from the tracked consumer, one transaction with their tracking position, so a
notification is decided exactly once per upstream event; the dispatcher's (attempts, outcomes,
watches) in batches of their own; the front door's (contact points) behind group commit.

Each handler reads and changes aggregates through its ``Unit``: it sees what earlier commands
of its batch did, and a refusal leaves nothing behind. Guards come first.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple
from uuid import UUID

from contracts import (
    DeadLetterRecorded,
    MilestoneChanged,
    MilestoneScheduled,
    SupportTaskChanged,
    SupportTaskOpened,
    SupportTaskRescheduled,
    WhanauCaseOpened,
)
from contracts.agencies import SYSTEM_AGENCY
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
    ItemFacts,
    Notification,
    OfferWatch,
    check_active,
    retry_delay,
)
from services.notify.policy import HOLDER_LEVELS, LEADERSHIP_PURPOSES, escalation_to, message_of
from services.runtime.deciding import Handlers, Unit
from services.runtime.meta import SERVICE_ACTORS, Meta

if TYPE_CHECKING:
    from services.notify.application import NotifyApplication


def contacts_of(unit: Unit, agency: str) -> AgencyContacts | None:
    return unit.get(AgencyContacts.create_id(agency), AgencyContacts)


def facts_of(unit: Unit, item_id: UUID) -> ItemFacts | None:
    return unit.get(ItemFacts.create_id(item_id), ItemFacts)


def note(unit: Unit, item_id: UUID, **facts: Any) -> dict[str, Any]:
    """What notify now knows of an item (recorded), as a message may say it later."""
    known = facts_of(unit, item_id)
    if known is None:
        known = ItemFacts(item_id=item_id, facts=facts)
    else:
        known.update(**facts)
    unit.collect(known)
    return dict(known.facts)


def from_upstream(app: NotifyApplication, c: FromUpstream, unit: Unit) -> None:
    e, meta = c.event, c.meta
    match e:
        case WhanauCaseOpened():
            note(unit, e.case_id, place=e.place)
        case SupportTaskOpened():
            case = facts_of(unit, e.case_id)
            facts = note(
                unit,
                e.task_id,
                item="task",
                task_id=str(e.task_id),
                task_kind=e.kind,
                agency=e.lead_agency,
                due_at=e.due_at.isoformat(),
                operation_id=str(e.operation_id),
                place=case.facts.get("place") if case else None,
                worker_ref=None,
            )
            offer(app, unit, e.event_id, e.task_id, e.lead_agency, facts, meta)
        case SupportTaskRescheduled():
            note(unit, e.task_id, due_at=e.due_at.isoformat())
        case SupportTaskChanged():
            task_changed(app, unit, e, meta)
        case MilestoneScheduled():
            note(
                unit,
                e.milestone_id,
                item="milestone",
                milestone_id=str(e.milestone_id),
                label=e.label,
                agency=e.owner_agency,
                due_at=e.due_at.isoformat(),
                operation_id=str(e.operation_id),
                place=e.place,
            )
        case MilestoneChanged(change="escalated"):
            known = facts_of(unit, e.milestone_id)
            facts = dict(known.facts) if known else {"milestone_id": str(e.milestone_id)}
            level = str(e.detail.get("level", ""))
            facts["level"] = level
            agency, purposes = escalation_to(level, facts.get("agency"))
            decide(
                app, unit, "milestone_escalation", e.event_id, agency, purposes,
                e.milestone_id, facts, meta,
            )  # fmt: skip
        case DeadLetterRecorded():
            facts = {
                "consumer": e.consumer,
                "subject": e.subject,
                "stream_sequence": e.stream_sequence,
            }
            decide(
                app, unit, "dead_letter", e.event_id, SYSTEM_AGENCY, ("operators",), None,
                facts, meta,
            )  # fmt: skip


def task_changed(app: NotifyApplication, unit: Unit, e: SupportTaskChanged, meta: Meta) -> None:
    if facts_of(unit, e.task_id) is None:
        return  # a task opened before notify existed: nothing to say about it
    if e.change in ("offered", "accepted"):
        facts = note(unit, e.task_id, agency=e.agency, worker_ref=None)
    elif e.change == "assigned":
        facts = note(unit, e.task_id, worker_ref=e.worker_ref)
    elif e.change == "unplaced":
        facts = note(unit, e.task_id, agency=None, worker_ref=None)
    else:
        facts = note(unit, e.task_id)
    if e.change == "offered" and e.agency:
        offer(app, unit, e.event_id, e.task_id, e.agency, facts, meta)
    elif e.change == "unplaced":
        decide(
            app, unit, "unplaced", e.event_id, LEADERSHIP, LEADERSHIP_PURPOSES, e.task_id,
            facts, meta,
        )  # fmt: skip
    elif e.change == "reminded":
        to_holder(app, unit, "reminder", e, facts, meta)
    elif e.change == "escalated":
        level = str(e.detail.get("level", ""))
        facts = {**facts, "level": level, "step": e.detail.get("step")}
        if level in HOLDER_LEVELS:
            to_holder(app, unit, "escalation", e, facts, meta)
        else:
            agency, purposes = escalation_to(level, facts.get("agency") or e.agency)
            decide(app, unit, "escalation", e.event_id, agency, purposes, e.task_id, facts, meta)


def to_holder(
    app: NotifyApplication,
    unit: Unit,
    kind: str,
    e: SupportTaskChanged,
    facts: dict[str, Any],
    meta: Meta,
) -> None:
    """The holding agency: its assigned worker's contact points when there are any."""
    agency = facts.get("agency") or e.agency
    if not agency:
        decide(app, unit, kind, e.event_id, LEADERSHIP, LEADERSHIP_PURPOSES, e.task_id, facts, meta)
        return
    worker = facts.get("worker_ref")
    contacts = contacts_of(unit, agency)
    if worker and contacts is not None and contacts.active("worker", worker_ref=worker):
        decide(
            app, unit, kind, e.event_id, agency, ("worker",), e.task_id, facts, meta,
            worker_ref=worker,
        )  # fmt: skip
    else:
        decide(app, unit, kind, e.event_id, agency, ("intake",), e.task_id, facts, meta)


def offer(
    app: NotifyApplication,
    unit: Unit,
    cause: UUID,
    task_id: UUID,
    agency: str,
    facts: dict[str, Any],
    meta: Meta,
) -> None:
    """Offer to the agency's intake, and watch that one of them accepts it in time."""
    ids = decide(app, unit, "offered", cause, agency, ("intake",), task_id, facts, meta)
    if unit.get(OfferWatch.create_id(cause), OfferWatch) is not None:
        return  # decided before
    p = app.policy_of
    due = facts.get("due_at")
    urgent = due is not None and (datetime.fromisoformat(due) - meta.occurred_at <= p.urgent_within)
    wait = p.offer_wait_urgent if urgent else p.offer_wait
    watch = OfferWatch(
        cause=cause,
        task_id=task_id,
        agency=agency,
        deadline=meta.occurred_at + wait,
        notification_ids=ids,
        facts=facts,
        meta=meta,
    )
    unit.collect(watch)


def decide(
    app: NotifyApplication,
    unit: Unit,
    kind: str,
    cause: UUID,
    agency: str,
    purposes: tuple[str, ...],
    item_id: UUID | None,
    facts: dict[str, Any],
    meta: Meta,
    worker_ref: str | None = None,
) -> list[UUID]:
    """One notification per active contact point of ``agency`` for ``purposes``; with none,
    one that is given up at once, so the record says who could not be told."""
    message = message_of(kind, item_id, facts, app.policy_of.link_base)
    contacts = contacts_of(unit, agency)
    targets = contacts.active(*purposes, worker_ref=worker_ref) if contacts else []
    made: list[UUID] = []
    options: list[dict[str, Any] | None] = [*targets] or [None]
    for contact in options:
        contact_id = UUID(contact["contact_id"]) if contact else None
        nid = Notification.create_id(cause, kind, agency, contact_id)
        if unit.get(nid, Notification) is not None:
            made.append(nid)
            continue
        n = Notification(
            cause=cause,
            kind=kind,
            agency=agency,
            purpose=contact["purpose"] if contact else purposes[0],
            contact_id=contact_id,
            channel=contact["channel"] if contact else None,
            item_id=item_id,
            facts=message,
            meta=meta,
        )
        if contact is None:
            n.gave_up(why="no_contact_point", meta=meta)
        unit.collect(n)
        made.append(nid)
    return made


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
    contacts = contacts_of(unit, n.agency)
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
        facts = {**watch.facts, "agency": watch.agency}
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
