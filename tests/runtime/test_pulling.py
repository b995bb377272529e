"""A pull consumer's batch taken at once (services/runtime/pulling.py), against a real
nats-server: in stream order, never more than asked, what is left over kept for the next call,
nothing lost or taken twice, and a timeout when there is nothing."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator

import nats
import pytest
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext

from services.runtime.embedded_nats import EmbeddedNats
from services.runtime.nats_access import connect_options, servers
from services.runtime.nats_permissions import ADMIN
from services.runtime.provisioning import ensure_consumer, ensure_stream
from services.runtime.pulling import fetch_batch, take_ready
from services.runtime.settings import Settings
from services.runtime.topology import durable_name, stream_name
from tests.support.system import eventually

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def clear_to_hold(
    server: EmbeddedNats, count: int
) -> AsyncIterator[tuple[JetStreamContext, JetStreamContext.PullSubscription]]:
    """Clear's stream holding the messages "1" to ``count``, and hold's durable consumer of it
    bound as a pull subscription."""
    settings = Settings(**server.access(ADMIN), consumer_batch=64)
    nc = await nats.connect(servers(settings), **connect_options(settings))
    try:
        js = nc.jetstream()
        await ensure_stream(js, "clear", settings)
        await ensure_consumer(js, "clear", "hold", settings)
        for n in range(1, count + 1):
            await js.publish("chb.clear.arrest_recorded", str(n).encode())
        psub = await js.pull_subscribe_bind(
            durable=durable_name("clear", "hold"), stream=stream_name("clear")
        )
        yield js, psub
        await psub.unsubscribe()
    finally:
        await nc.close()


async def test_batches_come_in_order_and_nothing_is_lost_or_taken_twice(
    clean_nats: EmbeddedNats,
) -> None:
    async with clear_to_hold(clean_nats, 200) as (js, psub):
        seen: list[int] = []
        sizes: list[int] = []
        while len(seen) < 200:
            msgs = await fetch_batch(psub, 16, 2.0)
            sizes.append(len(msgs))
            seen += [int(m.data) for m in msgs]
            for m in msgs:
                await m.ack()
        assert seen == list(range(1, 201))
        # Whole batches while more are pending (a catch-up writes one transaction a batch,
        # not one per handful that happened to be in the socket), then the rest.
        assert sizes == [16] * 12 + [8]

        # Nothing more: a timeout within the time given, not a hang and not an empty batch.
        started = time.monotonic()
        with pytest.raises(NatsTimeoutError):
            await fetch_batch(psub, 16, 0.3)
        assert time.monotonic() - started < 2.0
        # A trickle, each taken as it comes: no requests are left waiting on the server for
        # the rest of their batches (one lingering per call would be five).
        for n in range(5):
            await js.publish("chb.clear.arrest_recorded", f"{300 + n}".encode())
            trickle = await fetch_batch(psub, 16, 5.0)
            for m in trickle:
                await m.ack()
        info = await js.consumer_info(stream_name("clear"), durable_name("clear", "hold"))
        assert (info.num_waiting or 0) <= 1

        # One arriving later is the next batch.
        await js.publish("chb.clear.arrest_recorded", b"201")
        late = await fetch_batch(psub, 16, 2.0)
        assert [int(m.data) for m in late] == [201]
        await late[0].ack_sync()
        assert take_ready(psub, 16) == []


async def test_what_an_earlier_request_brought_is_taken_by_the_next_calls(
    clean_nats: EmbeddedNats,
) -> None:
    async with clear_to_hold(clean_nats, 10) as (_js, psub):
        # A request for all ten, as an earlier call with a larger batch would have made.
        request = json.dumps({"batch": 10, "no_wait": True}).encode()
        await psub._nc.publish(psub._nms, request, psub._deliver)

        async def waiting() -> int:
            return psub._sub._pending_queue.qsize()

        await eventually(waiting, lambda n: n >= 10, what="all ten delivered")
        sizes: list[int] = []
        got: list[int] = []
        while len(got) < 10:
            # Taken from what is here, never more than asked, in order.
            more = await fetch_batch(psub, 3, 2.0)
            sizes.append(len(more))
            got += [int(m.data) for m in more]
        assert got == list(range(1, 11))
        assert sizes == [3, 3, 3, 1]
        assert take_ready(psub, 16) == []
