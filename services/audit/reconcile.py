"""Reconciliation: does each downstream service's store agree with its upstream's?

For every pair (upstream, downstream) it compares three positions, read from the stores and the
stream themselves (so it works while a service is down, which is when it matters):

- the upstream store's last notification id (what happened);
- the last notification id on the upstream's stream (what its relay published);
- the downstream store's tracking position for that upstream (what it has processed).

The differences are lags (the relay behind its store, the consumer behind the stream), which
close on their own while the services run. A position *ahead* of the one it follows is a hole:
the downstream has acted on events its upstream no longer holds, or the stream holds events the
store does not; that happens when a store is restored from an older backup, and it needs a
person: the check names it and exits non-zero.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from services.runtime.application import ServiceApplication
from services.runtime.relay import stream_position
from services.runtime.settings import Settings
from services.runtime.topology import ALL_SERVICES, FOLLOWS, stream_name
from services.views.stores import connect_once, open_store


@dataclass
class Link:
    upstream: str
    downstream: str
    stored: int  # the upstream store's last notification id
    published: int  # the last notification id on the upstream's stream
    tracked: int  # the downstream's tracking position for the upstream
    holes: list[str] = field(default_factory=list)

    @property
    def relay_lag(self) -> int:
        return max(self.stored - self.published, 0)

    @property
    def consumer_lag(self) -> int:
        return max(self.published - self.tracked, 0)

    def find_holes(self) -> Link:
        up, down = self.upstream, self.downstream
        if self.published > self.stored:
            self.holes.append(
                f"{up}'s stream holds its notifications up to {self.published} but its store "
                f"ends at {self.stored}: the store has lost events (restored from an older "
                "backup?)"
            )
        if self.tracked > self.stored:
            self.holes.append(
                f"{down} has processed {up}'s notifications up to {self.tracked} but {up}'s "
                f"store ends at {self.stored}: {down} acted on events {up} no longer holds"
            )
        if self.tracked > self.published:
            self.holes.append(
                f"{down} has processed {up}'s notifications up to {self.tracked} but {up}'s "
                f"stream ends at {self.published}: the stream has lost messages"
            )
        return self

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "relay_lag": self.relay_lag, "consumer_lag": self.consumer_lag}


@dataclass
class Reconciliation:
    links: list[Link]

    @property
    def ok(self) -> bool:
        return not any(link.holes for link in self.links)

    @property
    def in_step(self) -> bool:
        """No hole and no lag: every downstream has processed all its upstream holds."""
        return self.ok and not any(link.relay_lag or link.consumer_lag for link in self.links)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "in_step": self.in_step,
            "links": [link.as_dict() for link in self.links],
        }


async def last_published(js: JetStreamContext, service: str) -> int:
    """The notification id of the last relay-published message on the service's stream."""
    try:
        return (await stream_position(js, stream_name(service))).published_id
    except NotFoundError:
        return 0


# Every link: the three phases' and the notifier's, on hold's and build's streams.
LINKS = {service: FOLLOWS[service] for service in ALL_SERVICES}
UPSTREAMS = sorted({up for ups in LINKS.values() for up in ups})


def _tracked(settings: Settings) -> dict[tuple[str, str], int]:
    tracked: dict[tuple[str, str], int] = {}
    for service, upstreams in LINKS.items():
        if not upstreams:
            continue
        app = open_store(service, settings)
        try:
            assert isinstance(app, ServiceApplication)
            for upstream in upstreams:
                tracked[(upstream, service)] = app.max_tracking_id(upstream)
        finally:
            app.close()
    return tracked


def _stored(settings: Settings) -> dict[str, int]:
    stored: dict[str, int] = {}
    for service in UPSTREAMS:
        app = open_store(service, settings)
        try:
            stored[service] = app.recorder.max_notification_id() or 0
        finally:
            app.close()
    return stored


async def reconcile(settings: Settings, js: JetStreamContext) -> Reconciliation:
    # Downstream first, then the streams, then the upstream stores: in a healthy system
    # tracked <= published <= stored at every moment, and each is only read after the one it
    # must not exceed, so traffic flowing during the check shows as lag, never as a hole.
    tracked = await asyncio.to_thread(_tracked, settings)
    published = {service: await last_published(js, service) for service in UPSTREAMS}
    stored = await asyncio.to_thread(_stored, settings)
    links = [
        Link(up, down, stored[up], published[up], tracked[(up, down)]).find_holes()
        for down, ups in LINKS.items()
        for up in ups
    ]
    return Reconciliation(links)


async def reconcile_at(settings: Settings) -> Reconciliation:
    """``reconcile`` against the streams at ``settings.nats_url``, as the settings' NATS user."""
    nc = await connect_once(settings)
    try:
        return await reconcile(settings, nc.jetstream())
    finally:
        await nc.close()
