"""Prometheus metrics of the pipeline, computed when they are scraped, never per event.

FastStream's ``NatsPrometheusMiddleware`` counts and times what goes through the brokers (the
command handlers, the API's requests). The relay and the tracked consumers are not FastStream
subscribers, so their figures come from here: each scrape asks the process for its status (the
same figures ``chb`` and the API's ``/ready`` read) and turns it into metrics. Nothing is added
to the hot path; a scrape costs one store query and a JetStream call per stream and consumer.

Labels are service, consumer and kind names only: never an id of a person or a household.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = structlog.get_logger()

# How long a scrape waits for the process to answer before it reports the process not ready.
SCRAPE_TIMEOUT_SECONDS = 5.0


def flag(value: Any) -> float:
    return 1.0 if value else 0.0


def service_metrics(status: dict[str, Any] | None, service: str) -> Iterator[Metric]:
    """The metrics of one service process from its ``status()`` (None: it did not answer)."""
    ready = GaugeMetricFamily(
        "chb_ready",
        "1 when the process is ready (store, stream, NATS, consumers)",
        labels=["service"],
    )
    ready.add_metric([service], flag(status and status.get("ready")))
    yield ready
    if status is None:
        return

    def gauge(name: str, doc: str, value: float | None) -> Iterator[Metric]:
        if value is not None:
            family = GaugeMetricFamily(name, doc, labels=["service"])
            family.add_metric([service], value)
            yield family

    yield from gauge(
        "chb_nats_connected", "1 while connected to NATS", flag(status.get("nats_connected"))
    )
    yield from gauge("chb_store_up", "1 while the store answers", flag(status.get("store_open")))
    yield from gauge(
        "chb_stream_up", "1 while the service's stream exists", flag(status.get("stream_ok"))
    )
    store_id = status.get("store_notification_id")
    relay = status["relay"]
    yield from gauge("chb_store_notification_id", "the store's last notification id", store_id)
    yield from gauge(
        "chb_relay_notification_id",
        "the last notification id the relay has read",
        relay["read_notification_id"],
    )
    yield from gauge(
        "chb_relay_lag",
        "notifications recorded but not yet read by the relay (store minus relay position)",
        None if store_id is None else max(store_id - relay["read_notification_id"], 0),
    )
    published = CounterMetricFamily(
        "chb_relay_published",
        "events the relay published since the process started",
        labels=["service"],
    )
    published.add_metric([service], relay["published"])
    yield published
    checkpoint = status["checkpoint"]
    yield from gauge(
        "chb_checkpoint_lag",
        "notifications not yet covered by a published history checkpoint",
        None if store_id is None else max(store_id - checkpoint["notification_id"], 0),
    )

    labels = ["service", "consumer"]
    position = GaugeMetricFamily(
        "chb_consumer_tracking_position",
        "the last upstream notification id processed",
        labels=labels,
    )
    pending = GaugeMetricFamily(
        "chb_consumer_lag",
        "upstream messages not yet processed (JetStream num_pending plus unacknowledged)",
        labels=labels,
    )
    bound = GaugeMetricFamily(
        "chb_consumer_bound", "1 while the consumer is fetching", labels=labels
    )
    processed = CounterMetricFamily(
        "chb_consumer_processed",
        "upstream messages processed since the process started",
        labels=labels,
    )
    duplicates = CounterMetricFamily(
        "chb_consumer_duplicates",
        "redelivered messages acknowledged as already processed",
        labels=labels,
    )
    dead = CounterMetricFamily(
        "chb_dead_letters",
        "messages recorded as dead letters since the process started",
        labels=labels,
    )
    for durable, c in status["consumers"].items():
        key = [service, durable]
        position.add_metric(key, c["tracking_position"])
        if c.get("pending") is not None:
            pending.add_metric(key, c["pending"])
        bound.add_metric(key, flag(c["bound"]))
        processed.add_metric(key, c["processed"])
        duplicates.add_metric(key, c["duplicates"])
        dead.add_metric(key, c["dead_letters"])
    if status["consumers"]:
        yield from (position, pending, bound, processed, duplicates, dead)

    overdue = status.get("overdue") or {}
    if overdue:
        family = GaugeMetricFamily(
            "chb_overdue_items",
            "open items past their due time (hold: support tasks; build: milestones not met)",
            labels=["service", "kind"],
        )
        for kind, count in overdue.items():
            family.add_metric([service, kind], count)
        yield family


class StatusCollector(Collector):
    """Scrape-time metrics from an async ``status()`` running on the process's event loop.

    prometheus_client scrapes in its own thread; the figures live with the loop, so the scrape
    asks the loop and waits (bounded) for the answer.
    """

    def __init__(
        self,
        service: str,
        status: Callable[[], Any],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.service = service
        self.status = status
        self.loop = loop

    def collect(self) -> Iterator[Metric]:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            # Called on the loop's own thread it would wait for itself.
            raise RuntimeError("scrape service metrics from another thread")
        try:
            future = asyncio.run_coroutine_threadsafe(self.status(), self.loop)
            status: dict[str, Any] | None = future.result(SCRAPE_TIMEOUT_SECONDS)
        except Exception as error:
            log.warning("status for metrics failed", error=repr(error))
            status = None
        yield from service_metrics(status, self.service)


class MetricsServer:
    """``/metrics`` over HTTP on ``port`` (prometheus_client's own server, in a thread)."""

    def __init__(self, registry: CollectorRegistry, host: str, port: int) -> None:
        self.server, self.thread = start_http_server(port, addr=host, registry=registry)
        self.port = int(self.server.server_port)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
