"""The views persist (issue 17): in SQLite or PostgreSQL, each batch written with the stream
positions it reached, so a restart resumes where they stood, a kill in the middle of a batch
loses and doubles nothing, several API processes share one store (one writes, the others
read), and a rebuild asked for is built beside the view served."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from contracts import parse_event
from services.runtime.nats_permissions import ADMIN, API
from services.runtime.provisioning import provision_all
from services.runtime.settings import Settings
from services.runtime.topology import stream_name
from services.views.compare import differences, snapshot
from services.views.generations import Generations
from services.views.projector import Projector
from services.views.read_model import ReadModel
from services.views.sharing import RETIRE_SECONDS, ReadingFeed
from tests.support.nats_users import as_user, connect_as
from tests.support.pages import free_port
from tests.support.processes import Processes
from tests.support.system import eventually
from tests.support.view_indexes import EVERY_INDEX, indexes
from tests.support.view_streams import fill, messages

pytestmark = pytest.mark.integration

HOLD = stream_name("hold")


def replayed(history: list[tuple[str, bytes]]) -> ReadModel:
    """The views a replay of the same messages makes, in memory."""
    model = ReadModel()
    model.apply_all(parse_event(body) for _, body in history)
    return model


def stored(settings: Settings) -> ReadModel:
    """The views as the API's store holds them now (the generation served)."""
    return ReadModel(Generations(settings).serving())


async def caught_up(projector: Projector, what: str = "caught up") -> None:
    await eventually(lambda: asyncio.sleep(0, projector.caught_up), bool, within=60, what=what)


@pytest.mark.parametrize("settings", ["sqlite", "postgres"], indirect=True)
async def test_a_restart_resumes_where_the_views_stood_and_reads_nothing_again(
    settings: Settings,
) -> None:
    """A second projector on the same store stands where the first stopped before reading a
    message, shows what the first showed, and applies only what came since."""
    nc = await connect_as(settings, ADMIN)
    await provision_all(nc.jetstream(), settings)
    history = messages(300, accepted=True)
    await fill(nc, history)
    first = Projector(Generations(settings))
    await first.start(nc)
    await caught_up(first)
    before = snapshot(first.read_model)
    await first.stop()
    first.close()

    more = messages(50, accepted=True)
    await fill(nc, more, first=len(history) + 1)
    assert _position(settings) == len(history), "its position was written with its rows"
    second = Projector(Generations(settings))
    await second.start(nc)
    await caught_up(second)
    assert second.positions[HOLD] == len(history) + len(more)
    now = snapshot(second.read_model)
    assert len(now["/tasks"]) == 350
    assert [
        t for t in now["/tasks"] if t["task_id"] in {b["task_id"] for b in before["/tasks"]}
    ] == before["/tasks"]
    assert not differences(now, snapshot(replayed(history + more)))
    await second.stop()
    second.close()
    await nc.close()


@pytest.mark.system
@pytest.mark.parametrize("settings", ["sqlite", "postgres"], indirect=True)
async def test_views_equal_a_replay_after_the_api_is_killed_mid_batch(
    settings: Settings, tmp_path: Path
) -> None:
    """``chb serve api`` killed (SIGKILL) three times while it writes the views of a long
    stream, then started once more: its views equal a replay of the stream, every task once
    with its history once (a batch is written whole with its positions, or not at all)."""
    nc = await connect_as(settings, ADMIN)
    await provision_all(nc.jetstream(), settings)
    history = messages(3_000, accepted=True)
    await fill(nc, history)
    processes = Processes(as_user(settings, API), tmp_path / "logs")
    try:
        await _kill_part_way_three_times(settings, processes, len(history))
    finally:
        processes.kill("api")
    live = stored(settings)
    assert not differences(snapshot(live), snapshot(replayed(history)))
    histories = live.task_history.values()
    assert len(histories) == 3_000 and all(len(steps) == 2 for steps in histories)
    await nc.close()


async def _kill_part_way_three_times(settings: Settings, processes: Processes, total: int) -> None:
    kills = 0
    last = -1
    while kills < 3:
        processes.start("api", CHB_API_PORT=str(free_port()))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # kill once it has written some, not all
            await asyncio.sleep(0.01)
            position = _position(settings)
            if last < position < total:
                break
        processes.kill("api")
        last = _position(settings)
        kills += 1
    assert 0 < last < total, "killed part-way through, not before or after"
    processes.start("api", CHB_API_PORT=str(free_port()))
    await eventually(
        lambda: asyncio.sleep(0, _position(settings)),
        lambda p: p == total,
        within=90,
        what="the views caught up after the kills",
    )


def _position(settings: Settings) -> int:
    generations = Generations(settings)
    if generations.current() == 0:
        return 0
    model = ReadModel(generations.serving())
    try:
        return model.position(HOLD)
    finally:
        model.close()


@pytest.mark.parametrize("settings", ["postgres", "sqlite"], indirect=True)
async def test_two_api_processes_on_one_store_agree_and_the_reader_takes_over(
    settings: Settings,
) -> None:
    """Two projectors on one store: one writes, the other reads what it writes, and both show
    the same; when the writer stops, the reader takes the lead and goes on writing."""
    nc = await connect_as(settings, ADMIN)
    await provision_all(nc.jetstream(), settings)
    writer = Projector(Generations(settings))
    reader = Projector(Generations(settings))
    assert writer.leading and not reader.leading
    await writer.start(nc)
    await reader.start(nc)
    history = messages(200, accepted=True)
    await fill(nc, history)
    await eventually(
        lambda: asyncio.sleep(0, reader.positions.get(HOLD, 0)),
        lambda p: p == len(history),
        within=30,
        what="the reader follows the writer",
    )
    assert not differences(snapshot(reader.read_model), snapshot(writer.read_model))
    assert len(reader.read_model.tasks) == 200

    await writer.stop()
    writer.close()  # its lead goes with it
    js = nc.jetstream()
    await reader.look(nc, js)
    assert reader.leading, "the reader took the lead"
    more = messages(20, accepted=True)
    await fill(nc, more, first=len(history) + 1)
    await caught_up(reader, "the new writer caught up")
    await eventually(lambda: asyncio.sleep(0, len(reader.read_model.tasks)), lambda n: n == 220)
    assert not differences(snapshot(reader.read_model), snapshot(replayed(history + more)))
    await reader.stop()
    reader.close()
    await nc.close()


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
async def test_a_rebuild_asked_for_is_built_beside_and_served_once_caught_up(
    settings: Settings,
) -> None:
    """``chb views rebuild``'s request: a new generation is read from the streams while the
    view served stays ready and live; then the new one is served, the same, and the old one
    is gone."""
    nc = await connect_as(settings, ADMIN)
    await provision_all(nc.jetstream(), settings)
    history = messages(500, accepted=True)
    await fill(nc, history)
    generations = Generations(settings)
    projector = Projector(generations)
    await projector.start(nc)
    await caught_up(projector)
    before = snapshot(projector.read_model)
    assert await projector.rebuild_asked(nc)
    assert not await projector.rebuild_asked(nc), "one at a time"
    assert projector.caught_up, "the view served stays ready meanwhile"
    progress = projector.progress()
    assert progress["generation"] == 1 and progress["rebuild"]["generation"] == 2
    js = nc.jetstream()
    for _ in range(600):
        await projector.look(nc, js)
        if projector.progress()["rebuild"] is None:
            break
        await asyncio.sleep(0.05)
    assert projector.progress()["generation"] == 2
    assert generations.current() == 2
    # The old one stays a while for the requests that were reading it, then goes.
    assert generations.known() == [1, 2] and len(projector.retiring) == 1
    projector.retiring.sweep(time.monotonic() + RETIRE_SECONDS)
    assert generations.known() == [2]
    assert snapshot(projector.read_model) == before
    # Written without its indexes, it made them before it was served.
    assert indexes(projector.read_model.recorder) == EVERY_INDEX
    await projector.stop()
    projector.close()
    await nc.close()


@pytest.mark.parametrize("settings", ["sqlite", "postgres"], indirect=True)
async def test_a_reader_following_a_switch_lets_requests_on_the_old_views_finish(
    settings: Settings,
) -> None:
    """A process that reads the views another writes follows the writer to a new generation;
    a request that began on the old one (it holds the old views) still reads them, and they
    are closed only once their grace is over."""
    generations = Generations(settings)
    ReadModel(generations.serving()).close()  # generation 1, as a writer made it
    reader = ReadingFeed(generations, asyncio.Event())
    reader.targets = {HOLD: 0}
    old = reader.read_model  # what a request in flight holds
    new = generations.new()
    ReadModel(new).close()
    generations.switch(new)
    await asyncio.to_thread(reader.refresh)
    assert reader.place.generation == 2
    assert old.tasks.count() == 0, "the request in flight still reads"
    assert len(reader.retiring) == 1
    reader.retiring.sweep(time.monotonic() + RETIRE_SECONDS)
    assert len(reader.retiring) == 0
    reader.close()
    generations.close()
