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

# Decides commands in order (each in the context it was sent in), records their effects in one
# transaction, and returns one outcome per command: its result, or the exception that refused
# it (refusals record nothing). ``ServiceApplication.decide`` is one.
DecideBatch = Callable[[Sequence[object], Sequence[contextvars.Context]], list[Any]]
Queued = tuple[object, contextvars.Context, "asyncio.Future[Any]"]


class GroupCommit:
    def __init__(self, decide: DecideBatch, max_batch: int = 128) -> None:
        self.decide = decide
        self.max_batch = max_batch
        self._queue: asyncio.Queue[Queued] | None = None
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0
        self.commands = 0

    async def submit(self, command: object) -> Any:
        """Queue a command and wait for its outcome; a refusal is raised here."""
        if self._queue is None:
            self._queue = asyncio.Queue()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(self._queue), name="group-commit")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        # The command is decided in the writer's thread, whose context is the one the writer
        # task was made in (the first command's): decide it in its own caller's context
        # instead, so what it records belongs to its own request (its trace span, its logs).
        self._queue.put_nowait((command, contextvars.copy_context(), future))
        outcome = await future
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def _write(self, queue: asyncio.Queue[Queued]) -> None:
        while True:
            batch = [await queue.get()]
            while not queue.empty() and len(batch) < self.max_batch:
                batch.append(queue.get_nowait())
            commands = [command for command, _, _ in batch]
            contexts = [context for _, context, _ in batch]
            try:
                outcomes = await asyncio.to_thread(self.decide, commands, contexts)
            except Exception as error:
                # Something failed for the batch as a whole (the store, or a bug in one
                # command): nothing was recorded. Decide each alone, so only its own fails.
                log.warning("group commit failed; deciding each alone", error=repr(error))
                outcomes = [
                    await self._alone(c, x) for c, x in zip(commands, contexts, strict=True)
                ]
            self.batches += 1
            self.commands += len(batch)
            for (_, _, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)

    async def _alone(self, command: object, context: contextvars.Context) -> Any:
        try:
            return (await asyncio.to_thread(self.decide, [command], [context]))[0]
        except Exception as error:
            return error
