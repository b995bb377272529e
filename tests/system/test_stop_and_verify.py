"""What `chb audit verify` finds after the system is stopped, as real processes: after a clean
stop (SIGTERM) every event is checkpointed; after a SIGKILL the events its notary had not
reached are a warning with a count (exit 0), and an error under --strict (exit 1), whether the
killed service had no checkpoint at all or some and a tail after them.

The notaries run with their interval far off (an hour), so nothing but a start or a clean stop
checkpoints: what a test finds checkpointed, one of those did."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import nats
import pytest

from services.runtime.embedded_nats import free_port
from services.runtime.nats_permissions import AUDITOR
from services.runtime.settings import Settings
from tests.support.cluster import Ledger, plan_and_launch, send
from tests.support.nats_users import connect_as
from tests.support.processes import Processes, chb, chb_up, process_env, status
from tests.support.system import eventually

pytestmark = pytest.mark.system

SLOW_NOTARY = {"CHB_CHECKPOINT_INTERVAL_SECONDS": "3600"}
PLANNED_START = "2026-03-01T05:00:00+13:00"


def test_a_clean_stop_of_chb_up_leaves_every_event_checkpointed(tmp_path: Path) -> None:
    """`chb up`; an operation planned, launched, an arrest, concluded; SIGTERM at once (well
    within a second of the last answer, long before any notary's next checkpoint): `chb up`
    exits 0, and `chb audit verify` on its data directory exits 0, even --strict, with nothing
    not yet checkpointed."""
    data = tmp_path / "data"
    with chb_up(data, free_port(), tmp_path / "up.log", **SLOW_NOTARY) as up:
        api, admin = up.api, up.admin
        planned = httpx.post(
            f"{api}/operations",
            headers=admin,
            json={
                "name": "Operation Pakari",
                "district": "Southland",
                "place": "Mataura",
                "target_group": "supply network",
                "planned_start": PLANNED_START,
            },
        )
        op = planned.json()["operation_id"]
        assert httpx.post(f"{api}/operations/{op}/launch", headers=admin).status_code == 200
        arrest = {
            "person_ref": "P-1",
            "household_ref": "HH-1",
            "charges": ["supply"],
            "children": [{"child_ref": "C-1", "age": 4}],
            "only_carer_present": True,
        }
        recorded = httpx.post(f"{api}/operations/{op}/arrests", json=arrest, headers=admin)
        assert recorded.status_code == 201
        assert httpx.post(f"{api}/operations/{op}/conclude", headers=admin).status_code == 200
        up.process.send_signal(signal.SIGTERM)
        assert up.process.wait(60) == 0, (tmp_path / "up.log").read_text()

    report = chb("audit", "verify", "--data-dir", str(data), "--json")
    assert report.returncode == 0, report.stdout + report.stderr
    found = json.loads(report.stdout)
    assert found["ok"] and found["not_yet_checkpointed"] == 0 and found["warnings"] == []
    clear = next(s for s in found["services"] if s["service"] == "clear")
    assert clear["verified"] >= 4 and clear["checkpoints"] >= 1  # plan, launch, arrest, conclude

    strict = chb("audit", "verify", "--data-dir", str(data), "--strict")
    assert strict.returncode == 0, strict.stdout + strict.stderr
    assert f"clear: ok ({clear['verified']} events, all checkpointed)" in strict.stdout
    assert "not yet checkpointed" not in strict.stdout + strict.stderr


def verify(settings: Settings, *options: str) -> tuple[int, str, str]:
    """`chb audit verify` on the test's stores and the session's NATS, as the auditor."""
    env = process_env(settings, AUDITOR)
    done = chb("audit", "verify", "--nats-url", settings.nats_url, *options, env=env)
    return done.returncode, done.stdout, done.stderr


def report_of(stdout: str, service: str) -> dict[str, Any]:
    found = json.loads(stdout)
    assert found["ok"], found
    report: dict[str, Any] = next(s for s in found["services"] if s["service"] == service)
    return report


async def settled(nc: nats.aio.client.Client, service: str, checkpointed: bool) -> dict[str, Any]:
    """``service`` (hold or build) has processed everything clear published and recorded its
    share; clear is checkpointed to its end (so only ``service``'s record is in question); and
    its notary has checkpointed everything (``checkpointed``) or not all of it. Returns its
    status."""

    async def both() -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        return await status(nc, "clear"), await status(nc, service)

    def done(found: tuple[dict[str, Any] | None, dict[str, Any] | None]) -> bool:
        clear, follower = found
        if not clear or not follower:
            return False
        consumed = all(
            c["tracking_position"] == clear["relay"]["published_notification_id"]
            for c in follower["consumers"].values()
        )
        stored = follower["store_notification_id"]
        through = follower["checkpoint"]["notification_id"]
        return (
            consumed
            and clear["checkpoint"]["notification_id"] == clear["store_notification_id"]
            and stored > 0
            and (stored == through if checkpointed else stored > through)
        )

    _, follower = await eventually(both, done, within=60, what=f"{service} caught up")
    assert follower is not None
    return follower


async def ready_with_notary(nc: nats.aio.client.Client, service: str) -> None:
    """Ready, and its notary past its first look (its pass at start is behind it)."""
    await eventually(
        lambda: status(nc, service),
        lambda s: bool(s and s["ready"] and s["checkpoint"]["synced"]),
        within=60,
        what=f"{service} ready",
    )


async def arrest(nc: nats.aio.client.Client, ledger: Ledger, operation_id: str) -> None:
    """An arrest with a child present: hold opens a case and its tasks."""
    household = f"HH-{uuid4().hex[:6]}"
    body = {
        "operation_id": operation_id,
        "person_ref": f"P-{household}",
        "household_ref": household,
        "charges": ["supply"],
        "children": [{"child_ref": f"{household}-C"}],
        "only_carer_present": True,
        "command_id": str(uuid4()),
    }
    await send(nc, ledger, "record_arrest", body)


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
async def test_after_a_kill_what_was_not_checkpointed_is_a_warning_and_strict_fails(
    settings: Settings, tmp_path: Path
) -> None:
    """build SIGKILLed after recording a plan its notary never checkpointed: verify exits 0
    and warns with the count (build has no checkpoint at all); --strict exits 1. Started again,
    build checkpoints that at start. hold, whose start checkpoints the agency register it seeds,
    SIGKILLed after recording a case: the same holds for the tail after its checkpoint. (hold
    has a checkpoint from its first start on, so the service with none is build, which records
    nothing until an operation concludes.)"""
    procs = Processes(settings, tmp_path / "logs")
    nc = await connect_as(settings)
    ledger = Ledger()
    try:
        procs.start("clear")
        procs.start("build", **SLOW_NOTARY)
        await ready_with_notary(nc, "build")
        await plan_and_launch(nc, ledger, ["Mataura", "Gore"])
        concluded, launched = ledger.operations
        await send(nc, ledger, "conclude_operation", {"operation_id": concluded})
        recorded = (await settled(nc, "build", checkpointed=False))["store_notification_id"]
        procs.kill("build")

        code, out, _ = verify(settings, "--json")
        never = report_of(out, "build")
        assert code == 0 and never["checkpoints"] == 0 and never["verified"] == 0
        assert never["unverified_tail"] == recorded  # SQLite: ids 1..n, one per event
        assert never["warning"] == f"{recorded} not yet checkpointed"
        code, out, err = verify(settings, "--strict")
        assert code == 1, out + err
        line = f"build: not verified under --strict ({recorded} events; {recorded} not yet"
        assert line in err and "clear: ok (" in out
        procs.start("build", **SLOW_NOTARY)
        await settled(nc, "build", checkpointed=True)  # started again, it checkpoints that

        procs.start("hold", **SLOW_NOTARY)
        started = await settled(nc, "hold", checkpointed=True)  # its pass at start
        assert started["checkpoint"]["count"] > 0  # the seeded agency register
        await arrest(nc, ledger, launched)
        stored = (await settled(nc, "hold", checkpointed=False))["store_notification_id"]
        procs.kill("hold")

        code, out, err = verify(settings)
        assert code == 0, out + err
        tail = stored - started["store_notification_id"]
        line = f"hold: ok ({stored} events; {tail} not yet checkpointed: warning)"
        assert line in out.splitlines(), out
        assert f"warning: {tail} events not yet checkpointed" in err
        assert verify(settings, "--strict")[0] == 1
    finally:
        procs.stop_all()
        await nc.close()
