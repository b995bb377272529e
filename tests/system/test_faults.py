"""The faults the system must survive, each against real processes: a 3-node NATS cluster
(three replicas of every stream, ``sync_interval: always``) and the services on PostgreSQL.

The pass criterion is always the same: nothing lost, nothing doubled. Every arrest a planner
was told was recorded is in clear's store once, has its case, its arrest link and its tasks in
hold once, in the order the household's arrests were recorded, and every stream carries each
integration event once. The short versions run in CI; ``--slow`` runs the long ones.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import signal
import subprocess
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client

from services.build.application import BuildApplication
from services.build.domain import Milestone, ResiliencePlan
from services.clear.application import ClearApplication
from services.clear.domain import Operation
from services.hold.application import HoldApplication
from services.hold.domain import WhanauCase
from services.hold.task import SupportTask
from services.runtime.embedded_nats import EmbeddedCluster
from services.runtime.settings import Settings
from services.runtime.store import store_env
from services.runtime.topology import stream_name
from tests.system.cluster import (
    ClusterSystem,
    Ledger,
    caught_up,
    cluster_system,
    plan_and_launch,
    produce,
    send,
)
from tests.system.proxy import LossyProxy
from tests.system.support import eventually
from tests.system.test_exactly_once import expected_effects, stored_events, stream_events

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
    system: ClusterSystem, nc: Client, ledger: Ledger
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

    cases, tasks = expected_effects(ledger)  # type: ignore[arg-type]
    hold = HoldApplication(env=store_env(settings, "hold"))
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
        stream = next(streams)
        leader = await stream_leader(nc, stream)
        node = cluster.node(leader)
        node.kill()
        kills.append(f"{stream}@{leader}")
        await asyncio.sleep(rng.uniform(0.5, 2.0))
        await asyncio.to_thread(node.start)


async def leader_kills(tmp_path: Path, seconds: float) -> None:
    async with cluster_system(tmp_path) as system:
        system.start_services()
        nc = await system.connect()
        ledger = Ledger()
        kills: list[str] = []
        try:
            await plan_and_launch(nc, ledger, PLACES)
            stopping = asyncio.Event()
            producing = asyncio.create_task(produce(nc, ledger, stopping))
            await kill_stream_leaders(system.cluster, nc, seconds, kills)
            stopping.set()
            await producing
            await conclude(nc, ledger)
            await eventually(lambda: caught_up(nc), bool, within=120, what="all to catch up")
            await assert_nothing_lost_nothing_doubled(system, nc, ledger)
        finally:
            await nc.close()
        assert len(kills) >= seconds // 10, kills
        print(
            f"\n{len(ledger.arrests)} arrests acknowledged in {seconds:.0f} s while "
            f"{len(kills)} stream leaders were killed ({', '.join(kills)}); "
            f"{ledger.retries} command retries"
        )


async def test_killing_the_stream_leader_while_arrests_flow_loses_and_doubles_nothing(
    tmp_path: Path,
) -> None:
    """For 30 s, the leader of clear's or hold's stream is SIGKILLed every 5-10 s while four
    planners record arrests: afterwards every acknowledged arrest has its case, link and tasks
    once, each household's arrests in order, and no stream holds an event twice."""
    await leader_kills(tmp_path, seconds=30)


@pytest.mark.slow
async def test_killing_the_stream_leader_for_two_minutes(tmp_path: Path) -> None:
    """The same for two minutes."""
    await leader_kills(tmp_path, seconds=120)


async def test_a_service_paused_past_its_ack_wait_doubles_nothing(tmp_path: Path) -> None:
    """hold stops itself (SIGSTOP) with a batch decided but not committed and stays stopped
    past its ack wait; a replacement hold gets the redelivered batch and records it. Woken
    (SIGCONT), the old process's commit is refused by the store, not added. clear and build
    are then each stopped from outside for three ack waits while arrests flow: planners retry
    what the paused clear does not answer. Nothing is lost or doubled."""
    ack_wait = 1.5
    async with cluster_system(tmp_path, ack_wait_seconds=ack_wait) as system:
        system.procs.start("clear")
        old = system.procs.start(
            "hold", CHB_FAULT_POINT="pause_before_commit", CHB_FAULT_AFTER_BATCHES="5"
        )
        system.procs.start("build")
        nc = await system.connect()
        ledger = Ledger()
        try:
            await plan_and_launch(nc, ledger, PLACES)
            stopping = asyncio.Event()
            producing = asyncio.create_task(produce(nc, ledger, stopping))
            await eventually(
                lambda: asyncio.to_thread(paused, old), bool, within=30, what="hold to pause"
            )
            await asyncio.sleep(2 * ack_wait)
            system.procs.start("hold", key="hold-replacement")
            await asyncio.sleep(3 * ack_wait)  # the replacement records the redelivered batch
            system.procs.signal("hold", signal.SIGCONT)
            await asyncio.sleep(2)
            system.procs.signal("hold", signal.SIGTERM)  # the supervisor retires the old one
            await asyncio.to_thread(old.wait, 15)
            for name in ("clear", "build"):
                await asyncio.sleep(2)
                system.procs.signal(name, signal.SIGSTOP)
                await asyncio.sleep(3 * ack_wait)
                system.procs.signal(name, signal.SIGCONT)
            await asyncio.sleep(2)
            stopping.set()
            await producing
            await conclude(nc, ledger)
            await eventually(lambda: caught_up(nc), bool, within=60, what="all to catch up")
            await assert_nothing_lost_nothing_doubled(system, nc, ledger)
        finally:
            await nc.close()
        old_log = next(system.procs.logs.glob("02-hold.log")).read_text()
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

    async with cluster_system(tmp_path) as system:
        proxy = await LossyProxy(system.cluster.nodes[0].port, first_three_clear_acks).start()
        system.procs.start("clear", CHB_NATS_URL=proxy.url, CHB_PUBLISH_TIMEOUT_SECONDS="1")
        system.procs.start("hold")
        system.procs.start("build")
        nc = await system.connect()
        ledger = Ledger()
        try:
            await plan_and_launch(nc, ledger, PLACES)
            stopping = asyncio.Event()
            producing = asyncio.create_task(produce(nc, ledger, stopping, lanes=2))
            await eventually(
                lambda: asyncio.sleep(0.1, len(proxy.lost)), lambda n: n == 3, what="lost acks"
            )
            await asyncio.sleep(2)
            stopping.set()
            await producing
            await conclude(nc, ledger)
            await eventually(lambda: caught_up(nc), bool, within=60, what="all to catch up")
            await assert_nothing_lost_nothing_doubled(system, nc, ledger)
        finally:
            await nc.close()
            await proxy.stop()
        clear_log = next(system.procs.logs.glob("01-clear.log")).read_text()
        assert "relay publish failed; will resync" in clear_log
        print(f"\n{len(ledger.arrests)} arrests; {len(proxy.lost)} acknowledgements lost")
