"""One service process: its store, its broker connection, its relay and its tracked consumers.

Every service is started the same way; what differs (the application, how its events translate,
what it does with upstream events, any command handlers) comes in through ``ServiceSpec``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

import structlog
from eventsourcing.application import Application
from faststream.nats import NatsRouter
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.nats.prometheus import NatsPrometheusMiddleware
from nats.js import JetStreamContext
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.trace import TracerProvider
from prometheus_client import CollectorRegistry

from contracts import IntegrationEvent
from services.runtime.application import ServiceApplication
from services.runtime.checkpoints import Notary
from services.runtime.clock import Clock
from services.runtime.consumer import TrackedConsumer
from services.runtime.deadlines import DeadlineScheduler
from services.runtime.faults import FaultInjector
from services.runtime.metrics import MetricsServer, StatusCollector
from services.runtime.nats_access import broker as nats_broker
from services.runtime.provisioning import ensure_consumer, ensure_stream, provision
from services.runtime.relay import Relay
from services.runtime.settings import Settings
from services.runtime.store import sqlite_file, sqlite_probe
from services.runtime.topology import FOLLOWS, stream_name, verify_subject
from services.runtime.topology import status_subject as status_subject  # re-exported
from services.runtime.tracing import tracer_of
from services.runtime.translation import Translator

log = structlog.get_logger()

# How long status() waits for the store and for JetStream: the API asks for it with a 1 s
# timeout, and a store or a stream that takes longer than this is not one to send work to.
PROBE_TIMEOUT_SECONDS = 0.5


Loop = Callable[[asyncio.Event], Awaitable[None]]


class Verified(Protocol):
    @property
    def ok(self) -> bool: ...

    @property
    def verified(self) -> int: ...

    def as_dict(self) -> dict[str, Any]: ...


class Verify(Protocol):
    """Walks a store against its checkpoints on NATS (services/audit/verify.py's
    ``verify_service``, given by the wiring: the runtime does not import the audit tools,
    which know every service)."""

    def __call__(
        self, service: str, app: Application[UUID], js: JetStreamContext, /
    ) -> Awaitable[Verified]: ...


@dataclass
class ServiceSpec:
    service: str
    app: Application  # type: ignore[type-arg]
    translate: Translator
    # The command an upstream event calls for, if any; it may be awaited (hold opens sealed
    # ages over NATS before its rules decide).
    to_command: Callable[[IntegrationEvent, Clock], object | None] | None = None
    # Builds command handlers given a callback that wakes the relay after a save.
    router: Callable[[Callable[[], None]], NatsRouter] | None = None
    # Its deadline schedulers (run as loops; their open items past due are a metric).
    schedulers: Callable[[Callable[[], None]], list[DeadlineScheduler]] | None = None
    # Run once in a worker thread before the service takes commands or events (hold records
    # the seeded agencies it does not hold yet); it must be idempotent, several processes of
    # one service may start at once.
    prepare: Callable[[], object] | None = None
    # Answers verify.<service> (the API's /audit/verify); None: the subject is not served.
    verify: Verify | None = None


class ServiceProcess:
    def __init__(
        self,
        spec: ServiceSpec,
        settings: Settings,
        clock: Clock,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.spec = spec
        self.service = spec.service
        self.settings = settings
        self.clock = clock
        self.app = spec.app
        self.stopping = asyncio.Event()
        self.provisioned = False
        # Traces only with a provider from the wiring (runtime/tracing.py): none by default.
        self.tracer_provider = tracer_provider
        tracer = tracer_of(tracer_provider)
        self.relay = Relay(
            spec.app,
            spec.service,
            spec.translate,
            batch=settings.relay_batch,
            publish_timeout=settings.publish_timeout_seconds,
            tracer=tracer,
            make_stream=lambda js: ensure_stream(js, spec.service, settings),
        )
        self.notary = Notary(
            spec.app,
            spec.service,
            clock,
            size=settings.checkpoint_size,
            interval_seconds=settings.checkpoint_interval_seconds,
        )
        self.consumers: list[TrackedConsumer] = []
        to_command = spec.to_command
        follows = FOLLOWS[spec.service]
        faults = FaultInjector(settings.fault_point, settings.fault_after_batches)
        if follows:
            assert isinstance(spec.app, ServiceApplication) and to_command is not None
            for upstream in follows:
                self.consumers.append(
                    TrackedConsumer(
                        spec.app,
                        upstream,
                        spec.service,
                        lambda event, tc=to_command: tc(event, clock),  # type: ignore[misc]
                        clock,
                        batch=settings.consumer_batch,
                        on_recorded=self.relay.wake,
                        faults=faults,
                        tracer=tracer,
                    )
                )
        self.follows = follows
        # This process's own registry (several processes share one interpreter in the tests).
        self.registry = CollectorRegistry()
        self.metrics_server: MetricsServer | None = None
        self.broker = nats_broker(
            settings,
            # Per-message lines at DEBUG: the structlog filter drops them at the default level.
            logger=structlog.get_logger("faststream"),
            log_level=logging.DEBUG,
            max_reconnect_attempts=-1,
            middlewares=broker_middlewares(self.registry, spec.service, tracer_provider),
        )
        if spec.router is not None:
            self.broker.include_router(spec.router(self.relay.wake))
        self.schedulers = spec.schedulers(self.relay.wake) if spec.schedulers else []
        self.loops: list[Loop] = [s.run for s in self.schedulers]
        self.broker.subscriber(status_subject(spec.service))(self._status_handler)
        if spec.verify is not None:
            self.broker.subscriber(verify_subject(spec.service))(self._verify_handler)
        self._tasks: list[asyncio.Task[None]] = []

    async def _status_handler(self) -> dict[str, Any]:
        return await self.status()

    async def _verify_handler(self) -> dict[str, Any]:
        """Walk this service's store against its checkpoints (for the API's /audit/verify)."""
        assert self.spec.verify is not None
        report = await self.spec.verify(self.service, self.app, self.broker.connection.jetstream())
        log.info("history verified", ok=report.ok, verified=report.verified)
        return report.as_dict()

    async def store_position(self) -> int | None:
        """The store's last notification id (0 when empty); None when the store does not
        answer in time. A cheap query that doubles as the readiness probe of the store."""
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(self._probe_store), PROBE_TIMEOUT_SECONDS
            )
        except Exception as error:
            log.warning("store not answering", error=repr(error))
            return None

    def _probe_store(self) -> int:
        recorder: Any = self.app.recorder
        if self.settings.store == "sqlite":
            return sqlite_probe(
                sqlite_file(self.settings, self.service),
                recorder.select_max_notification_id_statement,
            )
        return int(recorder.max_notification_id() or 0)

    async def _stream_ok(self, connected: bool) -> bool:
        """The service's stream is there to publish to (it may have been deleted, or NATS
        lost its JetStream state)."""
        if not connected:
            return False
        try:
            js = self.broker.connection.jetstream(timeout=PROBE_TIMEOUT_SECONDS)
            await js.stream_info(stream_name(self.service))
        except Exception as error:
            log.warning("stream not answering", error=repr(error))
            return False
        return True

    async def _pending(self, connected: bool, consumer: TrackedConsumer) -> int | None:
        """Messages on the upstream stream this consumer has not processed; None if unknown."""
        if not connected:
            return None
        try:
            js = self.broker.connection.jetstream(timeout=PROBE_TIMEOUT_SECONDS)
            info = await js.consumer_info(stream_name(consumer.upstream), consumer.durable)
        except Exception:
            return None
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

    def overdue(self) -> dict[str, int]:
        """Open items past their due time, per kind (e.g. hold's SupportTask)."""
        now = self.clock.now()
        return {s.kind.__name__: s.overdue(now) for s in self.schedulers if s.passes}

    async def _overdue(self) -> dict[str, int] | None:
        """The overdue counts, asked of the store's deadline index off the event loop; None
        when the store does not answer (status must still say so, not wait or fail)."""
        try:
            return await asyncio.to_thread(self.overdue)
        except Exception as error:
            log.warning("overdue count not answering", error=repr(error))
            return None

    async def status(self) -> dict[str, Any]:
        connected = bool(self.broker._connection and self.broker._connection.is_connected)
        store_position, stream_ok, *pending = await asyncio.gather(
            self.store_position(),
            self._stream_ok(connected),
            *(self._pending(connected, c) for c in self.consumers),
        )
        store_open = store_position is not None
        consumers = {
            c.durable: {
                "bound": c.bound,
                "tracking_position": c.high_water,
                "pending": waiting,
                "processed": c.processed,
                "duplicates": c.duplicates,
                "dead_letters": c.dead_letters,
            }
            for c, waiting in zip(self.consumers, pending, strict=True)
        }
        ready = (
            connected
            and store_open
            and bool(stream_ok)
            and self.provisioned
            and self.relay.synced
            and all(c.bound for c in self.consumers)
            and not self.stopping.is_set()
        )
        return {
            "service": self.service,
            "ready": ready,
            "nats_connected": connected,
            "provisioned": self.provisioned,
            "store": self.settings.store,
            "store_open": store_open,
            "store_notification_id": store_position,
            "stream_ok": stream_ok,
            "relay": {
                "synced": self.relay.synced,
                # The outbox's lag is the store's position minus this one.
                "read_notification_id": self.relay.position.read_id,
                "published_notification_id": self.relay.position.published_id,
                "stream_sequence": self.relay.position.stream_sequence,
                "published": self.relay.published,
            },
            "checkpoint": {
                "synced": self.notary.synced,
                "notification_id": self.notary.position.notification_id,
                "count": self.notary.position.count,
            },
            "consumers": consumers,
            "overdue": await self._overdue() if store_open else None,
        }

    async def start(self) -> None:
        await self.broker.connect()
        js = self.broker.connection.jetstream()
        await provision(js, self.service, self.settings)
        self.provisioned = True
        if self.spec.prepare is not None:
            await asyncio.to_thread(self.spec.prepare)
        await self.broker.start()
        self.registry.register(
            StatusCollector(self.service, self.status, asyncio.get_running_loop())
        )
        if self.settings.metrics_port:
            self.metrics_server = MetricsServer(
                self.registry, self.settings.metrics_host, self.settings.metrics_port
            )
            log.info("metrics served", port=self.metrics_server.port)
        self._tasks.append(self._supervise("relay", lambda: self.relay.run(js, self.stopping)))
        self._tasks.append(self._supervise("notary", lambda: self.notary.run(js, self.stopping)))
        for consumer in self.consumers:
            self._tasks.append(
                self._supervise(consumer.durable, lambda c=consumer: self._consume(js, c))  # type: ignore[misc]
            )
        for index, loop in enumerate(self.loops):
            self._tasks.append(
                self._supervise(f"loop-{index}", lambda run=loop: run(self.stopping))  # type: ignore[misc]
            )
        log.info("service started", nats_url=self.settings.nats_url, store=self.settings.store)

    async def _consume(self, js: JetStreamContext, consumer: TrackedConsumer) -> None:
        """Ensure the durable consumer (the upstream stream may not exist yet: the supervisor
        tries again), then consume."""
        await ensure_consumer(js, consumer.upstream, self.service, self.settings)
        await consumer.run(js, self.stopping)

    def _supervise(self, name: str, run: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        """Keep a loop running: a failure is logged and the loop restarted after a pause."""

        async def supervised() -> None:
            delay = 0.2
            while not self.stopping.is_set():
                try:
                    await run()
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    log.error("loop failed; restarting", loop=name, error=repr(error))
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stopping.wait(), delay)
                    delay = min(delay * 2, 5.0)

        return asyncio.create_task(supervised(), name=f"{self.service}:{name}")

    async def stop(self) -> None:
        """A clean stop: finish the batch in hand and take no more work, publish and then
        checkpoint everything the store holds, then close. Nothing half done, nothing acked
        unrecorded, and nothing left for `chb audit verify` to call not yet checkpointed."""
        self.stopping.set()
        self.relay.wake()  # out of its idle wait now, not at its next poll
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=10)
            for task in pending:
                task.cancel()
        if self.broker._connection is not None:
            await self._stop_subscribers()
            await self._publish_and_checkpoint_the_rest()
        if self.metrics_server is not None:
            self.metrics_server.close()
        try:
            await self.broker.stop()
        except Exception as error:
            # NATS unreachable (nats-py refuses to drain while reconnecting): close without
            # draining, and still close the store.
            log.warning("NATS connection closed without draining", error=repr(error))
            if self.broker._connection is not None:
                # Its close may fail too, flushing to a dead socket: the process ends anyway.
                with contextlib.suppress(Exception):
                    await self.broker._connection.close()
        finally:
            self.app.close()
        log.info("service stopped")

    async def _stop_subscribers(self) -> None:
        """Take no more commands (FastStream lets those in hand finish), keeping the connection
        for the last publish and checkpoint: nothing is recorded after them."""
        results = await asyncio.gather(
            *(sub.stop() for sub in self.broker.subscribers), return_exceptions=True
        )
        for error in (r for r in results if isinstance(r, BaseException)):
            log.warning("subscriber did not stop cleanly", error=repr(error))

    async def _publish_and_checkpoint_the_rest(self) -> None:
        """The relay publishes what its loop had not, then the notary checkpoints the store to
        its end (a kill instead leaves both for the next start, and a tail that verify warns
        of). Each is bounded: a NATS that does not answer is logged, not waited on for ever."""
        js = self.broker.connection.jetstream()
        # Publish first (the outbox is what the other services wait on), then checkpoint the
        # store to its end; both while the connection is still open.
        for follower in (self.relay, self.notary):
            try:
                async with asyncio.timeout(self.settings.stop_timeout_seconds):
                    await follower.drain(js)
            except Exception as error:
                # Left for the next start; the other follower still gets its own pass.
                log.error(
                    f"{follower.what} unfinished at stop",
                    error=repr(error),
                    timeout_seconds=self.settings.stop_timeout_seconds,
                )
        log.info(
            "last pass at stop",
            relayed_through=self.relay.position.read_id,
            checkpointed_through=self.notary.position.notification_id,
        )

    async def serve(self) -> None:
        """Run until SIGINT or SIGTERM."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        await stop.wait()
        await self.stop()


def broker_middlewares(
    registry: CollectorRegistry, name: str, tracer_provider: TracerProvider | None
) -> tuple[Any, ...]:
    """FastStream's own metrics on every broker; its traces only when tracing is on (without a
    provider they would be no-op spans, still paid for on every command)."""
    metrics = NatsPrometheusMiddleware(registry=registry, app_name=f"chb-{name}")
    if tracer_provider is None:
        return (metrics,)
    telemetry = NatsTelemetryMiddleware(
        tracer_provider=tracer_provider,
        # Metrics are Prometheus's here; OpenTelemetry carries the traces only.
        meter_provider=NoOpMeterProvider(),
        include_messages_counters=False,
    )
    return (telemetry, metrics)
