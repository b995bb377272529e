"""Group commit: commands that arrive together are decided in order and recorded together.

Each command still gets its own answer, but one thread hop and one transaction (one fsync)
serve every command that queued while the previous batch was being written. One writer also
means commands on the same aggregate never race each other for a version.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Sequence
from typing import Any

import structlog

log = structlog.get_logger()

Call = Callable[[], Any]
# Runs calls in order, records their effects in one transaction, and returns one outcome per
# call: its result, or the exception that refused it (refusals record nothing).
ExecuteBatch = Callable[[Sequence[Call]], list[Any]]


class GroupCommit:
    def __init__(self, execute_batch: ExecuteBatch, max_batch: int = 128) -> None:
        self.execute_batch = execute_batch
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[Call, asyncio.Future[Any]]] | None = None
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0
        self.commands = 0

    async def submit(self, call: Call) -> Any:
        """Queue a command and wait for its outcome; a refusal is raised here."""
        if self._queue is None:
            self._queue = asyncio.Queue()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(self._queue), name="group-commit")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        # The call runs in the writer's thread, whose context is the one the writer task was
        # made in (the first command's): run it in its own caller's context instead, so what
        # it records belongs to its own request (its trace span, its log bindings).
        context = contextvars.copy_context()
        self._queue.put_nowait((lambda: context.run(call), future))
        outcome = await future
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def _write(self, queue: asyncio.Queue[tuple[Call, asyncio.Future[Any]]]) -> None:
        while True:
            batch = [await queue.get()]
            while not queue.empty() and len(batch) < self.max_batch:
                batch.append(queue.get_nowait())
            calls = [call for call, _ in batch]
            try:
                outcomes = await asyncio.to_thread(self.execute_batch, calls)
            except Exception as error:
                # Something failed for the batch as a whole (the store, or a bug in one
                # command): nothing was recorded. Decide each alone, so only its own fails.
                log.warning("group commit failed; deciding each alone", error=repr(error))
                outcomes = [await self._alone(call) for call in calls]
            self.batches += 1
            self.commands += len(batch)
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)

    async def _alone(self, call: Call) -> Any:
        try:
            return (await asyncio.to_thread(self.execute_batch, [call]))[0]
        except Exception as error:
            return error
