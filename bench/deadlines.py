"""Deadline index benchmark: hold's start with many open support tasks, before and after its
index moved into its store (issue 17).

    .venv/bin/python bench/deadlines.py                       # 50,000 open tasks, SQLite
    .venv/bin/python bench/deadlines.py --tasks 50000 --store postgres --json

A hold store with ``--tasks`` open tasks (three a household, left without a carer, opened by
hold's own code) is made once in ``--dir`` (SQLite) or a schema of its own (PostgreSQL, dropped
at the end). Then, each in a fresh child process so its memory is its own, hold's application
is opened and its task scheduler makes its first pass, as a start does:

- before: the index kept in memory, built by reading the whole notification log and keeping a
  copy of every open task (``DeadlineScheduler`` without an index: what hold did until now);
- after: the index in hold's store (``StoredDeadlineIndex``): the pass asks only the rows due.

Printed: seconds from opening the store to the end of the first pass, notifications read, and
resident memory after opening the store and after the pass (their difference is the index's).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: import the project
    sys.path.insert(0, str(ROOT))

from services.hold.application import TASK_DEADLINES  # noqa: E402
from services.hold.deadlines import task_scheduler  # noqa: E402
from services.runtime.clock import SimulatedClock  # noqa: E402
from services.runtime.deadlines import DeadlineScheduler  # noqa: E402
from tests.support.deadline_index import START, hold_app, hold_store, open_tasks  # noqa: E402


def rss_mb() -> float:
    """Resident memory now (not the peak): /proc/self/statm's second field, in pages."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 2**20


def measure(which: str, env: dict[str, str]) -> dict[str, Any]:
    clock = SimulatedClock(START + timedelta(minutes=1))  # nothing due yet: the pass only looks
    began = time.perf_counter()
    app = hold_app(env, clock)
    opened = rss_mb()
    reads = 0
    select = app.recorder.select_notifications

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal reads
        found = select(*args, **kwargs)
        reads += len(found)
        return found

    app.recorder.select_notifications = counted
    if which == "before":
        scheduler = DeadlineScheduler(
            app, clock, TASK_DEADLINES.kind, TASK_DEADLINES.finished, fire=print
        )
    else:
        scheduler = task_scheduler(app, clock)
    scheduler.fire_due()
    seconds = time.perf_counter() - began
    return {
        "index": which,
        "start_s": round(seconds, 3),
        "notifications_read": reads,
        "rss_opened_mb": round(opened, 1),
        "rss_after_pass_mb": round(rss_mb(), 1),
        "index_mb": round(rss_mb() - opened, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=50_000)
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--dir", type=Path, help="where the SQLite store is kept (a temp dir)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--measure", choices=("before", "after"), help=argparse.SUPPRESS)
    parser.add_argument("--env", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, json.loads(args.env))))
        return
    directory = args.dir or Path(tempfile.mkdtemp(prefix="chb-deadlines-"))
    try:
        with hold_store(args.store, directory) as env:
            app = hold_app(env, SimulatedClock(START))
            if app.recorder.max_notification_id() in (None, 0):
                began = time.perf_counter()
                open_tasks(app, args.tasks // 3)
                print(f"made {args.tasks} open tasks in {time.perf_counter() - began:.1f} s")
            events = app.recorder.max_notification_id()
            app.close()
            results = []
            for which in ("before", "after"):
                out = subprocess.run(
                    [sys.executable, __file__, "--measure", which, "--env", json.dumps(env)],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        if args.dir is None:
            shutil.rmtree(directory, ignore_errors=True)
    print(f"hold, {args.store}, {args.tasks} open tasks, {events} events in the log")
    heads = ("start s", 8), ("read", 8), ("RSS opened", 11), ("RSS after", 10), ("index MB", 9)
    print(f"{'index':8} " + " ".join(f"{h:>{w}}" for h, w in heads))
    for r in results:
        print(
            f"{r['index']:8} {r['start_s']:8.2f} {r['notifications_read']:8} "
            f"{r['rss_opened_mb']:11.1f} {r['rss_after_pass_mb']:10.1f} {r['index_mb']:9.1f}"
        )
    if args.json:
        print(json.dumps({"store": args.store, "tasks": args.tasks, "results": results}))


if __name__ == "__main__":
    main()
