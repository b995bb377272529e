"""The projector under a long catch-up (issue 17): only a stream really made again starts a
rebuild, and the view served never goes backwards, however hard the streams are watched."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from nats.aio.client import Client

from services.runtime.nats_permissions import ADMIN
from services.runtime.provisioning import ensure_stream, provision_all
from services.runtime.settings import Settings
from services.runtime.topology import stream_name
from services.views.generations import Generations
from services.views.projector import Projector
from tests.support.nats_users import connect_as
from tests.support.system import eventually
from tests.support.view_streams import fill, messages

pytestmark = pytest.mark.integration

AT = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
TASKS = 5_000  # a case and a task each: 10,000 messages on hold's stream


@asynccontextmanager
async def watched(settings: Settings) -> AsyncIterator[tuple[Client, Projector, list[int]]]:
    """A projector reading every stream, its streams watched as often as the loop allows (the
    misfire came under load), and the task counts it served, sampled while it reads."""
    nc = await connect_as(settings, ADMIN)
    await provision_all(nc.jetstream(), settings)
    projector = Projector(Generations(settings))
    await projector.start(nc)
    stopping = asyncio.Event()
    watching = asyncio.create_task(projector.watch(nc, stopping, every=0.005))
    counts: list[int] = []
    try:
        yield nc, projector, counts
    finally:
        stopping.set()
        await watching
        await projector.stop()
        await nc.close()


async def served(projector: Projector, counts: list[int]) -> int:
    counts.append(len(projector.read_model.tasks))
    return counts[-1]


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
async def test_a_long_catch_up_never_rebuilds_and_never_goes_backwards(settings: Settings) -> None:
    async with watched(settings) as (nc, projector, counts):
        await fill(nc, messages(TASKS))
        await eventually(
            lambda: served(projector, counts), lambda c: c == TASKS, within=120, what="all read"
        )
        assert projector.rebuilds == 0
        assert counts == sorted(counts), "the view served never went backwards"
        assert projector.caught_up


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
async def test_a_stream_made_again_rebuilds_once_beside_the_view_served(
    settings: Settings,
) -> None:
    """Hold's stream deleted and made again, then filled again with the same messages (as its
    relay republishes its store): one rebuild, the old view served until the new one has as
    much, and every task once at the end."""
    history = messages(TASKS)
    async with watched(settings) as (nc, projector, counts):
        await fill(nc, history)
        await eventually(lambda: served(projector, counts), lambda c: c == TASKS, within=120)
        js = nc.jetstream()
        await js.delete_stream(stream_name("hold"))
        await ensure_stream(js, "hold", settings)
        await eventually(lambda: asyncio.sleep(0, projector.rebuilding), bool, what="rebuild")
        await fill(nc, history)
        await eventually(
            lambda: served(projector, counts),
            lambda c: c == TASKS and not projector.rebuilding,
            within=120,
            what="the rebuilt view served",
        )
        assert projector.rebuilds == 1
        assert counts == sorted(counts), "the view served never went backwards"
        assert len({t.task_id for t in projector.read_model.tasks.values()}) == TASKS
        assert projector.positions[stream_name("hold")] == len(history)
