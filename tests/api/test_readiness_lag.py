"""How far a view is behind its service's store, as /ready reports it (issue 17)."""

from __future__ import annotations

from typing import Any

import pytest

from services.api.readiness import catching_up, follower_lag, view_lag

pytestmark = pytest.mark.application


def status(store: int | None, read: int | None) -> dict[str, Any]:
    return {
        "service": "hold",
        "store_notification_id": store,
        "relay": {"read_notification_id": read},
    }


def test_a_view_at_its_streams_end_is_behind_while_the_relay_has_not_read_its_store() -> None:
    """The catch-up the issue saw: the view has all the stream holds, but the relay has
    published 296 of 43,298 events; "caught up with the stream" is not caught up."""
    lag = view_lag(status(43_298, 296), stream_end=296, applied=296, max_lag=0)
    assert lag["relay_behind"] == 43_002 and lag["view_behind"] == 0
    assert lag["events_behind"] == 43_002 and not lag["caught_up"]
    progress = catching_up({"hold": lag})
    assert progress == {"events_behind": 43_002, "applied": 296, "progress": 0.0068}


def test_the_relay_done_and_the_view_at_the_streams_end_is_caught_up() -> None:
    lag = view_lag(status(500, 500), stream_end=480, applied=480, max_lag=0)
    assert lag["events_behind"] == 0 and lag["caught_up"]
    assert catching_up({"hold": lag}) is None


def test_within_the_stated_lag_is_caught_up_and_one_more_is_not() -> None:
    assert view_lag(status(500, 498), stream_end=480, applied=477, max_lag=5)["caught_up"]
    assert not view_lag(status(500, 497), stream_end=480, applied=477, max_lag=5)["caught_up"]


def test_unknown_is_not_caught_up() -> None:
    """A service not answering, or a stream gone: nothing known, not ready."""
    no_answer = view_lag({"service": "hold", "ready": False}, 10, 10, max_lag=100)
    gone = view_lag(status(10, 10), stream_end=None, applied=10, max_lag=100)
    for lag in (no_answer, gone):
        assert lag["events_behind"] is None and not lag["caught_up"]
    assert catching_up({"hold": gone})["events_behind"] is None  # type: ignore[index]


def notifier(store: int | None, read: int | None, **pending: int | None) -> dict[str, Any]:
    consumers = {name: {"pending": n} for name, n in pending.items()}
    return {**status(store, read), "service": "notify", "consumers": consumers}


def test_the_notifier_is_behind_by_what_its_consumers_and_its_relay_have_not_done() -> None:
    """The notifier has no view: it is behind by the messages its consumers have not
    processed on hold's and build's streams plus what its relay has not read of its store."""
    lag = follower_lag(notifier(120, 100, notify_from_hold=30, notify_from_build=2), max_lag=0)
    assert (lag["relay_behind"], lag["consumers_behind"], lag["events_behind"]) == (20, 32, 52)
    assert lag["stream"] == "CHB_NOTIFY" and not lag["caught_up"]
    done = follower_lag(notifier(120, 120, notify_from_hold=0, notify_from_build=0), max_lag=0)
    assert done["events_behind"] == 0 and done["caught_up"]
    assert follower_lag(notifier(120, 118, notify_from_hold=3), max_lag=5)["caught_up"]


def test_a_notifier_not_answering_or_a_consumer_unread_is_not_caught_up() -> None:
    silent = follower_lag({"service": "notify", "ready": False}, max_lag=100)
    unread = follower_lag(notifier(10, 10, notify_from_hold=None), max_lag=100)
    for lag in (silent, unread):
        assert lag["events_behind"] is None and not lag["caught_up"]
