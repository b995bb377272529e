"""Exactly-once effects against real processes that are killed while work flows.

hold and build run as their own processes and are SIGKILLed repeatedly: just before a batch's
transaction commits, after it commits but before the acks go out, and at random moments. After
they are restarted, every arrest has exactly the expected case, tasks and milestones, in the
stores and on the streams: none missing, none twice.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path
from uuid import uuid4

import nats
import pytest

from services.build.application import BuildApplication
from services.build.domain import Milestone, ResiliencePlan
from services.hold.application import HoldApplication
from services.hold.domain import SupportTask, WhanauCase
from services.runtime.settings import Settings
from services.runtime.store import store_env
from tests.support.cluster import Ledger, caught_up, plan_and_launch, send
from tests.support.effects import expected_effects, stored_events, stream_events
from tests.support.nats_users import connect_as
from tests.support.processes import Processes
from tests.support.system import eventually

pytestmark = pytest.mark.system

ARRESTS = 200
PLACES = ["Ōpōtiki", "Mataura", "Ōpōtiki", "Gore"]

# What happens to each service, in order: a fault point (after N batches of this incarnation),
# or a SIGKILL from outside after a random pause.
HOLD_SCHEDULE = [("before_commit", 2), ("after_commit", 2), ("random", 0), ("after_commit", 3)]
BUILD_SCHEDULE = [("after_commit", 2), ("before_commit", 3), ("random", 0)]


async def produce(nc: nats.aio.client.Client, sent: Ledger, faults_done: asyncio.Event) -> None:
    """At least ARRESTS arrests, and on until every scheduled fault has happened: a fault point
    is only reached while work flows, so the work must not run out before the faults do."""
    await plan_and_launch(nc, sent, PLACES)
    i = 0
    while i < ARRESTS or not faults_done.is_set():
        index = i % len(sent.operations)
        arrest = {
            "operation_id": sent.operations[index],
            "person_ref": f"P-{i}",
            # arrests i and i+4 share a household: two carers of the same children
            "household_ref": f"H-{i // 8}",
            "charges": ["supply"],
            # References only, as the front door sends them (ages would come sealed).
            "children": [{"child_ref": f"C-{i // 8}"}] if i % 3 else [],
            "only_carer_present": i % 5 == 0,
            "command_id": str(uuid4()),
        }
        arrest["arrest_id"] = (await send(nc, sent, "record_arrest", arrest))["arrest_id"]
        sent.arrests.append(arrest)
        i += 1
        await asyncio.sleep(0.02)
    for op in sent.operations:
        await send(nc, sent, "conclude_operation", {"operation_id": op})


async def torment(
    procs: Processes, name: str, schedule: list[tuple[str, int]], kills: Counter[str]
) -> None:
    """Run ``name`` through its schedule of deaths, restarting it after each."""
    rng = random.Random(7)
    for point, after in schedule:
        if point == "random":
            process = procs.start(name)
            await asyncio.sleep(rng.uniform(1.5, 3.0))
            procs.kill(name)
        else:
            process = procs.start(name, CHB_FAULT_POINT=point, CHB_FAULT_AFTER_BATCHES=str(after))
            for _ in range(300):  # it kills itself when the point comes round
                if process.poll() is not None:
                    break
                await asyncio.sleep(0.1)
            else:
                procs.kill(name)  # no more work reached the point: kill it anyway
                point = "random"
        assert process.returncode == -9, f"{name} exited with {process.returncode}, not SIGKILL"
        kills[f"{name}:{point}"] += 1
    procs.start(name)


# On SQLite by default; on PostgreSQL with --slow. The default run proves PostgreSQL's side of
# the same code elsewhere: a redelivery after a commit is recognised by the tracking record
# (tests/system/test_pipeline.py, both stores), and hold paused before its commit and replaced,
# leaders killed and PostgreSQL itself restarted under load lose and double nothing
# (tests/system/test_faults.py, all on PostgreSQL).
@pytest.mark.parametrize(
    "settings",
    ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])],
    indirect=True,
)
async def test_every_arrest_has_its_effects_exactly_once_through_repeated_kills(
    settings: Settings, tmp_path: Path
) -> None:
    """At least 200 arrests across four operations while hold and build are killed 7 times
    (before commit, after commit before ack, and at random): afterwards every case, task and
    milestone exists exactly once, in the stores and on the streams. The default run does
    this on SQLite; ``--slow`` adds PostgreSQL (see above for what covers it by default)."""
    procs = Processes(settings, tmp_path / "logs")
    nc = await connect_as(settings)
    kills: Counter[str] = Counter()
    sent = Ledger()
    try:
        procs.start("clear")
        faults_done = asyncio.Event()

        async def faults() -> None:
            await asyncio.gather(
                torment(procs, "hold", HOLD_SCHEDULE, kills),
                torment(procs, "build", BUILD_SCHEDULE, kills),
            )
            faults_done.set()

        await asyncio.gather(produce(nc, sent, faults_done), faults())

        async def settled() -> bool:
            return await caught_up(nc)

        await eventually(settled, bool, within=90, what="hold and build to catch up")
    finally:
        procs.stop_all()

    assert sum(kills.values()) >= 5, kills
    assert kills["hold:before_commit"] and kills["hold:after_commit"], kills
    assert len(sent.arrests) >= ARRESTS
    arrests = len(sent.arrests)
    cases, tasks = expected_effects(sent)

    hold = HoldApplication(env=store_env(settings, "hold"))
    held = stored_events(hold)
    hold.close()
    assert held[f"{WhanauCase.__qualname__}.Opened"] == cases
    assert held[f"{WhanauCase.__qualname__}.ArrestLinked"] == arrests
    assert held[f"{SupportTask.__qualname__}.Opened"] == tasks

    build = BuildApplication(env=store_env(settings, "build"))
    built = stored_events(build)
    build.close()
    assert built[f"{ResiliencePlan.__qualname__}.Opened"] == len(set(PLACES))
    assert built[f"{Milestone.__qualname__}.Scheduled"] == 4 * len(PLACES)

    on_hold_stream = await stream_events(nc, "hold")
    assert on_hold_stream["WhanauCaseOpened"] == cases
    assert on_hold_stream["ArrestLinkedToCase"] == arrests
    assert on_hold_stream["SupportTaskOpened"] == tasks
    on_build_stream = await stream_events(nc, "build")
    assert on_build_stream["MilestoneScheduled"] == 4 * len(PLACES)
    await nc.close()
