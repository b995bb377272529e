"""One generation of the views fed from the streams: an ephemeral pull consumer per stream
from where the views stand, and a writer applying what arrives a batch at a time, each batch
one transaction with the positions it reached (``store.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import structlog
from eventsourcing.persistence import Tracking
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from contracts import ContractError, IntegrationEvent, parse_event
from services.runtime.pulling import fetch_batch
from services.runtime.topology import H_NOTIFICATION_ID, SERVICES, stream_name, subjects
from services.views.read_model import ReadModel, StreamMark
from services.views.store import ViewPlace

log = structlog.get_logger()
T = TypeVar("T")

# How many messages one transaction of the views applies at most: a catch-up writes large
# batches, a quiet stream one message at a time as it comes.
BATCH = 2000
# A rebuild beside writes larger ones: an item several events change is written once per batch,
# and nobody waits to see each batch.
CATCH_UP_BATCH = 10_000
# How long to wait before writing a batch again when the views' store refused it.
RETRY_SECONDS = 1.0
# How long a fetch waits for a stream's next message (it returns at once with what there is).
FETCH_SECONDS = 1.0
STOP_SECONDS = 2.0


async def in_thread(work: Callable[..., T], *args: Any) -> T:
    """``work`` in a worker thread; if the caller is cancelled meanwhile, the thread is still
    waited for before the cancellation goes on: whoever stops a feed then closes its database,
    and a thread still writing to a closed SQLite connection crashes the process."""
    running = asyncio.ensure_future(asyncio.to_thread(work, *args))
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await running
        raise


class Feed:
    """One generation of the views and the consumers feeding it: where it stands on each
    stream (its tracking positions, kept with its rows), and which incarnation (creation time)
    of each stream it reads.

    Messages are applied in batches, off the event loop, each batch one transaction with the
    positions it reached: the views never stand anywhere but where their positions say, and a
    restart resumes from them.

    A generation built ``beside`` the one served (a rebuild) is written without its secondary
    indexes, in larger batches, and makes its indexes once it has caught up: ten B-trees
    grown a row at a time were most of a rebuild's writing, and slowed it as they grew. It is
    not ``complete`` (nor to be served) until then."""

    def __init__(self, place: ViewPlace, applied: asyncio.Event, *, beside: bool = False) -> None:
        if beside:
            place = dataclasses.replace(place, indexed=False)
        self.place = place
        self.indexed = place.indexed
        self._batch = BATCH if self.indexed else CATCH_UP_BATCH
        self.writer = ReadModel(place)
        self.read_model = ReadModel(place)  # reads only: what the routes are given
        self.positions: dict[str, int] = {}
        self.targets: dict[str, int] = {}  # each stream's last sequence when this feed began
        self.created: dict[str, datetime | None] = {}
        # The last notification id applied per stream (the relay's header): the same event has
        # the same id in a stream made again, though not necessarily the same sequence.
        self.marks: dict[str, int] = {}
        self.unreadable = 0
        self._applied = applied
        self._readers: list[asyncio.Task[None]] = []
        self._next: dict[str, int] = {}  # per stream: the next sequence to fetch
        self._stopped = False
        self._inbox: list[Msg] = []
        self._arrived = asyncio.Event()
        self._drained = asyncio.Event()
        self._writing: asyncio.Task[None] | None = None
        self.failed: BaseException | None = None

    def recorded_streams(self) -> dict[str, StreamMark]:
        """Each stream's creation time and last notification id as this generation recorded
        them (empty for a new one)."""
        return self.writer.stream_marks()

    async def start(self, nc: Client) -> None:
        js = nc.jetstream()
        recorded = self.recorded_streams()
        for service in SERVICES:
            stream = stream_name(service)
            info = await js.stream_info(stream)
            mark = recorded.get(stream)
            self.created[stream] = mark.created if mark else info.created
            self.marks[stream] = mark.mark if mark else 0
            self.targets[stream] = info.state.last_seq
            self.positions[stream] = self.writer.position(stream)
        self._writing = asyncio.create_task(self._write(), name="views:write")
        for service in SERVICES:
            stream = stream_name(service)
            self._readers.append(
                asyncio.create_task(self._read(js, service), name=f"views:read:{stream}")
            )

    def reached(self, targets: dict[str, int]) -> bool:
        return all(self.positions.get(s, 0) >= t for s, t in targets.items())

    @property
    def indexing(self) -> bool:
        """Read to where the streams stood and making its indexes (the writer's next step
        once caught up), not yet to be served."""
        return not self.indexed and self.reached(self.targets)

    @property
    def complete(self) -> bool:
        """Caught up with where the streams stood when it began, and indexed: fit to serve."""
        return self.indexed and self.reached(self.targets)

    async def _read(self, js: JetStreamContext, service: str) -> None:
        """Fetch one stream's messages a batch at a time through an ephemeral pull consumer
        from where the views stand, waiting while the writer is behind (so a catch-up is never
        held in memory whole); a consumer lost (a server restart) is made again from the next
        message not yet fetched."""
        stream = stream_name(service)
        self._next[stream] = self.positions[stream] + 1
        while not self._stopped:
            try:
                sub = await js.pull_subscribe(
                    subjects(service),
                    stream=stream,
                    config=ConsumerConfig(
                        ack_policy=AckPolicy.NONE,
                        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                        opt_start_seq=self._next[stream],
                        inactive_threshold=60.0,
                    ),
                )
                try:
                    await self._fetch(sub, stream)
                finally:
                    with contextlib.suppress(Exception):  # closing anyway
                        await asyncio.wait_for(sub.unsubscribe(), STOP_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # NATS away or the consumer gone: readiness says so
                log.warning(
                    "could not read a stream; reading it again", stream=stream, error=repr(error)
                )
                await asyncio.sleep(RETRY_SECONDS)

    async def _fetch(self, sub: JetStreamContext.PullSubscription, stream: str) -> None:
        # Also ended by ``_stopped``: on Python 3.11 ``asyncio.wait_for`` (inside nats-py's
        # ``next_msg``, which the fetch awaits) can swallow a cancellation that arrives as its
        # message does.
        while not self._stopped:
            try:
                # What has arrived, at once: nats-py's own fetch awaits each message through a
                # task of its own (services/runtime/pulling.py); in a rebuild of 60,534 events
                # fetching took 22 s of the 28 with it, 2.4 s of 20 without (bench/README.md).
                fetched = await fetch_batch(sub, BATCH, FETCH_SECONDS)
            except TimeoutError:
                continue
            while len(self._inbox) >= 2 * self._batch:
                self._drained.clear()
                await self._drained.wait()
            self._inbox.extend(fetched)
            self._arrived.set()
            self._next[stream] = fetched[-1].metadata.sequence.stream + 1

    async def _write(self) -> None:
        """Apply what has arrived, a batch at a time, in a worker thread (the loop keeps
        answering requests meanwhile)."""
        while True:
            await self._index_once_caught_up()
            await self._arrived.wait()
            self._arrived.clear()
            while self._inbox:
                batch, self._inbox = self._inbox[: self._batch], self._inbox[self._batch :]
                self._drained.set()
                await self._until_written(self._apply, batch, what="written")
                self._applied.set()
                await self._index_once_caught_up()

    async def _until_written(self, work: Callable[..., None], *args: Any, what: str) -> None:
        """``work`` in a worker thread, again and again while the store refuses it (nothing of
        it is written then): not ready meanwhile (``failed``), and why said once."""
        while True:
            try:
                await in_thread(work, *args)
            except Exception as error:  # the store away: not ready, say why, try again
                if self.failed is None:
                    log.warning(f"the views could not be {what}; trying again", error=repr(error))
                self.failed = error
                await asyncio.sleep(RETRY_SECONDS)
                continue
            self.failed = None
            return

    async def _index_once_caught_up(self) -> None:
        """A generation written without its indexes makes them once it has caught up (the
        writer waits meanwhile; what arrives is kept to be applied after)."""
        if not self.indexing:
            return
        started = time.perf_counter()
        await self._until_written(self.writer.recorder.create_indexes, what="indexed")
        self.indexed = True
        self._batch = BATCH
        log.info(
            "the rebuilt views have caught up and are indexed",
            generation=self.place.generation,
            seconds=round(time.perf_counter() - started, 2),
        )
        self._applied.set()

    def _apply(self, messages: list[Msg]) -> None:
        """One transaction: the batch's changes and the positions it reached. A message at or
        below the recorded position (a redelivery) is skipped."""
        reached: dict[str, int] = {}
        # Where this batch has got, known to the others (``_maybe_switch``) only once written.
        marks = dict(self.marks)
        events: list[IntegrationEvent] = []
        for msg in messages:
            stream = msg.metadata.stream
            seq = msg.metadata.sequence.stream
            if seq <= self.positions.get(stream, 0) or seq <= reached.get(stream, 0):
                continue
            reached[stream] = seq
            nid = (msg.headers or {}).get(H_NOTIFICATION_ID)
            if nid is not None and nid.isdigit():
                marks[stream] = int(nid)
            try:
                events.append(parse_event(msg.data))
            except ContractError as error:
                self.unreadable += 1
                log.warning(
                    "unreadable message not projected", subject=msg.subject, error=str(error)
                )
        with self.writer.writing():
            self.writer.prefetch(events)
            for event in events:
                self.writer.apply(event)
            if not reached:
                return
            for stream in reached:
                mark = StreamMark(self.created.get(stream), marks.get(stream, 0))
                self.writer.mark_stream(stream, mark)
            self.writer.flush([Tracking(stream, seq) for stream, seq in reached.items()])
        self.marks.update(marks)
        self.positions.update(reached)

    def has_applied(self, event_id: UUID) -> bool:
        return event_id in self.writer.seen

    async def stop(self) -> None:
        self._stopped = True
        for reader in self._readers:
            reader.cancel()
        # Bounded: a reader gives back its consumer as it goes, which asks NATS; a stop must
        # not wait on a server that does not answer (the consumer expires by itself).
        if self._readers:
            await asyncio.wait(self._readers, timeout=STOP_SECONDS)
        self._readers.clear()
        if self._writing is not None:
            self._writing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writing
            self._writing = None

    def close(self) -> None:
        self.writer.close()
        self.read_model.close()
