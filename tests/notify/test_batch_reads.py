"""Notify's tracked consumer on its real stores (SQLite, PostgreSQL): a batch of upstream events
asks the store once which of the aggregates it would make are there, reads none of them one by
one, and still decides nothing twice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import Tracking

from contracts import IntegrationEvent
from services.notify.application import NotifyApplication
from services.notify.commands import FromUpstream
from services.notify.domain import ItemFacts, OfferWatch
from services.runtime.clock import SimulatedClock
from services.runtime.existing import stored_ids
from services.runtime.meta import SERVICE_ACTORS, Meta
from services.runtime.settings import Settings
from services.runtime.store import store_env
from tests.support.notify import add_contact, case_opened, task_opened


@pytest.fixture
def app(settings: Settings) -> Iterator[NotifyApplication]:
    notify = NotifyApplication(env=store_env(settings, "notify"), clock=SimulatedClock())
    yield notify
    notify.close()


class Selects:
    """Counts the store's reads of one aggregate's events."""

    def __init__(self, app: NotifyApplication) -> None:
        self.count = 0
        select = app.recorder.select_events

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return select(*args, **kwargs)

        app.recorder.select_events = counted  # type: ignore[method-assign]


def batch(app: NotifyApplication, events: list[IntegrationEvent], first: int | None) -> int:
    """The events as the consumer hands them over (with tracking positions from ``first``, or
    none), in one batch; the events recorded."""
    jobs: list[tuple[object, Tracking | None]] = []
    for offset, e in enumerate(events):
        meta = Meta(app.clock.now(), e.operation_id, SERVICE_ACTORS["notify"], e.event_id)
        tracking = Tracking("hold", first + offset) if first is not None else None
        jobs.append((FromUpstream(e, meta), tracking))
    return app.process_batch(jobs)


def arrests(app: NotifyApplication, n: int) -> tuple[list[IntegrationEvent], list[UUID]]:
    events: list[IntegrationEvent] = []
    tasks: list[UUID] = []
    for _ in range(n):
        case_id, task_id = uuid4(), uuid4()
        events += [
            case_opened(app.clock.now(), case_id),
            task_opened(app.clock.now(), task_id, case_id),
        ]
        tasks.append(task_id)
    return events, tasks


def test_a_batch_of_offers_reads_no_aggregate_one_by_one(app: NotifyApplication) -> None:
    """Twenty cases and tasks opened: every offer, its watch and what is known of the task and
    its case are decided with no per-aggregate read of the store (one existence query for the
    batch, the agency's contact points from the cache)."""
    add_contact(app, "oranga_tamariki")
    add_contact(app, "oranga_tamariki", channel="email", target='{"address": "i@ot.nz"}')
    events, tasks = arrests(app, 20)
    batch(app, events[:2], first=1)  # the contact points are in the cache from here on
    selects = Selects(app)
    recorded = batch(app, events[2:], first=3)
    assert selects.count == 0
    # Per arrest: the case's and the task's facts, two offers and one watch.
    assert recorded == 19 * 5
    assert stored_ids(app.recorder, [ItemFacts.create_id(t) for t in tasks]) == {
        ItemFacts.create_id(t) for t in tasks
    }


def test_the_same_upstream_events_again_decide_nothing_new(app: NotifyApplication) -> None:
    """A batch decided again (without its tracking, so the store's constraint on tracking
    positions does not stop it) finds what it decided the first time and records nothing."""
    add_contact(app, "oranga_tamariki")
    events, _ = arrests(app, 5)
    assert batch(app, events, first=None) == 5 * 4
    assert batch(app, events, first=None) == 0
    watches = [OfferWatch.create_id(e.event_id) for e in events[1::2]]
    assert stored_ids(app.recorder, watches) == set(watches)


def test_the_existence_query_names_only_ids_with_events(app: NotifyApplication) -> None:
    """``stored_ids`` answers for ids there and not there alike, in chunks beyond one
    statement's worth."""
    add_contact(app, "oranga_tamariki")
    events, tasks = arrests(app, 3)
    batch(app, events, first=1)
    there = {ItemFacts.create_id(t) for t in tasks}
    missing = {uuid4() for _ in range(1200)}
    assert stored_ids(app.recorder, [*missing, *there]) == there
    assert stored_ids(app.recorder, []) == set()
