"""End-to-end benchmark: arrests in through the HTTP API, cases and tasks out of hold.

Starts its own system exactly as ``chb up`` does (an embedded, durable nats-server with
``sync_interval: always``, then ``python -m services.cli serve clear|hold|build|api`` as four
processes), plans and launches a few operations, records N arrests at a fixed offered rate and
follows hold's stream (``CHB_HOLD``) to see when each arrest was linked to a case.

    .venv/bin/python bench/pipeline.py --arrests 3000 --rate 300
    .venv/bin/python bench/pipeline.py --arrests 1000 --rate 0 --store postgres --json
    .venv/bin/python bench/pipeline.py --arrests 1000 --rate 0 --cluster   # 3 nodes, PostgreSQL

See bench/README.md for what each figure means. Exit status: 0 when every accepted arrest was
linked to a case in time and none was refused, 1 otherwise (the report is printed either way),
2 when the system could not be started.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: import the project
    sys.path.insert(0, str(ROOT))

from bench.notify_lag import LagReceiver, lags_ms, register  # noqa: E402
from services.api.identity import Identity, issue_token  # noqa: E402
from services.runtime.embedded_nats import EmbeddedCluster, EmbeddedNats, free_port  # noqa: E402
from services.runtime.nats_access import connect  # noqa: E402
from services.runtime.nats_permissions import ADMIN, AUDITOR  # noqa: E402
from services.runtime.provisioning import provision_as  # noqa: E402
from services.runtime.settings import Settings  # noqa: E402

try:
    import sniffio  # noqa: F401
except ImportError:
    # httpcore tries `import sniffio` on every request; when it is not installed each failed
    # import searches sys.path again (~0.3 ms of the benchmark's CPU per request). Record the
    # absence once.
    sys.modules["sniffio"] = None  # type: ignore[assignment]

PROCESSES = ("clear", "hold", "build", "notify", "api")
HOLD_STREAM = "CHB_HOLD"
HOLD_SUBJECTS = "chb.hold.>"
CHARGES = (
    "supply of methamphetamine",
    "possession for supply",
    "unlawful possession of a firearm",
    "participation in an organised criminal group",
    "money laundering",
    "receiving stolen property",
)

console = Console()
err = Console(stderr=True)


class Interrupted(Exception):
    """SIGTERM: stop like Ctrl-C does."""


# ---------------------------------------------------------------- the system under test


@dataclass
class System:
    """nats-server plus the four CHB processes, started and stopped like ``chb up``."""

    data_dir: Path
    store: str
    api_port: int = field(default_factory=free_port)
    schema_prefix: str = ""
    api_restarts: int = 0
    cluster: bool = False  # three nats-servers as one JetStream cluster, streams on all three
    nats: EmbeddedNats | EmbeddedCluster | None = None
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    token: str = ""  # a planner's bearer token, signed with this run's key
    admin_token: str = ""

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def logs(self) -> Path:
        return self.data_dir / "logs"

    def start(self, ready_timeout: float) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        replicas = 3 if self.cluster else 1
        self.nats = (
            EmbeddedCluster(self.data_dir / "nats-cluster", size=replicas)
            if self.cluster
            else EmbeddedNats(self.data_dir / "nats", sync_always=True)
        ).start()
        # As `chb up` does: every stream made by the admin NATS user before anything starts.
        asyncio.run(provision_as(Settings(**self.nats.access(ADMIN), stream_replicas=replicas)))
        # The API takes signed bearer tokens only: a key for this run, and a planner's token.
        key = secrets.token_urlsafe(32)
        self.token = issue_token(key, "chb", Identity("bench-planner", "planner", "police"))
        # Adds the lead agencies' webhook contact points (notification lag).
        self.admin_token = issue_token(key, "chb", Identity("bench-admin", "administrator", "chb"))
        env = {
            **os.environ,
            "CHB_JWT_KEY": key,
            "CHB_NATS_URL": self.nats.url,
            "CHB_DATA_DIR": str(self.data_dir),
            "CHB_STORE": self.store,
            "CHB_API_PORT": str(self.api_port),
            "CHB_STREAM_REPLICAS": str(replicas),
            # No e-mail contact points here: the notifier's mail goes nowhere.
            "CHB_SMTP_PORT": "9",
        }
        if self.store == "postgres":
            env["CHB_POSTGRES_SCHEMA_PREFIX"] = self.schema_prefix
        for name in PROCESSES:
            self.spawn(name, env)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            dead = self.dead()
            if dead == ["api"] and self.api_restarts < 3:
                # Known start-up race: on a fresh NATS the API's projector asks for the three
                # streams before the services have provisioned them, and the API exits. `chb up`
                # would give up here; the benchmark restarts it and says so.
                self.api_restarts += 1
                err.print(
                    "[yellow]api exited during start-up (streams not yet provisioned?); "
                    f"restarting it ({self.api_restarts}/3)[/yellow]"
                )
                self.spawn("api", env)
                continue
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited during start-up; logs in {self.logs}")
            try:
                if httpx.get(f"{self.api_url}/ready", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"system not ready within {ready_timeout:.0f}s; logs in {self.logs}")

    def spawn(self, name: str, env: dict[str, str]) -> None:
        with open(self.logs / f"{name}.log", "ab") as log_file:
            self.children[name] = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "serve", name],
                cwd=ROOT,
                # Each process connects as its own NATS user.
                env={**env, **self.nats.env(name)} if self.nats else env,
                stdout=log_file,
                stderr=log_file,
                stdin=subprocess.DEVNULL,
                # Own session: a Ctrl-C in the terminal reaches only this script, which then
                # stops the children in order (SIGTERM), as `chb up` does.
                start_new_session=True,
            )

    def dead(self) -> list[str]:
        return [n for n, c in self.children.items() if c.poll() is not None]

    def pids(self) -> dict[str, int]:
        pids = {n: c.pid for n, c in self.children.items() if c.poll() is None}
        nodes = [self.nats] if isinstance(self.nats, EmbeddedNats) else []
        if isinstance(self.nats, EmbeddedCluster):
            nodes = self.nats.nodes
        for index, node in enumerate(nodes, start=1):
            if node.process is not None and node.process.poll() is None:
                pids["nats-server" if len(nodes) == 1 else f"nats-server-{index}"] = (
                    node.process.pid
                )
        return pids

    def stop(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self.children.values():
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if self.nats is not None:
            self.nats.stop()


def peak_rss_mb(pid: int) -> float | None:
    """``VmHWM``: the process's peak resident set size."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time the process has used so far."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drop_postgres_schemas(prefix: str) -> None:
    import psycopg
    from psycopg import sql

    from services.runtime.store import postgres_conninfo

    settings = Settings(postgres_schema_prefix=prefix)
    with psycopg.connect(postgres_conninfo(settings), autocommit=True, connect_timeout=10) as conn:
        for service in ("clear", "hold", "build"):
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(settings.postgres_schema(service))
                )
            )


# ---------------------------------------------------------------- the load


@dataclass(frozen=True)
class PlannedArrest:
    operation: int
    body: dict[str, Any]


def plan_arrests(n: int, operations: int, rng: random.Random, tag: str) -> list[PlannedArrest]:
    """About half with 1-3 children, some the children's only carer, ~1 in 5 in a household pair."""
    arrests: list[PlannedArrest] = []
    household = 0
    while len(arrests) < n:
        household += 1
        operation = rng.randrange(operations)
        household_ref = f"H-{tag}-{household:06d}"
        children = [
            {"child_ref": f"C-{tag}-{household:06d}-{k}", "age": rng.randrange(0, 18)}
            for k in range(rng.randint(1, 3) if rng.random() < 0.5 else 0)
        ]
        pair = rng.random() < 0.1 and len(arrests) + 2 <= n
        for _ in range(2 if pair else 1):
            arrests.append(
                PlannedArrest(
                    operation,
                    {
                        "person_ref": f"P-{tag}-{len(arrests) + 1:06d}",
                        "household_ref": household_ref,
                        "charges": rng.sample(CHARGES, rng.randint(1, 2)),
                        "children": children,
                        # One carer of a pair cannot be the only carer present.
                        "only_carer_present": bool(children) and not pair and rng.random() < 0.3,
                    },
                )
            )
    return arrests


@dataclass
class Follower:
    """Follows hold's stream; keeps what it needs per arrest and the last commit time."""

    operations: set[str]
    linked: dict[str, float] = field(default_factory=dict)  # arrest_id -> recorded_at (epoch)
    stored: dict[str, float] = field(default_factory=dict)  # arrest_id -> stored in CHB_HOLD
    seen: dict[str, float] = field(default_factory=dict)  # arrest_id -> time received here
    tasks_opened: int = 0
    opened: dict[str, float] = field(default_factory=dict)  # task_id -> recorded_at (epoch)
    last_recorded: float = 0.0
    last_stored: float = 0.0
    last_stream_seq: int = 0
    unreadable: int = 0

    async def on_message(self, msg: Any) -> None:
        from contracts import ArrestLinkedToCase, ContractError, SupportTaskOpened, parse_event

        received = time.time()
        self.last_stream_seq = msg.metadata.sequence.stream
        try:
            event = parse_event(msg.data)
        except ContractError:
            self.unreadable += 1
            return
        if str(event.operation_id) not in self.operations:
            return  # an earlier run's, in a reused --data-dir
        recorded = event.recorded_at.timestamp()
        self.last_recorded = max(self.last_recorded, recorded)
        self.last_stored = max(self.last_stored, msg.metadata.timestamp.timestamp())
        if isinstance(event, ArrestLinkedToCase):
            key = str(event.arrest_id)
            self.linked.setdefault(key, recorded)
            self.stored.setdefault(key, msg.metadata.timestamp.timestamp())
            self.seen.setdefault(key, received)
        elif isinstance(event, SupportTaskOpened):
            self.tasks_opened += 1
            self.opened[str(event.task_id)] = recorded


@dataclass
class Results:
    sent: int = 0
    accepted: dict[str, float] = field(default_factory=dict)  # arrest_id -> 201 received (epoch)
    request_ms: list[float] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)  # "status or error" -> count
    first_sent: float = 0.0
    last_sent: float = 0.0
    last_accepted: float = 0.0
    load_cpu: dict[str, float] = field(default_factory=dict)  # process -> CPU s during the load
    load_seconds: float = 0.0
    follower: Follower | None = None
    timed_out: bool = False
    notified: dict[str, float] = field(default_factory=dict)  # task_id -> offer received


async def run_load(args: argparse.Namespace, system: System) -> Results:
    from nats.js.api import DeliverPolicy

    results = Results()
    # One client with one connection per in-flight slot: a single client with a pool of C
    # connections rescans the whole pool on every request and costs the benchmark (on the same
    # machine as the system) several times more CPU per request.
    async with contextlib.AsyncExitStack() as stack:
        lanes: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        for _ in range(args.concurrency):
            lanes.put_nowait(
                await stack.enter_async_context(
                    httpx.AsyncClient(
                        base_url=system.api_url,
                        headers={"Authorization": f"Bearer {system.token}"},
                        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                        timeout=httpx.Timeout(30.0),
                    )
                )
            )
        client = await lanes.get()
        operation_ids = []
        start = datetime.now(UTC)
        for k in range(args.operations):
            response = await client.post(
                "/operations",
                json={
                    "name": f"Bench operation {k + 1}",
                    "district": "Counties Manukau",
                    "place": f"Bench place {k + 1}",
                    "target_group": "bench target group",
                    "planned_start": (start + timedelta(minutes=k)).isoformat(),
                },
            )
            response.raise_for_status()
            operation_id = response.json()["operation_id"]
            (await client.post(f"/operations/{operation_id}/launch")).raise_for_status()
            operation_ids.append(operation_id)
        lanes.put_nowait(client)

        receiver = await LagReceiver().start()
        stack.push_async_callback(receiver.stop)
        await register(system.api_url, system.admin_token, receiver.url)
        results.notified = receiver.received
        assert system.nats is not None
        nc = await connect(Settings(**system.nats.access(AUDITOR)), max_reconnect_attempts=-1)
        follower = Follower(set(operation_ids))
        results.follower = follower
        try:
            js = nc.jetstream()
            sub = await js.subscribe(
                HOLD_SUBJECTS,
                stream=HOLD_STREAM,
                ordered_consumer=True,
                deliver_policy=DeliverPolicy.ALL,
                cb=follower.on_message,
                pending_msgs_limit=1_000_000,
                pending_bytes_limit=1024 * 1024 * 1024,
            )
            rng = random.Random(args.seed)
            arrests = plan_arrests(args.arrests, args.operations, rng, secrets.token_hex(3))

            async def record(planned: PlannedArrest, client: httpx.AsyncClient) -> None:
                try:
                    url = f"/operations/{operation_ids[planned.operation]}/arrests"
                    sent = time.time()
                    try:
                        response = await client.post(url, json=planned.body)
                    except httpx.HTTPError as error:
                        key = type(error).__name__
                        results.refused[key] = results.refused.get(key, 0) + 1
                        return
                    done = time.time()
                    if response.status_code != 201:
                        key = str(response.status_code)
                        results.refused[key] = results.refused.get(key, 0) + 1
                        return
                    results.accepted[response.json()["arrest_id"]] = done
                    results.request_ms.append((done - sent) * 1000)
                    results.last_accepted = max(results.last_accepted, done)
                finally:
                    lanes.put_nowait(client)

            pids = {**system.pids(), "bench client": os.getpid()}
            cpu_before = {n: cpu_seconds(p) for n, p in pids.items()}
            load_started = time.monotonic()
            tasks = []
            results.first_sent = time.time()
            t0 = time.monotonic()
            for i, planned in enumerate(arrests):
                if args.rate > 0:
                    delay = t0 + i / args.rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                client = await lanes.get()  # at most --concurrency requests in flight
                results.sent += 1
                results.last_sent = time.time()
                tasks.append(asyncio.create_task(record(planned, client)))
            await asyncio.gather(*tasks)

            # Wait for hold to link every accepted arrest (never for ever).
            deadline = time.monotonic() + args.timeout
            pending = list(results.accepted)
            while pending := [a for a in pending if a not in follower.linked]:
                if time.monotonic() > deadline or system.dead():
                    results.timed_out = True
                    break
                await asyncio.sleep(0.02)
            # The tasks of the last arrests are published just after their link: read the stream
            # to its end as it is now, so the last commit time includes them.
            if not results.timed_out:
                last = (await js.stream_info(HOLD_STREAM)).state.last_seq
                settle = time.monotonic() + 10.0
                while follower.last_stream_seq < last and time.monotonic() < settle:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            # Every task's offer to reach the receiver (notification lag), never for ever.
            while not results.timed_out and not set(follower.opened) <= set(receiver.received):
                if time.monotonic() > deadline + 10.0 or system.dead():
                    break
                await asyncio.sleep(0.05)
            results.load_seconds = time.monotonic() - load_started
            for name, pid in pids.items():
                before, after = cpu_before.get(name), cpu_seconds(pid)
                if before is not None and after is not None:
                    results.load_cpu[name] = after - before
            await sub.unsubscribe()
        finally:
            await nc.close()
    return results


# ---------------------------------------------------------------- the report


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summarise(
    args: argparse.Namespace, results: Results, rss: dict[str, float | None]
) -> dict[str, Any]:
    follower = results.follower or Follower(set())
    accepted = results.accepted
    linked = [a for a in accepted if a in follower.linked]
    raw = [(follower.linked[a] - accepted[a]) * 1000 for a in linked]
    stored = [max(0.0, (follower.stored[a] - accepted[a]) * 1000) for a in linked]
    seen = [max(0.0, (follower.seen[a] - accepted[a]) * 1000) for a in linked]
    trigger = [max(0.0, v) for v in raw]
    accept_span = results.last_accepted - results.first_sent
    e2e_span = follower.last_recorded - results.first_sent
    published_span = follower.last_stored - results.first_sent
    send_span = results.last_sent - results.first_sent

    def quantiles(values: list[float]) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for name, p in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100)):
            v = percentile(values, p)
            out[name] = None if math.isnan(v) else round(v, 1)
        return out

    def rate(count: int, span: float) -> float | None:
        return round(count / span, 1) if count and span > 0 else None

    # Accept throughput in the first and the last fifth of the run: a drop means each arrest
    # costs more as the system fills up.
    done = sorted(accepted.values())
    fifth = len(done) // 5
    first_fifth = rate(fifth, done[fifth - 1] - results.first_sent) if fifth else None
    last_fifth = rate(fifth, done[-1] - done[-fifth - 1]) if fifth else None

    return {
        "date": datetime.now(UTC).date().isoformat(),
        "store": args.store,
        "nats": "3-node cluster, 3 replicas" if args.cluster else "single node",
        "arrests": args.arrests,
        "sent": results.sent,
        "accepted": len(accepted),
        "refused": results.refused,
        "linked": len(linked),
        "missing": len(accepted) - len(linked),
        "timed_out": results.timed_out,
        "tasks_opened": follower.tasks_opened,
        "operations": args.operations,
        "concurrency": args.concurrency,
        "offered_rate": args.rate,
        "send_rate": rate(results.sent, send_span),
        "accept_throughput": rate(len(accepted), accept_span),
        "accept_throughput_first_fifth": first_fifth,
        "accept_throughput_last_fifth": last_fifth,
        "end_to_end_throughput": rate(len(linked), e2e_span) if not results.timed_out else None,
        "published_throughput": (
            rate(len(linked), published_span) if not results.timed_out else None
        ),
        "trigger_latency_ms": quantiles(trigger),
        "trigger_latency_negative": sum(1 for v in raw if v < 0),
        "stored_latency_ms": quantiles(stored),
        "seen_latency_ms": quantiles(seen),
        "request_latency_ms": quantiles(results.request_ms),
        "notification_lag_ms": quantiles(lags_ms(follower.opened, results.notified)),
        "notified": len(set(follower.opened) & set(results.notified)),
        "peak_rss_mb": {k: None if v is None else round(v, 1) for k, v in rss.items()},
        "cpu_percent_during_load": {
            k: round(100 * v / results.load_seconds, 1) if results.load_seconds else None
            for k, v in results.load_cpu.items()
        },
    }


def print_report(s: dict[str, Any]) -> None:
    def fmt(v: Any, unit: str = "") -> str:
        return "—" if v is None else f"{v:,}{unit}" if isinstance(v, int | float) else str(v)

    table = Table(
        title=f"CHB pipeline benchmark ({s['store']}, durable NATS: {s['nats']})", show_header=False
    )
    table.add_column("figure", style="bold")
    table.add_column("value", justify="right")
    offered = "as fast as possible" if not s["offered_rate"] else f"{s['offered_rate']:g} /s"
    table.add_row(
        "arrests sent / accepted / linked", f"{s['sent']} / {s['accepted']} / {s['linked']}"
    )
    if s["refused"]:
        table.add_row("refused", ", ".join(f"{k}: {v}" for k, v in s["refused"].items()))
    if s["missing"]:
        table.add_row("[red]missing (not linked in time)[/red]", str(s["missing"]))
    table.add_row("support tasks opened", fmt(s["tasks_opened"]))
    table.add_row("  their offers received by webhook", fmt(s["notified"]))
    table.add_row("offered rate", offered)
    table.add_row("achieved send rate", fmt(s["send_rate"], " /s"))
    table.add_row("HTTP accept throughput", fmt(s["accept_throughput"], " arrests/s"))
    table.add_row(
        "  in the first / last fifth",
        f"{fmt(s['accept_throughput_first_fifth'])} / {fmt(s['accept_throughput_last_fifth'])}",
    )
    table.add_row("end-to-end throughput", fmt(s["end_to_end_throughput"], " arrests/s"))
    table.add_row(
        "  the same, to the last event stored in CHB_HOLD",
        fmt(s["published_throughput"], " arrests/s"),
    )
    console.print(table)

    latency = Table(title="latency (ms)")
    for column in ("measure", "p50", "p95", "p99", "max"):
        latency.add_column(column, justify="right" if column != "measure" else "left")
    for label, key in (
        ("trigger: hold recorded_at - 201 received", "trigger_latency_ms"),
        ("stored in CHB_HOLD (by hold's relay) - 201", "stored_latency_ms"),
        ("received by this script - 201 received", "seen_latency_ms"),
        ("HTTP request (POST -> 201)", "request_latency_ms"),
        ("notification: task opened -> its webhook received", "notification_lag_ms"),
    ):
        q = s[key]
        latency.add_row(label, *(fmt(q[c]) for c in ("p50", "p95", "p99", "max")))
    console.print(latency)
    console.print(
        f"trigger latencies below zero (hold committed before the 201 arrived; counted as 0): "
        f"{s['trigger_latency_negative']}"
    )

    processes = Table(title="processes")
    for column in ("process", "peak RSS (MB)", "CPU % during load"):
        processes.add_column(column, justify="right" if column != "process" else "left")
    for name in (
        *PROCESSES,
        *sorted(n for n in s["peak_rss_mb"] if n.startswith("nats")),
        "bench client",
    ):
        processes.add_row(
            name,
            fmt(s["peak_rss_mb"].get(name)),
            fmt(s["cpu_percent_during_load"].get(name)),
        )
    console.print(processes)


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Arrests in through the API, cases and tasks out of hold: throughput and "
        "trigger latency on a fresh, durable embedded system."
    )
    parser.add_argument("--arrests", type=int, default=3000, help="arrests to record (3000)")
    parser.add_argument(
        "--rate", type=float, default=300.0, help="offered arrests/s (300); 0 = as fast as possible"
    )
    parser.add_argument(
        "--store", choices=("sqlite", "postgres"), help="sqlite (postgres with --cluster)"
    )
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="three nats-servers as one JetStream cluster, every stream on all three",
    )
    parser.add_argument(
        "--concurrency", type=int, default=32, help="max in-flight HTTP requests (32)"
    )
    parser.add_argument("--data-dir", type=Path, help="default: a fresh temporary directory")
    parser.add_argument("--operations", type=int, default=4, help="operations to spread over (4)")
    parser.add_argument("--seed", type=int, default=1, help="seed for the arrest mix (1)")
    parser.add_argument(
        "--timeout",
        type=float,
        help="seconds to wait for hold after the last arrest is sent (120 + arrests/50)",
    )
    parser.add_argument("--ready-timeout", type=float, default=90.0)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    parser.add_argument("--json", action="store_true", help="also print a JSON summary line")
    args = parser.parse_args(argv)
    if args.arrests < 1 or args.concurrency < 1 or args.operations < 1 or args.rate < 0:
        parser.error("--arrests, --concurrency and --operations must be >= 1, --rate >= 0")
    if args.store is None:
        args.store = "postgres" if args.cluster else "sqlite"
    if args.timeout is None:
        args.timeout = 120.0 + args.arrests / 50
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def on_sigterm(*_: Any) -> None:
        raise Interrupted

    signal.signal(signal.SIGTERM, on_sigterm)
    # Ctrl-C stops cleanly even when started in the background (where SIGINT is ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    temporary = args.data_dir is None
    data_dir = Path(tempfile.mkdtemp(prefix="chb-bench-")) if temporary else args.data_dir.resolve()
    prefix = f"bench_{secrets.token_hex(4)}_" if args.store == "postgres" else ""
    system = System(data_dir, args.store, schema_prefix=prefix, cluster=args.cluster)
    rss: dict[str, float | None] = {}
    summary: dict[str, Any] | None = None
    code = 0
    console.print(
        f"data in {data_dir}" + (f"; postgres schemas {prefix}clear/hold/build" if prefix else "")
    )
    try:
        try:
            system.start(args.ready_timeout)
        except RuntimeError as error:
            err.print(f"[red]error:[/red] {error}")
            code = 2
            return code
        console.print(
            f"system ready: API {system.api_url}, NATS {system.nats.url if system.nats else '?'}; "
            f"recording {args.arrests} arrests..."
        )
        results = asyncio.run(run_load(args, system))
        pids = {**system.pids(), "bench client": os.getpid()}
        rss = {name: peak_rss_mb(pid) for name, pid in pids.items()}
        summary = summarise(args, results, rss)
        summary["api_restarts_at_start"] = system.api_restarts
        dead = system.dead()
        if dead:
            err.print(f"[red]error:[/red] {', '.join(dead)} exited during the run")
        if dead or summary["missing"] or summary["refused"] or results.timed_out:
            code = 1
    except (KeyboardInterrupt, Interrupted):
        err.print("interrupted: stopping")
        code = 130
    finally:
        system.stop()
        if prefix:
            try:
                drop_postgres_schemas(prefix)
            except Exception as error:  # report, but the run's figures still stand
                err.print(f"[yellow]could not drop schemas {prefix}*: {error}[/yellow]")
        if temporary and not args.keep and code in (0, 130):
            shutil.rmtree(data_dir, ignore_errors=True)
        elif temporary:
            err.print(f"data and logs kept in {data_dir}")
    if summary is None:
        return code
    print_report(summary)
    if args.json:
        print(json.dumps(summary), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
