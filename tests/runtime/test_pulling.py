"""A pull consumer's batch taken at once (services/runtime/pulling.py), against a real
nats-server: in stream order, never more than asked, what is left over kept for the next call,
nothing lost or taken twice, and a timeout when there is nothing."""

from __future__ import annotations

import time

import nats
import pytest
from nats.errors import TimeoutError as NatsTimeoutError

from services.runtime.embedded_nats import EmbeddedNats
from services.runtime.nats_access import connect_options, servers
from services.runtime.nats_permissions import ADMIN
from services.runtime.provisioning import ensure_consumer, ensure_stream
from services.runtime.pulling import fetch_batch, take_ready
from services.runtime.settings import Settings
from services.runtime.topology import durable_name, stream_name
from tests.support.system import eventually

pytestmark = pytest.mark.integration


async def test_batches_come_in_order_and_nothing_is_lost_or_taken_twice(
    clean_nats: EmbeddedNats,
) -> None:
    settings = Settings(**clean_nats.access(ADMIN), consumer_batch=64)
    nc = await nats.connect(servers(settings), **connect_options(settings))
    try:
        js = nc.jetstream()
        await ensure_stream(js, "clear", settings)
        await ensure_consumer(js, "clear", "hold", settings)
        for n in range(1, 201):
            await js.publish("chb.clear.arrest_recorded", str(n).encode())
        psub = await js.pull_subscribe_bind(
            durable=durable_name("clear", "hold"), stream=stream_name("clear")
        )
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
        await psub.unsubscribe()
    finally:
        await nc.close()


async def test_what_arrived_beyond_a_batch_is_kept_for_the_next_calls(
    clean_nats: EmbeddedNats,
) -> None:
    settings = Settings(**clean_nats.access(ADMIN), consumer_batch=64)
    nc = await nats.connect(servers(settings), **connect_options(settings))
    try:
        js = nc.jetstream()
        await ensure_stream(js, "clear", settings)
        await ensure_consumer(js, "clear", "hold", settings)
        for n in range(1, 11):
            await js.publish("chb.clear.arrest_recorded", str(n).encode())
        psub = await js.pull_subscribe_bind(
            durable=durable_name("clear", "hold"), stream=stream_name("clear")
        )
        got = [int(m.data) for m in await fetch_batch(psub, 10, 2.0)]

        async def waiting() -> int:
            return psub._sub._pending_queue.qsize()

        # The rest of the request's ten arrive in the subscription's queue meanwhile.
        await eventually(waiting, lambda n: n >= 10 - len(got), what="the rest delivered")
        while len(got) < 10:
            # Taken from what is here, at most one a call, with no new request needed.
            more = await fetch_batch(psub, 1, 2.0)
            assert len(more) == 1
            got += [int(m.data) for m in more]
        assert got == list(range(1, 11))
        await psub.unsubscribe()
    finally:
        await nc.close()
