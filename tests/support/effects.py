"""What a run of arrests should have caused, and what the stores and streams hold."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import nats
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import ServiceUnavailableError

from contracts import parse_event
from services.runtime.topology import stream_name, subjects
from tests.support.cluster import Ledger


def expected_effects(sent: Ledger) -> tuple[int, int]:
    cases: dict[tuple[str, str], bool] = {}
    for a in sent.arrests:
        key = (a["operation_id"], a["household_ref"])
        cases[key] = cases.get(key, False) or bool(a["children"])
    tasks = sum(3 if has_children else 2 for has_children in cases.values())
    return len(cases), tasks


def stored_events(app: Any) -> Counter[str]:
    counts: Counter[str] = Counter()
    originators: Counter[tuple[str, Any]] = Counter()
    start = 1
    while notifications := app.recorder.select_notifications(start, 500):
        for n in notifications:
            event = app.mapper.to_domain_event(n)
            name = type(event).__qualname__
            counts[name] += 1
            if name.endswith((".Opened", ".Scheduled")):
                originators[(name, event.originator_id)] += 1
        start = notifications[-1].id + 1
    assert max(originators.values(), default=1) == 1, "an aggregate was created twice"
    return counts


async def stream_events(
    nc: nats.aio.client.Client, service: str, within: float = 30.0
) -> Counter[str]:
    """Every integration event on ``service``'s stream, counted by type (each once, or it
    fails), read through a consumer of its own. On a cluster that consumer has no leader for a
    moment after it is made, and a fetch is answered 503 meanwhile: asked again, up to
    ``within`` seconds."""
    js = nc.jetstream()
    deadline = time.monotonic() + within
    while True:  # just after a leader was killed the cluster may not answer for a moment
        try:
            info = await js.stream_info(stream_name(service))
            sub = await js.pull_subscribe(subjects(service), stream=stream_name(service))
            break
        except (ServiceUnavailableError, NatsTimeoutError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
    counts: Counter[str] = Counter()
    ids: Counter[str] = Counter()
    remaining = info.state.messages
    while remaining:
        try:
            msgs = await sub.fetch(min(remaining, 256), timeout=5)
        except (ServiceUnavailableError, NatsTimeoutError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
            continue
        for msg in msgs:
            event = parse_event(msg.data)
            counts[event.event_type] += 1
            ids[str(event.event_id)] += 1
            await msg.ack()
            remaining -= 1
    await sub.unsubscribe()
    assert max(ids.values(), default=1) == 1, "an integration event was published twice"
    return counts
