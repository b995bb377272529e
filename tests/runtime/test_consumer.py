"""The tracked consumer against a real nats-server, with messages crafted to break the rules."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import uuid4

import nats
import pytest
from eventsourcing.persistence import Tracking
from nats.js import JetStreamContext

from contracts import ArrestRecorded, IntegrationEvent
from services.hold.application import HoldApplication
from services.hold.policy import command_from
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import POISON_DELIVERIES, TrackedConsumer
from services.runtime.embedded_nats import EmbeddedNats
from services.runtime.nats_access import connect_options, servers
from services.runtime.nats_permissions import ADMIN
from services.runtime.provisioning import ensure_consumer, ensure_stream
from services.runtime.settings import Settings
from services.runtime.topology import H_NOTIFICATION_ID, H_PREVIOUS_ID
from tests.support.system import eventually

pytestmark = pytest.mark.integration

OPERATION = uuid4()


def arrest(n: int) -> ArrestRecorded:
    now = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
    return ArrestRecorded(
        event_id=uuid4(),
        occurred_at=now,
        recorded_at=now,
        operation_id=OPERATION,
        actor={"id": "p", "agency": "police", "role": "planner"},
        arrest_id=uuid4(),
        place="Gore",
        person_ref=f"P-{n}",
        household_ref=f"H-{n}",
        charges=("supply",),
    )


async def publish(js: JetStreamContext, nid: int, previous: int) -> ArrestRecorded:
    event = arrest(nid)
    await js.publish(
        "chb.clear.arrest_recorded",
        event.model_dump_json().encode(),
        headers={H_NOTIFICATION_ID: str(nid), H_PREVIOUS_ID: str(previous)},
    )
    return event


class Harness:
    def __init__(self, js: JetStreamContext, consumer: TrackedConsumer, app: HoldApplication):
        self.js, self.consumer, self.app = js, consumer, app

    def cases(self) -> int:
        return sum(
            1
            for n in self.app.recorder.select_notifications(1, 1000)
            if n.topic.endswith("WhanauCase.Opened")
        )

    async def count(self) -> int:
        return self.cases()


@contextlib.asynccontextmanager
async def harness(server: EmbeddedNats, to_command: object = None) -> AsyncIterator[Harness]:
    # The admin makes clear's stream and publishes into it as clear's relay would.
    settings = Settings(**server.access(ADMIN), ack_wait_seconds=2.0, consumer_batch=16)
    nc = await nats.connect(servers(settings), **connect_options(settings))
    js = nc.jetstream()
    await ensure_stream(js, "clear", settings)
    await ensure_consumer(js, "clear", "hold", settings)
    clock = SimulatedClock()
    app = HoldApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    consumer = TrackedConsumer(
        app,
        "clear",
        "hold",
        to_command or (lambda event: command_from(event, clock)),  # type: ignore[arg-type]
        clock,
        batch=16,
        fetch_timeout=0.2,
        retry_delay=0.05,
    )
    stopping = asyncio.Event()
    task = asyncio.create_task(consumer.run(js, stopping))
    try:
        yield Harness(js, consumer, app)
    finally:
        stopping.set()
        await task
        await nc.close()


async def test_a_hole_in_the_chain_is_waited_for_never_skipped(clean_nats: EmbeddedNats) -> None:
    """A message whose predecessor has not arrived is nak'd and comes back; once the missing
    one arrives both are processed, in order, and nothing is skipped."""
    async with harness(clean_nats) as h:
        await publish(h.js, 1, 0)
        await publish(h.js, 3, 2)  # 2 is missing
        await eventually(h.count, lambda n: n == 1, what="first case")
        await asyncio.sleep(0.3)  # several retries of message 3 happen meanwhile
        assert h.cases() == 1 and h.consumer.high_water == 1, "message 3 must wait for 2"
        await publish(h.js, 2, 1)
        await eventually(h.count, lambda n: n == 3, what="all three cases")
        assert h.app.max_tracking_id("clear") == 3


async def test_what_another_process_of_the_service_recorded_is_not_waited_for(
    clean_nats: EmbeddedNats,
) -> None:
    """A replacement and the process it replaces share one store. When the old one records
    and acks messages 1 and 2, they never come back to the replacement: it takes message 3
    (previous 2) as a hole, asks the store where it stands, and processes 3, rather than
    waiting for ever for 1 and 2."""
    async with harness(clean_nats) as h:
        await eventually(lambda: asyncio.sleep(0, h.consumer.bound), bool, what="bound")
        assert h.consumer.high_water == 0
        clock = SimulatedClock()
        # The other process's batch, recorded straight into the shared store.
        h.app.process_batch(
            [(command_from(arrest(n), clock), Tracking("clear", n)) for n in (1, 2)]
        )
        await publish(h.js, 3, 2)
        await eventually(h.count, lambda n: n == 3, what="message 3's case")
        assert h.app.max_tracking_id("clear") == 3 and h.consumer.high_water == 3


async def test_a_message_that_keeps_failing_is_dead_lettered_and_the_rest_flow(
    clean_nats: EmbeddedNats,
) -> None:
    """Processing that raises every time is retried, then after a few deliveries kept as a
    dead letter with the error; the messages after it are processed."""
    clock = SimulatedClock()
    poison = {"P-2"}

    def to_command(event: IntegrationEvent) -> object:
        if isinstance(event, ArrestRecorded) and event.person_ref in poison:
            raise RuntimeError("policy bug")
        return command_from(event, clock)

    async with harness(clean_nats, to_command) as h:
        await publish(h.js, 1, 0)
        await publish(h.js, 2, 1)
        await publish(h.js, 3, 2)
        await eventually(h.count, lambda n: n == 2, within=30, what="cases 1 and 3")
        letters = [
            h.app.mapper.to_domain_event(n)
            for n in h.app.recorder.select_notifications(1, 1000)
            if n.topic.endswith("DeadLetter.Recorded")
        ]
        assert len(letters) == 1
        assert f"failed {POISON_DELIVERIES} times" in letters[0].error
        assert "policy bug" in letters[0].error
        assert h.app.max_tracking_id("clear") == 3


async def test_a_store_that_keeps_failing_never_turns_good_messages_into_dead_letters(
    clean_nats: EmbeddedNats,
) -> None:
    """While the store raises persistence errors the message is retried however often it is
    delivered; when the store is back it is processed normally, not dead-lettered."""
    from eventsourcing.persistence import OperationalError

    async with harness(clean_nats) as h:
        real = h.app.process_batch
        failures = {"left": POISON_DELIVERIES + 3}

        def flaky(jobs: list[object]) -> int:
            if failures["left"]:
                failures["left"] -= 1
                raise OperationalError("database is restarting")
            return real(jobs)  # type: ignore[arg-type]

        h.app.process_batch = flaky  # type: ignore[method-assign]
        await publish(h.js, 1, 0)
        await eventually(h.count, lambda n: n == 1, within=30, what="the case, once back")
        assert failures["left"] == 0
        assert h.consumer.dead_letters == 0
