"""The relay publishes each batch as one JetStream atomic batch: stored whole with its chain of
notification ids, or refused whole, on a real nats-server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from nats.aio.client import Client
from nats.js.errors import BadRequestError

from services.clear.application import ClearApplication
from services.clear.translation import translate
from services.runtime.meta import Actor
from services.runtime.provisioning import ensure_stream
from services.runtime.relay import ATOMIC_BATCH_LIMIT, Relay, RelayPosition
from services.runtime.settings import Settings
from services.runtime.topology import H_NOTIFICATION_ID, H_PREVIOUS_ID, stream_name
from tests.support.clear import plan_operation
from tests.support.nats_users import connect_as

pytestmark = pytest.mark.integration

PLANNER = Actor(id="planner-1", agency="police", role="planner")


@pytest.fixture
async def clear_user(settings: Settings) -> AsyncIterator[Client]:
    nc = await connect_as(settings, "clear")
    await ensure_stream(nc.jetstream(), "clear", settings)
    yield nc
    await nc.close()


def operations(app: ClearApplication, n: int) -> None:
    """``n`` events in clear's store: operations planned, one event each."""
    start = datetime(2026, 3, 1, tzinfo=UTC)
    for i in range(n):
        plan_operation(app, f"Operation {i}", "Southland", "Mataura", "supply", start, PLANNER)


async def stored(nc: Client, first: int, last: int) -> list[tuple[int, int]]:
    js = nc.jetstream()
    found = []
    for seq in range(first, last + 1):
        msg = await js.get_msg(stream_name("clear"), seq=seq)
        headers = msg.headers or {}
        found.append((int(headers[H_NOTIFICATION_ID]), int(headers[H_PREVIOUS_ID])))
    return found


async def test_a_store_goes_out_in_atomic_batches_with_its_chain(
    clear_user: Client,
) -> None:
    """More notifications than one batch holds: every one stored once, in order, each naming
    the one published before it."""
    app = ClearApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    operations(app, ATOMIC_BATCH_LIMIT + 7)
    relay = Relay(app, "clear", translate, batch=ATOMIC_BATCH_LIMIT + 7)
    js = clear_user.jetstream()
    await relay.resync(js)
    assert await relay.publish_pending(js) == ATOMIC_BATCH_LIMIT + 7
    info = await js.stream_info(stream_name("clear"))
    assert info.state.messages == ATOMIC_BATCH_LIMIT + 7
    chain = await stored(clear_user, ATOMIC_BATCH_LIMIT - 1, ATOMIC_BATCH_LIMIT + 2)
    assert chain == [(n, n - 1) for n in range(ATOMIC_BATCH_LIMIT - 1, ATOMIC_BATCH_LIMIT + 3)]
    assert relay.position == RelayPosition(
        published_id=ATOMIC_BATCH_LIMIT + 7,
        read_id=ATOMIC_BATCH_LIMIT + 7,
        stream_sequence=ATOMIC_BATCH_LIMIT + 7,
    )


async def test_a_relay_behind_the_stream_has_its_whole_batch_refused(clear_user: Client) -> None:
    """A relay that believes the stream shorter than it is (a stale or second process) sends
    new notifications with an old expected sequence: the server refuses the whole batch, and
    none of it is stored; the relay that resyncs publishes it once."""
    app = ClearApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    operations(app, 3)
    js = clear_user.jetstream()
    live = Relay(app, "clear", translate)
    await live.resync(js)
    await live.publish_pending(js)
    operations(app, 4)
    stale = Relay(app, "clear", translate)
    stale.position = RelayPosition(published_id=3, read_id=3, stream_sequence=1)
    stale.synced = True
    with pytest.raises(BadRequestError, match="wrong last sequence"):
        await stale.publish_pending(js)
    assert (await js.stream_info(stream_name("clear"))).state.messages == 3
    await stale.resync(js)
    assert await stale.publish_pending(js) == 4
    assert await stored(clear_user, 1, 7) == [(n, n - 1) for n in range(1, 8)]
