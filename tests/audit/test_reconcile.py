"""Reconciliation on real stores and a real nats-server: a downstream service that is down
shows as lag and catches up; a store restored from an older backup shows as a hole."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from services.audit.reconcile import Reconciliation, reconcile_at
from services.cli import app as cli
from services.runtime.settings import Settings
from tests.support.flows import arrest, plan_and_launch
from tests.support.history import Store
from tests.support.system import eventually, running_system

pytestmark = pytest.mark.integration


def link(result: Reconciliation, upstream: str, downstream: str) -> dict[str, int]:
    found = next(x for x in result.links if (x.upstream, x.downstream) == (upstream, downstream))
    return found.as_dict()


async def test_a_stopped_service_is_lag_and_a_restored_store_is_a_hole(settings: Settings) -> None:
    """With hold stopped, three arrests are stored and published by clear and not processed by
    hold: consumer lag, no hole. Hold restarted, everything is in step. Then clear's store
    loses its last two events (as a restore from an older backup would): both of clear's
    downstreams have processed events clear no longer holds, and its stream is ahead of its
    store: holes, named, and the command exits 1."""

    async def check() -> Reconciliation:
        return await reconcile_at(settings)

    async with running_system(settings) as system:
        await system.start_service("notify")  # hold's and build's other downstream
        op = await plan_and_launch(system)
        await system.stop_service("hold")
        for n in range(3):
            await arrest(system, op, f"P-{n}", f"HH-{n}", [{"child_ref": f"C-{n}", "age": 5}])
        lagging = await eventually(
            check,
            lambda r: (
                link(r, "clear", "hold")["consumer_lag"] >= 3
                and link(r, "clear", "build")["consumer_lag"] == 0
                and link(r, "clear", "hold")["relay_lag"] == 0
            ),
            what="hold's lag",
        )
        assert lagging.ok and not lagging.in_step
        held = link(lagging, "clear", "hold")
        assert held["published"] == held["stored"] and held["tracked"] < held["published"]

        await system.start_service("hold")
        in_step = await eventually(check, lambda r: r.in_step, what="hold caught up")
        assert all(not x.holes for x in in_step.links)

    clear_store = Store(settings, "clear")
    for lost in clear_store.ids()[-2:]:
        clear_store.remove(lost)
    holed = await check()
    assert not holed.ok
    for downstream in ("hold", "build"):
        holes = link(holed, "clear", downstream)["holes"]
        assert any(f"{downstream} acted on events clear no longer holds" in h for h in holes)
        assert any("the store has lost events" in h for h in holes)

    if settings.store == "sqlite":
        ran = await asyncio.to_thread(
            CliRunner().invoke,
            cli,
            [
                "audit",
                "reconcile",
                "--data-dir",
                str(settings.data_dir),
                "--nats-url",
                settings.nats_url,
                "--json",
            ],
            # The CLI reads as the auditor, like every `chb audit` command.
            env={"CHB_NATS_USER": settings.nats_user, "CHB_NATS_PASSWORD": settings.nats_password},
        )
        assert ran.exit_code == 1, (ran.output, ran.exception)
        assert json.loads(ran.stdout)["ok"] is False, ran.output
