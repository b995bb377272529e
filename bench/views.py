"""Views benchmark (issue 17): persisted views at up to a million events.

    .venv/bin/python bench/views.py                                # 250k, then 1M events
    .venv/bin/python bench/views.py --checkpoints 100000 --json
    .venv/bin/python bench/views.py --store postgres

An embedded nats-server is started in a temporary directory and the services' streams are
filled with the integration events of a history as the relays publish them (each with its
notification id): per household, clear's arrest, hold's case, the arrest linked, two tasks,
and each task accepted, started and completed (eleven events a household, a hundred households
an operation, operations planned and launched). The events are made here, not by the services:
only the read side is measured.

At each checkpoint, each in a process of its own (so its memory is its own):

* **rebuild**: a new generation of the views read from every stream from the start, as
  ``chb views rebuild`` does: events per second (only at the last checkpoint, and for the
  generation the API then serves);
* **restart**: an API (``create_app``, its lifespan, as ``chb serve api`` runs it) started on
  the views already written: seconds from start to ``/ready``, then its resident memory;
* **queries**: ``GET /tasks?agency=…&overdue=true&limit=50`` and an operation's Hold summary
  (``GET /operations/{id}/hold``), p50 and p95 over many requests.

Targets: restart to ready ≤ 2 s; API resident memory ≤ 150 MB and flat from 250k to 1M events;
both queries p95 ≤ 20 ms; rebuild ≥ 20,000 events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: import the project
    sys.path.insert(0, str(ROOT))

from contracts import (  # noqa: E402
    Actor,
    ArrestLinkedToCase,
    ArrestRecorded,
    IntegrationEvent,
    OperationLaunched,
    OperationPlanned,
    SupportTaskChanged,
    SupportTaskOpened,
    WhanauCaseOpened,
    subject_for,
)
from services.runtime.embedded_nats import EmbeddedNats  # noqa: E402
from services.runtime.nats_access import connect  # noqa: E402
from services.runtime.provisioning import provision_all  # noqa: E402
from services.runtime.settings import Settings  # noqa: E402
from services.runtime.topology import H_NOTIFICATION_ID  # noqa: E402

KEY = "bench-signing-key-not-for-production-0123456789"
AGENCIES = ("oranga_tamariki", "police", "iwi_provider", "msd", "health_nz", "education")
KINDS = ("child_safety_check", "needs_assessment")
HOUSEHOLDS_PER_OPERATION = 100
EVENTS_PER_HOUSEHOLD = 11


def operation_events(n: int, start: datetime) -> list[tuple[str, IntegrationEvent]]:
    """One operation of ``HOUSEHOLDS_PER_OPERATION`` households, as (service, event)."""
    actor = Actor(id="bench", agency="police", role="operation_planner")
    worker = Actor(id="bench-worker", agency="oranga_tamariki", role="agency_worker")
    op = uuid4()
    at = start + timedelta(minutes=n)
    place = f"Place {n % 40}"
    env: dict[str, Any] = {"occurred_at": at, "recorded_at": at, "operation_id": op}
    out: list[tuple[str, IntegrationEvent]] = [
        (
            "clear",
            OperationPlanned(
                **env,
                actor=actor,
                event_id=uuid4(),
                name=f"Operation {n}",
                district="Southern",
                place=place,
                target_group="bench",
                planned_start=at,
            ),
        ),
        ("clear", OperationLaunched(**env, actor=actor, event_id=uuid4(), place=place)),
    ]
    for h in range(HOUSEHOLDS_PER_OPERATION):
        case_id, arrest_id = uuid4(), uuid4()
        household = f"HH-{n}-{h}"
        arrest = ArrestRecorded(
            **env,
            actor=actor,
            event_id=uuid4(),
            arrest_id=arrest_id,
            person_ref=f"P-{n}-{h}",
            household_ref=household,
            place=place,
            charges=("supply",),
            only_carer_present=h % 3 == 0,
        )
        out.append(("clear", arrest))
        out.append(
            (
                "hold",
                WhanauCaseOpened(
                    **env,
                    actor=actor,
                    event_id=uuid4(),
                    causation_id=arrest.event_id,
                    case_id=case_id,
                    household_ref=household,
                    place=place,
                ),
            )
        )
        out.append(
            (
                "hold",
                ArrestLinkedToCase(
                    **env,
                    actor=actor,
                    event_id=uuid4(),
                    case_id=case_id,
                    arrest_id=arrest_id,
                    children_total=2,
                    only_carer_present=h % 3 == 0,
                ),
            )
        )
        for k, kind in enumerate(KINDS):
            task_id = uuid4()
            agency = AGENCIES[(n + h + k) % len(AGENCIES)]
            # Most of a long history is done; the last operations' tasks are still open,
            # and some of those are overdue.
            due = at + timedelta(hours=2 + (h % 48))
            out.append(
                (
                    "hold",
                    SupportTaskOpened(
                        **env,
                        actor=actor,
                        event_id=uuid4(),
                        task_id=task_id,
                        case_id=case_id,
                        kind=kind,
                        lead_agency=agency,
                        due_at=due,
                        playbook="national@v1",
                        rule_id="r1",
                    ),
                )
            )
            steps = (
                ("accepted", "accepted"),
                ("started", "in_progress"),
                ("completed", "completed"),
            )
            for change, status in steps[: 3 if h % 10 else 1]:
                out.append(
                    (
                        "hold",
                        SupportTaskChanged(
                            **{**env, "actor": worker.model_copy(update={"agency": agency})},
                            event_id=uuid4(),
                            task_id=task_id,
                            change=change,
                            status=status,
                            agency=agency,
                        ),
                    )
                )
    return out


async def fill(server: EmbeddedNats, data_dir: Path, start: int, until: int) -> int:
    """Publish operations until at least ``until`` events are in the streams; returns the
    total. Notification ids continue per service from what is there."""
    admin = Settings(**server.access("admin"), data_dir=data_dir)
    nc = await connect(admin)
    js = nc.jetstream()
    if start == 0:
        await provision_all(js, admin)
    state_file = data_dir / "fill.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {"n": 0, "ids": {}}
    total = start
    begin = datetime(2024, 1, 1, tzinfo=UTC)
    pending: list[asyncio.Future[Any]] = []
    while total < until:
        for service, event in operation_events(state["n"], begin):
            nid = state["ids"].get(service, 0) + 1
            state["ids"][service] = nid
            subject = subject_for(service, event.event_type)
            pending.append(
                await js.publish_async(
                    subject,
                    event.model_dump_json().encode(),
                    headers={H_NOTIFICATION_ID: str(nid), "Nats-Msg-Id": str(event.event_id)},
                    wait_stall=60,
                )
            )
            total += 1
        state["n"] += 1
        if len(pending) > 20_000:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    await js.publish_async_completed()
    await nc.close()
    state_file.write_text(json.dumps(state))
    return total


def rss_mb() -> tuple[float, float]:
    status = Path("/proc/self/status").read_text()
    values = {
        line.split(":")[0]: int(line.split()[1]) / 1024
        for line in status.splitlines()
        if line.startswith(("VmRSS", "VmHWM"))
    }
    return round(values["VmRSS"], 1), round(values["VmHWM"], 1)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999) - 1))], 2)


async def child_rebuild(settings: Settings) -> dict[str, Any]:
    """A new generation read from the streams from the start; made the one served."""
    from services.views.feed import Feed
    from services.views.generations import Generations

    generations = Generations(settings)
    nc = await connect(settings)
    feed = Feed(generations.new(), asyncio.Event(), beside=True)
    started = time.perf_counter()
    await feed.start(nc)
    events = sum(feed.targets.values())
    while not feed.complete:  # noqa: ASYNC110 - polled, as a probe would
        await asyncio.sleep(0.05)
    seconds = time.perf_counter() - started
    await feed.stop()
    old = generations.current()
    generations.switch(feed.place)
    feed.close()
    if old and old != feed.place.generation:
        generations.drop(generations.place(old))
    await nc.close()
    return {"events": events, "seconds": round(seconds, 1), "events_per_s": round(events / seconds)}


async def child_serve(settings: Settings, requests: int) -> dict[str, Any]:
    """An API started on the views as they stand: time to ready, memory, two queries."""
    import httpx

    from services.api.app import create_app
    from services.api.identity import Identity, issue_token

    app = create_app(settings)
    started = time.perf_counter()
    async with app.router.lifespan_context(app):
        door = app.state.door
        while not door.ready():  # noqa: ASYNC110 - polled, as a probe would
            await asyncio.sleep(0.01)
        ready = time.perf_counter() - started
        model = door.read_model
        operations = model.operations.select(order="seq DESC", limit=1)
        operation_id = operations[0].operation_id
        who = Identity("bench-lead", "leadership_group_chair", "public_service_commission")
        token = issue_token(KEY, settings.jwt_issuer, who)
        headers = {"Authorization": f"Bearer {token}"}
        transport = httpx.ASGITransport(app=app)
        timings: dict[str, list[float]] = {"overdue": [], "hold": []}
        found = 0
        paths = {
            "overdue": "/tasks?agency=oranga_tamariki&overdue=true&limit=50",
            "hold": f"/operations/{operation_id}/hold",
        }
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for _ in range(requests):
                for name, path in paths.items():
                    t0 = time.perf_counter()
                    got = await client.get(path, headers=headers)
                    timings[name].append((time.perf_counter() - t0) * 1000)
                    assert got.status_code == 200, (path, got.status_code, got.text[:200])
                    if name == "overdue":
                        found = int(got.headers["X-Total-Count"])
        rss, hwm = rss_mb()
    return {
        "ready_s": round(ready, 2),
        "rss_mb": rss,
        "peak_rss_mb": hwm,
        "overdue_p50_ms": quantile(timings["overdue"], 0.5),
        "overdue_p95_ms": quantile(timings["overdue"], 0.95),
        "hold_p50_ms": quantile(timings["hold"], 0.5),
        "hold_p95_ms": quantile(timings["hold"], 0.95),
        "overdue_total": found,
    }


def run_child(mode: str, server: EmbeddedNats, data_dir: Path, store: str, requests: int) -> Any:
    env = {**os.environ, **server.env("api"), "CHB_DATA_DIR": str(data_dir), "CHB_STORE": store}
    env.update({"CHB_JWT_KEY": KEY, "CHB_POSTGRES_SCHEMA_PREFIX": f"bench_{data_dir.name}_"})
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--requests", str(requests)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoints", default="250000,1000000")
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", choices=("rebuild", "serve"))
    args = parser.parse_args()
    if args.child:
        from services.runtime.logging import configure_logging

        configure_logging("warning")
        settings = Settings()
        if args.child == "rebuild":
            result = asyncio.run(child_rebuild(settings))
        else:
            result = asyncio.run(child_serve(settings, args.requests))
        print(json.dumps(result))
        return
    checkpoints = [int(c) for c in args.checkpoints.split(",")]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="chb-views-") as tmp:
        data_dir = Path(tmp)
        with EmbeddedNats(data_dir / "nats", sync_always=False) as server:
            total = 0
            for n, checkpoint in enumerate(checkpoints):
                t0 = time.perf_counter()
                total = asyncio.run(fill(server, data_dir, total, checkpoint))
                filled = time.perf_counter() - t0
                row: dict[str, Any] = {"events": total, "fill_s": round(filled, 1)}
                if n == len(checkpoints) - 1:
                    row["rebuild"] = run_child("rebuild", server, data_dir, args.store, 0)
                # The first start catches up from where the last one stood (nothing, the
                # first time); the second is the restart measured.
                row["catch_up"] = run_child("serve", server, data_dir, args.store, 5)
                row["serve"] = run_child("serve", server, data_dir, args.store, args.requests)
                results.append(row)
                if not args.json:
                    print(json.dumps(row), flush=True)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
