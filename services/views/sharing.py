"""Several API processes on one store of views: one writes, the others read.

The process holding the *lead* (a PostgreSQL advisory lock, or a lock on a file beside the
SQLite views) reads the streams and writes the views; every other one reads the same tables
and follows the positions the writer records, and takes the lead when the writer is gone (its
lock goes with its connection or its process). Two writers never interleave: each batch is
one transaction with its positions, and only the holder of the lead writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import time
import zlib
from collections.abc import Callable
from datetime import datetime
from typing import IO, Any
from uuid import UUID

import psycopg
import structlog
from nats.aio.client import Client

from services.runtime.store import postgres_conninfo
from services.runtime.topology import SERVICES, stream_name
from services.views.feed import in_thread
from services.views.generations import Generations
from services.views.read_model import ReadModel

log = structlog.get_logger()

# How often a reading process looks at where the writer stands (and which generation it
# serves): well inside the 2 s a caller's own change must take to be seen.
FOLLOW_SECONDS = 0.1
# How long views no longer served stay open for the requests that began on them.
RETIRE_SECONDS = 30.0


class Lead:
    """The right to write the views, held until ``release`` (or the process ends)."""

    def __init__(self, generations: Generations) -> None:
        self.generations = generations
        self._conn: psycopg.Connection[Any] | None = None
        self._file: IO[bytes] | None = None
        self.held = False

    def try_take(self) -> bool:
        if self.held:
            return True
        kind, settings = self.generations.kind, self.generations.settings
        if kind == "memory" or settings is None:
            self.held = True
        elif kind == "sqlite":
            path = settings.data_dir / "views" / "lead.lock"
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path, "ab")  # noqa: SIM115 - held for as long as the lead is
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                return False
            self._file, self.held = handle, True
        else:
            if self._conn is None:
                self._conn = psycopg.connect(postgres_conninfo(settings), autocommit=True)
            row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key(),)).fetchone()
            self.held = bool(row and row[0])
        return self.held

    def _key(self) -> int:
        settings = self.generations.settings
        assert settings is not None
        return zlib.crc32(settings.postgres_schema("views").encode())

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # the lock goes with the file
            self._file = None
        if self._conn is not None:
            # Given back at once (closing the session would give it back too, but only once
            # the server has noticed): another process may take the lead at its next look.
            with contextlib.suppress(psycopg.Error):
                if self.held:
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", (self._key(),))
            self._conn.close()
            self._conn = None
        self.held = False


class Retiring:
    """Views no longer served, closed (and their generation dropped) only once the requests
    that began reading them have had time to finish: closed at the moment of a switch, a
    request reading then failed ("Cannot operate on a closed database")."""

    def __init__(self, grace: float = RETIRE_SECONDS) -> None:
        self.grace = grace
        self._waiting: list[tuple[float, Callable[[], None]]] = []

    def add(self, finish: Callable[[], None]) -> None:
        self._waiting.append((time.monotonic() + self.grace, finish))

    def __len__(self) -> int:
        return len(self._waiting)

    def sweep(self, now: float | None = None) -> None:
        """Finish those whose grace is over (``now``: a monotonic time, for the tests)."""
        at = time.monotonic() if now is None else now
        due = [f for until, f in self._waiting if until <= at]
        self._waiting = [(until, f) for until, f in self._waiting if until > at]
        for finish in due:
            try:
                finish()
            except Exception as error:  # already gone: nothing left to give back
                log.warning("could not close views no longer served", error=repr(error))

    def close_all(self) -> None:
        self.sweep(now=float("inf"))


class ReadingFeed:
    """The views as another process writes them: the generation it serves, where it stands on
    each stream (its tracking positions), followed every ``FOLLOW_SECONDS``."""

    def __init__(self, generations: Generations, applied: asyncio.Event) -> None:
        self.generations = generations
        self.place = generations.serving()
        self.read_model = ReadModel(self.place)
        self.positions: dict[str, int] = {}
        self.targets: dict[str, int] = {}
        self.created: dict[str, datetime | None] = {}
        self.marks: dict[str, int] = {}
        self.unreadable = 0
        self.failed: BaseException | None = None
        self._applied = applied
        self._following: asyncio.Task[None] | None = None
        self.retiring = Retiring()

    async def start(self, nc: Client) -> None:
        js = nc.jetstream()
        for service in SERVICES:
            info = await js.stream_info(stream_name(service))
            self.targets[stream_name(service)] = info.state.last_seq
            self.created[stream_name(service)] = info.created
        await in_thread(self.refresh)
        self._following = asyncio.create_task(self._follow(), name="views:follow")

    def refresh(self) -> None:
        """Where the writer stands now; a switch to another generation is followed."""
        current = self.generations.current()
        if current and current != self.place.generation:
            old = self.read_model
            self.place = self.generations.place(current)
            self.read_model = ReadModel(self.place)
            self.retiring.add(old.close)  # a request may be reading it now
            log.info("the views' writer switched generation; reading it", generation=current)
        self.retiring.sweep()
        self.positions = {s: self.read_model.position(s) for s in self.targets}

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(FOLLOW_SECONDS)
            try:
                await in_thread(self.refresh)
            except Exception as error:  # the store away: not ready meanwhile, and say why
                self.failed = error
                log.warning("could not read where the views stand", error=repr(error))
                continue
            self.failed = None
            self._applied.set()

    def reached(self, targets: dict[str, int]) -> bool:
        return all(self.positions.get(s, 0) >= t for s, t in targets.items())

    def has_applied(self, event_id: UUID) -> bool:
        return False  # not known here: callers wait for positions instead (``Projector``)

    async def stop(self) -> None:
        if self._following is not None:
            self._following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._following
            self._following = None

    def close(self) -> None:
        self.retiring.close_all()
        self.read_model.close()
