"""Hold's deadline index lives in its store: written with the events, asked by due time,
and after a restart the same as one rebuilt from the log, with nothing old read."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from services.hold.application import TASK_DEADLINES, HoldApplication
from services.hold.commands import FireDeadlines
from services.hold.deadlines import task_scheduler
from services.runtime.application import ServiceApplication
from services.runtime.clock import SimulatedClock
from services.runtime.deadline_store import DeadlineKind
from services.runtime.deadlines import DeadlineScheduler, StoredDeadlineIndex
from tests.support.deadline_index import START, hold_app, hold_store, open_tasks, steps_fired

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def rebuilt_from_log(app: HoldApplication) -> DeadlineScheduler:
    """The first index: every event of the log applied to copies kept in memory."""
    scheduler = DeadlineScheduler(
        app, app.clock, kind=TASK_DEADLINES.kind, finished=TASK_DEADLINES.finished, fire=print
    )
    scheduler.refresh()
    return scheduler


class CountingReads:
    """Wraps a recorder's ``select_notifications``: how many times the log was read."""

    def __init__(self, app: ServiceApplication) -> None:
        self.calls = 0
        self._select = app.recorder.select_notifications
        app.recorder.select_notifications = self  # type: ignore[method-assign]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self._select(*args, **kwargs)


@pytest.mark.application
def test_the_index_is_written_with_the_events_and_asked_by_due_time() -> None:
    clock = SimulatedClock(START)
    app = hold_app({"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock)
    open_tasks(app, 20)
    scheduler = task_scheduler(app, clock)
    assert scheduler.next_deadlines == rebuilt_from_log(app).next_deadlines
    assert len(scheduler.next_deadlines) == 60, "three tasks a household"
    assert scheduler.overdue(clock.now()) == 0
    clock.advance(timedelta(hours=5))
    assert scheduler.fire_due() > 0
    assert all(at > clock.now() for at in scheduler.next_deadlines.values())
    assert scheduler.next_deadlines == rebuilt_from_log(app).next_deadlines
    assert scheduler.overdue(clock.now()) == rebuilt_from_log(app).overdue(clock.now()) > 0
    assert scheduler.fire_due() == 0
    assert max(steps_fired(app).values()) == 1


@pytest.mark.application
def test_an_application_that_declares_no_deadline_kind_is_refused_a_stored_index() -> None:
    app = hold_app({"PERSISTENCE_MODULE": "eventsourcing.popo"}, SimulatedClock(START))
    other = DeadlineKind(HoldApplication, finished=bool)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="keeps no deadline table"):
        StoredDeadlineIndex(app, other)


@pytest.mark.integration
@pytest.mark.parametrize("store", STORES)
def test_a_restart_with_many_open_tasks_reads_nothing_old_and_fires_each_step_once(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Hold with 2,000 open tasks (50,000 with --slow) stops; 36 hours pass. Restarted, it
    reads no notification, fires every step that fell due once, a second pass and a second
    restart nothing; its index equals one rebuilt from the log."""
    households = 50_000 // 3 if request.config.getoption("--slow") else 667
    clock = SimulatedClock(START)
    with hold_store(store, tmp_path) as env:
        app = hold_app(env, clock)
        open_tasks(app, households)
        app.close()
        clock.advance(timedelta(hours=36))

        restarted = hold_app(env, clock)
        reads = CountingReads(restarted)
        scheduler = task_scheduler(restarted, clock)
        # The child safety check and the liaison contact are past due; the needs assessment
        # (due at +72 h) is not.
        assert scheduler.overdue(clock.now()) == households * 2
        fired = scheduler.fire_due()
        assert reads.calls == 0, "a restart reads nothing old"
        assert fired > 0
        assert scheduler.fire_due() == 0
        steps = steps_fired(restarted)
        assert sum(steps.values()) == fired
        assert max(steps.values()) == 1, "each step once"
        assert scheduler.next_deadlines == rebuilt_from_log(restarted).next_deadlines
        assert all(at > clock.now() for at in scheduler.next_deadlines.values())
        restarted.close()

        again = hold_app(env, clock)
        second = task_scheduler(again, clock)
        assert second.fire_due() == 0
        assert second.next_deadlines == rebuilt_from_log(again).next_deadlines
        again.close()


class HoldBeforeTheIndex(HoldApplication):
    """Hold as it was before its store kept the index."""

    name = "hold"  # the library names an application by its class unless told
    deadline_kinds = ()


@pytest.mark.integration
@pytest.mark.parametrize("store", STORES)
def test_a_store_older_than_its_index_is_indexed_once_from_the_log(
    store: str, tmp_path: Path
) -> None:
    clock = SimulatedClock(START)
    with hold_store(store, tmp_path) as env:
        old = hold_app(env, clock, HoldBeforeTheIndex)
        open_tasks(old, 30)
        old.close()

        app = hold_app(env, clock)
        # Written with their events, beside the old ones not yet indexed.
        open_tasks(app, 5, first=30)
        scheduler = task_scheduler(app, clock)
        scheduler.refresh()
        assert len(scheduler.next_deadlines) == 105
        assert scheduler.next_deadlines == rebuilt_from_log(app).next_deadlines
        app.close()

        restarted = hold_app(env, clock)
        reads = CountingReads(restarted)
        task_scheduler(restarted, clock).refresh()
        assert reads.calls == 0, "built once"
        restarted.close()


@pytest.mark.application
def test_a_batch_that_cannot_fire_is_fired_one_by_one_and_names_the_one_at_fault() -> None:
    """A hundred items fire in one transaction; if one cannot (here: a task the store does not
    hold), the others still fire alone and the pass fails on that one, as it did before."""
    clock = SimulatedClock(START)
    app = hold_app({"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock)
    open_tasks(app, 4)
    clock.advance(timedelta(hours=36))
    index = StoredDeadlineIndex(app, TASK_DEADLINES)
    index.refresh()
    # The one in the middle of the order they fire in (due order), so some fire before it.
    due = list(index.due(clock.now()))
    bad = due[len(due) // 2]
    scheduler = DeadlineScheduler(
        app,
        clock,
        TASK_DEADLINES.kind,
        TASK_DEADLINES.finished,
        fire=lambda task_id, now: FireDeadlines(
            task_id=uuid4() if task_id == bad else task_id, now=now
        ),
        index=index,
        fire_batch=100,
    )
    with pytest.raises(LookupError):
        scheduler.fire_due()
    fired = {task_id for task_id, _ in steps_fired(app)}
    assert bad not in fired
    assert fired, "the others before it fired alone"
