"""Page server time with 40,000 tasks in the views (issue 16's target: p95 under 150 ms).

    .venv/bin/python bench/pages.py                  # 40,000 tasks, 30 requests a page
    .venv/bin/python bench/pages.py --tasks 80000 --requests 50 --json

The API app is made as `chb serve api` makes it, but not started: nothing here needs NATS,
since the pages measured read only the views. The views are filled directly with tasks shaped
as the views hold them (``services.views.rows.TaskRow``): spread
over 8 agencies, 20 places and 50 operations, a fifth of them finished, a few unplaced. Each
page is asked as a signed-in person (a one-time link, then the session cookie) through the
app in process, so the time is the server's own: the page route, its calls to the API's
routes, the templates. Reported per page: median, p95 and max milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: import the project
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from services.api.app import create_app  # noqa: E402
from services.api.identity import Identity, issue_token  # noqa: E402
from services.api.pages.links import make_link  # noqa: E402
from services.runtime.logging import configure_logging  # noqa: E402
from services.runtime.settings import Settings  # noqa: E402
from services.views.projector import Projector  # noqa: E402
from services.views.rows import TaskRow  # noqa: E402

KEY = "bench-signing-key-not-for-production-0123456789"
AGENCIES = (
    "oranga_tamariki",
    "police",
    "iwi_provider",
    "msd",
    "health_nz",
    "victim_support",
    "education",
    "corrections",
)
KINDS = ("child_safety_check", "family_liaison_contact", "needs_assessment", "youth_support")
STATUSES = ("offered", "accepted", "assigned", "in_progress", "completed")
PEOPLE = {
    "inbox": Identity("bench-worker", "agency_worker", "oranga_tamariki"),
    "board": Identity("bench-chair", "leadership_group_chair", "public_service_commission"),
}


def fill(model: Any, count: int) -> None:
    now = datetime.now(UTC)
    operations = [str(uuid4()) for _ in range(50)]
    for i in range(count):
        task_id = uuid4()
        status = "unplaced" if i % 97 == 0 else STATUSES[i % len(STATUSES)]
        model.tasks[task_id] = TaskRow(
            task_id=str(task_id),
            case_id=str(uuid4()),
            operation_id=operations[i % len(operations)],
            kind=KINDS[i % len(KINDS)],
            lead_agency=AGENCIES[i % len(AGENCIES)],
            agency=None if status == "unplaced" else AGENCIES[(i // 3) % len(AGENCIES)],
            fallback_agencies=[],
            due_at=(now + timedelta(minutes=(i % 4000) - 1000)).isoformat(),
            status=status,
            playbook="national",
            rule_id="r1",
            escalation_level="1" if i % 53 == 0 else None,
            place=f"Place {i % 20}",
            completed_at=now.isoformat() if status == "completed" else None,
            opened_at=now.isoformat(),
            event_id=str(uuid4()),
            causation_id=str(uuid4()),
            correlation_id=operations[i % len(operations)],
        )


PAGES = {
    "inbox": ("inbox", "/inbox"),
    "inbox (offered)": ("inbox", "/inbox?status=offered"),
    "inbox list (htmx)": ("inbox", "/inbox/list"),
    "board (one place)": ("board", "/board?place=Place%203"),
    "board (everything)": ("board", "/board"),
    "API GET /tasks/board": ("api", "/tasks/board"),
    "public page": (None, "/public/Place%203"),
    # For comparison: the JSON the inbox is made from, as the API answers it.
    "API GET /tasks?agency=": ("api", "/tasks?agency=oranga_tamariki&limit=10000"),
}


async def measure(tasks: int, requests: int) -> dict[str, dict[str, float]]:
    app = create_app(Settings(jwt_key=KEY, data_dir=Path("/nonexistent")))
    door = app.state.door
    door.projector = Projector()  # views in memory, filled here rather than from streams
    with door.read_model.writing():
        fill(door.read_model, tasks)
    transport = httpx.ASGITransport(app=app)
    clients: dict[str | None, httpx.AsyncClient] = {}
    for name, person in PEOPLE.items():
        client = httpx.AsyncClient(transport=transport, base_url="http://bench")
        link = make_link("http://bench", KEY, "chb", person)
        signed = await client.get(link.removeprefix("http://bench"))
        assert signed.status_code == 303, signed.text
        clients[name] = client
    clients[None] = httpx.AsyncClient(transport=transport, base_url="http://bench")
    token = issue_token(KEY, "chb", PEOPLE["inbox"])
    clients["api"] = httpx.AsyncClient(
        transport=transport, base_url="http://bench", headers={"Authorization": f"Bearer {token}"}
    )
    results = {}
    for label, (who, path) in PAGES.items():
        client = clients[who]
        await client.get(path)  # warm: templates compiled, caches filled
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            answer = await client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, (path, answer.status_code)
        times.sort()
        results[label] = {
            "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
            "max_ms": round(times[-1], 1),
        }
    for client in clients.values():
        await client.aclose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=40_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    configure_logging("bench", "warning")
    results = asyncio.run(measure(args.tasks, args.requests))
    if args.json:
        print(json.dumps({"tasks": args.tasks, "pages": results}, indent=2))
        return
    print(f"{args.tasks} tasks in the views, {args.requests} requests a page")
    for label, r in results.items():
        flag = "" if r["p95_ms"] < 150 else "  (over the 150 ms target)"
        print(f"  {label:24} median {r['median_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms{flag}")


if __name__ == "__main__":
    main()
