"""A rebuild beside writes its generation without the secondary indexes and makes them once it
has caught up (issue 17: ten B-trees grown a row at a time were most of a rebuild's writing).
What is served is always indexed: a store opened indexed gains any index it lacks."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from eventsourcing.persistence import OperationalError, ProgrammingError
from psycopg.errors import DuplicateTable

import services.views.feed as feed_module
from services.runtime.nats_permissions import ADMIN
from services.runtime.provisioning import provision_all
from services.runtime.settings import Settings
from services.runtime.topology import stream_name
from services.views.feed import Feed
from services.views.generations import Generations
from services.views.read_model import ReadModel
from services.views.store import SQLiteViewRecorder, ViewPlace
from tests.support.nats_users import connect_as
from tests.support.system import eventually
from tests.support.view_indexes import EVERY_INDEX, indexes
from tests.support.view_streams import fill, messages

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("settings", ["sqlite", "postgres"], indirect=True)
def test_a_generation_opened_for_a_rebuild_has_no_indexes_until_it_makes_them(
    settings: Settings,
) -> None:
    """Opened unindexed: rows only, answered by key; ``create_indexes`` makes every index;
    the same store opened as a served one would be has them all."""
    generations = Generations(settings)
    place = generations.new()
    building = ReadModel(dataclasses.replace(place, indexed=False))
    assert indexes(building.recorder) == set()
    with building.writing():
        building.streams["CHB_HOLD"] = {"created": None, "mark": 7}
    assert building.streams["CHB_HOLD"] == {"created": None, "mark": 7}
    building.recorder.create_indexes()
    assert indexes(building.recorder) == EVERY_INDEX
    building.close()
    generations.close()


@pytest.mark.parametrize("settings", ["sqlite", "postgres"], indirect=True)
def test_a_store_opened_to_be_served_gains_the_indexes_it_lacks(settings: Settings) -> None:
    """A generation left unindexed (a process stopped between catching up and indexing)
    is indexed the moment it is opened to be served."""
    generations = Generations(settings)
    place = generations.new()
    ReadModel(dataclasses.replace(place, indexed=False)).close()
    served = ReadModel(place)
    assert indexes(served.recorder) == EVERY_INDEX
    served.close()
    generations.close()


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
async def test_a_rebuild_whose_indexes_fail_once_tries_again_and_is_served_only_indexed(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild beside reads every stream without its indexes; making them fails once (the
    store away): it is not complete, says why, and tries again until it has them."""
    monkeypatch.setattr(feed_module, "RETRY_SECONDS", 0.01)
    nc = await connect_as(settings, ADMIN)
    await provision_all(nc.jetstream(), settings)
    history = messages(50)
    await fill(nc, history)
    feed = Feed(Generations(settings).new(), asyncio.Event(), beside=True)
    made = feed.writer.recorder.create_indexes
    tries: list[bool] = []

    def once_away() -> None:
        tries.append(True)
        if len(tries) == 1:
            raise OperationalError("the store is away")
        made()

    monkeypatch.setattr(feed.writer.recorder, "create_indexes", once_away)
    await feed.start(nc)
    await eventually(lambda: asyncio.sleep(0, feed.complete), bool, what="indexed")
    assert len(tries) == 2 and feed.failed is None
    assert feed.positions[stream_name("hold")] == len(history)
    assert indexes(feed.writer.recorder) == EVERY_INDEX
    await feed.stop()
    feed.close()
    await nc.close()


def test_a_store_another_process_made_at_the_same_moment_is_opened_not_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL's ``IF NOT EXISTS`` does not hold between sessions making one table at once
    (seen: a test reading where a starting API stood got "relation view_tracking already
    exists"): that error means the table is there, so the store is opened; any other error
    in making the tables is not swallowed."""
    made = SQLiteViewRecorder.create_table
    calls: list[str] = []

    def made_meanwhile(recorder: SQLiteViewRecorder) -> None:
        calls.append("create")
        if len(calls) == 1:
            raise ProgrammingError("already exists") from DuplicateTable("view_tracking")
        made(recorder)

    monkeypatch.setattr(SQLiteViewRecorder, "create_table", made_meanwhile)
    ViewPlace().open().datastore.close()
    assert calls == ["create", "create"]

    def broken(recorder: SQLiteViewRecorder) -> None:
        raise ProgrammingError("syntax error") from SyntaxError("near x")

    monkeypatch.setattr(SQLiteViewRecorder, "create_table", broken)
    with pytest.raises(ProgrammingError, match="syntax error"):
        ViewPlace().open()
