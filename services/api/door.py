"""What the routes share: the broker for commands, the read model for queries, the audit index
and the household keys. One per API process, made by ``create_app`` and started by its lifespan.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import structlog
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from opentelemetry.trace import TracerProvider
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from contracts.commands import CommandReply
from services.api.idempotency import IdempotencyStore
from services.api.observability import ApiCollector
from services.audit.index import AuditIndex, catch_up_from_streams
from services.audit.point_in_time import state_at
from services.audit.timeline import Entry
from services.runtime.nats_access import broker as nats_broker
from services.runtime.process import broker_middlewares, status_subject
from services.runtime.provisioning import wait_for_stream
from services.runtime.sealing import HouseholdKeys
from services.runtime.settings import Settings
from services.runtime.supervisor import recorded_restarts
from services.runtime.topology import SERVICES, command_subject, stream_name, verify_subject
from services.views.generations import Generations
from services.views.projector import Projector
from services.views.read_model import ReadModel

log = structlog.get_logger()

API_INDEX_FILE = "api-audit-index.sqlite"
IDEMPOTENCY_FILE = "api-idempotency.sqlite"


class ServiceUnavailable(Exception):
    pass


class FrontDoor:
    """What the routes need: the broker for commands, the read model for queries."""

    def __init__(self, settings: Settings, tracer_provider: TracerProvider | None = None) -> None:
        self.settings = settings
        self.registry = CollectorRegistry()
        self.broker = nats_broker(
            settings,
            logger=structlog.get_logger("faststream"),
            log_level=logging.DEBUG,
            max_reconnect_attempts=-1,
            middlewares=broker_middlewares(self.registry, "api", tracer_provider),
        )
        self.index_path = settings.data_dir / API_INDEX_FILE
        # The one connection that writes the index; readers open their own (WAL mode).
        self.index: AuditIndex | None = None
        self._indexing = asyncio.Lock()
        self.idempotency: IdempotencyStore | None = None
        self.household_keys: HouseholdKeys | None = None
        # The views persist beside the stores (SQLite files, or PostgreSQL schemas): a restart
        # resumes where they stand. Nothing is opened until ``start``.
        # Views in memory until ``start`` opens the persisted ones (making the app touches no
        # disk; an app that is never started, as in a test of its pages, has empty views).
        self.projector = Projector()
        self._stopping = asyncio.Event()
        self._watching: asyncio.Task[None] | None = None
        self.started = False
        self.registry.register(
            ApiCollector(self.ready, lambda: self.projector.positions, self.restarts)
        )

    @property
    def read_model(self) -> ReadModel:
        """The view served, asked for on each request: a rebuild switches to a new one."""
        return self.projector.read_model

    @property
    def connected(self) -> bool:
        return self.broker._connection is not None and self.broker._connection.is_connected

    def restarts(self) -> dict[str, int] | None:
        """Restarts per process under ``chb up``'s supervisor (None under another one)."""
        return recorded_restarts(self.settings.data_dir)

    def ready(self) -> bool:
        """The API's own part of readiness: NATS, the streams found, the read model caught up."""
        return self.connected and self.started and self.projector.caught_up

    async def start(self) -> None:
        # Files are opened here, not when the app is made: making one must touch no disk.
        self.idempotency = IdempotencyStore(self.settings.data_dir / IDEMPOTENCY_FILE)
        await self.broker.connect()
        js = self.broker.connection.jetstream()
        # Each service creates its own stream (the API's NATS user may only read them); the
        # API may start first, so it waits for them, and is not ready until it has them.
        for service in SERVICES:
            await wait_for_stream(js, stream_name(service))
        self.index = AuditIndex(self.index_path)
        self.household_keys = await HouseholdKeys.open(js, self.settings.stream_replicas)
        self.projector.close()
        self.projector = Projector(Generations(self.settings))
        await self.projector.start(self.broker.connection)
        self._watching = asyncio.create_task(
            self.projector.watch(self.broker.connection, self._stopping), name="api:projector"
        )
        self.started = True

    async def stop(self) -> None:
        self._stopping.set()
        if self._watching is not None:
            await self._watching
        if self.started:
            await self.projector.stop()
            self.projector.close()
        await self.broker.stop()
        if self.index is not None:
            self.index.close()
        if self.idempotency is not None:
            self.idempotency.close()

    async def catch_up_index(self) -> None:
        """Index what the streams hold beyond what was indexed: on an audit question only."""
        assert self.index is not None
        async with self._indexing:
            js = self.broker.connection.jetstream()
            await catch_up_from_streams(self.index, js)

    @contextmanager
    def reading_index(self) -> Iterator[AuditIndex]:
        """The audit index on a connection of its own (it is in WAL mode), for a worker
        thread; callers bring it up to date first (``catch_up_index``)."""
        index = AuditIndex(self.index_path)
        try:
            yield index
        finally:
            index.close()

    def timeline(self, operation_id: str | None, place: str | None) -> list[Entry]:
        with self.reading_index() as index:
            return list(index.entries(operation_id, place))

    def as_of(self, at: datetime, operation_id: UUID | None, place: str | None) -> dict[str, Any]:
        with self.reading_index() as index:
            return state_at(index, at, operation_id, place)

    async def settled(self, event_id: UUID, within: float = 2.0) -> bool:
        """Wait (at most ``within`` seconds) until the views show the event a command just
        recorded, so that the caller's next request sees its own change: an agency that has
        just accepted a task is its holder on its very next step."""
        try:
            async with asyncio.timeout(within):
                await self.projector.wait_for_event(event_id)
        except TimeoutError:
            log.warning(
                "the views have not caught up with a command's event", event_id=str(event_id)
            )
            return False
        return True

    @property
    def personal_window(self) -> timedelta:
        return self.settings.personal_window

    @property
    def keys(self) -> HouseholdKeys:
        assert self.household_keys is not None, "the front door has not started"
        return self.household_keys

    async def send(self, service: str, name: str, command: BaseModel) -> CommandReply:
        try:
            response = await self.broker.request(
                command,
                command_subject(service, name),
                timeout=self.settings.command_timeout_seconds,
            )
        except (NoRespondersError, NatsTimeoutError, TimeoutError) as error:
            raise ServiceUnavailable(f"{service} service did not answer: {error!r}") from None
        return CommandReply.model_validate_json(response.body)

    async def verify(self, service: str) -> dict[str, Any]:
        try:
            response = await self.broker.request(
                None, verify_subject(service), timeout=self.settings.verify_timeout_seconds
            )
        except (NoRespondersError, NatsTimeoutError, TimeoutError) as error:
            raise ServiceUnavailable(f"{service} did not verify its history: {error!r}") from None
        report: dict[str, Any] = json.loads(response.body)
        return report

    async def stream_positions(self) -> dict[str, int]:
        js = self.broker.connection.jetstream()
        return {
            stream_name(s): (await js.stream_info(stream_name(s))).state.last_seq for s in SERVICES
        }

    async def service_status(self, service: str) -> dict[str, Any]:
        try:
            response = await self.broker.request(None, status_subject(service), timeout=1.0)
        except (NoRespondersError, NatsTimeoutError, TimeoutError) as error:
            return {"service": service, "ready": False, "error": repr(error)}
        status: dict[str, Any] = json.loads(response.body)
        return status
