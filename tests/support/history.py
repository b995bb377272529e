"""A recorded history in real stores, a raw view of a store's rows, and verification of it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import uuid4

import psycopg

from services.audit.verification import ServiceVerification
from services.audit.verify import verify_service
from services.runtime.settings import Settings
from services.runtime.store import postgres_conninfo
from services.views.stores import open_store
from tests.support.flows import arrest, plan_and_launch
from tests.support.nats_users import connect_as
from tests.support.system import InProcessSystem, eventually, running_system


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
