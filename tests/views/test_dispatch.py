"""The views' dispatch table: every event the contracts know either changes a view through
the table or is named as changing none, never both, never neither."""

from __future__ import annotations

import pytest

from contracts.registry import ALL_EVENTS
from services.views.dispatch import CHANGE_NO_VIEW, VIEW_CHANGES

pytestmark = pytest.mark.domain


def test_every_event_is_either_in_the_table_or_named_as_changing_no_view() -> None:
    known = set(ALL_EVENTS)
    forgotten = known - VIEW_CHANGES.keys() - CHANGE_NO_VIEW
    assert not forgotten, f"give these a view change or name them in CHANGE_NO_VIEW: {forgotten}"
    assert not VIEW_CHANGES.keys() & CHANGE_NO_VIEW
    assert VIEW_CHANGES.keys() | CHANGE_NO_VIEW == known
