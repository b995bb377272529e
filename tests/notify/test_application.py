"""Notify's decisions on an in-memory store: who is told of what, once, and the retry rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from contracts import DeadLetterRecorded, MilestoneChanged, MilestoneScheduled
from services.notify.application import NotifyApplication
from services.notify.commands import RecordAttempt, RecordOutcome, SettleWatch
from services.notify.domain import (
    DELIVERED,
    FAILED,
    GIVEN_UP,
    LEADERSHIP,
    Notification,
    OfferWatch,
    retry_delay,
)
from services.runtime.clock import SimulatedClock
from tests.support.notify import (
    add_contact,
    case_opened,
    envelope,
    task_changed,
    task_opened,
    upstream,
)

pytestmark = pytest.mark.application


def notifications(app: NotifyApplication) -> list[Notification]:
    found: list[Notification] = []
    for n in app.recorder.select_notifications(1, 10_000):
        if n.topic.endswith("Notification.Queued"):
            found.append(app.get_notification(n.originator_id))
    return found


def by_kind(app: NotifyApplication, kind: str) -> list[Notification]:
    return [n for n in notifications(app) if n.kind == kind]


def outcome(app: NotifyApplication, n: Notification, result: Any, detail: str) -> None:
    at = app.clock.now()
    app.process_batch([(RecordAttempt(n.id, at), None)])
    app.process_batch([(RecordOutcome(n.id, result, detail, at, jitter=1.0), None)])


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock()


@pytest.fixture
def app(clock: SimulatedClock) -> NotifyApplication:
    return NotifyApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)


def opened_task(app: NotifyApplication, clock: SimulatedClock, hours: float = 2) -> UUID:
    case_id, task_id = uuid4(), uuid4()
    upstream(app, case_opened(clock.now(), case_id))
    upstream(app, task_opened(clock.now(), task_id, case_id, hours=hours))
    return task_id


def test_an_offer_goes_to_every_intake_contact_point_once_and_says_nothing_personal(
    app: NotifyApplication, clock: SimulatedClock
) -> None:
    hook = add_contact(app, "oranga_tamariki")
    mail = add_contact(app, "oranga_tamariki", channel="email", target='{"address": "i@ot.nz"}')
    add_contact(app, "oranga_tamariki", purpose="lead")
    task_id = opened_task(app, clock)

    offers = by_kind(app, "offered")
    assert {n.contact_id for n in offers} == {hook, mail}
    facts = offers[0].facts
    assert facts == {
        "event": "offered",
        "item": "task",
        "task_id": str(task_id),
        "task_kind": "child_safety_check",
        "agency": "oranga_tamariki",
        "due_at": (clock.now() + timedelta(hours=2)).isoformat(),
        "operation_id": "5fcf55ff-bb0b-43c9-80db-9a047c3a90c1",
        "place": "Mataura",
        "link": f"http://127.0.0.1:8080/tasks/{task_id}",
    }


def test_a_reminder_goes_to_the_assigned_workers_contact_point_when_there_is_one(
    app: NotifyApplication, clock: SimulatedClock
) -> None:
    intake = add_contact(app, "oranga_tamariki")
    worker = add_contact(app, "oranga_tamariki", purpose="worker", worker_ref="W-9")
    task_id = opened_task(app, clock)
    upstream(app, task_changed(clock.now(), task_id, "reminded", detail={"step": 0}))
    assert [n.contact_id for n in by_kind(app, "reminder")] == [intake]
    upstream(app, task_changed(clock.now(), task_id, "accepted", agency="oranga_tamariki"))
    upstream(app, task_changed(clock.now(), task_id, "assigned", worker_ref="W-9"))
    upstream(app, task_changed(clock.now(), task_id, "reminded", detail={"step": 1}))
    assert [n.contact_id for n in by_kind(app, "reminder")][1:] == [worker]
    assert "worker_ref" not in by_kind(app, "reminder")[1].facts


def test_escalation_steps_climb_to_the_agency_lead_then_the_chair(
    app: NotifyApplication, clock: SimulatedClock
) -> None:
    lead = add_contact(app, "oranga_tamariki", purpose="lead")
    chair = add_contact(app, LEADERSHIP, purpose="chair")
    task_id = opened_task(app, clock)
    for step, level in enumerate(("agency_lead", "leadership_group_chair")):
        detail = {"step": step, "level": level}
        upstream(app, task_changed(clock.now(), task_id, "escalated", detail=detail))
    assert [n.contact_id for n in by_kind(app, "escalation")] == [lead, chair]


def test_an_unplaced_task_tells_the_leadership_group(
    app: NotifyApplication, clock: SimulatedClock
) -> None:
    group = add_contact(app, LEADERSHIP)
    task_id = opened_task(app, clock)
    upstream(app, task_changed(clock.now(), task_id, "unplaced"))
    assert [n.contact_id for n in by_kind(app, "unplaced")] == [group]


def test_no_contact_point_is_recorded_as_given_up_and_the_leadership_group_told_in_time(
    app: NotifyApplication, clock: SimulatedClock
) -> None:
    group = add_contact(app, LEADERSHIP)
    task_id = opened_task(app, clock)
    [offer] = by_kind(app, "offered")
    assert (offer.status, offer.detail, offer.contact_id) == (GIVEN_UP, "no_contact_point", None)
    watch_id = OfferWatch.create_id(offer.cause)
    watch = app.repository.get(watch_id)
    assert watch.deadline == clock.now() + timedelta(minutes=15)  # due within 4 hours
    app.process_batch([(SettleWatch(watch_id, clock.advance(timedelta(minutes=15))), None)])
    [told] = by_kind(app, "undeliverable_offer")
    assert told.contact_id == group and told.item_id == task_id
    assert told.facts["agency"] == "oranga_tamariki"


def test_a_task_due_later_is_watched_for_longer(
    app: NotifyApplication, clock: SimulatedClock
) -> None:
    opened_task(app, clock, hours=24)
    [offer] = by_kind(app, "offered")
    watch = app.repository.get(OfferWatch.create_id(offer.cause))
    assert watch.deadline == clock.now() + timedelta(hours=1)


def test_a_delivered_offer_settles_its_watch_quietly(
    app: NotifyApplication, clock: SimulatedClock
) -> None:
    add_contact(app, "oranga_tamariki")
    add_contact(app, LEADERSHIP)
    opened_task(app, clock)
    [offer] = by_kind(app, "offered")
    outcome(app, offer, "delivered", "HTTP 200")
    assert app.get_notification(offer.id).status == DELIVERED
    watch_id = OfferWatch.create_id(offer.cause)
    app.process_batch([(SettleWatch(watch_id, clock.advance(timedelta(minutes=15))), None)])
    assert by_kind(app, "undeliverable_offer") == []


def test_failures_retry_on_a_stored_back_off_and_a_day_of_them_disables_the_contact_point(
    app: NotifyApplication, clock: SimulatedClock
) -> None:
    hook = add_contact(app, "oranga_tamariki")
    group = add_contact(app, LEADERSHIP)
    opened_task(app, clock)
    [offer] = by_kind(app, "offered")
    outcome(app, offer, "failed", "HTTP 503")
    n = app.get_notification(offer.id)
    assert n.status == FAILED and n.next_attempt_at == clock.now() + timedelta(seconds=10)
    outcome(app, n, "failed", "HTTP 503")
    assert app.get_notification(offer.id).next_attempt_at == clock.now() + timedelta(seconds=20)
    clock.advance(timedelta(days=1))
    outcome(app, n, "failed", "timeout")
    assert app.get_notification(offer.id).status == GIVEN_UP
    contacts = app.get_contacts("oranga_tamariki")
    assert contacts is not None and contacts.contact(hook)["status"] == "disabled"
    [told] = by_kind(app, "contact_disabled")
    assert told.contact_id == group and told.facts["why"] == "failing"


def test_410_disables_the_contact_point_at_once(
    app: NotifyApplication, clock: SimulatedClock
) -> None:
    hook = add_contact(app, "oranga_tamariki")
    opened_task(app, clock)
    [offer] = by_kind(app, "offered")
    outcome(app, offer, "gone", "HTTP 410")
    assert app.get_notification(offer.id).detail == "gone"
    contacts = app.get_contacts("oranga_tamariki")
    assert contacts is not None and contacts.contact(hook)["disabled_why"] == "gone"
    opened_task(app, clock)
    assert [n.detail for n in by_kind(app, "offered")][1] == "no_contact_point"


def test_the_back_off_grows_with_jitter_up_to_its_cap() -> None:
    assert retry_delay(1, 1.0, 10, 3600) == timedelta(seconds=10)
    assert retry_delay(1, 0.0, 10, 3600) == timedelta(seconds=5)
    assert retry_delay(4, 1.0, 10, 3600) == timedelta(seconds=80)
    assert retry_delay(20, 1.0, 10, 3600) == timedelta(seconds=3600)


def test_the_same_upstream_event_twice_decides_nothing_new(
    app: NotifyApplication, clock: SimulatedClock
) -> None:
    add_contact(app, "oranga_tamariki")
    case_id, task_id = uuid4(), uuid4()
    upstream(app, case_opened(clock.now(), case_id))
    opened = task_opened(clock.now(), task_id, case_id)
    upstream(app, opened)
    upstream(app, opened)
    assert len(by_kind(app, "offered")) == 1


def test_a_milestone_escalation_goes_to_its_owner_agencys_lead_then_the_chair(
    app: NotifyApplication, clock: SimulatedClock
) -> None:
    lead = add_contact(app, "msd", purpose="lead")
    chair = add_contact(app, LEADERSHIP, purpose="chair")
    milestone_id = uuid4()
    at = clock.now()
    upstream(
        app,
        MilestoneScheduled(
            **envelope(at),
            milestone_id=milestone_id,
            plan_id=uuid4(),
            place="Mataura",
            label="Hold review",
            days_after_conclusion=30,
            owner_agency="msd",
            due_at=at + timedelta(days=30),
        ),
    )
    for step, level in enumerate(("owner_agency_lead", "leadership_group_chair")):
        detail = {"step": step, "level": level}
        changed = MilestoneChanged(
            **envelope(at), milestone_id=milestone_id, change="escalated", detail=detail
        )
        upstream(app, changed)
    told = by_kind(app, "milestone_escalation")
    assert [n.contact_id for n in told] == [lead, chair]
    assert told[0].facts["link"] == f"http://127.0.0.1:8080/milestones/{milestone_id}"
    assert (told[0].facts["label"], told[0].facts["place"]) == ("Hold review", "Mataura")


def test_a_dead_letter_goes_to_the_operators(app: NotifyApplication, clock: SimulatedClock) -> None:
    operators = add_contact(app, "chb", purpose="operators")
    letter = DeadLetterRecorded(
        **envelope(clock.now()),
        consumer="hold_from_clear",
        subject="chb.clear.arrest_recorded",
        stream_sequence=7,
        notification_id=None,
        error="body is not JSON",
        body="sha256:00 bytes:3",
    )
    upstream(app, letter)
    [told] = by_kind(app, "dead_letter")
    assert told.contact_id == operators
    assert told.facts == {
        "event": "dead_letter",
        "consumer": "hold_from_clear",
        "subject": "chb.clear.arrest_recorded",
        "stream_sequence": 7,
    }
