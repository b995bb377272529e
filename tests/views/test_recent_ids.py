"""The views remember the ids of the last events they applied, and only those."""

from __future__ import annotations

from uuid import uuid4

import pytest

from services.views.tables import RecentIds

pytestmark = pytest.mark.domain


def test_the_last_ids_are_remembered_in_order_and_the_older_ones_forgotten() -> None:
    """With room for three, after five ids the last three are known and the first two are not;
    an id seen again counts as new, not as a way to keep an old one."""
    recent = RecentIds(size=3)
    ids = [uuid4() for _ in range(5)]
    for event_id in ids:
        recent.add(event_id)
    assert [event_id in recent for event_id in ids] == [False, False, True, True, True]
    recent.add(ids[2])  # already known: nothing forgotten for it
    assert [event_id in recent for event_id in ids] == [False, False, True, True, True]
    recent.add(uuid4())
    assert [event_id in recent for event_id in ids] == [False, False, False, True, True]
