"""A relay's catch-up, seen from the API (issue 17): /ready says not ready, by how much and with
what progress, until each view has what its service's store holds; and no view goes backwards,
neither in an API that only catches up (it never rebuilds) nor in one whose stream really was
made again (it rebuilds once, beside the view it serves)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from services.factories import build_service
from services.runtime.nats_permissions import ADMIN
from services.runtime.settings import Settings
from services.runtime.topology import stream_name
from tests.support.catch_up import RelayGate, front_door, readiness, tasks_visible
from tests.support.flows import arrest, plan_and_launch
from tests.support.nats_users import as_user, connect_as
from tests.support.system import eventually, running_system

pytestmark = pytest.mark.integration

HOUSEHOLDS = 30
TASKS = 2 * HOUSEHOLDS  # two per household
STEP = 8  # notifications let through per look


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
async def test_a_catch_up_is_not_ready_until_done_and_no_view_goes_backwards(
    settings: Settings,
) -> None:
    """Hold's stream lost while hold is down; hold comes back with its relay held back and
    republishes its store a few notifications at a time. The API that was running sees the
    stream made again and rebuilds once, serving its old view meanwhile; a second API started
    after the stream was made again only catches up and never rebuilds. Neither's count of
    tasks ever falls; neither is ready before it shows every task, and the second says how
    far behind it is while it catches up. Both end with every case and task once."""
    async with running_system(settings) as system:
        op = await plan_and_launch(system)
        for n in range(HOUSEHOLDS):
            await arrest(system, op, f"P-{n}", f"HH-{n}")
        await eventually(
            lambda: tasks_visible(system.api, op), lambda c: c == TASKS, within=60, what="tasks"
        )
        await eventually(lambda: readiness(system.api), lambda b: b["ready"], what="ready")

        await system.stop_service("hold")
        nc = await connect_as(settings, ADMIN)
        await nc.jetstream().delete_stream(stream_name("hold"))
        await nc.close()
        gate = RelayGate()
        hold = build_service(
            "hold", as_user(settings, "hold").model_copy(update={"relay_batch": 4})
        )
        hold.relay.translate = gate.wrap(hold.relay.translate)
        try:
            await hold.start()
            system.services["hold"] = hold
            running = system.app.state.door.projector
            await eventually(
                lambda: readiness(system.api),
                lambda b: b["rebuilding"] and not b["ready"],
                what="the running API rebuilding beside its view",
            )
            async with front_door(settings) as (app, fresh):
                samples: list[tuple[dict[str, Any], dict[str, Any], int, int]] = []

                async def look() -> tuple[dict[str, Any], dict[str, Any]]:
                    old, new = await readiness(system.api), await readiness(fresh)
                    counts = await tasks_visible(system.api, op), await tasks_visible(fresh, op)
                    samples.append((old, new, *counts))
                    gate.let_through(STEP)  # after the look: the first one sees nothing released
                    return old, new

                began = time.monotonic()
                await eventually(
                    look, lambda s: s[0]["ready"] and s[1]["ready"], within=120, what="both ready"
                )
                took = time.monotonic() - began
                caught_up = app.state.door.projector
                assert caught_up.rebuilds == 0, "a catch-up is not a stream made again"
                cases = await fresh.get("/cases", params={"operation_id": op, "limit": 200})
                assert len({c["household_ref"] for c in cases.json()}) == len(cases.json())
                assert len(cases.json()) == HOUSEHOLDS
        finally:
            gate.open()

        assert running.rebuilds == 1, "the stream made again: one rebuild"
        old_counts = [s[2] for s in samples]
        new_counts = [s[3] for s in samples]
        assert min(old_counts) == TASKS, "the running API served its old view while rebuilding"
        assert new_counts == sorted(new_counts), "the second API's view never went backwards"
        for old, new, old_count, new_count in samples:
            assert not old["ready"] or old_count == TASKS
            assert not new["ready"] or new_count == TASKS
        first = samples[0][1]
        assert not first["ready"] and not first["read_model_caught_up"]
        assert first["views"]["hold"]["events_behind"] > 0
        assert first["views"]["hold"]["relay_behind"] > 0
        assert 0 <= first["catching_up"]["progress"] < 1
        behind = [s[1]["catching_up"] for s in samples if not s[1]["ready"]]
        assert all(b is not None for b in behind)
        assert behind[-1]["progress"] > behind[0]["progress"]
        last = samples[-1][1]
        assert last["catching_up"] is None
        assert all(v["events_behind"] == 0 for v in last["views"].values())
        tasks = await system.get("/tasks", operation_id=op, limit=200)
        assert len(tasks) == len({t["task_id"] for t in tasks}) == TASKS
        print(
            f"catch-up of {first['views']['hold']['events_behind']} events: not ready for "
            f"{took:.1f} s over {len(behind)} looks, progress "
            f"{behind[0]['progress']} -> {behind[-1]['progress']}"
        )
