"""Feeds the read model from the three services' streams.

An ordered consumer per stream, from the first message: the front door keeps no state of its
own, so a restart simply reads the streams again. Unreadable messages are counted and logged,
never applied.

A stream that is lost and made again (its service's relay republishes its whole store into it)
starts again from sequence 1; an ordered consumer would wait for the old sequence and show stale
data as caught up. ``watch`` tells a stream made again by the one thing that says so: the
server's creation time of the stream, which nothing but a new stream changes. How far a read
has got, or how many messages a stream holds, is never compared: during a long catch-up a slow
read or a lagging consumer made such a comparison rebuild a view for nothing (issue 17: 107,705
tasks fell to 4,534). A stream found gone only marks the view as not caught up; the rebuild
waits until the stream is back, with its new creation time. (nats-server issue 8470: a file
stream's creation time could change over two restarts with a configuration update between; on
such a server that costs one needless rebuild, beside the view served, never a view lost.)

A rebuild is built beside: the view being served stays as it was (frozen: its consumers are
stopped, since one of them reads a stream that no longer is) while a new one reads every stream
from the start; the new one is served once it stands at least where the old one stood on every
stream (on a stream made again: has applied the last notification id the old one had, as the
relay republishes the same store), so nothing visible goes backwards. The API is not ready
meanwhile. A stream made again that never gets back to where the old one stood (its store lost
events) leaves the rebuild unfinished and the API not ready: that needs a person, not a guess.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from uuid import UUID

import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from nats.js.errors import NotFoundError

from contracts import ContractError, parse_event
from services.runtime.topology import H_NOTIFICATION_ID, SERVICES, stream_name, subjects
from services.views.read_model import ReadModel

log = structlog.get_logger()


class Feed:
    """One view and the consumers feeding it: where it stands on each stream, and which
    incarnation (creation time) of each stream it reads."""

    def __init__(self, read_model: ReadModel, applied: asyncio.Event) -> None:
        self.read_model = read_model
        self.positions: dict[str, int] = {}
        self.targets: dict[str, int] = {}  # each stream's last sequence when this feed began
        self.created: dict[str, datetime | None] = {}
        # The last notification id applied per stream (the relay's header): the same event has
        # the same id in a stream made again, though not necessarily the same sequence.
        self.marks: dict[str, int] = {}
        self.unreadable = 0
        self._applied = applied
        self._subs: list[JetStreamContext.PushSubscription] = []

    async def start(self, nc: Client) -> None:
        js = nc.jetstream()
        for service in SERVICES:
            stream = stream_name(service)
            info = await js.stream_info(stream)
            self.created[stream] = info.created
            self.targets[stream] = info.state.last_seq
            self.positions[stream] = 0
            self._subs.append(
                await js.subscribe(
                    subjects(service),
                    stream=stream,
                    ordered_consumer=True,
                    deliver_policy=DeliverPolicy.ALL,
                    cb=self._on_message,
                )
            )

    def reached(self, targets: dict[str, int]) -> bool:
        return all(self.positions.get(s, 0) >= t for s, t in targets.items())

    async def _on_message(self, msg: Msg) -> None:
        stream = msg.metadata.stream
        self.positions[stream] = msg.metadata.sequence.stream
        nid = (msg.headers or {}).get(H_NOTIFICATION_ID)
        if nid is not None and nid.isdigit():
            self.marks[stream] = int(nid)
        self._applied.set()
        try:
            event = parse_event(msg.data)
        except ContractError as error:
            self.unreadable += 1
            log.warning("unreadable message not projected", subject=msg.subject, error=str(error))
            return
        self.read_model.apply(event)

    async def stop(self) -> None:
        for sub in self._subs:
            try:
                await sub.unsubscribe()
            except Exception as error:  # closing anyway
                log.debug("unsubscribe failed", error=repr(error))
        self._subs.clear()


class Projector:
    def __init__(self, read_model: ReadModel) -> None:
        self._applied = asyncio.Event()  # set after each message: wakes wait_for
        self._serving = Feed(read_model, self._applied)
        self._building: Feed | None = None  # a rebuild under way, beside the view served
        self._lost: set[str] = set()  # streams found gone (not caught up until read again)
        self.rebuilds = 0

    @property
    def read_model(self) -> ReadModel:
        """The view served: the old one until a rebuilt one has caught up with it."""
        return self._serving.read_model

    @property
    def unreadable(self) -> int:
        return self._serving.unreadable + (self._building.unreadable if self._building else 0)

    async def start(self, nc: Client) -> None:
        self._lost.clear()
        await self._serving.start(nc)

    @property
    def rebuilding(self) -> bool:
        return self._building is not None

    @property
    def lost(self) -> set[str]:
        return set(self._lost)

    @property
    def caught_up(self) -> bool:
        """Everything that was in the streams when the view began has been read, no stream is
        gone and no rebuild is under way (the projector's own part: how far the stores are
        ahead of the streams is the readiness probe's to ask)."""
        return (
            not self._lost
            and self._building is None
            and self._serving.reached(self._serving.targets)
        )

    @property
    def positions(self) -> dict[str, int]:
        """The last stream sequence applied, per stream: where the served view stands."""
        return dict(self._serving.positions)

    @property
    def reading(self) -> dict[str, int]:
        """Where the view being read stands: the rebuilt one during a rebuild."""
        return dict((self._building or self._serving).positions)

    async def wait_for(self, targets: dict[str, int]) -> None:
        """Return once at least ``targets`` have been applied (callers bound the wait)."""
        while not self._serving.reached(targets):
            self._applied.clear()
            await self._applied.wait()

    async def wait_for_event(self, event_id: UUID) -> None:
        """Return once the event with this id has been applied (callers bound the wait)."""
        while event_id not in self.read_model.seen:
            self._applied.clear()
            await self._applied.wait()

    async def watch(self, nc: Client, stopping: asyncio.Event, every: float = 2.0) -> None:
        """Every ``every`` seconds, look at each stream's creation time; when one was made
        again, build the view again beside the one served (see the module's docstring), and
        switch to it once it has caught up."""
        js = nc.jetstream()
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), every)
            if stopping.is_set():
                return
            try:
                await self.look(nc, js)
            except Exception as error:  # NATS away: readiness already says so; look again
                log.warning("could not compare the read model with the streams", error=repr(error))

    async def look(self, nc: Client, js: JetStreamContext) -> None:
        """One round of ``watch``."""
        infos = await self._stream_infos(js)
        feed = self._building or self._serving
        made_again = [
            s for s, info in infos.items() if info is not None and info[0] != feed.created.get(s)
        ]
        if made_again:
            await self.rebuild(nc, made_again)
        elif self._building is not None:
            self._maybe_switch()

    async def _stream_infos(
        self, js: JetStreamContext
    ) -> dict[str, tuple[datetime | None, int] | None]:
        """Each stream's creation time and last sequence; None for a stream that is gone."""
        infos: dict[str, tuple[datetime | None, int] | None] = {}
        for stream in list(self._serving.positions):
            try:
                info = await js.stream_info(stream)
            except NotFoundError:
                if stream not in self._lost:
                    log.error("stream lost; the read model waits for it", stream=stream)
                self._lost.add(stream)
                infos[stream] = None
                continue
            self._lost.discard(stream)
            infos[stream] = (info.created, info.state.last_seq)
        return infos

    async def rebuild(self, nc: Client, streams: list[str] | None = None) -> None:
        """Read every stream again from its first message into a new view, beside the one
        served, which stays as it is until the new one has caught up with it."""
        log.warning(
            "a stream was made again; reading every stream again beside the view served",
            made_again=streams,
            positions=self.positions,
        )
        await self._serving.stop()  # frozen: one of its streams is no longer the one it read
        if self._building is not None:  # made again during a rebuild: begin that one again
            await self._building.stop()
        self._building = Feed(ReadModel(dedupe=self.read_model.dedupe), self._applied)
        self.rebuilds += 1
        await self._building.start(nc)

    def _maybe_switch(self) -> None:
        """Serve the rebuilt view once it stands where the old one stood on every stream: by
        sequence on a stream that is the one the old view read, by the last notification id
        applied on a stream made again (its sequences need not match the old ones). Nothing
        measured in time: a relay slow to republish only makes the switch later."""
        building = self._building
        assert building is not None
        served = self._serving
        if not building.reached(building.targets):
            return
        for stream in building.targets:
            if building.created.get(stream) == served.created.get(stream):
                if building.positions.get(stream, 0) < served.positions.get(stream, 0):
                    return
            elif building.marks.get(stream, 0) < served.marks.get(stream, 0):
                return
        log.info("the rebuilt view has caught up; serving it", positions=building.positions)
        self._serving, self._building = building, None

    async def stop(self) -> None:
        await self._serving.stop()
        if self._building is not None:
            await self._building.stop()
