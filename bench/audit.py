"""Audit benchmark: verify, replay and point-in-time queries over a history of a million events.

    .venv/bin/python bench/audit.py                          # 1,000,000 events (made once, kept)
    .venv/bin/python bench/audit.py --events 250000 --json
    .venv/bin/python bench/audit.py --steps 250000,1000000   # the same figures at two sizes

The history is made by the services' own code (``bench/history.py``: operations planned,
launched, arrests, hold's cases and tasks worked to completion, build's plans), in a RAM disk
and then copied to ``--dir`` on disk, and checkpointed by the notary's own code into an
embedded nats-server kept in the same directory. Later runs reuse it and only add what is
missing. Each figure is then measured in a fresh child process, so its peak memory is its own:

- verify: every store walked against its checkpoints (``chb audit verify``);
- index: the audit index built from scratch from the stores (done once, then incremental);
- replay (index): every read model rebuilt from the index;
- replay (stores): the same, decoding the stores' events directly;
- as-of: one operation's state at a moment (``chb audit as-of --operation``), for 30
  operations picked at random across the history, with the index up to date.

Targets (issue 5): verify and replay at least 50,000 events/s; as-of under 200 ms whatever the
history's size; memory flat as the history grows (compare ``--steps``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: import the project
    sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.progress import Progress  # noqa: E402
from rich.table import Table  # noqa: E402

from services.runtime.settings import Settings  # noqa: E402

console = Console(stderr=True)
STORES = ("clear", "hold", "build")


def settings_for(directory: Path) -> Settings:
    return Settings(store="sqlite", data_dir=directory)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def store_events(directory: Path) -> int:
    from services.views.stores import open_store

    total = 0
    for service in STORES:
        if (directory / f"{service}.sqlite").exists():
            app = open_store(service, settings_for(directory))
            total += app.recorder.max_notification_id() or 0
            app.close()
    return total


def make(directory: Path, events: int) -> None:
    """Grow the history in ``directory`` to at least ``events``, then checkpoint it."""
    from bench.history import make_history

    have = store_events(directory)
    if have < events:
        staging = Path("/dev/shm") / f"chb-audit-bench-{directory.name}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for service in STORES:
            if (directory / f"{service}.sqlite").exists():
                shutil.copy(directory / f"{service}.sqlite", staging)
        started = time.perf_counter()
        with Progress(console=console, transient=True) as progress:
            bar = progress.add_task("making the history", total=events, completed=have)
            maker = make_history(
                settings_for(staging), events, progress=lambda n: progress.advance(bar, n)
            )
            maker.close()
        made = store_events(staging) - have
        console.print(
            f"made {made:,} events in {time.perf_counter() - started:.0f} s "
            f"({made / (time.perf_counter() - started):,.0f}/s, simulated time)"
        )
        directory.mkdir(parents=True, exist_ok=True)
        for service in STORES:
            for suffix in ("", "-wal", "-shm"):
                (directory / f"{service}.sqlite{suffix}").unlink(missing_ok=True)
            shutil.copy(staging / f"{service}.sqlite", directory / f"{service}.sqlite")
        shutil.rmtree(staging)
    asyncio.run(checkpoint(directory))


async def checkpoint(directory: Path) -> None:
    """What each service's notary would have published as the history was recorded."""

    from services.runtime.checkpoints import Notary
    from services.runtime.clock import SystemClock
    from services.runtime.embedded_nats import EmbeddedNats
    from services.runtime.nats_access import connect
    from services.runtime.nats_permissions import ADMIN
    from services.runtime.provisioning import audit_stream_config, ensure_stream_config
    from services.runtime.settings import Settings
    from services.views.stores import open_store

    settings = settings_for(directory)
    with EmbeddedNats(directory / "nats") as server:
        # As the admin: it makes the audit stream and publishes every service's checkpoints.
        nc = await connect(Settings(**server.access(ADMIN)))
        js = nc.jetstream()
        await ensure_stream_config(js, audit_stream_config(settings))
        for service in STORES:
            app = open_store(service, settings)
            notary = Notary(app, service, SystemClock(), size=1000)
            await notary.resync(js)
            while await notary.checkpoint(js):
                pass
            app.close()
        await nc.close()


# ---- measurements, each run in its own child process ---------------------------------------


def measure_verify(directory: Path) -> dict[str, Any]:
    from services.audit.verify import verify_stores
    from services.runtime.embedded_nats import EmbeddedNats
    from services.runtime.nats_permissions import AUDITOR

    with EmbeddedNats(directory / "nats") as server:
        started = time.perf_counter()
        reader = settings_for(directory).model_copy(update=server.access(AUDITOR))
        result = asyncio.run(verify_stores(reader))
        seconds = time.perf_counter() - started
    events = sum(s.verified + s.unverified_tail for s in result.services)
    assert result.ok, result.as_dict()
    return {
        "events": events,
        "seconds": seconds,
        "checkpoints": sum(s.checkpoints for s in result.services),
    }


def measure_index(directory: Path) -> dict[str, Any]:
    from services.audit.index import default_path, open_index

    settings = settings_for(directory)
    path = default_path(settings)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    index = open_index(settings)
    started = time.perf_counter()
    events = index.catch_up(settings)
    seconds = time.perf_counter() - started
    rows = index.count()
    index.close()
    return {"events": events, "seconds": seconds, "rows": rows}


def measure_replay_index(directory: Path) -> dict[str, Any]:
    from services.audit.index import open_index

    settings = settings_for(directory)
    index = open_index(settings)
    assert index.backlog(settings) == 0, "index first"
    rows = index.count()
    started = time.perf_counter()
    model = index.replay()
    seconds = time.perf_counter() - started
    index.close()
    return {"events": rows, "seconds": seconds, "tasks": len(model.tasks)}


def measure_replay_stores(directory: Path) -> dict[str, Any]:
    from services.audit.timeline import replay

    events = store_events(directory)
    started = time.perf_counter()
    model = replay(settings_for(directory))
    seconds = time.perf_counter() - started
    return {"events": events, "seconds": seconds, "tasks": len(model.tasks)}


def measure_as_of(directory: Path) -> dict[str, Any]:
    """The work `chb audit as-of --operation` does: check the index is up to date, then
    rebuild the operation at a moment from its own rows."""
    from services.audit.index import open_index

    settings = settings_for(directory)
    index = open_index(settings)
    operations = [
        row[0]
        for row in index.db.execute(
            "SELECT operation_id FROM events WHERE event_type = 'OperationPlanned'"
        )
    ]
    picked = random.Random(5).sample(operations, min(30, len(operations)))
    timings, events = [], []
    for op in picked:
        times = [e.recorded_at for e in index.events(op)]
        moment = times[len(times) // 2] + timedelta(microseconds=1)
        started = time.perf_counter()
        assert index.backlog(settings) == 0
        model = index.replay(op, moment)
        timings.append((time.perf_counter() - started) * 1000)
        events.append(len(times))
        assert model.operations
    index.close()
    timings.sort()
    return {
        "operations": len(operations),
        "queries": len(picked),
        "median_ms": statistics.median(timings),
        "p95_ms": timings[int(0.95 * (len(timings) - 1))],
        "max_ms": timings[-1],
        "events_per_operation": statistics.mean(events),
    }


MEASURES = {
    "verify": measure_verify,
    "index": measure_index,
    "replay-index": measure_replay_index,
    "replay-stores": measure_replay_stores,
    "as-of": measure_as_of,
}


def child(name: str, directory: Path) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, __file__, "--measure", name, "--dir", str(directory)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"{name} failed:\n{completed.stderr}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--steps", type=str, default="", help="comma-separated sizes, e.g. 250000,1000000"
    )
    parser.add_argument("--dir", type=Path, default=Path("/var/tmp/chb-audit-bench"))
    parser.add_argument(
        "--json", action="store_true", help="also print the figures as one JSON line"
    )
    parser.add_argument("--measure", choices=list(MEASURES), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        figures = MEASURES[args.measure](args.dir)
        figures["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(figures))
        return

    sizes = [int(s) for s in args.steps.split(",")] if args.steps else [args.events]
    report = []
    for size in sorted(sizes):
        make(args.dir, size)
        total = store_events(args.dir)
        row: dict[str, Any] = {"history_events": total}
        for name in MEASURES:
            console.print(f"[{total:,} events] measuring {name}...")
            row[name] = child(name, args.dir)
        report.append(row)

    table = Table(title="audit benchmark (bench/audit.py)")
    for column in ("history", "measure", "events", "seconds", "events/s", "peak RSS MB", "notes"):
        table.add_column(column, justify="right" if column != "measure" else "left")
    for row in report:
        for name in MEASURES:
            f = row[name]
            if name == "as-of":
                table.add_row(
                    f"{row['history_events']:,}",
                    name,
                    f"{f['events_per_operation']:.0f}/op",
                    "",
                    "",
                    f"{f['peak_rss_mb']:.0f}",
                    f"{f['queries']} ops: median {f['median_ms']:.1f} ms, p95 {f['p95_ms']:.1f}, "
                    f"max {f['max_ms']:.1f}",
                )
            else:
                table.add_row(
                    f"{row['history_events']:,}",
                    name,
                    f"{f['events']:,}",
                    f"{f['seconds']:.1f}",
                    f"{f['events'] / f['seconds']:,.0f}",
                    f"{f['peak_rss_mb']:.0f}",
                    "",
                )
    Console(width=160).print(table)
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
