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
from dataclasses import dataclass, field
from typing import Any

import structlog
from eventsourcing.application import Application
from faststream.nats import NatsRouter
from nats.js import JetStreamContext

from contracts import IntegrationEvent
from services.audit.verify import verify_service
from services.runtime.application import ServiceApplication
from services.runtime.checkpoints import Notary
from services.runtime.clock import Clock
from services.runtime.consumer import TrackedConsumer
from services.runtime.faults import FaultInjector
from services.runtime.nats_access import broker as nats_broker
from services.runtime.provisioning import ensure_consumer, provision
from services.runtime.relay import Relay
from services.runtime.settings import Settings
from services.runtime.topology import FOLLOWS, verify_subject
from services.runtime.topology import status_subject as status_subject  # re-exported
from services.runtime.translation import Translator

log = structlog.get_logger()


Loop = Callable[[asyncio.Event], Awaitable[None]]


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
    # Further loops the service runs (e.g. hold's deadline scheduler), given the same callback.
    loops: Callable[[Callable[[], None]], list[Loop]] | None = None
    follows: tuple[str, ...] = field(default=())


class ServiceProcess:
    def __init__(self, spec: ServiceSpec, settings: Settings, clock: Clock) -> None:
        self.spec = spec
        self.service = spec.service
        self.settings = settings
        self.clock = clock
        self.app = spec.app
        self.stopping = asyncio.Event()
        self.provisioned = False
        self.relay = Relay(spec.app, spec.service, spec.translate, batch=settings.relay_batch)
        self.notary = Notary(
            spec.app,
            spec.service,
            clock,
            size=settings.checkpoint_size,
            interval_seconds=settings.checkpoint_interval_seconds,
        )
        self.consumers: list[TrackedConsumer] = []
        to_command = spec.to_command
        follows = spec.follows or FOLLOWS[spec.service]
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
                    )
                )
        self.follows = follows
        self.broker = nats_broker(
            settings,
            # Per-message lines at DEBUG: the structlog filter drops them at the default level.
            logger=structlog.get_logger("faststream"),
            log_level=logging.DEBUG,
            max_reconnect_attempts=-1,
        )
        if spec.router is not None:
            self.broker.include_router(spec.router(self.relay.wake))
        self.loops: list[Loop] = spec.loops(self.relay.wake) if spec.loops else []
        self.broker.subscriber(status_subject(spec.service))(self._status_handler)
        self.broker.subscriber(verify_subject(spec.service))(self._verify_handler)
        self._tasks: list[asyncio.Task[None]] = []

    async def _status_handler(self) -> dict[str, Any]:
        return await self.status()

    async def _verify_handler(self) -> dict[str, Any]:
        """Walk this service's store against its checkpoints (for the API's /audit/verify)."""
        report = await verify_service(self.service, self.app, self.broker.connection.jetstream())
        log.info("history verified", ok=report.ok, verified=report.verified)
        return report.as_dict()

    async def store_position(self) -> int | None:
        """The store's last notification id (0 when empty); None when the store does not
        answer. A cheap query that doubles as the readiness probe of the store."""
        try:
            return await asyncio.to_thread(self.app.recorder.max_notification_id) or 0
        except Exception as error:
            log.warning("store not answering", error=repr(error))
            return None

    async def status(self) -> dict[str, Any]:
        store_position = await self.store_position()
        store_open = store_position is not None
        connected = bool(self.broker._connection and self.broker._connection.is_connected)
        consumers = {
            c.durable: {
                "bound": c.bound,
                "tracking_position": c.high_water,
                "processed": c.processed,
                "duplicates": c.duplicates,
                "dead_letters": c.dead_letters,
            }
            for c in self.consumers
        }
        ready = (
            connected
            and store_open
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
        }

    async def start(self) -> None:
        await self.broker.connect()
        js = self.broker.connection.jetstream()
        await provision(js, self.service, self.settings)
        self.provisioned = True
        await self.broker.start()
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
        """Finish the batch in hand, then close: nothing half done, nothing acked unrecorded."""
        self.stopping.set()
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=10)
            for task in pending:
                task.cancel()
        await self.broker.stop()
        self.app.close()
        log.info("service stopped")

    async def serve(self) -> None:
        """Run until SIGINT or SIGTERM."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        await stop.wait()
        await self.stop()
