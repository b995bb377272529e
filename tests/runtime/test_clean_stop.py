"""A clean stop (``ServiceProcess.stop``, what SIGTERM and Ctrl-C run) leaves a verifiable
record: the relay publishes what its loop had not, then the notary checkpoints the store to its
end, and only then does the process disconnect. A NATS that does not answer bounds the stop
instead of hanging it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from urllib.parse import urlparse

import pytest

from services.audit.verification import ServiceVerification
from services.audit.verify import verify_stores
from services.clear.application import ClearApplication
from services.factories import build_clear
from services.runtime.meta import Actor
from services.runtime.process import ServiceProcess
from services.runtime.relay import stream_position
from services.runtime.settings import Settings
from services.runtime.topology import stream_name
from tests.support.clear import plan_operation
from tests.support.nats_users import as_user, connect_as
from tests.support.proxy import LossyProxy
from tests.support.system import eventually

pytestmark = pytest.mark.integration

PLANNER = Actor("officer-0042", "police", "planner")


def slow_notary(settings: Settings) -> Settings:
    """The notary's interval far off: it checkpoints at start (an empty store here) and at a
    clean stop, never in between, so what a test finds checkpointed the stop did."""
    return settings.model_copy(update={"checkpoint_interval_seconds": 3600.0})


async def started(settings: Settings) -> ServiceProcess:
    """clear, started, its relay and notary past their first look at the stream (so what a
    test records next is theirs to find, not their start's)."""
    clear = build_clear(as_user(settings, "clear"))
    await clear.start()

    async def synced() -> bool:
        return clear.relay.synced and clear.notary.synced

    await eventually(synced, bool, what="relay and notary synced")
    return clear


def record_behind_the_relays_back(process: ServiceProcess, operations: int) -> int:
    """Plan operations straight into clear's store, without waking its relay (as a command
    handler would): what they record is in the store and nowhere else. Returns the store's
    last notification id."""
    app = process.app
    assert isinstance(app, ClearApplication)
    for n in range(operations):
        plan_operation(app, f"Op {n}", "Eastern", "Gore", "gang", datetime.now(UTC), PLANNER)
    return int(app.recorder.max_notification_id() or 0)


async def verified(settings: Settings, service: str) -> ServiceVerification:
    result = await verify_stores(settings)
    return next(s for s in result.services if s.service == service)


async def published_through(settings: Settings, service: str) -> int:
    nc = await connect_as(settings)
    try:
        return (await stream_position(nc.jetstream(), stream_name(service))).published_id
    finally:
        await nc.close()


async def test_a_clean_stop_publishes_then_checkpoints_everything_before_it_disconnects(
    settings: Settings,
) -> None:
    """Events recorded the moment before the stop, behind the relay's back and long before the
    notary's next checkpoint: after ``stop()`` they are on clear's stream and checkpointed
    (verify, even --strict, finds nothing unverified), the relay's pass came before the
    notary's, and both ran while the connection was still open."""
    clear = await started(slow_notary(settings))
    passes: list[tuple[str, bool]] = []
    for follower in (clear.relay, clear.notary):
        drain = follower.drain

        async def spied(js: object, drain: object = drain, what: str = follower.what) -> None:
            passes.append((what, clear.broker.connection.is_connected))
            await drain(js)  # type: ignore[operator]

        follower.drain = spied  # type: ignore[method-assign]
    last = record_behind_the_relays_back(clear, 3)
    await clear.stop()

    assert passes == [("relay publish", True), ("checkpoint", True)]
    assert await published_through(settings, "clear") == last
    report = await verified(settings, "clear")
    assert report.passes(strict=True), report
    assert (report.verified, report.verified_through, report.unverified_tail) == (last, last, 0)


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
async def test_a_stop_with_nats_unreachable_ends_anyway_and_the_next_start_checkpoints(
    settings: Settings,
) -> None:
    """NATS cut off just before the stop: the last publish and checkpoint cannot happen, and
    the stop still ends (each pass bounded by ``stop_timeout_seconds``), leaving its events as
    not yet checkpointed, a warning. Started again with NATS back, clear checkpoints them."""
    url = urlparse(settings.nats_url)
    proxy = LossyProxy(url.port or 4222, upstream_host=url.hostname or "127.0.0.1")
    async with proxy.running():
        through_proxy = slow_notary(settings).model_copy(
            update={"nats_url": proxy.url, "stop_timeout_seconds": 0.5}
        )
        clear = await started(through_proxy)
        last = record_behind_the_relays_back(clear, 2)
        await proxy.cut()
        await asyncio.wait_for(clear.stop(), 30)

    left = await verified(settings, "clear")
    assert left.ok and left.unverified_tail == last and left.checkpoints == 0, left

    await (await started(settings)).stop()
    assert (await verified(settings, "clear")).passes(strict=True)
