"""A rebuild beside writes its generation without the secondary indexes and makes them once it
has caught up (issue 17: ten B-trees grown a row at a time were most of a rebuild's writing).
What is served is always indexed: a store opened indexed gains any index it lacks."""

from __future__ import annotations

import dataclasses

import pytest

from services.runtime.settings import Settings
from services.views.generations import Generations
from services.views.read_model import ReadModel
from tests.support.view_indexes import EVERY_INDEX, indexes

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
