"""What notify decides of its upstream's events (hold's and build's, through the tracked
consumer, one transaction with their tracking position): what it notes of each item, and the
notifications and offer watches an offer, a reminder, an escalation, an unplaced task, a
milestone's escalation or a dead letter calls for. ``decide`` is also how the dispatcher's
commands tell the leadership group (handlers.py).

Reads that only read (an agency's contact points, a case's facts) are not copied out of the
application's cache (``Unit.peek``); what is changed is (``Unit.get``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
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
from services.notify.commands import FromUpstream
from services.notify.domain import (
    LEADERSHIP,
    AgencyContacts,
    ItemFacts,
    Notification,
    OfferWatch,
)
from services.notify.policy import HOLDER_LEVELS, LEADERSHIP_PURPOSES, escalation_to, message_of
from services.runtime.deciding import Unit
from services.runtime.meta import Meta

if TYPE_CHECKING:
    from services.notify.application import NotifyApplication


def contacts_of(unit: Unit, agency: str, *, to_change: bool = True) -> AgencyContacts | None:
    """An agency's contact points; ``to_change=False``: only to read (not copied)."""
    if to_change:
        return unit.get(AgencyContacts.create_id(agency), AgencyContacts)
    return unit.peek(AgencyContacts.create_id(agency), AgencyContacts)


def facts_of(unit: Unit, item_id: UUID, *, to_change: bool = True) -> ItemFacts | None:
    """What notify knows of an item; ``to_change=False``: only to read (not copied)."""
    if to_change:
        return unit.get(ItemFacts.create_id(item_id), ItemFacts)
    return unit.peek(ItemFacts.create_id(item_id), ItemFacts)


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
            case = facts_of(unit, e.case_id, to_change=False)
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
            known = facts_of(unit, e.milestone_id, to_change=False)
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
    if facts_of(unit, e.task_id, to_change=False) is None:
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
    contacts = contacts_of(unit, agency, to_change=False)
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
    contacts = contacts_of(unit, agency, to_change=False)
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
