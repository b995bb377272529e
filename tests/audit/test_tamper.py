"""Tamper evidence on real stores: a history checkpointed on NATS while the system ran, then
changed behind its back in SQLite or PostgreSQL, in each of four ways. ``chb audit verify``
names the kind and the first notification touched, and exits non-zero."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import uuid4

import nats
import psycopg
import pytest
from typer.testing import CliRunner

from services.audit.sources import open_store
from services.audit.verification import ServiceVerification
from services.audit.verify import verify_service, verify_stores
from services.cli import app
from services.runtime.settings import Settings
from services.runtime.store import postgres_conninfo
from services.runtime.topology import AUDIT_STREAM, SERVICES
from tests.nats_users import connect_as
from tests.system.support import AUDITOR, InProcessSystem, eventually, running_system
from tests.system.test_pipeline import arrest, plan_and_launch

pytestmark = pytest.mark.integration


async def record_history(system: InProcessSystem) -> str:
    """An operation with three arrests, concluded, and every store checkpointed to its end."""
    op = await plan_and_launch(system)
    for n in range(3):
        children = [{"child_ref": f"C-{n}", "age": 4 + n}]
        await arrest(system, op, f"P-{n}", f"HH-{n}", children, only_carer=n == 0)
    assert (await system.api.post(f"/operations/{op}/conclude")).status_code == 200
    await eventually(lambda: system.get("/milestones", operation_id=op), lambda m: len(m) == 4)

    async def positions() -> list[tuple[int, int]]:
        statuses = [await s.status() for s in system.services.values()]
        return [(s["store_notification_id"], s["checkpoint"]["notification_id"]) for s in statuses]

    await eventually(positions, lambda p: all(a == b > 0 for a, b in p), what="checkpoints")
    return op


async def checkpointed_history(settings: Settings) -> None:
    async with running_system(settings) as system:
        await record_history(system)


class Store:
    """Raw SQL on one service's store: what someone with database access could do."""

    def __init__(self, settings: Settings, service: str) -> None:
        self.settings = settings
        self.service = service

    @contextmanager
    def sql(self) -> Iterator[Callable[..., list[Any]]]:
        if self.settings.store == "sqlite":
            conn = sqlite3.connect(self.settings.data_dir / f"{self.service}.sqlite")
            try:
                yield lambda q, *a: conn.execute(
                    q.replace("%s", "?").format(t="stored_events", id="rowid"), a
                ).fetchall()
                conn.commit()
            finally:
                conn.close()
            return
        schema = self.settings.postgres_schema(self.service)
        with psycopg.connect(postgres_conninfo(self.settings), autocommit=False) as conn:
            table = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                "AND table_name LIKE '%%\\_events'",
                (schema,),
            ).fetchone()
            assert table is not None
            name = f'"{schema}"."{table[0]}"'

            def run(q: str, *a: Any) -> list[Any]:
                cursor = conn.execute(q.format(t=name, id="notification_id"), a)  # type: ignore[arg-type]
                return cursor.fetchall() if cursor.description else []

            yield run

    def ids(self) -> list[int]:
        with self.sql() as sql:
            return [row[0] for row in sql("SELECT {id} FROM {t} ORDER BY {id}")]

    def alter(self, n: int) -> None:
        """Change one digit in an event's stored state (still valid JSON)."""
        with self.sql() as sql:
            state = bytes(sql("SELECT state FROM {t} WHERE {id} = %s", n)[0][0])
            at = next(i for i, b in enumerate(state) if chr(b).isdigit())
            changed = state[:at] + (b"7" if state[at : at + 1] != b"7" else b"3") + state[at + 1 :]
            sql("UPDATE {t} SET state = %s WHERE {id} = %s", changed, n)

    def remove(self, n: int) -> None:
        with self.sql() as sql:
            sql("DELETE FROM {t} WHERE {id} = %s", n)

    def insert(self, n: int) -> None:
        """A forged event at ``n``: every later event moved up one to make room."""
        with self.sql() as sql:
            topic, state = sql("SELECT topic, state FROM {t} WHERE {id} = %s", n)[0]
            sql("UPDATE {t} SET {id} = {id} + 1000000 WHERE {id} >= %s", n)
            sql("UPDATE {t} SET {id} = {id} - 999999 WHERE {id} >= 1000000")
            originator: Any = uuid4().hex if self.settings.store == "sqlite" else uuid4()
            sql(
                "INSERT INTO {t} (originator_id, originator_version, topic, state, {id}) "
                "VALUES (%s, 1, %s, %s, %s)",
                originator,
                topic,
                state,
                n,
            )

    def swap(self, a: int, b: int) -> None:
        with self.sql() as sql:
            sql("UPDATE {t} SET {id} = -1 WHERE {id} = %s", a)
            sql("UPDATE {t} SET {id} = %s WHERE {id} = %s", a, b)
            sql("UPDATE {t} SET {id} = %s WHERE {id} = -1", b)


async def verify(settings: Settings, service: str) -> ServiceVerification:
    """What the service's own verify handler does, as the service's NATS user."""
    nc = await connect_as(settings, service)
    store = open_store(service, settings)
    try:
        return await verify_service(service, store, nc.jetstream())
    finally:
        store.close()
        await nc.close()


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
    assert [s.ok for s in everything.services] == [s != "hold" for s in SERVICES]

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
        assert clean["not_yet_checkpointed"] == 0 and clean["warnings"] == []

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
