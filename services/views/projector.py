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
from typing import Any
from uuid import UUID

import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from services.views.feed import Feed
from services.views.generations import Generations
from services.views.read_model import ReadModel
from services.views.sharing import Lead, ReadingFeed, Retiring

log = structlog.get_logger()


class Projector:
    def __init__(self, generations: Generations | None = None) -> None:
        self.generations = generations or Generations.in_memory()
        self._applied = asyncio.Event()  # set after each batch: wakes wait_for
        # One process writes the views (``sharing.py``); any other reads what it writes.
        self.lead = Lead(self.generations)
        self._serving: Feed | ReadingFeed = (
            Feed(self.generations.serving(), self._applied)
            if self.lead.try_take()
            else ReadingFeed(self.generations, self._applied)
        )
        self._nc: Client | None = None
        self._building: Feed | None = None  # a rebuild under way, beside the view served
        self._lost: set[str] = set()  # streams found gone (not caught up until read again)
        self.rebuilds = 0
        # A rebuild asked for (``chb views rebuild``) while the view served is sound: it goes
        # on being served, live and ready, until the new one has caught up with it.
        self._asked = False
        # Views no longer served, closed once the requests reading them have finished.
        self.retiring = Retiring()

    @property
    def read_model(self) -> ReadModel:
        """The view served: the old one until a rebuilt one has caught up with it."""
        return self._serving.read_model

    @property
    def unreadable(self) -> int:
        return self._serving.unreadable + (self._building.unreadable if self._building else 0)

    @property
    def leading(self) -> bool:
        """Whether this process writes the views (else it reads what another writes)."""
        return isinstance(self._serving, Feed)

    async def start(self, nc: Client) -> None:
        self._nc = nc
        self._lost.clear()
        await self._serving.start(nc)

    @property
    def rebuilding(self) -> bool:
        """A rebuild the view served must wait for (a stream made again): not ready."""
        return self._building is not None and not self._asked

    def progress(self) -> dict[str, Any]:
        """Which generation is served, and a rebuild under way: how far it has read."""
        building = self._building
        return {
            "generation": self._serving.place.generation,
            "leading": self.leading,
            "positions": self.positions,
            "rebuild": None
            if building is None
            else {
                "generation": building.place.generation,
                "asked": self._asked,
                # Read to the end and making its indexes, before it is served.
                "indexing": building.indexing,
                "applied": sum(building.positions.values()),
                "total": sum(
                    max(t, self._serving.positions.get(s, 0)) for s, t in building.targets.items()
                ),
            },
        }

    async def rebuild_asked(self, nc: Client) -> bool:
        """Build a new generation from every stream beside the one served (which goes on being
        served, live), and switch to it once it has caught up. False when this process does
        not write the views or a rebuild is already under way."""
        if not self.leading or self._building is not None:
            return False
        log.warning("rebuilding the views beside the view served, as asked")
        self._asked = True
        self._building = Feed(self.generations.new(), self._applied, beside=True)
        self.rebuilds += 1
        await self._building.start(nc)
        return True

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
            and not self.rebuilding
            and self._serving.failed is None
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
        """Return once the event with this id has been applied (callers bound the wait). A
        process that only reads the views cannot tell one event: it waits until the writer
        stands where the streams stood when asked."""
        if not self.leading and self._nc is not None:
            js = self._nc.jetstream()
            targets = {s: (await js.stream_info(s)).state.last_seq for s in self._serving.targets}
            await self.wait_for(targets)
            return
        while not self._serving.has_applied(event_id):
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
        self.retiring.sweep()
        if not self.leading:  # the writer rebuilds; this process may take over from it
            if await asyncio.to_thread(self.lead.try_take):
                await self._take_over(nc)
            return
        infos = await self._stream_infos(js)
        feed = self._building or self._serving
        made_again = [
            s for s, info in infos.items() if info is not None and info[0] != feed.created.get(s)
        ]
        if made_again:
            await self.rebuild(nc, made_again)
        elif self._building is not None:
            await self._maybe_switch()

    async def _take_over(self, nc: Client) -> None:
        """The writer is gone and its lead is this process's now: write from where it stood."""
        reading = self._serving
        await reading.stop()
        feed = Feed(self.generations.serving(), self._applied)
        await feed.start(nc)
        self._serving = feed
        self.retiring.add(reading.close)  # a request may be reading it now
        log.warning("took the lead: this process now writes the views", positions=feed.positions)

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
        self._asked = False
        if self._building is not None:  # made again during a rebuild: begin that one again
            await self._building.stop()
        if self._building is not None:
            self._building.close()
            self.generations.drop(self._building.place)
        self._building = Feed(self.generations.new(), self._applied, beside=True)
        self.rebuilds += 1
        await self._building.start(nc)

    async def _maybe_switch(self) -> None:
        """Serve the rebuilt view once it stands where the old one stood on every stream: by
        sequence on a stream that is the one the old view read, by the last notification id
        applied on a stream made again (its sequences need not match the old ones). Nothing
        measured in time: a relay slow to republish only makes the switch later."""
        building = self._building
        assert building is not None
        served = self._serving
        if not building.complete:
            return
        for stream in building.targets:
            if building.created.get(stream) == served.created.get(stream):
                if building.positions.get(stream, 0) < served.positions.get(stream, 0):
                    return
            elif building.marks.get(stream, 0) < served.marks.get(stream, 0):
                return
        log.info("the rebuilt view has caught up; serving it", positions=building.positions)
        old = self._serving
        self._serving, self._building, self._asked = building, None, False
        self.generations.switch(building.place)
        await old.stop()  # still reading when the rebuild was asked for

        def retire() -> None:
            old.close()
            self.generations.drop(old.place)

        self.retiring.add(retire)  # a request may be reading it now

    async def stop(self) -> None:
        await self._serving.stop()
        if self._building is not None:
            await self._building.stop()

    def close(self) -> None:
        self.retiring.close_all()
        self._serving.close()
        if self._building is not None:
            self._building.close()
        self.lead.release()
        self.generations.close()
