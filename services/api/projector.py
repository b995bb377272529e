"""Feeds the read model from the three services' streams.

An ordered consumer per stream, from the first message: the front door keeps no state of its
own, so a restart simply reads the streams again. Unreadable messages are counted and logged,
never applied.
"""

from __future__ import annotations

import asyncio

import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy

from contracts import ContractError, parse_event
from services.api.read_model import ReadModel
from services.runtime.topology import SERVICES, stream_name, subjects

log = structlog.get_logger()


class Projector:
    def __init__(self, read_model: ReadModel) -> None:
        self.read_model = read_model
        self.unreadable = 0
        self._subs: list[JetStreamContext.PushSubscription] = []
        self._targets: dict[str, int] = {}
        self._positions: dict[str, int] = {}
        self._applied = asyncio.Event()  # set after each message: wakes wait_for

    async def start(self, nc: Client) -> None:
        js = nc.jetstream()
        for service in SERVICES:
            stream = stream_name(service)
            info = await js.stream_info(stream)
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
        return all(self._positions.get(s, 0) >= t for s, t in self._targets.items())

    @property
    def positions(self) -> dict[str, int]:
        """The last stream sequence applied, per stream: where the read model stands."""
        return dict(self._positions)

    async def wait_for(self, targets: dict[str, int]) -> None:
        """Return once at least ``targets`` have been applied (callers bound the wait)."""
        while any(self._positions.get(s, 0) < t for s, t in targets.items()):
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

    async def stop(self) -> None:
        for sub in self._subs:
            try:
                await sub.unsubscribe()
            except Exception as error:  # closing anyway
                log.debug("unsubscribe failed", error=repr(error))
        self._subs.clear()
