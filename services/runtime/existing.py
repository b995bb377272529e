"""Which of some aggregates a store holds, asked in one query.

A tracked consumer's batch decides many commands that each create aggregates whose ids derive
from the upstream event (a notification, a watch, what is known of a task). Asking the store
for each one, one select per id, cost more than deciding them, and each select waits behind the
other writer's transaction. A service that can foresee those ids (``foreseen`` on its
application) has them asked here once per batch; the batch's units then answer "not there"
for the rest without reading (services/runtime/deciding.py).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from uuid import UUID

from eventsourcing.persistence import AggregateRecorder
from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder
from psycopg.sql import SQL, Identifier

CHUNK = 500  # ids per statement: well within SQLite's limit on bound parameters


def stored_ids(recorder: AggregateRecorder, ids: Collection[UUID]) -> set[UUID]:
    """The ids among ``ids`` that have at least one event in ``recorder``'s store."""
    wanted = list(dict.fromkeys(ids))
    found: set[UUID] = set()
    for start in range(0, len(wanted), CHUNK):
        found |= _stored(recorder, wanted[start : start + CHUNK])
    return found


def _stored(recorder: AggregateRecorder, ids: list[UUID]) -> set[UUID]:
    if not ids:
        return set()
    if isinstance(recorder, SQLiteAggregateRecorder):
        marks = ",".join("?" * len(ids))
        statement = (
            f"SELECT DISTINCT originator_id FROM {recorder.events_table_name} "
            f"WHERE originator_id IN ({marks})"
        )
        with recorder.datastore.transaction(commit=False) as curs:
            # The library stores a UUID as its hex (services' ids are all UUIDs).
            curs.execute(statement, [i.hex for i in ids])
            return {UUID(row[0]) for row in curs.fetchall()}
    if isinstance(recorder, PostgresAggregateRecorder):
        query = SQL(
            "SELECT DISTINCT originator_id FROM {}.{} WHERE originator_id = ANY(%s)"
        ).format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
        with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(query, [ids])
            rows: list[Any] = curs.fetchall()
            return {UUID(str(row["originator_id"])) for row in rows}
    # Any other store (the in-memory one in tests): one select an id, as before.
    return {i for i in ids if recorder.select_events(i, limit=1)}
