"""Creates streams and durable consumers explicitly and idempotently at start-up.

FastStream does not update an existing durable consumer whose configuration changed, so every
process declares what it needs here and the difference, if any, is applied or reported.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import APIError, NotFoundError

from services.runtime.nats_access import connect
from services.runtime.settings import Settings
from services.runtime.topology import (
    ALL_SERVICES,
    AUDIT_STREAM,
    AUDIT_SUBJECTS,
    durable_name,
    stream_name,
    subjects,
)

log = structlog.get_logger()

DUPLICATE_WINDOW_SECONDS = 3600.0
# JetStream's "no suitable peers for placement": a cluster that has just formed (or lost a node
# for a moment) has a meta leader but does not yet count enough peers to place every replica.
NO_PEERS_FOR_PLACEMENT = 10005
PLACEMENT_WAIT_SECONDS = 30.0


def stream_config(service: str, settings: Settings) -> StreamConfig:
    return StreamConfig(
        name=stream_name(service),
        subjects=[subjects(service)],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        num_replicas=settings.stream_replicas,
        # The relay's expected-sequence header is the real guard; the dedupe window is a second.
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        # The relay publishes each batch atomically (JetStream ADR-50): all of it or none.
        allow_atomic=True,
    )


def consumer_config(upstream: str, downstream: str, settings: Settings) -> ConsumerConfig:
    durable = durable_name(upstream, downstream)
    return ConsumerConfig(
        durable_name=durable,
        name=durable,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=settings.ack_wait_seconds,
        max_deliver=-1,
        # The tracked consumer handles one batch at a time; nothing beyond it is in flight, so
        # messages come in order and a redelivery cannot overtake a newer message for long.
        max_ack_pending=settings.consumer_batch,
        filter_subject=subjects(upstream),
    )


def audit_stream_config(settings: Settings) -> StreamConfig:
    """Checkpoints are evidence: kept for ever, and JetStream refuses to delete or purge them."""
    return StreamConfig(
        name=AUDIT_STREAM,
        subjects=[AUDIT_SUBJECTS],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.NEW,
        num_replicas=settings.stream_replicas,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        deny_delete=True,
        deny_purge=True,
    )


async def ensure_stream(js: JetStreamContext, service: str, settings: Settings) -> None:
    await ensure_stream_config(js, stream_config(service, settings))


async def wait_for_stream(js: JetStreamContext, name: str, poll: float = 0.5) -> None:
    """Wait until a stream someone else owns exists: a reader (the API) may not create or
    change a service's stream, so it waits for the service to make it."""
    attempts = 0
    while True:
        try:
            await js.stream_info(name)
            return
        except NotFoundError:
            if attempts % 20 == 0:
                log.info("waiting for stream: its service creates it", stream=name)
            attempts += 1
            await asyncio.sleep(poll)


async def ensure_stream_config(
    js: JetStreamContext,
    wanted: StreamConfig,
    *,
    within: float = PLACEMENT_WAIT_SECONDS,
    poll: float = 0.5,
) -> None:
    """Create the stream, or bring it to ``wanted``. A cluster that cannot place the replicas
    yet is asked again for up to ``within`` seconds; any other refusal is raised at once."""
    try:
        info = await js.stream_info(wanted.name or "")
    except NotFoundError:
        await _placed(lambda: js.add_stream(wanted), wanted.name, within, poll)
        log.info("stream created", stream=wanted.name)
        return
    differs = _differences(info.config.as_dict(), wanted.as_dict(), _STREAM_KEYS)
    if differs:
        await _placed(lambda: js.update_stream(wanted), wanted.name, within, poll)
        log.warning("stream updated", stream=wanted.name, differences=differs)


async def _placed(
    make: Callable[[], Awaitable[Any]], stream: str | None, within: float, poll: float
) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            await make()
            return
        except APIError as error:
            if error.err_code != NO_PEERS_FOR_PLACEMENT or time.monotonic() >= deadline:
                raise
            log.warning("no peers to place the stream yet; will retry", stream=stream)
        await asyncio.sleep(poll)


_STREAM_KEYS = (
    "subjects",
    "retention",
    "storage",
    "num_replicas",
    "duplicate_window",
    "deny_delete",
    "deny_purge",
    "allow_atomic",
)
_CONSUMER_KEYS = ("deliver_policy", "ack_policy", "ack_wait", "max_ack_pending", "filter_subject")


def _differences(
    have: dict[str, Any], want: dict[str, Any], keys: tuple[str, ...]
) -> dict[str, Any]:
    return {
        k: {"have": have.get(k), "want": want.get(k)} for k in keys if have.get(k) != want.get(k)
    }


async def ensure_consumer(
    js: JetStreamContext, upstream: str, downstream: str, settings: Settings
) -> str:
    """Create the durable consumer, or bring an existing one to the declared configuration."""
    stream = stream_name(upstream)
    wanted = consumer_config(upstream, downstream, settings)
    durable = wanted.durable_name or ""
    try:
        info = await js.consumer_info(stream, durable)
    except NotFoundError:
        await js.add_consumer(stream, wanted)
        log.info("consumer created", stream=stream, consumer=durable)
        return durable
    differs = _differences(info.config.as_dict(), wanted.as_dict(), _CONSUMER_KEYS)
    if differs:
        # add_consumer with an existing durable name updates the fields JetStream allows to change.
        await js.add_consumer(stream, wanted)
        log.warning("consumer updated", stream=stream, consumer=durable, differences=differs)
    return durable


async def provision(js: JetStreamContext, service: str, settings: Settings) -> None:
    """What a service provisions before it starts: its own stream, the only one its NATS user
    may create (services/runtime/nats_permissions.py). Its durable consumers on upstream
    streams are ensured by each consumer's loop, once the upstream stream exists; it never
    creates another service's stream, nor the audit stream (see ``provision_all``)."""
    await ensure_stream(js, service, settings)


async def provision_all(js: JetStreamContext, settings: Settings) -> None:
    """Every stream, the audit stream ``CHB_AUDIT`` included, as the admin NATS user: run by
    ``chb up`` before it starts the services, by ``chb nats provision`` in production, and by
    the tests. No service may create or change ``CHB_AUDIT``: a service that could would be
    able to shorten the evidence against its own store."""
    for service in ALL_SERVICES:
        await ensure_stream(js, service, settings)
    await ensure_stream_config(js, audit_stream_config(settings))


async def provision_as(settings: Settings) -> None:
    """``provision_all`` on a connection of its own, as the settings' user (the admin)."""
    nc = await connect(settings, allow_reconnect=False, connect_timeout=5)
    try:
        await provision_all(nc.jetstream(), settings)
    finally:
        await nc.close()
