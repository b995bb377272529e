"""The dispatcher on an in-memory store with senders that answer as the test says: at most a
few messages at once per contact point, retries on the stored schedule, on simulated time."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.notify.application import NotifyApplication
from services.notify.delivery import Message, Outcome
from services.notify.dispatcher import Dispatcher
from services.notify.domain import DELIVERED, FAILED
from services.runtime.clock import SimulatedClock
from tests.support.notify import add_contact, case_opened, task_opened, upstream
from tests.support.system import eventually

pytestmark = pytest.mark.application


class Gate:
    """A sender that holds every message until released, answering ``status``."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.in_flight = 0
        self.most = 0
        self.sent: list[str] = []
        self.outcome = Outcome("delivered", "HTTP 200")

    async def send(self, message: Message, target: dict[str, Any]) -> Outcome:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await self.open.wait()
            self.sent.append(str(message.id))
            return self.outcome
        finally:
            self.in_flight -= 1


async def opened(_sealed: str) -> dict[str, Any]:
    return {"url": "http://127.0.0.1:9/", "secret": "whsec_MDEyMzQ1Njc4OQ=="}


def offers(app: NotifyApplication, count: int, clock: SimulatedClock) -> None:
    for _ in range(count):
        case_id = uuid4()
        upstream(app, case_opened(clock.now(), case_id))
        upstream(app, task_opened(clock.now(), uuid4(), case_id))


async def test_at_most_a_few_at_once_per_contact_point_then_all_delivered() -> None:
    clock = SimulatedClock()
    app = NotifyApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    add_contact(app, "oranga_tamariki")
    offers(app, 10, clock)
    gate = Gate()
    dispatcher = Dispatcher(app, clock, {"webhook": gate}, opened, per_contact=3, tick_seconds=0.01)
    stopping = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stopping))
    try:
        await eventually(lambda: _value(gate.in_flight), lambda n: n == 3, what="three held")
        gate.open.set()
        await eventually(lambda: _value(len(gate.sent)), lambda n: n == 10, what="all ten sent")
        await eventually(lambda: _value(dispatcher.delivered), lambda n: n == 10, what="recorded")
        await eventually(lambda: _value(dispatcher.pending()), lambda n: n == 0, what="none left")
    finally:
        stopping.set()
        await running
    assert gate.most == 3


async def test_a_failure_waits_for_its_stored_time_on_the_simulated_clock() -> None:
    clock = SimulatedClock()
    app = NotifyApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    add_contact(app, "oranga_tamariki")
    offers(app, 1, clock)
    gate = Gate()
    gate.open.set()
    gate.outcome = Outcome("failed", "HTTP 503")
    dispatcher = Dispatcher(
        app, clock, {"webhook": gate}, opened, tick_seconds=0.01, rng=random.Random(7)
    )
    stopping = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stopping))
    try:
        await eventually(lambda: _value(len(gate.sent)), lambda n: n == 1, what="a first try")
        [nid] = {*gate.sent}
        n = await eventually(
            lambda: _value(app.get_notification(UUID(nid))),
            lambda n: n.status == FAILED,
            what="failed",
        )
        assert n.next_attempt_at is not None and n.next_attempt_at > clock.now()
        # Passes go by while simulated time stands still: no second try before its time.
        seen = dispatcher.passes
        await eventually(lambda: _value(dispatcher.passes), lambda p: p >= seen + 5)
        assert len(gate.sent) == 1
        gate.outcome = Outcome("delivered", "HTTP 200")
        clock.advance(timedelta(seconds=10))
        await eventually(
            lambda: _value(app.get_notification(UUID(nid)).status),
            lambda s: s == DELIVERED,
            what="delivered on the second try",
        )
        assert gate.sent == [nid, nid]
        assert dispatcher.failures and list(dispatcher.failures.values()) == [1]
    finally:
        stopping.set()
        await running


async def _value(value: Any) -> Any:
    return value
