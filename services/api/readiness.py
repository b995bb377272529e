"""How far the API's views stand behind the services' stores: what ``/ready`` reports.

"Caught up with the streams" is not the truth while a relay republishes a store into a stream
made again (issue 17: ready, with 296 of 43,298 tasks visible). Each service's status says where
its store stands (``store_notification_id``) and how far its relay has read it
(``relay.read_notification_id``: the relay moves it past a batch only once the stream has
stored that batch). So a view has reached the position the store had when the API asked once

- the relay has read the whole store as it stood (``store - read`` notifications behind it), and
- the view has applied the stream up to its last sequence, read after the status
  (``last_seq - applied`` messages behind it).

Their sum is the events the view is behind; a service is caught up when it is at most
``CHB_READY_MAX_LAG``. The relay's part counts notifications, a few of which publish nothing,
so during a catch-up it may overstate the lag slightly; it is exact (zero) once caught up.

The notifier has no view in the API (the front door asks it over NATS): it is caught up when
it has processed what it follows (its consumers' messages pending on hold's and build's
streams) and its relay has read its store, within the same ``CHB_READY_MAX_LAG``. It counts
once it is part of the system: once its durable consumer on hold's stream exists (made at its
first start), a notifier that does not answer is not ready; a system that never ran one (the
three phases alone) is not held back by it.
"""

from __future__ import annotations

from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from services.runtime.topology import NOTIFY, durable_name, stream_name


async def stream_ends(js: JetStreamContext, services: list[str]) -> dict[str, int | None]:
    """Each service's stream's last sequence; None for a stream that is gone."""
    ends: dict[str, int | None] = {}
    for service in services:
        try:
            ends[service] = (await js.stream_info(stream_name(service))).state.last_seq
        except NotFoundError:
            ends[service] = None
    return ends


def view_lag(
    status: dict[str, Any], stream_end: int | None, applied: int, max_lag: int
) -> dict[str, Any]:
    """One service's view: where it stands, how far behind the store it is, and whether that
    is within ``max_lag``. Unknown (a service not answering, a stream gone) is not caught up."""
    store = status.get("store_notification_id")
    relay = status.get("relay") or {}
    read = relay.get("read_notification_id")
    relay_behind = max(0, store - read) if store is not None and read is not None else None
    view_behind = max(0, stream_end - applied) if stream_end is not None else None
    behind = (
        relay_behind + view_behind if relay_behind is not None and view_behind is not None else None
    )
    return {
        "stream": stream_name(status["service"]),
        "applied": applied,
        "stream_last_seq": stream_end,
        "store_notification_id": store,
        "relay_read_notification_id": read,
        "relay_behind": relay_behind,
        "view_behind": view_behind,
        "events_behind": behind,
        "caught_up": behind is not None and behind <= max_lag,
    }


async def notifier_deployed(js: JetStreamContext) -> bool:
    """Whether this system has a notifier: its durable consumer on hold's stream exists."""
    try:
        await js.consumer_info(stream_name("hold"), durable_name("hold", NOTIFY))
    except NotFoundError:
        return False
    return True


def follower_lag(status: dict[str, Any], max_lag: int) -> dict[str, Any]:
    """A service no view follows (the notifier): what its consumers have not processed of the
    streams they follow, plus what its relay has not read of its store. Unknown (it does not
    answer, or a consumer's position cannot be read) is not caught up."""
    store = status.get("store_notification_id")
    read = (status.get("relay") or {}).get("read_notification_id")
    relay_behind = max(0, store - read) if store is not None and read is not None else None
    pending = [c.get("pending") for c in (status.get("consumers") or {}).values()]
    consumers_behind = sum(pending) if pending and all(p is not None for p in pending) else None
    behind = (
        relay_behind + consumers_behind
        if relay_behind is not None and consumers_behind is not None
        else None
    )
    return {
        "stream": stream_name(status["service"]),
        "store_notification_id": store,
        "relay_read_notification_id": read,
        "relay_behind": relay_behind,
        "consumers_behind": consumers_behind,
        "events_behind": behind,
        "caught_up": behind is not None and behind <= max_lag,
    }


def catching_up(views: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """Progress across every view, or None when each is caught up (or nothing is known)."""
    if all(v["caught_up"] for v in views.values()):
        return None
    known = [v for v in views.values() if v["events_behind"] is not None]
    behind = sum(v["events_behind"] for v in known)
    applied = sum(v["applied"] for v in known)
    return {
        "events_behind": behind if len(known) == len(views) else None,
        "applied": applied,
        "progress": round(applied / (applied + behind), 4) if applied + behind else None,
    }
