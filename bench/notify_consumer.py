"""Notify's tracked consumer in-process: how fast it decides offers from hold's events.

    .venv/bin/python bench/notify_consumer.py                    # 2000 tasks opened, SQLite
    .venv/bin/python bench/notify_consumer.py --tasks 500 --profile 25

What notify's consumer does with each message of ``CHB_HOLD`` (services/runtime/consumer.py),
without NATS: the wire bytes are parsed (``parse_event``), the policy makes the command
(``command_from``) and the batch is decided and recorded in one transaction with its tracking
position (``process_batch``). The history is an arrest's as hold publishes it: a whānau case
opened, then a task opened for it, offered to one of three lead agencies, each with one webhook
intake contact point (so an offer is one notification and one watch). Batches of 64, as the
consumer fetches. Reported: events and seconds, events per second, milliseconds per event (wall
and CPU), and the store's selects per upstream event (each one, in the running notifier, waits
behind the dispatcher's transactions, so their count matters more than their cost here); with
``--profile N`` the N most expensive functions by cumulative time.

Notification lag at 100 arrests/s needs at least 200 events/s here (a case and a task per
arrest), with room to spare for the dispatcher sharing the process.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: import the project
    sys.path.insert(0, str(ROOT))

from eventsourcing.persistence import Tracking  # noqa: E402

from contracts import SupportTaskOpened, WhanauCaseOpened, parse_event  # noqa: E402
from services.notify.application import NotifyApplication  # noqa: E402
from services.notify.commands import AddContact  # noqa: E402
from services.notify.policy import command_from  # noqa: E402
from services.runtime.clock import SimulatedClock  # noqa: E402
from services.runtime.meta import Actor, Meta  # noqa: E402
from services.runtime.sealing import seal_with  # noqa: E402

AGENCIES = ("oranga_tamariki", "police", "iwi_provider")
KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
OPERATION = UUID("5fcf55ff-bb0b-43c9-80db-9a047c3a90c1")
ADMIN = Actor(id="admin-1", agency="chb", role="admin")
HOLD = {"id": "hold-service", "agency": "chb", "role": "service"}
BATCH = 64


def history(tasks: int, at: datetime) -> list[bytes]:
    """The wire bytes of ``tasks`` arrests' cases and tasks, as on ``CHB_HOLD``."""
    wire: list[bytes] = []
    for i in range(tasks):
        envelope: dict[str, Any] = {
            "occurred_at": at,
            "recorded_at": at,
            "operation_id": OPERATION,
            "actor": HOLD,
        }
        case_id = uuid4()
        case = WhanauCaseOpened(
            event_id=uuid4(), **envelope, case_id=case_id, household_ref="HH-7", place="Mataura"
        )
        task = SupportTaskOpened(
            event_id=uuid4(),
            **envelope,
            task_id=uuid4(),
            case_id=case_id,
            kind="child_safety_check",
            lead_agency=AGENCIES[i % len(AGENCIES)],
            due_at=at + timedelta(hours=2),
            playbook="default v1",
            rule_id="only-carer",
        )
        wire += [e.model_dump_json().encode() for e in (case, task)]
    return wire


def prepare(data_dir: Path, clock: SimulatedClock) -> NotifyApplication:
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(data_dir / "n.db")}
    app = NotifyApplication(env=env, clock=clock)
    for agency in AGENCIES:
        contact_id = uuid4()
        target = json.dumps({"url": "http://127.0.0.1:9/hook", "secret": "whsec_MDEyMzQ1Njc4OQ=="})
        sealed = seal_with(KEY, f"contact/{contact_id}", target.encode())
        meta = Meta(clock.now(), UUID(int=0), ADMIN, reason="benchmark")
        add = AddContact(agency, contact_id, "webhook", "intake", sealed, "bench", None, meta)
        app.process_batch([(add, None)])
    return app


class Counting:
    """Counts a recorder's selects of one aggregate's events (reads of the store per get)."""

    def __init__(self, app: NotifyApplication) -> None:
        self.selects = 0
        select = app.recorder.select_events

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.selects += 1
            return select(*args, **kwargs)

        app.recorder.select_events = counted  # type: ignore[method-assign]


def consume(app: NotifyApplication, wire: list[bytes], clock: SimulatedClock) -> int:
    """The consumer's path for every message, a batch at a time; the events recorded."""
    recorded = 0
    for start in range(0, len(wire), BATCH):
        jobs = []
        for offset, body in enumerate(wire[start : start + BATCH]):
            command = command_from(parse_event(body), clock)
            jobs.append((command, Tracking("hold", start + offset + 1)))
        recorded += app.process_batch(jobs)
    return recorded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=2000, help="tasks opened (and their cases)")
    parser.add_argument("--profile", type=int, default=0, help="print the N costliest functions")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    clock = SimulatedClock(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))
    wire = history(args.tasks, clock.now())
    with tempfile.TemporaryDirectory(prefix="chb-bench-notify-") as tmp:
        app = prepare(Path(tmp), clock)
        profiler = cProfile.Profile() if args.profile else None
        counting = Counting(app)
        cpu = time.process_time()
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        recorded = consume(app, wire, clock)
        if profiler is not None:
            profiler.disable()
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        app.close()
    figures = {
        "upstream_events": len(wire),
        "tasks_opened": args.tasks,
        "recorded_events": recorded,
        "seconds": round(seconds, 3),
        "events_per_second": round(len(wire) / seconds, 1),
        "ms_per_event": round(seconds * 1000 / len(wire), 3),
        "ms_per_task_opened": round(seconds * 1000 / args.tasks, 3),
        "cpu_ms_per_event": round(cpu * 1000 / len(wire), 3),
        "selects_per_event": round(counting.selects / len(wire), 2),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for name, value in figures.items():
            print(f"{name:>20}: {value}")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)


if __name__ == "__main__":
    main()
