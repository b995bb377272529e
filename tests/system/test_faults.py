"""The faults the system must survive, each against real processes: a 3-node NATS cluster
(three replicas of every stream, ``sync_interval: always``) and the services on PostgreSQL.

The pass criterion is always the same: nothing lost, nothing doubled. Every arrest a planner
was told was recorded is in clear's store once, has its case, its arrest link and its tasks in
hold once, in the order the household's arrests were recorded, and every stream carries each
integration event once. The short versions run in CI; ``--slow`` runs the long ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import shutil
import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client

from services.build.application import BuildApplication
from services.build.domain import Milestone, ResiliencePlan
from services.clear.application import ClearApplication
from services.clear.domain import Operation
from services.hold.application import HoldApplication
from services.hold.domain import SupportTask, WhanauCase
from services.runtime.embedded_nats import EmbeddedCluster
from services.runtime.settings import Settings
from services.runtime.store import store_env
from services.runtime.topology import stream_name
from tests.support.cluster import (
    ClusterSystem,
    Ledger,
    caught_up,
    cluster_system,
    plan_and_launch,
    produce,
    send,
)
from tests.support.effects import expected_effects, stored_events, stream_events
from tests.support.processes import status
from tests.support.proxy import LossyProxy
from tests.support.system import eventually

pytestmark = [pytest.mark.system, pytest.mark.postgres]

PLACES = ["Ōpōtiki", "Kawerau"]


def events_of(app: Any) -> list[Any]:
    found: list[Any] = []
    start = 1
    while notifications := app.recorder.select_notifications(start, 500):
        found.extend(app.mapper.to_domain_event(n) for n in notifications)
        start = notifications[-1].id + 1
    return found


async def conclude(nc: Client, ledger: Ledger) -> None:
    for op in ledger.operations:
        await send(nc, ledger, "conclude_operation", {"operation_id": op})


async def assert_nothing_lost_nothing_doubled(
    system: ClusterSystem, nc: Client, ledger: Ledger, hold_settings: Settings | None = None
) -> None:
    """The ledger against the three stores and the streams (see the module's docstring)."""
    settings: Settings = system.settings
    acked = [a["arrest_id"] for a in ledger.arrests]
    assert len(acked) == len(set(acked)), "a planner was given one arrest id twice"

    clear = ClearApplication(env=store_env(settings, "clear"))
    recorded = [
        str(e.arrest_id) for e in events_of(clear) if isinstance(e, Operation.ArrestRecorded)
    ]
    clear.close()
    assert len(recorded) == len(set(recorded)), "clear recorded an arrest twice"
    assert sorted(recorded) == sorted(acked), "clear's arrests are not the acknowledged ones"

    cases, tasks = expected_effects(ledger)
    hold = HoldApplication(env=store_env(hold_settings or settings, "hold"))
    held = stored_events(hold)
    linked: dict[Any, list[str]] = defaultdict(list)
    for e in events_of(hold):
        if isinstance(e, WhanauCase.ArrestLinked):
            linked[e.originator_id].append(str(e.arrest_id))
    hold.close()
    assert held[f"{WhanauCase.__qualname__}.Opened"] == cases
    assert held[f"{WhanauCase.__qualname__}.ArrestLinked"] == len(acked)
    assert held[f"{SupportTask.__qualname__}.Opened"] == tasks

    # Order per household: each case linked its arrests in the order they were acknowledged.
    told: dict[tuple[str, str], list[str]] = defaultdict(list)
    for a in ledger.arrests:
        told[(a["operation_id"], a["household_ref"])].append(a["arrest_id"])
    assert sorted(linked.values()) == sorted(told.values())

    build = BuildApplication(env=store_env(settings, "build"))
    built = stored_events(build)
    build.close()
    assert built[f"{ResiliencePlan.__qualname__}.Opened"] == len(set(PLACES))
    assert built[f"{Milestone.__qualname__}.Scheduled"] == 4 * len(PLACES)

    on_clear = await stream_events(nc, "clear")
    assert on_clear["ArrestRecorded"] == len(acked)
    on_hold = await stream_events(nc, "hold")
    assert on_hold["ArrestLinkedToCase"] == len(acked)
    assert on_hold["SupportTaskOpened"] == tasks


async def stream_leader(nc: Client, stream: str) -> str:
    """The node leading ``stream`` now (asking again while an election is under way)."""
    js = nc.jetstream()
    for _ in range(100):
        try:
            info = await js.stream_info(stream)
        except Exception:  # no leader to answer yet, or our node is the one that died
            await asyncio.sleep(0.2)
            continue
        if info.cluster is not None and info.cluster.leader:
            return info.cluster.leader
        await asyncio.sleep(0.2)
    raise AssertionError(f"{stream} has no leader")


def paused(process: subprocess.Popen[bytes]) -> bool:
    """The process is stopped (state T in /proc)."""
    stat = Path(f"/proc/{process.pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "T"


async def kill_stream_leaders(
    cluster: EmbeddedCluster, nc: Client, seconds: float, kills: list[str], seed: int = 11
) -> None:
    """Every 5 to 10 s, SIGKILL the node leading clear's or hold's stream (in turn), and
    start it again a moment later on the same ports and data, as a supervisor would."""
    rng = random.Random(seed)
    streams = itertools.cycle([stream_name("clear"), stream_name("hold")])
    until = time.monotonic() + seconds
    while time.monotonic() + 5 < until:
        await asyncio.sleep(rng.uniform(5, 10))
        await kill_leader(cluster, nc, next(streams), kills, rng)


async def kill_leader(
    cluster: EmbeddedCluster, nc: Client, stream: str, kills: list[str], rng: random.Random
) -> None:
    """SIGKILL the node leading ``stream`` and start it again 0.5 to 2 s later."""
    leader = await stream_leader(nc, stream)
    node = cluster.node(leader)
    node.kill()
    kills.append(f"{stream}@{leader}")
    await asyncio.sleep(rng.uniform(0.5, 2.0))
    await asyncio.to_thread(node.start)


async def arrests_flow(ledger: Ledger, more: int = 20) -> None:
    """Wait until ``more`` further arrests have been acknowledged."""
    before = len(ledger.arrests)
    await eventually(
        lambda: asyncio.sleep(0.05, len(ledger.arrests)),
        lambda n: n >= before + more,
        within=120,
        what=f"{more} more arrests",
    )


Fault = Callable[[ClusterSystem, Client, Ledger], Awaitable[None]]


async def all_ready(nc: Client) -> bool:
    found = [await status(nc, s) for s in ("clear", "hold", "build")]
    return all(s and s["ready"] for s in found)


async def under_load(
    system: ClusterSystem, fault: Fault, lanes: int = 4, hold_settings: Settings | None = None
) -> Ledger:
    """Once clear, hold and build are ready: plan and launch, record arrests on ``lanes``
    planners while ``fault`` runs, conclude, wait until every service has caught up, then check
    nothing was lost or doubled. (A fault must not land on a service still starting: a leader
    killed while hold provisions its stream fails its start, which a supervisor would restart
    but this test does not.)"""
    nc = await system.connect()
    ledger = Ledger()
    try:
        await eventually(lambda: all_ready(nc), bool, within=120, what="the services ready")
        await plan_and_launch(nc, ledger, PLACES)
        stopping = asyncio.Event()
        producing = asyncio.create_task(produce(nc, ledger, stopping, lanes=lanes))
        try:
            await fault(system, nc, ledger)
        finally:
            stopping.set()
            await producing
        await conclude(nc, ledger)
        await eventually(lambda: caught_up(nc), bool, within=120, what="all to catch up")
        await assert_nothing_lost_nothing_doubled(system, nc, ledger, hold_settings)
    finally:
        await nc.close()
    return ledger


def log_of(system: ClusterSystem, number: int, name: str) -> str:
    """The log of the ``number``th process the test started (``02-hold.log``)."""
    return (system.procs.logs / f"{number:02d}-{name}.log").read_text()


async def leader_kills(tmp_path: Path, seconds: float) -> None:
    kills: list[str] = []

    async def fault(system: ClusterSystem, nc: Client, _: Ledger) -> None:
        await kill_stream_leaders(system.cluster, nc, seconds, kills)

    async with cluster_system(tmp_path) as system:
        system.start_services()
        ledger = await under_load(system, fault)
    assert len(kills) >= seconds // 10, kills
    print(
        f"\n{len(ledger.arrests)} arrests acknowledged in {seconds:.0f} s while "
        f"{len(kills)} stream leaders were killed ({', '.join(kills)}); "
        f"{ledger.retries} command retries"
    )


async def test_killing_the_stream_leader_while_arrests_flow_loses_and_doubles_nothing(
    tmp_path: Path,
) -> None:
    """While four planners record arrests, the node leading clear's stream is SIGKILLed and
    started again, then, once arrests flow again, the node leading hold's stream: afterwards
    every acknowledged arrest has its case, link and tasks once, each household's arrests in
    order, and no stream holds an event twice. Each kill waits for arrests to be flowing, not
    for a fixed time; ``--slow`` kills a leader every 5-10 s for two minutes."""
    kills: list[str] = []
    rng = random.Random(11)

    async def fault(system: ClusterSystem, nc: Client, ledger: Ledger) -> None:
        for stream in (stream_name("clear"), stream_name("hold")):
            await arrests_flow(ledger)
            await kill_leader(system.cluster, nc, stream, kills, rng)
        await arrests_flow(ledger)

    async with cluster_system(tmp_path) as system:
        system.start_services()
        ledger = await under_load(system, fault)
    assert len(kills) == 2, kills
    print(
        f"\n{len(ledger.arrests)} arrests acknowledged while {len(kills)} stream leaders were "
        f"killed ({', '.join(kills)}); {ledger.retries} command retries"
    )


@pytest.mark.slow
async def test_killing_the_stream_leader_for_two_minutes(tmp_path: Path) -> None:
    """For two minutes, the leader of clear's or hold's stream is SIGKILLed every 5-10 s while
    four planners record arrests; the same checks."""
    await leader_kills(tmp_path, seconds=120)


async def test_a_service_paused_past_its_ack_wait_doubles_nothing(tmp_path: Path) -> None:
    """hold stops itself (SIGSTOP) with a batch decided but not committed and stays stopped
    past its ack wait; a replacement hold gets the redelivered batch and records it. Woken
    (SIGCONT), the old process's commit is refused by the store, not added, and it goes on
    beside the replacement until retired (whichever records a message, the other skips it).
    clear and build are then each stopped from outside while arrests flow: clear until a
    planner has had to retry, build for two ack waits. Nothing is lost or doubled.

    Each step waits for what it needs (the replacement's first batch, the refusal in the old
    process's log, a planner's retry), not for a guessed time, so a slow machine only makes it
    slower."""
    ack_wait = 1.5

    async def fault(system: ClusterSystem, nc: Client, ledger: Ledger) -> None:
        old = system.procs.running["hold"]
        await eventually(
            lambda: asyncio.to_thread(paused, old), bool, within=60, what="hold to pause"
        )
        system.procs.start("hold", key="hold-replacement")
        # Only the replacement answers while the old one is stopped. Its first batch starts
        # where the store stands, at the first message of the old one's uncommitted batch.
        await eventually(
            lambda: status(nc, "hold"),
            lambda s: bool(s and s["consumers"]["hold_from_clear"]["processed"]),
            within=60,
            what="the replacement to record the redelivered batch",
        )
        system.procs.signal("hold", signal.SIGCONT)
        await eventually(
            lambda: asyncio.to_thread(log_of, system, 2, "hold"),
            lambda text: "batch failed; will retry" in text,
            within=60,
            what="the woken hold's stale batch to be refused",
        )
        system.procs.signal("hold", signal.SIGTERM)  # the supervisor retires the old one
        await asyncio.to_thread(old.wait, 15)
        await arrests_flow(ledger)
        system.procs.signal("clear", signal.SIGSTOP)
        retries = ledger.retries
        await eventually(
            lambda: asyncio.sleep(0.05, ledger.retries),
            lambda n: n > retries,
            within=60,
            what="a planner to retry while clear is stopped",
        )
        system.procs.signal("clear", signal.SIGCONT)
        await arrests_flow(ledger)  # clear answers again
        system.procs.signal("build", signal.SIGSTOP)
        await asyncio.sleep(2 * ack_wait)  # the fault itself: stopped past its ack wait
        system.procs.signal("build", signal.SIGCONT)
        await arrests_flow(ledger)

    async with cluster_system(tmp_path, ack_wait_seconds=ack_wait) as system:
        system.procs.start("clear")
        system.procs.start(
            "hold", CHB_FAULT_POINT="pause_before_commit", CHB_FAULT_AFTER_BATCHES="5"
        )
        system.procs.start("build")
        ledger = await under_load(system, fault)
        old_log = log_of(system, 2, "hold")
    assert "batch failed; will retry" in old_log, "the woken hold's stale batch was not refused"
    assert ledger.retries > 0, "clear's pause made no planner retry: the fault missed"
    print(f"\n{len(ledger.arrests)} arrests; {ledger.retries} command retries")


async def test_a_publish_whose_acknowledgement_is_lost_is_stored_once(tmp_path: Path) -> None:
    """clear reaches NATS through a proxy that loses the stream's acknowledgements of three of
    its relay's publishes: the messages were stored, the relay does not know it. It times out,
    reads its position from the stream again and goes on: every event is on the stream once,
    and everything downstream happens once."""

    def first_three_clear_acks(subject: str, payload: bytes) -> bool:
        return b'"stream":"CHB_CLEAR"' in payload and len(proxy.lost) < 3

    async def fault(_: ClusterSystem, __: Client, ledger: Ledger) -> None:
        await eventually(
            lambda: asyncio.sleep(0.1, len(proxy.lost)), lambda n: n == 3, what="lost acks"
        )
        await arrests_flow(ledger)  # and more arrests after them

    async with cluster_system(tmp_path) as system:
        proxy = await LossyProxy(system.cluster.nodes[0].port, first_three_clear_acks).start()
        try:
            system.procs.start("clear", CHB_NATS_URL=proxy.url, CHB_PUBLISH_TIMEOUT_SECONDS="1")
            system.procs.start("hold")
            system.procs.start("build")
            ledger = await under_load(system, fault, lanes=2)
        finally:
            await proxy.cut()
        clear_log = log_of(system, 1, "clear")
    assert "relay publish failed; will resync" in clear_log
    print(f"\n{len(ledger.arrests)} arrests; {len(proxy.lost)} acknowledgements lost")


def restart_postgres() -> float:
    """Restart the machine's PostgreSQL server (fast shutdown: every connection is cut, as in
    a crash or a failover); returns how long it took."""
    if shutil.which("pg_ctlcluster") is None:
        pytest.skip("pg_ctlcluster not found: cannot restart PostgreSQL here")
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    started = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return time.monotonic() - started


async def test_postgresql_restarted_under_load_loses_nothing(tmp_path: Path) -> None:
    """The PostgreSQL server is restarted (every connection cut) while arrests flow: the
    services' commands and batches fail while it is away and are retried; they reconnect on
    their own, and nothing is lost or doubled. (It waits for arrests to flow before the
    restart and again after it, not for a fixed time.)"""
    counts: list[int] = []
    took: list[float] = []

    async def fault(_: ClusterSystem, __: Client, ledger: Ledger) -> None:
        await arrests_flow(ledger)
        counts.append(len(ledger.arrests))
        took.append(await asyncio.to_thread(restart_postgres))
        await arrests_flow(ledger)  # the services are back on their own
        counts.append(len(ledger.arrests))

    async with cluster_system(tmp_path) as system:
        system.start_services()
        ledger = await under_load(system, fault)
    before, after = counts
    assert after > before, "no arrest was recorded after the restart"
    print(
        f"\n{len(ledger.arrests)} arrests ({after - before} after the restart, which took "
        f"{took[0]:.1f} s); {ledger.retries} command retries"
    )


@contextlib.contextmanager
def small_disk(path: Path, size: str = "16m") -> Iterator[Path]:
    """A filesystem of its own, small enough to fill (tmpfs; needs the right to mount)."""
    path.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk has no space left; removing it gives the space back."""
    filler = disk / "filler"
    chunk = b"\0" * 65536
    with contextlib.suppress(OSError), open(filler, "wb") as out:
        while True:
            out.write(chunk)
            out.flush()
    return filler


async def test_a_full_disk_stops_one_service_without_partial_state_until_space_returns(
    tmp_path: Path,
) -> None:
    """hold's store (SQLite) is on a disk that fills up while arrests flow: hold's batches
    fail and are nak'd, nothing half-recorded, nothing dead-lettered, the rest of the system
    goes on; when space returns, hold catches up and nothing is lost or doubled. (Each step
    waits for its effect: hold refusing for want of space, arrests flowing meanwhile.)"""
    seen: dict[str, Any] = {}

    async def fault(system: ClusterSystem, nc: Client, ledger: Ledger) -> None:
        await arrests_flow(ledger)
        filler = await asyncio.to_thread(fill, disk)
        await eventually(
            lambda: asyncio.to_thread(log_of, system, 2, "hold"),
            lambda text: "database or disk is full" in text,
            within=60,
            what="hold's store to be full",
        )
        seen["stuck"] = await status(nc, "hold")
        await arrests_flow(ledger)  # the rest goes on meanwhile
        seen["still"] = await status(nc, "hold")
        seen["clear"] = await status(nc, "clear")
        filler.unlink()  # space returns
        await arrests_flow(ledger)

    with small_disk(tmp_path / "hold-disk") as disk:
        async with cluster_system(tmp_path) as system:
            hold_settings = system.settings.model_copy(update={"store": "sqlite", "data_dir": disk})
            system.procs.start("clear")
            system.procs.start("hold", CHB_STORE="sqlite", CHB_DATA_DIR=str(disk))
            system.procs.start("build")
            ledger = await under_load(system, fault, lanes=2, hold_settings=hold_settings)
            nc = await system.connect()
            after = await status(nc, "hold")
            await nc.close()
            hold_log = log_of(system, 2, "hold")
    stuck, still, clear = seen["stuck"], seen["still"], seen["clear"]
    assert stuck and still and clear and after
    position = stuck["consumers"]["hold_from_clear"]["tracking_position"]
    assert still["consumers"]["hold_from_clear"]["tracking_position"] == position, "not stopped"
    assert clear["relay"]["published_notification_id"] > position, "no work was waiting"
    assert after["consumers"]["hold_from_clear"]["dead_letters"] == 0
    assert "database or disk is full" in hold_log
    print(f"\n{len(ledger.arrests)} arrests; hold stopped at notification {position} while full")
