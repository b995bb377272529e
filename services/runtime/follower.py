"""The loop the relay and the notary share: follow a store's log, and after any doubt read
the position again from the stream (never trust a position held in memory after an error)."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import Any

import structlog
from nats.js import JetStreamContext

log = structlog.get_logger()


class LogFollower(ABC):
    what = "follower"
    max_backoff_seconds = 2.0
    synced = False

    @abstractmethod
    async def resync(self, js: JetStreamContext) -> Any:
        """Read the position from the stream."""

    @abstractmethod
    async def step(self, js: JetStreamContext) -> bool:
        """Do the next piece of work; True when there may be more to do at once."""

    @abstractmethod
    async def idle(self, stopping: asyncio.Event) -> None:
        """Wait until there may be work again (or the process is stopping)."""

    async def drain(self, js: JetStreamContext) -> None:
        """Everything there is to do now, without waiting for more: a clean stop's last pass.
        The position is read from the stream first: the loop may have stopped in doubt."""
        await self.resync(js)
        while await self.step(js):
            pass

    async def run(self, js: JetStreamContext, stopping: asyncio.Event) -> None:
        backoff = 0.05
        while not stopping.is_set():
            try:
                if not self.synced:
                    await self.resync(js)
                busy = await self.step(js)
                backoff = 0.05
            except asyncio.CancelledError:
                raise
            except Exception as error:  # any doubt: re-read the position from the stream
                self.synced = False
                log.warning(f"{self.what} failed; will resync", error=repr(error))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_seconds)
                continue
            if not busy:
                await self.idle(stopping)
