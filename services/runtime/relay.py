"""The outbox relay: publishes a service's notification log to its JetStream stream.

- Position comes from the stream, never from a file: on start (and after any doubt) the relay
  reads the last message on its stream and continues after the notification id it carries.
- Each batch is one JetStream atomic batch (ADR-50): stored whole or not at all. Its first
  message carries ``Nats-Expected-Last-Sequence``: only this relay writes to the stream, so the
  stream's last sequence before the batch is known, and a stale or concurrent resend fails
  instead of duplicating, whatever the dedupe window. ``Nats-Msg-Id`` is a second guard.
- Every message carries its notification id and the previous *published* one, a chain the
  consumer uses to see a hole instead of skipping it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from uuid import uuid4

import structlog
from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from opentelemetry.trace import Span, SpanKind, Tracer

from contracts import IntegrationEvent, subject_for
from services.runtime.follower import LogFollower
from services.runtime.topology import (
    H_BATCH_COMMIT,
    H_BATCH_ID,
    H_BATCH_SEQUENCE,
    H_EVENT_ID,
    H_EXPECTED_LAST_SEQ,
    H_MSG_ID,
    H_NOTIFICATION_ID,
    H_OPERATION_ID,
    H_PREVIOUS_ID,
    stream_name,
)
from services.runtime.tracing import H_TRACEPARENT, context_from, traceparent_of, tracer_of
from services.runtime.translation import Translator

log = structlog.get_logger()


# The most messages JetStream takes in one atomic batch.
ATOMIC_BATCH_LIMIT = 1000

# A notification, the integration event it becomes, and the trace it was recorded in.
Outgoing = tuple[Notification, IntegrationEvent, str | None]
# A batch read from the store: its notifications, and those of them that are published.
Prepared = tuple[Sequence[Notification], list[Outgoing]]


@dataclass
class RelayPosition:
    published_id: int = 0  # last notification id in the stream (0: none): the chain's link
    read_id: int = 0  # last notification id read (some translate to nothing and are passed over)
    stream_sequence: int = 0  # last sequence in the stream


async def stream_position(js: JetStreamContext, stream: str) -> RelayPosition:
    """Where a service's relay stands on its stream: the stream's last sequence, and the last
    notification id it published there (walking back past anything that is not a relay's:
    a message without a notification id header)."""
    info = await js.stream_info(stream)
    position = RelayPosition(stream_sequence=info.state.last_seq)
    seq = info.state.last_seq
    while seq > 0:
        try:
            msg = await js.get_msg(stream, seq=seq)
        except NotFoundError:  # deleted message
            seq -= 1
            continue
        nid = (msg.headers or {}).get(H_NOTIFICATION_ID)
        if nid is not None and nid.isdigit():
            position.published_id = position.read_id = int(nid)
            break
        seq -= 1
    return position


class Relay(LogFollower):
    what = "relay publish"

    def __init__(
        self,
        app: Application,  # type: ignore[type-arg]
        service: str,
        translate: Translator,
        *,
        batch: int = 256,
        idle_poll_seconds: float = 0.1,
        publish_timeout: float = 10.0,
        tracer: Tracer | None = None,
        make_stream: Callable[[JetStreamContext], Awaitable[None]] | None = None,
    ) -> None:
        self.app = app
        self.service = service
        self.stream = stream_name(service)
        self.translate = translate
        self.batch = batch
        self.idle_poll_seconds = idle_poll_seconds
        self.publish_timeout = publish_timeout
        self.tracer = tracer or tracer_of(None)
        self.make_stream = make_stream
        self.position = RelayPosition()
        self.published = 0
        self.synced = False
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # The next batch, read ahead while one is published: (its first id, its reading).
        self._ahead: tuple[int, asyncio.Future[Prepared]] | None = None

    def wake(self) -> None:
        """Something was recorded: look now rather than at the next poll. Thread-safe."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def resync(self, js: JetStreamContext) -> RelayPosition:
        """Read where we are from the stream itself."""
        try:
            position = await stream_position(js, self.stream)
        except NotFoundError:
            if self.make_stream is None:
                raise
            # The stream was lost (deleted, or JetStream lost its state). The store is the
            # outbox: make the stream again and publish everything from the first event;
            # downstream tracking positions turn what they already processed into duplicates.
            log.error("stream missing; making it again to republish the store", stream=self.stream)
            await self.make_stream(js)
            position = await stream_position(js, self.stream)
        self.position = position
        self.synced = True
        log.info(
            "relay synced",
            stream=self.stream,
            notification_id=position.published_id,
            stream_sequence=position.stream_sequence,
        )
        return position

    async def run(self, js: JetStreamContext, stopping: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        await super().run(js, stopping)

    async def step(self, js: JetStreamContext) -> bool:
        return await self.publish_pending(js) > 0

    async def idle(self, stopping: asyncio.Event) -> None:
        assert self._wake is not None
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.idle_poll_seconds)

    async def publish_pending(self, js: JetStreamContext) -> int:
        """Publish the next batch of notifications; returns how many were read."""
        start = self.position.read_id + 1
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == start:
            notifications, outgoing = await ahead[1]
        else:  # none read ahead, or read from a position a resync has since moved
            notifications, outgoing = await asyncio.to_thread(self._prepare, start)
        if not notifications:
            return 0
        if len(notifications) == self.batch:
            # Catching up: read and translate the next batch while this one is published (the
            # store and the translation are the work here, the stream's acknowledgement a wait).
            following = notifications[-1].id + 1
            self._ahead = (
                following,
                asyncio.ensure_future(asyncio.to_thread(self._prepare, following)),
            )
        if outgoing:
            await self._publish(js, outgoing)
        # Notifications that translate to nothing are passed over; a restart passes them again.
        self.position.read_id = notifications[-1].id
        return len(notifications)

    def _prepare(self, start: int) -> tuple[Sequence[Notification], list[Outgoing]]:
        """The notifications from ``start`` on (one batch), and what each is published as."""
        notifications: Sequence[Notification] = self.app.recorder.select_notifications(
            start, self.batch
        )
        outgoing: list[Outgoing] = []
        for notification in notifications:
            domain_event = self.app.mapper.to_domain_event(notification)
            integration_event = self.translate(domain_event)
            if integration_event is not None:
                meta = getattr(domain_event, "meta", None)
                traceparent = getattr(meta, "traceparent", None)
                outgoing.append((notification, integration_event, traceparent))
        return notifications, outgoing

    async def _publish(self, js: JetStreamContext, outgoing: list[Outgoing]) -> None:
        for first in range(0, len(outgoing), ATOMIC_BATCH_LIMIT):
            await self._publish_atomically(js, outgoing[first : first + ATOMIC_BATCH_LIMIT])

    async def _publish_atomically(self, js: JetStreamContext, outgoing: list[Outgoing]) -> None:
        """One JetStream atomic batch (ADR-50): every message or none is stored. The first
        carries the expected last sequence, checked when the batch commits, so a stale or
        concurrent relay's whole batch is refused; each still carries its ``Nats-Msg-Id``.
        nats-py has no batch publisher, but the protocol is headers on ordinary publishes: the
        first is sent as a request (the server answers when it has the batch: a little flow
        control), the middle as core publishes, and the last, with the commit header, as a
        JetStream publish whose acknowledgement is the batch's."""
        batch_id = uuid4().hex
        previous = self.position.published_id
        spans: list[Span] = []
        last = len(outgoing) - 1
        try:
            for n, (notification, event, traceparent) in enumerate(outgoing):
                headers = {
                    H_BATCH_ID: batch_id,
                    H_BATCH_SEQUENCE: str(n + 1),
                    H_MSG_ID: f"{self.service}:{notification.id}",
                    H_NOTIFICATION_ID: str(notification.id),
                    H_PREVIOUS_ID: str(previous),
                    H_EVENT_ID: str(event.event_id),
                    H_OPERATION_ID: str(event.operation_id),
                }
                if n == 0:
                    headers[H_EXPECTED_LAST_SEQ] = str(self.position.stream_sequence)
                subject = subject_for(self.service, event.event_type)
                if traceparent is not None:
                    span = self._span(subject, notification.id, event, traceparent)
                    spans.append(span)
                    # The span's own, or (no tracer here) the recorded one: the trace goes on.
                    headers[H_TRACEPARENT] = traceparent_of(span) or traceparent
                body = event.model_dump_json().encode()
                if n == last:
                    headers[H_BATCH_COMMIT] = "1"
                    ack = await js.publish(
                        subject, body, timeout=self.publish_timeout, headers=headers
                    )
                elif n == 0:
                    # Core NATS on the JetStream context's own connection (nats-py keeps it as
                    # ``_nc``; it offers no batch publisher of its own).
                    await js._nc.request(
                        subject, body, timeout=self.publish_timeout, headers=headers
                    )
                else:
                    await js._nc.publish(subject, body, headers=headers)
                previous = notification.id
        finally:
            for span in spans:
                span.end()
        self.position.stream_sequence = ack.seq
        self.position.published_id = previous
        self.published += len(outgoing)
        log.info(
            "published batch",
            count=len(outgoing),
            first_notification_id=outgoing[0][0].id,
            last_notification_id=previous,
            stream_sequence=ack.seq,
        )
        # One line per event only at debug: at full load these lines were a tenth of hold's CPU.
        # Each event is still logged with its ids by every consumer that processes it.
        first_sequence = ack.seq - len(outgoing) + 1
        for n, (notification, event, _) in enumerate(outgoing):
            log.debug(
                "published",
                operation_id=str(event.operation_id),
                event_id=str(event.event_id),
                causation_id=str(event.causation_id) if event.causation_id else None,
                event_type=event.event_type,
                notification_id=notification.id,
                stream_sequence=first_sequence + n,
            )

    def _span(self, subject: str, nid: int, event: IntegrationEvent, traceparent: str) -> Span:
        """The publish of one traced event, a child of the span that recorded it (its gap from
        that span is the outbox's delay). Ids only in its attributes."""
        return self.tracer.start_span(
            f"{subject} publish",
            context=context_from(traceparent),
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": subject,
                "chb.service": self.service,
                "chb.notification_id": nid,
                "chb.event_id": str(event.event_id),
                "chb.operation_id": str(event.operation_id),
            },
        )
