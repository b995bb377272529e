"""Hold stores with many open support tasks, for the deadline index's tests and bench."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
from eventsourcing.persistence import Tracking

from services.hold.application import HoldApplication
from services.hold.commands import SupportArrestedPersonsHousehold
from services.hold.domain import SupportTask
from services.runtime.clock import Clock
from services.runtime.meta import SERVICE_ACTORS, Meta
from services.runtime.settings import Settings
from services.runtime.store import postgres_conninfo, store_env
from tests.support.playbook_facts import hold_tests_playbook

START = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)


@contextmanager
def hold_store(store: str, directory: Path) -> Iterator[dict[str, str]]:
    """The environment of one hold store (a SQLite file, or a PostgreSQL schema of its own,
    dropped after), as ``chb serve`` would make it."""
    settings = Settings(
        data_dir=directory, store=store, postgres_schema_prefix=f"d{uuid4().hex[:10]}_"
    )
    env = store_env(settings, "hold")
    try:
        yield env
    finally:
        if store == "postgres":
            with psycopg.connect(postgres_conninfo(settings), autocommit=True) as conn:
                conn.execute(
                    psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                        psycopg.sql.Identifier(settings.postgres_schema("hold"))
                    )
                )


def hold_app(
    env: dict[str, str], clock: Clock, cls: type[HoldApplication] = HoldApplication
) -> Any:
    return cls(env=env, clock=clock, default_playbook=hold_tests_playbook())


def open_tasks(
    app: HoldApplication, households: int, at: datetime = START, batch: int = 200, first: int = 0
) -> None:
    """Arrests in ``households`` households, each left without a carer: every one opens the
    playbook's tasks. Recorded as hold's consumer would, a batch at a time, from clear's
    position ``first`` on."""
    for start in range(0, households, batch):
        jobs: list[tuple[object, Tracking | None]] = []
        for n in range(start, min(households, start + batch)):
            meta = Meta(occurred_at=at, operation_id=uuid4(), actor=SERVICE_ACTORS["hold"])
            command = SupportArrestedPersonsHousehold(
                arrest_id=uuid4(),
                household_ref=f"HH-{first + n}",
                place="Mataura",
                arrested_at=at,
                children=[{"child_ref": f"HH-{first + n}-C", "age": 6}],
                only_carer_present=True,
                meta=meta,
            )
            jobs.append((command, Tracking("clear", first + n + 1)))
        app.process_batch(jobs)


def steps_fired(app: HoldApplication) -> Counter[tuple[UUID, str]]:
    """(task, step) → how many times it is recorded."""
    counted: Counter[tuple[UUID, str]] = Counter()
    position = 0
    while notifications := app.recorder.select_notifications(position + 1, 2000):
        for n in notifications:
            if n.topic.endswith(("SupportTask.Reminded", "SupportTask.Escalated")):
                event: Any = app.mapper.to_domain_event(n)
                kind = "escalated" if isinstance(event, SupportTask.Escalated) else "reminded"
                counted[(UUID(str(event.originator_id)), f"{kind} {event.step}")] += 1
        position = notifications[-1].id
    return counted
