"""Feeds the read model from the three services' streams.

An ordered consumer per stream, from the first message: the front door keeps no state of its
own, so a restart simply reads the streams again. Unreadable messages are counted and logged,
never applied.

A stream that is lost and made again (its service's relay republishes its whole store into it)
starts again from sequence 1; an ordered consumer would wait for the old sequence and show stale
data as caught up. ``watch`` notices (a stream gone, or created at another time than the one
read) and reads every stream again into an emptied read model; the API is not ready meanwhile.
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
from services.runtime.topology import SERVICES, stream_name, subjects
from services.views.read_model import ReadModel

log = structlog.get_logger()


class Projector:
    def __init__(self, read_model: ReadModel) -> None:
        self.read_model = read_model
        self.unreadable = 0
        self._subs: list[JetStreamContext.PushSubscription] = []
        self._targets: dict[str, int] = {}
        self._positions: dict[str, int] = {}
        self._applied = asyncio.Event()  # set after each message: wakes wait_for
        self._lost: set[str] = set()  # streams found gone (not caught up until read again)
        self._created: dict[str, datetime | None] = {}  # when each stream read was made
        self.rebuilds = 0

    async def start(self, nc: Client) -> None:
        js = nc.jetstream()
        self._lost.clear()
        for service in SERVICES:
            stream = stream_name(service)
            info = await js.stream_info(stream)
            self._created[stream] = info.created
            self._targets[stream] = info.state.last_seq
            self._positions[stream] = 0
            self._subs.append(
                await js.subscribe(
                    subjects(service),
                    stream=stream,
                    ordered_consumer=True,
                    deliver_policy=DeliverPolicy.ALL,
                    cb=self._on_message,
                )
            )

    @property
    def caught_up(self) -> bool:
        """Everything that was in the streams when we started has been read."""
        return not self._lost and all(
            self._positions.get(s, 0) >= t for s, t in self._targets.items()
        )

    @property
    def positions(self) -> dict[str, int]:
        """The last stream sequence applied, per stream: where the read model stands."""
        return dict(self._positions)

    async def wait_for(self, targets: dict[str, int]) -> None:
        """Return once at least ``targets`` have been applied (callers bound the wait)."""
        while any(self._positions.get(s, 0) < t for s, t in targets.items()):
            self._applied.clear()
            await self._applied.wait()

    async def wait_for_event(self, event_id: UUID) -> None:
        """Return once the event with this id has been applied (callers bound the wait)."""
        while event_id not in self.read_model.seen:
            self._applied.clear()
            await self._applied.wait()

    async def _on_message(self, msg: Msg) -> None:
        self._positions[msg.metadata.stream] = msg.metadata.sequence.stream
        self._applied.set()
        try:
            event = parse_event(msg.data)
        except ContractError as error:
            self.unreadable += 1
            log.warning("unreadable message not projected", subject=msg.subject, error=str(error))
            return
        self.read_model.apply(event)

    async def watch(self, nc: Client, stopping: asyncio.Event, every: float = 2.0) -> None:
        """Every ``every`` seconds, compare each stream with what was applied from it; when one
        was made again, read everything again (see the module's docstring)."""
        js = nc.jetstream()
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), every)
            if stopping.is_set():
                return
            try:
                if await self._made_again(js):
                    await self.rebuild(nc)
            except Exception as error:  # NATS away: readiness already says so; look again
                log.warning("could not compare the read model with the streams", error=repr(error))

    async def _made_again(self, js: JetStreamContext) -> bool:
        again = False
        for stream in list(self._positions):
            try:
                info = await js.stream_info(stream)
            except NotFoundError:
                if stream not in self._lost:
                    log.error("stream lost; the read model waits for it", stream=stream)
                self._lost.add(stream)
                continue
            made_again = info.created != self._created.get(stream)
            if stream in self._lost or made_again or info.state.last_seq < self._positions[stream]:
                again = True
        return again

    async def rebuild(self, nc: Client) -> None:
        """Forget everything and read every stream again from its first message."""
        log.warning("a stream was made again; reading every stream again", positions=self.positions)
        await self.stop()
        self.read_model.reset()
        self._positions.clear()
        self._targets.clear()
        self._created.clear()
        self.rebuilds += 1
        await self.start(nc)

    async def stop(self) -> None:
        for sub in self._subs:
            try:
                await sub.unsubscribe()
            except Exception as error:  # closing anyway
                log.debug("unsubscribe failed", error=repr(error))
        self._subs.clear()
