"""Prometheus metrics: each service's pipeline (readiness, relay and consumer lag, dead letters,
overdue items) computed when scraped, FastStream's broker metrics, and the API's /metrics."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.factories import build_clear
from services.runtime.clock import SimulatedClock
from services.runtime.embedded_nats import free_port
from services.runtime.process import ServiceProcess
from services.runtime.settings import Settings
from services.runtime.topology import durable_name
from tests.support.flows import arrest, plan_and_launch
from tests.support.nats_users import as_user, connect_as
from tests.support.system import eventually, running_system

pytestmark = pytest.mark.integration

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def scrape(process: ServiceProcess) -> Samples:
    """What its /metrics would answer (the scrape runs off the event loop, as the server's)."""
    return parse((await asyncio.to_thread(generate_latest, process.registry)).decode())


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
async def test_each_service_reports_its_pipeline_and_the_api_its_own_on_metrics(
    settings: Settings,
) -> None:
    """After an arrest hold is ready with no relay or consumer lag and its tracking position
    at clear's event; a junk message counts as a dead letter; moving time past the child
    safety check's due time makes it an overdue task; clear's command handler and the API's
    requests show in FastStream's metrics; the API's /metrics needs no token."""
    clock = SimulatedClock(datetime.now(UTC))
    async with running_system(settings, clock=clock) as system:
        op = await plan_and_launch(system)
        await arrest(system, op, "P-1", "HH-1", [{"child_ref": "C-1", "age": 4}], only_carer=True)
        await eventually(
            lambda: system.get("/tasks", operation_id=op), lambda t: len(t) == 3, what="tasks"
        )
        clear, hold = system.services["clear"], system.services["hold"]
        consumer = durable_name("clear", "hold")
        published = (await clear.status())["relay"]["published_notification_id"]

        def settled(samples: Samples) -> bool:
            return (
                value(samples, "chb_ready", service="hold") == 1
                and value(samples, "chb_relay_lag", service="hold") == 0
                and value(samples, "chb_consumer_lag", service="hold", consumer=consumer) == 0
                and value(samples, "chb_overdue_items", service="hold", kind="SupportTask") == 0
            )

        samples = await eventually(lambda: scrape(hold), settled, what="hold settled")
        position = "chb_consumer_tracking_position"
        assert value(samples, position, service="hold", consumer=consumer) == published
        assert value(samples, "chb_store_up", service="hold") == 1
        assert value(samples, "chb_stream_up", service="hold") == 1
        assert value(samples, "chb_dead_letters_total", service="hold", consumer=consumer) == 0

        nc = await connect_as(settings)
        await nc.jetstream().publish("chb.clear.arrest_recorded", b"junk with no headers")
        await nc.close()
        await eventually(
            lambda: scrape(hold),
            lambda s: value(s, "chb_dead_letters_total", service="hold", consumer=consumer) == 1,
            what="a dead letter counted",
        )

        clock.advance(timedelta(hours=3))  # the child safety check was due at +2 h
        await eventually(
            lambda: scrape(hold),
            lambda s: value(s, "chb_overdue_items", service="hold", kind="SupportTask") == 1,
            what="one overdue task",
        )

        handled = [
            (name, dict(labels))
            for (name, labels), _ in (await scrape(clear)).items()
            if name.startswith("faststream_") and "cmd.clear.record_arrest" in dict(labels).values()
        ]
        assert handled, "clear's command handler is measured by FastStream's middleware"

        response = await system.api.get("/metrics", headers={"X-Anonymous": "1"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        api = parse(response.text)
        assert value(api, "chb_ready", service="api") == 1
        assert any(
            name.startswith("faststream_") and "cmd.clear.record_arrest" in dict(labels).values()
            for name, labels in api
        ), "the API's requests to clear are measured too"


async def test_a_service_serves_metrics_over_http_on_its_metrics_port(settings: Settings) -> None:
    """With CHB_METRICS_PORT set a service answers /metrics over HTTP, and stops when it does."""
    port = free_port()
    process = build_clear(as_user(settings, "clear").model_copy(update={"metrics_port": port}))
    await process.start()
    try:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/metrics")
        assert response.status_code == 200
        assert value(parse(response.text), "chb_ready", service="clear") == 1
        assert value(parse(response.text), "chb_relay_lag", service="clear") == 0
    finally:
        await process.stop()
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{port}/metrics")
