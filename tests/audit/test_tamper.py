"""Tamper evidence on real stores: a history checkpointed on NATS while the system ran, then
changed behind its back in SQLite or PostgreSQL, in each of four ways. ``chb audit verify``
names the kind and the first notification touched, and exits non-zero."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import nats
import pytest
from typer.testing import CliRunner

from services.audit.verify import verify_stores
from services.cli import app
from services.runtime.settings import Settings
from services.runtime.topology import ALL_SERVICES, AUDIT_STREAM, SERVICES
from tests.support.flows import plan_and_launch
from tests.support.history import Store, checkpointed_history, record_history, verify
from tests.support.nats_users import connect_as
from tests.support.system import AUDITOR, running_system

pytestmark = pytest.mark.integration


TAMPERING: dict[str, Callable[[Store, int], None]] = {
    "altered": lambda store, n: store.alter(n),
    "removed": lambda store, n: store.remove(n),
    "inserted": lambda store, n: store.insert(n),
    "reordered": lambda store, n: store.swap(n, n + 3),
}


@pytest.mark.parametrize("kind", list(TAMPERING))
async def test_tampering_with_a_real_store_is_caught_at_the_first_place_touched(
    settings: Settings, kind: str
) -> None:
    """The untouched history verifies; after one change to hold's store, verify names the
    kind and the notification, the other services still verify, and the command exits 1."""
    await checkpointed_history(settings)
    clean = await verify(settings, "hold")
    assert clean.ok and clean.unverified_tail == 0 and clean.verified >= 12, clean

    store = Store(settings, "hold")
    ids = store.ids()
    target = ids[len(ids) // 2]
    TAMPERING[kind](store, target)

    report = await verify(settings, "hold")
    assert report.finding is not None, f"{kind} at {target} went unnoticed"
    assert (report.finding.kind, report.finding.notification_id) == (kind, target)
    assert report.verified_through == ids[ids.index(target) - 1]

    everything = await verify_stores(settings)
    assert [s.ok for s in everything.services] == [s != "hold" for s in ALL_SERVICES]

    env = {
        "CHB_STORE": settings.store,
        "CHB_DATA_DIR": str(settings.data_dir),
        "CHB_POSTGRES_SCHEMA_PREFIX": settings.postgres_schema_prefix,
        "CHB_NATS_USER": settings.nats_user,
        "CHB_NATS_PASSWORD": settings.nats_password,
    }
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["audit", "verify", "--nats-url", settings.nats_url], env=env
    )
    assert result.exit_code == 1, result.output
    assert f"hold: {kind}:" in result.output and str(target) in result.output


async def test_checkpoints_cannot_be_deleted_from_nats(settings: Settings) -> None:
    """The audit stream refuses to delete or purge a checkpoint: removing evidence there
    needs the stream itself deleted, which verify reports as a finding (the stream is gone),
    not as events merely not yet checkpointed."""
    await checkpointed_history(settings)
    nc = await connect_as(settings)  # the admin: even it cannot delete one checkpoint
    js = nc.jetstream()
    try:
        with pytest.raises(nats.js.errors.APIError):
            await js.delete_msg(AUDIT_STREAM, 1)
        with pytest.raises(nats.js.errors.APIError):
            await js.purge_stream(AUDIT_STREAM)
        await js.delete_stream(AUDIT_STREAM)
    finally:
        await nc.close()
    report = await verify(settings, "hold")
    assert report.finding is not None and report.finding.kind == "no-audit-stream"


async def test_the_api_verifies_rebuilds_and_exports(settings: Settings) -> None:
    """``/audit/verify`` asks each service to walk its own store (ok, then hold's alteration
    named); ``/audit/rebuild`` finds the live views identical to the history; ``/audit/export``
    gives the timeline with the SHA-256 of exactly the bytes sent."""
    import base64
    import csv
    import hashlib
    import io

    async with running_system(settings) as system:
        op = await record_history(system)
        clean = (await system.as_(AUDITOR).get("/audit/verify")).json()
        assert clean["ok"] and [s["service"] for s in clean["services"]] == list(SERVICES)
        # This system runs no notifier: said, not passed over (tests/audit/test_notify_record.py
        # verifies one that runs).
        assert clean["not_yet_checkpointed"] == 0
        assert clean["warnings"] == ["notify: did not answer, so its store was not verified"]

        rebuilt = (await system.as_(AUDITOR).get("/audit/rebuild")).json()
        assert rebuilt["identical"] and rebuilt["items"] > 10, rebuilt

        exported = await system.as_(AUDITOR).get(
            "/audit/export", params={"operation_id": op, "format": "csv"}
        )
        assert exported.status_code == 200 and exported.headers["content-type"].startswith(
            "text/csv"
        )
        digest = base64.b64encode(hashlib.sha256(exported.content).digest()).decode()
        assert exported.headers["repr-digest"] == f"sha-256=:{digest}:"
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert len(rows) == int(exported.headers["x-entries"]) and rows[0]["operation_id"] == op
        bad = await system.as_(AUDITOR).get("/audit/export", params={"format": "xml"})
        assert bad.status_code == 422 and "format" in bad.text

        store = Store(settings, "hold")
        target = store.ids()[5]
        store.alter(target)
        tampered = (await system.as_(AUDITOR).get("/audit/verify")).json()
    assert not tampered["ok"]
    hold = next(s for s in tampered["services"] if s["service"] == "hold")
    assert hold["finding"]["kind"] == "altered" and hold["finding"]["notification_id"] == target


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
async def test_the_api_counts_events_not_yet_checkpointed_as_a_warning_not_a_failure(
    settings: Settings,
) -> None:
    """With the notaries' interval far off, what clear records after its start is not yet
    checkpointed: ``/audit/verify`` is still ``ok`` and says how many, and for which service."""
    slow_notary = settings.model_copy(update={"checkpoint_interval_seconds": 3600.0})
    async with running_system(slow_notary) as system:
        await plan_and_launch(system)
        report = (await system.as_(AUDITOR).get("/audit/verify")).json()
    clear = next(s for s in report["services"] if s["service"] == "clear")
    assert report["ok"] and clear["ok"] and clear["finding"] is None, report
    assert clear["checkpoints"] == 0 and clear["unverified_tail"] >= 2
    assert clear["warning"] == f"{clear['unverified_tail']} not yet checkpointed"
    assert f"clear: {clear['warning']}" in report["warnings"]
    assert report["not_yet_checkpointed"] == sum(s["unverified_tail"] for s in report["services"])
