"""Notify's application: decides each notification once, and records every step of its life.

Upstream events come in through the tracked consumer (one transaction with their tracking
position, so a notification is decided exactly once per upstream event); the dispatcher records
attempts and outcomes; the front door adds, tests and disables contact points. No I/O here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

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
    Policy,
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
    retry_delay,
)
from services.notify.routing import (
    HOLDER_LEVELS,
    LEADERSHIP_PURPOSES,
    escalation_to,
    message_of,
)
from services.runtime.application import ServiceApplication, Unit, fetch
from services.runtime.clock import Clock
from services.runtime.meta import SERVICE_ACTORS, Meta

PE = Unit


def _decided(app: ServiceApplication, command: object, unit: Unit) -> None:
    assert isinstance(app, NotifyApplication)
    app.handle(command, unit)


class NotifyApplication(ServiceApplication):
    name = "notify"
    # The runtime's one command path: every command of notify's goes to ``handle``.
    handlers = dict.fromkeys(
        (
            FromUpstream,
            AddContact,
            DisableContact,
            PingContact,
            RecordAttempt,
            RecordOutcome,
            SettleWatch,
        ),
        _decided,
    )

    def __init__(
        self,
        env: dict[str, str] | None = None,
        clock: Clock | None = None,
        policy: Policy | None = None,
    ) -> None:
        super().__init__(env, clock)
        self.policy_of = policy or Policy()

    # reads
    def get_contacts(self, agency: str) -> AgencyContacts | None:
        try:
            return fetch(self, AgencyContacts.create_id(agency), AgencyContacts)
        except AggregateNotFoundError:
            return None

    def get_notification(self, notification_id: UUID) -> Notification:
        return fetch(self, notification_id, Notification)

    # decisions
    def handle(self, command: Any, pe: PE) -> None:
        match command:
            case FromUpstream():
                self._upstream(command, pe)
            case AddContact():
                self._add_contact(command, pe)
            case DisableContact():
                contacts = self._contacts(pe, command.agency)
                if contacts is None:
                    raise ContactNotFound(f"no contact point {command.contact_id}")
                if contacts.disable(command.contact_id, "by_request", command.meta):
                    pe.collect(contacts)
            case PingContact():
                self._ping(command, pe)
            case RecordAttempt():
                self._attempt(command, pe)
            case RecordOutcome():
                self._outcome(command, pe)
            case SettleWatch():
                self._settle(command, pe)
            case _:
                raise TypeError(f"notify has no handler for {type(command).__name__}")

    def _contacts(self, pe: PE, agency: str) -> AgencyContacts | None:
        return pe.get(AgencyContacts.create_id(agency), AgencyContacts)

    def _facts(self, pe: PE, item_id: UUID) -> ItemFacts | None:
        return pe.get(ItemFacts.create_id(item_id), ItemFacts)

    def _note(self, pe: PE, item_id: UUID, **facts: Any) -> dict[str, Any]:
        known = self._facts(pe, item_id)
        if known is None:
            known = ItemFacts(item_id=item_id, facts=facts)
        else:
            known.update(**facts)
        pe.collect(known)
        return dict(known.facts)

    def _upstream(self, command: FromUpstream, pe: PE) -> None:
        e, meta = command.event, command.meta
        match e:
            case WhanauCaseOpened():
                self._note(pe, e.case_id, place=e.place)
            case SupportTaskOpened():
                case = self._facts(pe, e.case_id)
                facts = self._note(
                    pe,
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
                self._offer(pe, e.event_id, e.task_id, e.lead_agency, facts, meta)
            case SupportTaskRescheduled():
                self._note(pe, e.task_id, due_at=e.due_at.isoformat())
            case SupportTaskChanged():
                self._task_changed(e, meta, pe)
            case MilestoneScheduled():
                self._note(
                    pe,
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
                known = self._facts(pe, e.milestone_id)
                facts = dict(known.facts) if known else {"milestone_id": str(e.milestone_id)}
                level = str(e.detail.get("level", ""))
                facts["level"] = level
                agency, purposes = escalation_to(level, facts.get("agency"))
                self._decide(
                    pe,
                    "milestone_escalation",
                    e.event_id,
                    agency,
                    purposes,
                    e.milestone_id,
                    facts,
                    meta,
                )
            case DeadLetterRecorded():
                facts = {
                    "consumer": e.consumer,
                    "subject": e.subject,
                    "stream_sequence": e.stream_sequence,
                }
                self._decide(
                    pe, "dead_letter", e.event_id, SYSTEM_AGENCY, ("operators",), None, facts, meta
                )

    def _task_changed(self, e: SupportTaskChanged, meta: Meta, pe: PE) -> None:
        if self._facts(pe, e.task_id) is None:
            return  # a task opened before notify existed: nothing to say about it
        if e.change in ("offered", "accepted"):
            facts = self._note(pe, e.task_id, agency=e.agency, worker_ref=None)
        elif e.change == "assigned":
            facts = self._note(pe, e.task_id, worker_ref=e.worker_ref)
        elif e.change == "unplaced":
            facts = self._note(pe, e.task_id, agency=None, worker_ref=None)
        else:
            facts = self._note(pe, e.task_id)
        if e.change == "offered" and e.agency:
            self._offer(pe, e.event_id, e.task_id, e.agency, facts, meta)
        elif e.change == "unplaced":
            self._decide(
                pe, "unplaced", e.event_id, LEADERSHIP, LEADERSHIP_PURPOSES, e.task_id, facts, meta
            )
        elif e.change == "reminded":
            self._to_holder(pe, "reminder", e, facts, meta)
        elif e.change == "escalated":
            level = str(e.detail.get("level", ""))
            facts = {**facts, "level": level, "step": e.detail.get("step")}
            if level in HOLDER_LEVELS:
                self._to_holder(pe, "escalation", e, facts, meta)
            else:
                agency, purposes = escalation_to(level, facts.get("agency") or e.agency)
                self._decide(pe, "escalation", e.event_id, agency, purposes, e.task_id, facts, meta)

    def _to_holder(
        self, pe: PE, kind: str, e: SupportTaskChanged, facts: dict[str, Any], meta: Meta
    ) -> None:
        """The holding agency: its assigned worker's contact points when there are any."""
        agency = facts.get("agency") or e.agency
        if not agency:
            self._decide(
                pe, kind, e.event_id, LEADERSHIP, LEADERSHIP_PURPOSES, e.task_id, facts, meta
            )
            return
        worker = facts.get("worker_ref")
        contacts = self._contacts(pe, agency)
        if worker and contacts is not None and contacts.active("worker", worker_ref=worker):
            self._decide(
                pe, kind, e.event_id, agency, ("worker",), e.task_id, facts, meta, worker_ref=worker
            )
        else:
            self._decide(pe, kind, e.event_id, agency, ("intake",), e.task_id, facts, meta)

    def _offer(
        self, pe: PE, cause: UUID, task_id: UUID, agency: str, facts: dict[str, Any], meta: Meta
    ) -> None:
        """Offer to the agency's intake, and watch that one of them accepts it in time."""
        ids = self._decide(pe, "offered", cause, agency, ("intake",), task_id, facts, meta)
        if pe.get(OfferWatch.create_id(cause), OfferWatch) is not None:
            return  # decided before
        p = self.policy_of
        due = facts.get("due_at")
        urgent = due is not None and (
            datetime.fromisoformat(due) - meta.occurred_at <= p.urgent_within
        )
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
        pe.collect(watch)

    def _decide(
        self,
        pe: PE,
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
        message = message_of(kind, item_id, facts, self.policy_of.link_base)
        contacts = self._contacts(pe, agency)
        targets = contacts.active(*purposes, worker_ref=worker_ref) if contacts else []
        made: list[UUID] = []
        options: list[dict[str, Any] | None] = [*targets] or [None]
        for contact in options:
            contact_id = UUID(contact["contact_id"]) if contact else None
            nid = Notification.create_id(cause, kind, agency, contact_id)
            if pe.get(nid, Notification) is not None:
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
            pe.collect(n)
            made.append(nid)
        return made

    def _add_contact(self, c: AddContact, pe: PE) -> None:
        contacts = self._contacts(pe, c.agency)
        if contacts is None:
            contacts = AgencyContacts(agency=c.agency, meta=c.meta)
        contacts.add(c.contact_id, c.channel, c.purpose, c.target, c.label, c.worker_ref, c.meta)
        pe.collect(contacts)

    def _ping(self, c: PingContact, pe: PE) -> None:
        contacts = self._contacts(pe, c.agency)
        if contacts is None:
            raise ContactNotFound(f"no contact point {c.contact_id} at {c.agency}")
        contact = contacts.contact(c.contact_id)
        if contact["status"] != ACTIVE:
            raise ContactNotFound(f"contact point {c.contact_id} is disabled")
        nid = Notification.create_id(c.ping_id, "ping", c.agency, c.contact_id)
        if pe.get(nid, Notification) is not None:
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
        pe.collect(n)

    @staticmethod
    def _meta(at: datetime, operation_id: UUID, cause: UUID | None) -> Meta:
        return Meta(at, operation_id, SERVICE_ACTORS["notify"], causation_id=cause)

    def _attempt(self, c: RecordAttempt, pe: PE) -> None:
        n = pe.get(c.notification_id, Notification)
        if n is None or n.status in FINISHED:
            return
        meta = self._meta(c.at, n.operation_id, n.cause)
        contacts = self._contacts(pe, n.agency)
        assert n.contact_id is not None  # one without a contact point was given up at once
        if contacts is None or contacts.contact(n.contact_id)["status"] != ACTIVE:
            n.gave_up(why="contact_disabled", meta=meta)
        else:
            n.attempted(meta)
        pe.collect(n)

    def _outcome(self, c: RecordOutcome, pe: PE) -> None:
        n = pe.get(c.notification_id, Notification)
        if n is None or n.status in FINISHED or n.contact_id is None:
            return
        contacts = self._contacts(pe, n.agency)
        assert contacts is not None
        p = self.policy_of
        meta = self._meta(c.at, n.operation_id, n.cause)
        if c.outcome == "delivered":
            n.delivered(detail=c.detail, meta=meta)
            contacts.succeeded(n.contact_id, meta)
        elif c.outcome == "gone":
            n.gave_up(why="gone", meta=meta)
            if contacts.disable(n.contact_id, "gone", meta):
                self._contact_lost(pe, contacts, n.contact_id, "gone", meta)
        elif contacts.failed(n.contact_id, meta, p.contact_fail_window):
            n.gave_up(why="contact_disabled", meta=meta)
            self._contact_lost(pe, contacts, n.contact_id, "failing", meta)
        else:
            delay = retry_delay(n.attempts, c.jitter, p.retry_base_seconds, p.retry_cap_seconds)
            at = c.at + delay
            if at - n.queued_at > p.retry_window:
                n.gave_up(why="expired", meta=meta)
            else:
                n.failed(detail=c.detail, next_attempt_at=at, meta=meta)
        pe.collect(n, contacts)

    def _contact_lost(
        self, pe: PE, contacts: AgencyContacts, contact_id: UUID, why: str, meta: Meta
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
        self._decide(
            pe, "contact_disabled", cause, LEADERSHIP, LEADERSHIP_PURPOSES, None, facts, meta
        )

    def _settle(self, c: SettleWatch, pe: PE) -> None:
        watch = pe.get(c.watch_id, OfferWatch)
        if watch is None or watch.settled:
            return
        delivered = any(
            (n := pe.get(nid, Notification)) is not None and n.status == DELIVERED
            for nid in watch.notification_ids
        )
        meta = self._meta(c.at, watch.operation_id, watch.cause)
        watch.settle(delivered=delivered, meta=meta)
        pe.collect(watch)
        if not delivered:
            facts = {**watch.facts, "agency": watch.agency}
            self._decide(
                pe,
                "undeliverable_offer",
                watch.id,
                LEADERSHIP,
                LEADERSHIP_PURPOSES,
                watch.task_id,
                facts,
                meta,
            )
