"""The tracked consumer: a durable pull consumer whose effects happen exactly once.

For each batch fetched from an upstream stream:
1. a message at or below the stored tracking position is a redelivery: acked, nothing done;
2. a message whose previous-id header is not the last one processed means an earlier message is
   missing (a hole): it and the rest of the batch are nak'd to come back later, never skipped;
   first, though, the store is asked for its position again, since another process of the same
   service (the one a replacement is taking over from) may have recorded and acked the missing
   messages, which then never come back to this one;
3. every other message becomes a command for the application (or a dead letter, if it cannot be
   read), and the whole batch is recorded in one transaction with the tracking position of its
   last message; only then are the messages acked (the last with a double ack).

A crash before the commit redelivers and reprocesses; a crash after the commit but before the
ack redelivers and is recognised by step 1. FastStream's pull subscriber is not used here: with a
batch it either runs the handlers concurrently (out of order, which breaks a high-water-mark
tracking position) or waits for the batch to fill (latency); this loop takes what is there, in
order, on the broker's own connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.persistence import PersistenceError, Tracking
from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from contracts import ContractError, IntegrationEvent, parse_event
from services.runtime.application import Job, ServiceApplication
from services.runtime.clock import Clock
from services.runtime.dead_letters import NIL, RecordDeadLetter
from services.runtime.faults import FaultInjector
from services.runtime.meta import SERVICE_ACTORS, Meta
from services.runtime.pulling import fetch_batch
from services.runtime.topology import (
    H_EVENT_ID,
    H_NOTIFICATION_ID,
    H_OPERATION_ID,
    H_PREVIOUS_ID,
    durable_name,
    stream_name,
)
from services.runtime.tracing import H_TRACEPARENT, context_from, tracer_of

log = structlog.get_logger()

# The command an event calls for (None: nothing), or an awaitable of it.
ToCommand = Callable[[IntegrationEvent], object | Awaitable[object | None] | None]

# A message whose processing raised this many times is dead-lettered with the error, so that one
# bad message cannot stop the consumer for ever; the dead letter keeps it for replay.
POISON_DELIVERIES = 5


def _int_header(msg: Msg, name: str) -> int | None:
    value = (msg.headers or {}).get(name)
    return int(value) if value is not None and value.isdigit() else None


class TrackedConsumer:
    def __init__(
        self,
        app: ServiceApplication,
        upstream: str,
        downstream: str,
        to_command: ToCommand,
        clock: Clock,
        *,
        batch: int = 64,
        on_recorded: Callable[[], None] = lambda: None,
        faults: FaultInjector | None = None,
        fetch_timeout: float = 1.0,
        retry_delay: float = 0.5,
        tracer: Tracer | None = None,
    ) -> None:
        self.app = app
        self.upstream = upstream
        self.downstream = downstream
        self.durable = durable_name(upstream, downstream)
        self.to_command = to_command
        self.clock = clock
        self.batch = batch
        self.on_recorded = on_recorded
        self.faults = faults or FaultInjector()
        self.fetch_timeout = fetch_timeout
        self.retry_delay = retry_delay
        self.tracer = tracer or tracer_of(None)
        self.high_water = 0
        self.processed = 0
        self.duplicates = 0
        self.dead_letters = 0
        self.bound = False
        self._isolate = False  # after a failed batch, go one message at a time to find the cause

    async def run(self, js: JetStreamContext, stopping: asyncio.Event) -> None:
        psub = await js.pull_subscribe_bind(durable=self.durable, stream=stream_name(self.upstream))
        self.high_water = await asyncio.to_thread(self.app.max_tracking_id, self.upstream)
        self.bound = True
        log.info("consumer bound", consumer=self.durable, tracking_position=self.high_water)
        try:
            while not stopping.is_set():
                try:
                    msgs = await fetch_batch(
                        psub, 1 if self._isolate else self.batch, self.fetch_timeout
                    )
                except (TimeoutError, NatsTimeoutError):
                    continue
                except ConnectionClosedError:
                    if stopping.is_set():
                        return
                    raise
                await self.handle(msgs)
        finally:
            self.bound = False
            # A pull subscription's inbox is never drained by nats-py (its queue is read with
            # next_msg, which does not mark messages done), so drop it before the broker drains.
            with contextlib.suppress(Exception):
                await psub.unsubscribe()

    async def handle(self, msgs: list[Msg]) -> None:
        jobs: list[Job] = []
        processed: list[Msg] = []
        duplicates: list[Msg] = []
        deferred: list[Msg] = []
        failure: Exception | None = None
        spans: list[Span] = []
        expected_previous = self.high_water
        reread = False
        for index, msg in enumerate(msgs):
            nid = _int_header(msg, H_NOTIFICATION_ID)
            previous = _int_header(msg, H_PREVIOUS_ID)
            bound = log.bind(
                consumer=self.durable,
                operation_id=(msg.headers or {}).get(H_OPERATION_ID),
                event_id=(msg.headers or {}).get(H_EVENT_ID),
                notification_id=nid,
            )
            if nid is None or previous is None:
                # Not from a relay: no place in the chain, so no tracking; keep it, with why.
                jobs.append((self._dead_letter(msg, None, "missing chain headers"), None))
                processed.append(msg)
                bound.warning("dead-lettered: missing chain headers")
                continue
            if previous > expected_previous and not jobs and not reread:
                # A hole, or another process of this service (one being replaced) recorded and
                # acked what is missing here: those messages will never come back to this one,
                # so ask the store where it is before waiting for them (once per batch, and
                # only with nothing decided yet, so nothing decided here is against a stale
                # position).
                reread = True
                self.high_water = await asyncio.to_thread(self.app.max_tracking_id, self.upstream)
                expected_previous = self.high_water
            if nid <= expected_previous:
                duplicates.append(msg)
                bound.info("duplicate acked: already processed")
                continue
            if previous != expected_previous:
                deferred = msgs[index:]
                bound.warning(
                    "hole in upstream sequence; deferring",
                    expected_previous=expected_previous,
                    previous=previous,
                )
                break
            span = self._span(msg, nid)
            try:
                if span is None:
                    command = await self._command_for(msg, nid, bound)
                else:
                    spans.append(span)
                    # Current while the command is made: the events it records carry it on.
                    with trace.use_span(span, end_on_exit=False):
                        command = await self._command_for(msg, nid, bound)
            except Exception as error:  # a bug in the policy's input side: same as a failed batch
                if span is not None:
                    end_spans([spans.pop()], error)
                failure, deferred = error, msgs[index:]
                break
            jobs.append((command, Tracking(self.upstream, nid)))
            processed.append(msg)
            expected_previous = nid

        if jobs:
            self.faults.reached("before_commit")
            try:
                await asyncio.to_thread(self.app.process_batch, jobs)
            except Exception as error:
                end_spans(spans, error)
                await self._failed(processed + deferred, error, alone=len(processed) == 1)
                return
            self.faults.reached("after_commit")
            end_spans(spans, None)
            self.high_water = expected_previous
            self.processed += len(jobs)
            self._isolate = False
            self.on_recorded()
        await self._ack(duplicates + processed)
        self.duplicates += len(duplicates)
        if failure is not None:
            # The failing message is first in line now; it comes back alone, so a message that
            # can never be processed is recognised by its delivery count and dead-lettered.
            await self._failed(deferred, failure, alone=not jobs)
            return
        for msg in deferred:
            await msg.nak(delay=self.retry_delay)

    def _span(self, msg: Msg, nid: int) -> Span | None:
        """The processing of one message, a child of its publish (``traceparent`` header);
        None for a message that carries no trace, so an untraced pipeline pays nothing. It
        ends when its batch commits. Ids only in its attributes."""
        parent = context_from((msg.headers or {}).get(H_TRACEPARENT))
        if parent is None:
            return None
        return self.tracer.start_span(
            f"{msg.subject} process",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": msg.subject,
                "messaging.consumer.group.name": self.durable,
                "chb.service": self.downstream,
                "chb.notification_id": nid,
                "chb.event_id": (msg.headers or {}).get(H_EVENT_ID, ""),
                "chb.operation_id": (msg.headers or {}).get(H_OPERATION_ID, ""),
            },
        )

    async def _command_for(self, msg: Msg, nid: int, bound: Any) -> object | None:
        try:
            event = parse_event(msg.data)
        except ContractError as error:
            bound.warning("dead-lettered: unreadable message", error=str(error))
            return self._dead_letter(msg, nid, str(error))
        command = self.to_command(event)
        if inspect.isawaitable(command):  # e.g. hold opening sealed ages over NATS
            command = await command
        bound.info("processing", event_type=event.event_type, acted=command is not None)
        return command

    def _dead_letter(self, msg: Msg, nid: int | None, error: str) -> RecordDeadLetter:
        self.dead_letters += 1
        operation = (msg.headers or {}).get(H_OPERATION_ID)
        try:
            operation_id = UUID(operation) if operation else NIL
        except ValueError:
            operation_id = NIL
        return RecordDeadLetter(
            consumer=self.durable,
            subject=msg.subject,
            stream_sequence=msg.metadata.sequence.stream,
            notification_id=nid,
            error=error,
            body=body_reference(msg),
            meta=Meta(
                occurred_at=self.clock.now(),
                operation_id=operation_id,
                actor=SERVICE_ACTORS[self.downstream],
            ),
        )

    async def _failed(self, msgs: list[Msg], error: Exception, *, alone: bool) -> None:
        """Nothing of this batch was recorded: let every message come back, one at a time.

        ``alone`` says the first message failed on its own; once it has been delivered
        ``POISON_DELIVERIES`` times it is recorded as a dead letter (with its tracking position),
        so that one bad message cannot stop the consumer for ever.
        """
        self.high_water = await asyncio.to_thread(self.app.max_tracking_id, self.upstream)
        first = msgs[0] if msgs else None
        # A store that cannot be reached is not the message's fault: retry it for as long as it
        # takes, never dead-letter a good message because the database was restarting.
        if isinstance(error, PersistenceError):
            alone = False
        if alone and first is not None and first.metadata.num_delivered >= POISON_DELIVERIES:
            nid = _int_header(first, H_NOTIFICATION_ID)
            tracking = Tracking(self.upstream, nid) if nid is not None else None
            reason = f"processing failed {first.metadata.num_delivered} times: {error!r}"
            log.error("dead-lettering poison message", consumer=self.durable, error=reason)
            try:
                await asyncio.to_thread(
                    self.app.process_batch, [(self._dead_letter(first, nid, reason), tracking)]
                )
            except Exception as again:  # the store itself is failing: retry later
                log.error("could not record dead letter", error=repr(again))
            else:
                if nid is not None:
                    self.high_water = nid
                await self._ack([first])
                msgs = msgs[1:]
                self.on_recorded()
        log.error("batch failed; will retry", consumer=self.durable, error=repr(error))
        self._isolate = True
        for msg in msgs:
            await msg.nak(delay=self.retry_delay)

    @staticmethod
    async def _ack(msgs: list[Msg]) -> None:
        """Ack all; the last one is a double ack, so the server confirms it has them all."""
        for msg in msgs[:-1]:
            await msg.ack()
        if msgs:
            await msgs[-1].ack_sync()


def end_spans(spans: list[Span], error: Exception | None) -> None:
    for span in spans:
        if error is not None:
            # The type only: an error's text may quote what it refused.
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.end()


def body_reference(msg: Msg) -> str:
    """What a dead letter keeps of the refused body: its digest and size, never its text.

    A malformed message may carry a person's details in the clear (it failed the contract
    that insists on sealed text), and a dead letter is published and stored for ever. The body
    itself is not lost: it stays in its stream, which keeps everything, at ``stream_sequence``.
    """
    return f"sha256:{hashlib.sha256(msg.data).hexdigest()} bytes:{len(msg.data)}"
