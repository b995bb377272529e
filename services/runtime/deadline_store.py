"""A service's deadline index kept in its own store: one row per item with deadlines.

Each row holds an item's next deadline and due time, written by the process recorder in the
same transaction as the events that changed the item (the application passes the rows with the
batch, services/runtime/application.py). So the index is never behind the log, a restart reads
nothing, and a tick asks only the rows with ``next_at <= now`` (an index on due time).

A finished item keeps its row with no times (it drops out of both indexes): rows carry the
item's version and a write never replaces a newer one, so the one-time build of the index for a
store that predates it can run beside live writes without bringing a finished item back.

Times are stored as integer microseconds since the epoch (UTC): the same ordering in SQLite and
PostgreSQL, and no time zone conversion on either side.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent
from eventsourcing.popo import POPOProcessRecorder
from eventsourcing.postgres import PostgresDatastore, PostgresProcessRecorder
from eventsourcing.sqlite import SQLiteCursor, SQLiteProcessRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(at: datetime) -> int:
    return (at - EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    return EPOCH + micros * _MICROSECOND


_MICROSECOND = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - EPOCH


@dataclass(frozen=True)
class DeadlineKind:
    """An aggregate class with deadlines (``next_deadline()`` and ``due_at``), and what says
    one can never change again."""

    kind: type[Aggregate]
    finished: Callable[[Any], bool]

    @property
    def name(self) -> str:
        return self.kind.__name__

    def row(self, item: Any) -> DeadlineRow:
        if self.finished(item):
            return DeadlineRow(UUID(str(item.id)), self.name, item.version, None, None)
        deadline = item.next_deadline()
        return DeadlineRow(
            UUID(str(item.id)),
            self.name,
            item.version,
            None if deadline is None else to_micros(deadline),
            to_micros(item.due_at),
        )


class DeadlineRow(NamedTuple):
    item_id: UUID
    kind: str
    version: int
    next_at: int | None  # microseconds; None: nothing left to fire
    due_at: int | None  # microseconds; None: finished


class DeadlineTable(Protocol):
    """What the scheduler asks of a recorder that keeps the index."""

    def due_deadlines(
        self, kind: str, now: int, after: tuple[int, UUID] | None, limit: int
    ) -> list[tuple[int, UUID]]: ...

    def count_overdue(self, kind: str, now: int) -> int: ...

    def deadline_rows(self, kind: str) -> list[DeadlineRow]: ...

    def upsert_deadlines(self, rows: Sequence[DeadlineRow]) -> None: ...

    def backfill_to(self) -> int: ...

    def mark_backfilled(self) -> None: ...


# The statements both SQL stores share (PostgreSQL's take the schema as a prefix).
_UPSERT = (
    "INSERT INTO {t} (item_id, kind, version, next_at, due_at) VALUES ({p},{p},{p},{p},{p}) "
    "ON CONFLICT (item_id) DO UPDATE SET version = excluded.version, "
    "next_at = excluded.next_at, due_at = excluded.due_at "
    "WHERE {t}.version < excluded.version"
)
_DUE = (
    "SELECT next_at, item_id FROM {t} WHERE kind = {p} AND next_at >= {p} AND next_at <= {p} "
    "AND (next_at > {p} OR item_id > {p}) ORDER BY next_at, item_id LIMIT {p}"
)
_OVERDUE = "SELECT COUNT(*) AS n FROM {t} WHERE kind = {p} AND due_at <= {p}"
_ROWS = (
    "SELECT item_id, kind, version, next_at, due_at FROM {t} "
    "WHERE kind = {p} AND due_at IS NOT NULL ORDER BY item_id"
)


def _due_params(kind: str, now: int, after: tuple[int, UUID] | None, limit: int) -> list[Any]:
    # Keyset pagination: an item whose firing recorded nothing is passed over, not asked again,
    # and each batch starts in the index where the last one stopped (the lower bound).
    at, item = after if after is not None else (-(2**62), UUID(int=0))
    return [kind, at, now, at, item, limit]


class SQLiteDeadlineRecorder(SQLiteProcessRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            "CREATE TABLE IF NOT EXISTS deadlines (item_id TEXT PRIMARY KEY, kind TEXT NOT NULL, "
            "version INTEGER NOT NULL, next_at INTEGER, due_at INTEGER)",
            "CREATE INDEX IF NOT EXISTS deadlines_next_at ON deadlines (kind, next_at, item_id) "
            "WHERE next_at IS NOT NULL",
            "CREATE INDEX IF NOT EXISTS deadlines_due_at ON deadlines (kind, due_at) "
            "WHERE due_at IS NOT NULL",
            "CREATE TABLE IF NOT EXISTS deadlines_state (name TEXT PRIMARY KEY, value INTEGER)",
            # The first time only: the events already in the log, which the index must be built
            # from once (0 for a new store).
            "INSERT INTO deadlines_state SELECT 'backfill_to', COALESCE(MAX(rowid), 0) "
            f"FROM {self.events_table_name} WHERE 1 ON CONFLICT (name) DO NOTHING",
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        returning = super()._insert_events(c, stored_events, **kwargs)
        self._upsert(c, kwargs.get("deadlines", ()))
        return returning

    def _upsert(self, c: SQLiteCursor, rows: Sequence[DeadlineRow]) -> None:
        if rows:
            c.executemany(
                _UPSERT.format(t="deadlines", p="?"),
                [(r.item_id.hex, r.kind, r.version, r.next_at, r.due_at) for r in rows],
            )

    def upsert_deadlines(self, rows: Sequence[DeadlineRow]) -> None:
        with self.datastore.transaction(commit=True) as c:
            self._upsert(c, rows)

    def _read(self, statement: str, params: Sequence[Any]) -> list[Any]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return list(c.fetchall())

    def due_deadlines(
        self, kind: str, now: int, after: tuple[int, UUID] | None, limit: int
    ) -> list[tuple[int, UUID]]:
        params = _due_params(kind, now, after, limit)
        params[4] = params[4].hex
        rows = self._read(_DUE.format(t="deadlines", p="?"), params)
        return [(r[0], UUID(r[1])) for r in rows]

    def count_overdue(self, kind: str, now: int) -> int:
        return int(self._read(_OVERDUE.format(t="deadlines", p="?"), [kind, now])[0][0])

    def deadline_rows(self, kind: str) -> list[DeadlineRow]:
        rows = self._read(_ROWS.format(t="deadlines", p="?"), [kind])
        return [DeadlineRow(UUID(r[0]), r[1], r[2], r[3], r[4]) for r in rows]

    def backfill_to(self) -> int:
        rows = self._read("SELECT value FROM deadlines_state WHERE name = 'backfill_to'", [])
        return int(rows[0][0]) if rows else 0

    def mark_backfilled(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute("UPDATE deadlines_state SET value = 0 WHERE name = 'backfill_to'")


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class PostgresDeadlineRecorder(PostgresProcessRecorder):
    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        events_table_name: str = "stored_events",
        tracking_table_name: str = "notification_tracking",
    ) -> None:
        super().__init__(
            datastore, events_table_name=events_table_name, tracking_table_name=tracking_table_name
        )
        schema = _quoted(datastore.schema)
        self.table = f"{schema}.deadlines"
        self.state = f"{schema}.deadlines_state"
        events = f"{schema}.{_quoted(events_table_name)}"
        for statement in (
            f"CREATE TABLE IF NOT EXISTS {self.table} (item_id UUID PRIMARY KEY, "
            "kind TEXT NOT NULL, version BIGINT NOT NULL, next_at BIGINT, due_at BIGINT)",
            f"CREATE INDEX IF NOT EXISTS deadlines_next_at ON {self.table} "
            "(kind, next_at, item_id) WHERE next_at IS NOT NULL",
            f"CREATE INDEX IF NOT EXISTS deadlines_due_at ON {self.table} (kind, due_at) "
            "WHERE due_at IS NOT NULL",
            f"CREATE TABLE IF NOT EXISTS {self.state} (name TEXT PRIMARY KEY, value BIGINT)",
            f"INSERT INTO {self.state} SELECT 'backfill_to', COALESCE(MAX(notification_id), 0) "
            f"FROM {events} ON CONFLICT (name) DO NOTHING",
        ):
            self.sql_create_statements.append(SQL(statement).format())

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # After the events: the table lock the library takes for them is held, so the index's
        # writes are serialised with them and no two batches can deadlock on its rows.
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        self._upsert(curs, kwargs.get("deadlines", ()))
        return ids

    def _upsert(self, curs: Cursor[DictRow], rows: Sequence[DeadlineRow]) -> None:
        if rows:
            curs.executemany(
                SQL(_UPSERT.format(t=self.table, p="%s")),
                [(r.item_id, r.kind, r.version, r.next_at, r.due_at) for r in rows],
            )

    def upsert_deadlines(self, rows: Sequence[DeadlineRow]) -> None:
        with self.datastore.transaction(commit=True) as curs:
            self._upsert(curs, rows)

    def _read(self, statement: str, params: Sequence[Any]) -> list[DictRow]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL(statement), params)
            return list(curs.fetchall())

    def due_deadlines(
        self, kind: str, now: int, after: tuple[int, UUID] | None, limit: int
    ) -> list[tuple[int, UUID]]:
        params = _due_params(kind, now, after, limit)
        rows = self._read(_DUE.format(t=self.table, p="%s"), params)
        return [(r["next_at"], r["item_id"]) for r in rows]

    def count_overdue(self, kind: str, now: int) -> int:
        return int(self._read(_OVERDUE.format(t=self.table, p="%s"), [kind, now])[0]["n"])

    def deadline_rows(self, kind: str) -> list[DeadlineRow]:
        rows = self._read(_ROWS.format(t=self.table, p="%s"), [kind])
        return [DeadlineRow(**r) for r in rows]

    def backfill_to(self) -> int:
        rows = self._read(f"SELECT value FROM {self.state} WHERE name = 'backfill_to'", [])
        return int(rows[0]["value"]) if rows else 0

    def mark_backfilled(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL(f"UPDATE {self.state} SET value = 0 WHERE name = 'backfill_to'"))


class POPODeadlineRecorder(POPOProcessRecorder):
    """The in-memory store's: a dict, under the recorder's own lock, for tests."""

    def __init__(self) -> None:
        super().__init__()
        self._deadlines: dict[UUID, DeadlineRow] = {}
        self._deadlines_lock = threading.RLock()

    def _update_table(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._update_table(stored_events, **kwargs)
        self.upsert_deadlines(kwargs.get("deadlines", ()))
        return ids

    def upsert_deadlines(self, rows: Sequence[DeadlineRow]) -> None:
        with self._deadlines_lock:
            for row in rows:
                known = self._deadlines.get(row.item_id)
                if known is None or known.version < row.version:
                    self._deadlines[row.item_id] = row

    def due_deadlines(
        self, kind: str, now: int, after: tuple[int, UUID] | None, limit: int
    ) -> list[tuple[int, UUID]]:
        with self._deadlines_lock:
            due = sorted(
                (r.next_at, r.item_id)
                for r in self._deadlines.values()
                if r.kind == kind and r.next_at is not None and r.next_at <= now
            )
        return [d for d in due if after is None or d > after][:limit]

    def count_overdue(self, kind: str, now: int) -> int:
        with self._deadlines_lock:
            return sum(
                1
                for r in self._deadlines.values()
                if r.kind == kind and r.due_at is not None and r.due_at <= now
            )

    def deadline_rows(self, kind: str) -> list[DeadlineRow]:
        with self._deadlines_lock:
            rows = [r for r in self._deadlines.values() if r.kind == kind and r.due_at is not None]
        return sorted(rows, key=lambda r: r.item_id)

    def backfill_to(self) -> int:
        return 0  # an in-memory store is always new

    def mark_backfilled(self) -> None:
        pass
