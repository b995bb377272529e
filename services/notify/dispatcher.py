"""Sends what is due: each queued or failed notification whose time has come, at most a few at
once per contact point; records each attempt before sending and its outcome after.

The schedule is the notifications' own stored ``next_attempt_at``, indexed from notify's
notification log by the runtime's deadline index, so a restart resumes it. A stop (or SIGKILL)
between sending and recording sends the same message again after the restart, with the same id:
a receiver sees it at most twice, and the store records one delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from uuid import UUID

import structlog
from nats.js import JetStreamContext
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from services.notify.application import NotifyApplication
from services.notify.commands import RecordAttempt, RecordOutcome
from services.notify.deadlines import attempt_schedule, watch_scheduler
from services.notify.delivery import Message, Outcome, Sender
from services.notify.domain import Notification
from services.notify.handlers import ToSend
from services.runtime.clock import Clock
from services.runtime.commands import with_retry_on_conflict
from services.runtime.faults import FaultInjector
from services.runtime.group_commit import GroupCommit
from services.runtime.sealing import HouseholdKeys, Opener

log = structlog.get_logger()

# Opens a sealed target (None: its key is gone, so it can never be sent to again).
OpenTarget = Callable[[str], Awaitable[dict[str, Any] | None]]


class Dispatcher:
    def __init__(
        self,
        app: NotifyApplication,
        clock: Clock,
        senders: dict[str, Sender],
        open_target: OpenTarget,
        on_recorded: Callable[[], None] = lambda: None,
        *,
        per_contact: int = 4,
        batch: int = 256,
        tick_seconds: float = 0.05,
        rng: random.Random | None = None,
        faults: FaultInjector | None = None,
    ) -> None:
        self.app = app
        self.clock = clock
        self.senders = senders
        self.open_target = open_target
        self.on_recorded = on_recorded
        self.per_contact = per_contact
        self.batch = batch
        self.tick_seconds = tick_seconds
        self.rng = rng or random.Random()
        self.faults = faults or FaultInjector()
        self.index = attempt_schedule(app, clock)
        # Offers watched until a contact point accepted one: the runtime's own scheduler.
        self.watches = watch_scheduler(app, clock, on_recorded)
        # Refuses nothing: a failure of the store raises from ``submit``.
        self.writer = GroupCommit(
            lambda commands, contexts: with_retry_on_conflict(
                lambda: app.decide(commands, contexts)
            ),
            max_batch=1024,
        )
        self._in_flight: dict[UUID, asyncio.Task[None]] = {}
        self._limits: dict[UUID, asyncio.Semaphore] = {}
        # Figures for /metrics: ids and channel names only.
        self.failures: dict[tuple[str, str], int] = {}
        self.lags: list[float] = []
        self.delivered = 0
        self.passes = 0  # completed looks at what is due (tests wait on it, not on time)

    def pending(self) -> int:
        return len(self.index.next_deadlines)

    async def run(self, stopping: asyncio.Event) -> None:
        try:
            while not stopping.is_set():
                await asyncio.to_thread(self.index.refresh)
                now = self.clock.now()
                due = [
                    nid
                    for nid, at in sorted(self.index.next_deadlines.items(), key=lambda i: i[1])
                    if at <= now and nid not in self._in_flight
                ][: self.batch]
                if due:
                    task = asyncio.create_task(self._deliver(due))
                    for nid in due:
                        self._in_flight[nid] = task
                    task.add_done_callback(self._done(due))
                if await asyncio.to_thread(self.watches.fire_due):
                    self.on_recorded()
                self.passes += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), self.tick_seconds)
        finally:
            # What is in hand finishes (sent and recorded), within the stop's patience.
            if self._in_flight:
                await asyncio.wait(set(self._in_flight.values()), timeout=5)
            for sender in self.senders.values():
                closing = getattr(sender, "aclose", None)
                if closing is not None:
                    await closing()

    def _done(self, nids: list[UUID]) -> Callable[[asyncio.Task[None]], None]:
        def done(_task: asyncio.Task[None]) -> None:
            for nid in nids:
                self._in_flight.pop(nid, None)

        return done

    async def _record(self, commands: list[object]) -> list[object]:
        """Each command's outcome, as its handler returned it. Behind one group commit for the
        whole dispatcher: the batches in flight share transactions (one fsync for all that
        queued meanwhile), and never hold the store's one writer lock against the tracked
        consumer more than one at a time (batching is the lever)."""
        outcomes = await asyncio.gather(*(self.writer.submit(c) for c in commands))
        self.on_recorded()
        return list(outcomes)

    async def _deliver(self, nids: list[UUID]) -> None:
        """One batch: its attempts recorded together, sent at once (at most ``per_contact`` at
        a time to any one contact point), its outcomes recorded together. The attempts'
        outcomes carry the notifications and their sealed targets: no store read per message."""
        try:
            attempted = await self._record([RecordAttempt(nid, self.clock.now()) for nid in nids])
            # One whose contact point was disabled meanwhile was given up instead (None).
            sending = [s for s in attempted if isinstance(s, ToSend)]
            outcomes = await asyncio.gather(*(self._limited(s) for s in sending))
            self.faults.reached("after_send")
            now = self.clock.now()
            await self._record(
                [
                    RecordOutcome(s.notification.id, o.outcome, o.detail, now, self.rng.random())
                    for s, o in zip(sending, outcomes, strict=True)
                ]
            )
            for s, o in zip(sending, outcomes, strict=True):
                self._count(s.notification, o)
        except Exception as error:
            # Left as it is in the store: the next pass tries it again.
            log.error("deliveries not recorded", count=len(nids), error=repr(error))

    async def _limited(self, s: ToSend) -> Outcome:
        assert s.notification.contact_id is not None
        contact_id = s.notification.contact_id
        limit = self._limits.setdefault(contact_id, asyncio.Semaphore(self.per_contact))
        async with limit:
            try:
                return await self._send(s.notification, s.target)
            except Exception as error:  # a sender's own failure is a failed attempt
                return Outcome("failed", type(error).__name__)

    async def _send(self, n: Notification, sealed: str) -> Outcome:
        assert n.contact_id is not None and n.channel is not None
        target = await self.open_target(sealed)
        if target is None:
            return Outcome("gone", "target erased")
        message = Message(n.id, n.kind, n.queued_at, n.facts)
        outcome = await self.senders[n.channel].send(message, target)
        log.info(
            "notification sent",
            notification_id=str(n.id),
            kind=n.kind,
            channel=n.channel,
            contact_id=str(n.contact_id),
            outcome=outcome.outcome,
            detail=outcome.detail,
        )
        return outcome

    def _count(self, n: Notification, outcome: Outcome) -> None:
        if outcome.outcome == "delivered":
            self.delivered += 1
            self.lags.append((self.clock.now() - n.queued_at).total_seconds())
            del self.lags[:-1000]  # the last thousand are enough for a p50/p99
        else:
            key = (str(n.contact_id), str(n.channel))
            self.failures[key] = self.failures.get(key, 0) + 1

    def metrics(self) -> list[Metric]:
        pending = GaugeMetricFamily(
            "chb_notifications_pending", "notifications queued or waiting to be retried"
        )
        pending.add_metric([], self.pending())
        lag = GaugeMetricFamily(
            "chb_notification_delivery_lag_seconds",
            "time from queued to delivered, over the last deliveries",
            labels=["quantile"],
        )
        ordered = sorted(self.lags)
        for q in (0.5, 0.99):
            if ordered:
                lag.add_metric([str(q)], ordered[min(int(q * len(ordered)), len(ordered) - 1)])
        failures = CounterMetricFamily(
            "chb_notification_failures",
            "failed deliveries since the process started, by contact point",
            labels=["contact_id", "channel"],
        )
        for (contact, channel), count in sorted(self.failures.items()):
            failures.add_metric([contact, channel], count)
        return [pending, lag, failures]


class DispatcherMetrics(Collector):
    """A Prometheus collector over a dispatcher's figures."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher

    def collect(self) -> Iterable[Metric]:
        return self.dispatcher.metrics()


def parse_target(opened: str | dict[str, bool]) -> dict[str, Any] | None:
    """An opened target's JSON; None where its key was erased."""
    if not isinstance(opened, str):
        return None
    parsed: dict[str, Any] = json.loads(opened)
    return parsed


class TargetOpener:
    """Opens sealed targets with the keys bucket, read anew once a minute at most, not once
    per message (the opener caches what it read). No bucket means no key: the target is
    gone."""

    def __init__(self, jetstream: Callable[[], JetStreamContext]) -> None:
        self.jetstream = jetstream
        self.opener: Opener | None = None
        self.until = 0.0

    async def __call__(self, sealed: str) -> dict[str, Any] | None:
        if self.until < time.monotonic():
            keys = await HouseholdKeys.existing(self.jetstream())
            self.opener = keys.opener() if keys else None
            self.until = time.monotonic() + 60
        if self.opener is None:
            return None
        return parse_target(await self.opener.text(sealed))
