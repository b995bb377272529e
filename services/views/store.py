"""Where the views are kept: one table of rows in SQLite (the embedded default) or PostgreSQL
(production), beside the ``eventsourcing`` library's own tracking table, written in one
transaction with it.

A batch of events read from the streams changes some rows; those rows and each stream's
position (a ``Tracking`` record: the stream's name and the last sequence the batch applied) are
written together, so the views never stand anywhere but where their positions say. A restart
asks the tracking table where to resume; a message at or below that position changes nothing
(the library's single-row tracking refuses a position that does not move forward).

Every kind of item (tasks, cases, a task's history, …) lives in one table keyed by
``(kind, key)``: its body as JSON, plus the few columns the users' questions are asked by (an
agency's inbox, overdue by due time, by place, by operation, a household's tasks), each
indexed. ``seq`` is the order items were first written, which is the order lists are shown in.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from uuid import uuid4

import psycopg
import psycopg_pool
import structlog
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    Tracking,
)
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from psycopg.sql import SQL

log = structlog.get_logger()

# What a new datastore may cure: no connection to be had, or the ones had are dead.
RENEWABLE = (psycopg_pool.PoolTimeout, psycopg.OperationalError, OperationalError, InterfaceError)

# The indexed columns every row may set (None where a kind has no such thing).
COLUMNS = (
    "agency",
    "place_key",
    "operation_id",
    "case_id",
    "status",
    "due_us",
    "worker",
    "label",  # a task's kind
    "mark",  # a task's escalation level
    "took_us",  # a task's time from opening to completion; an acceptance's wait
    "open_due_us",  # an unfinished task's due time (none once finished): what can be overdue
)


class StoredRow(NamedTuple):
    kind: str
    key: str
    body: str
    columns: tuple[Any, ...]  # in the order of COLUMNS


_TABLE = """CREATE TABLE IF NOT EXISTS view_rows (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    body TEXT NOT NULL,
    agency TEXT,
    place_key TEXT,
    operation_id TEXT,
    case_id TEXT,
    status TEXT,
    due_us BIGINT,
    worker TEXT,
    label TEXT,
    mark TEXT,
    took_us BIGINT,
    open_due_us BIGINT,
    seq BIGINT NOT NULL,
    PRIMARY KEY (kind, key))"""

_INDEXES = (
    "CREATE INDEX IF NOT EXISTS view_rows_seq ON view_rows (kind, seq)",
    "CREATE INDEX IF NOT EXISTS view_rows_agency ON view_rows (kind, agency, seq)",
    "CREATE INDEX IF NOT EXISTS view_rows_place ON view_rows (kind, place_key, seq)",
    "CREATE INDEX IF NOT EXISTS view_rows_operation ON view_rows (kind, operation_id, seq)",
    "CREATE INDEX IF NOT EXISTS view_rows_case ON view_rows (kind, case_id, seq)",
    # An agency's overdue tasks in the order they were opened: ``seq`` in the index, so the
    # few shown are chosen from the index alone, not from every overdue row read and sorted
    # (3,140 overdue of 180,000 tasks: the request's p95 25.4 ms before, 8.8 ms after;
    # bench/README.md).
    "CREATE INDEX IF NOT EXISTS view_rows_overdue_seq ON view_rows"
    " (kind, agency, open_due_us, seq)",
    "CREATE INDEX IF NOT EXISTS view_rows_open_due ON view_rows (kind, open_due_us)",
    # Covers the board's counts: read from the index alone, never the rows' bodies.
    "CREATE INDEX IF NOT EXISTS view_rows_board ON view_rows"
    " (kind, agency, label, status, due_us, mark, took_us, place_key, operation_id)",
    "CREATE INDEX IF NOT EXISTS view_rows_agency_due ON view_rows (kind, agency, due_us)",
    "CREATE INDEX IF NOT EXISTS view_rows_worker ON view_rows (kind, worker, seq)",
)

_UPSERT = (
    "INSERT INTO view_rows (kind, key, body, agency, place_key, operation_id, case_id, status,"
    " due_us, worker, label, mark, took_us, open_due_us, seq)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (kind, key) DO UPDATE SET body = excluded.body, agency = excluded.agency,"
    " place_key = excluded.place_key, operation_id = excluded.operation_id,"
    " case_id = excluded.case_id, status = excluded.status, due_us = excluded.due_us,"
    " worker = excluded.worker, label = excluded.label, mark = excluded.mark,"
    " took_us = excluded.took_us, open_due_us = excluded.open_due_us"
)


class _Rows:
    """What both recorders add to the library's tracking recorder: the rows table, and
    statements written once with ``?`` (PostgreSQL's recorder turns them into ``%s``)."""

    placeholder = "?"
    table = "view_rows"
    datastore: Any  # the library recorder's (SQLite or PostgreSQL)

    def _sql(self, statement: str) -> str:
        if self.placeholder == "?":
            return statement
        return re.sub(r"\bview_rows\b", self.table, statement.replace("?", "%s"))

    # The transaction of the batch being written (``open_batch``): every read and write of the
    # batch goes through it, so a batch costs one transaction, not one per item read.
    batch_cursor: Any = None

    # Makes a new datastore (PostgreSQL): after the database was away, a pool that has backed
    # off reconnecting would fail requests for a while; a new one connects at once.
    renew: Callable[[], Any] | None = None

    @contextmanager
    def _cursor(self, *, commit: bool) -> Iterator[Any]:
        if self.batch_cursor is not None:
            yield self.batch_cursor
            return
        with self._transaction(commit=commit) as cursor:
            yield cursor

    @contextmanager
    def _transaction(self, *, commit: bool) -> Iterator[Any]:
        """The datastore's transaction; if none can be begun, once more on a new datastore."""
        manager = self.datastore.transaction(commit=commit)
        try:
            cursor = manager.__enter__()
        except RENEWABLE as error:
            if self.renew is None:
                raise
            log.warning(
                "the views' database connections failed; connecting again", error=repr(error)
            )
            self.datastore.close()
            self.datastore = self.renew()
            manager = self.datastore.transaction(commit=commit)
            cursor = manager.__enter__()
        try:
            yield cursor
        except BaseException:
            if not manager.__exit__(*sys.exc_info()):
                raise
        else:
            manager.__exit__(None, None, None)

    @contextmanager
    def open_batch(self) -> Iterator[None]:
        """One transaction for everything until the block ends; committed then (rolled back
        if it raises)."""
        with self._transaction(commit=True) as cursor:
            self.batch_cursor = cursor
            try:
                yield
            finally:
                self.batch_cursor = None

    @contextmanager
    def open_read(self) -> Iterator[None]:
        """One read transaction for everything until the block ends: what is read in it is
        the views as they stood at one moment, positions included."""
        with self._transaction(commit=False) as cursor:
            self.batch_cursor = cursor
            try:
                yield
            finally:
                self.batch_cursor = None

    def index_statements(self) -> list[Any]:
        raise NotImplementedError

    def create_indexes(self) -> None:
        """Make the indexes of a store opened without them (a rebuild beside, once it has
        caught up): one sort per index, not ten B-trees grown a row at a time."""
        with self._cursor(commit=True) as c:
            for statement in self.index_statements():
                c.execute(statement)

    def tracked(self, stream: str) -> int:
        """The last position recorded for ``stream`` (0: none), in the batch or read under way."""
        with self._cursor(commit=False) as c:
            return int(self._max_tracking_id(stream, c) or 0)  # type: ignore[attr-defined]

    def max_seq(self) -> int:
        with self._cursor(commit=False) as c:
            c.execute(self._sql("SELECT MAX(seq) FROM view_rows"))
            row = c.fetchone()
        value = _first(row)
        return int(value or 0)

    def write(
        self,
        rows: Sequence[tuple[StoredRow, int]],
        deleted: Sequence[tuple[str, str]],
        trackings: Sequence[Tracking],
    ) -> None:
        """Rows (each with the ``seq`` it takes if it is new), deletions and the streams'
        positions, in one transaction."""
        with self._cursor(commit=True) as c:
            if rows:
                c.executemany(
                    self._sql(_UPSERT),
                    [(r.kind, r.key, r.body, *r.columns, seq) for r, seq in rows],
                )
            for kind, key in deleted:
                c.execute(
                    self._sql("DELETE FROM view_rows WHERE kind = ? AND key = ?"), (kind, key)
                )
            for tracking in trackings:
                self._insert_tracking(c, tracking)  # type: ignore[attr-defined]

    def bodies(self, kind: str, keys: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with self._cursor(commit=False) as c:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                c.execute(
                    self._sql(
                        f"SELECT key, body FROM view_rows WHERE kind = ? AND key IN ({marks})"
                    ),
                    (kind, *chunk),
                )
                for row in c.fetchall():
                    found[_at(row, 0, "key")] = _at(row, 1, "body")
        return found

    def select(
        self,
        kind: str,
        where: str = "",
        params: Sequence[Any] = (),
        order: str = "seq",
        limit: int | None = None,
        offset: int = 0,
    ) -> list[tuple[str, str]]:
        """(key, body) of the rows of ``kind`` matching ``where`` (over the indexed columns),
        in ``order``."""
        statement = f"SELECT key, body FROM view_rows WHERE kind = ?{where} ORDER BY {order}"
        args: list[Any] = [kind, *params]
        if limit is not None:
            statement += " LIMIT ? OFFSET ?"
            args += [limit, offset]
        with self._cursor(commit=False) as c:
            c.execute(self._sql(statement), args)
            return [(_at(r, 0, "key"), _at(r, 1, "body")) for r in c.fetchall()]

    def columns(
        self, kind: str, names: Sequence[str], where: str = "", params: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        """Only the indexed columns ``names`` of the matching rows (no body read): for counts
        and medians over many rows."""
        statement = f"SELECT {', '.join(names)} FROM view_rows WHERE kind = ?{where}"
        with self._cursor(commit=False) as c:
            c.execute(self._sql(statement), (kind, *params))
            return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in c.fetchall()]

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A read of ``view_rows`` written with ``?`` (a count grouped in the database)."""
        with self._cursor(commit=False) as c:
            c.execute(self._sql(statement), tuple(params))
            return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in c.fetchall()]

    def count(self, kind: str, where: str = "", params: Sequence[Any] = ()) -> int:
        with self._cursor(commit=False) as c:
            c.execute(
                self._sql(f"SELECT COUNT(*) FROM view_rows WHERE kind = ?{where}"), (kind, *params)
            )
            return int(_first(c.fetchone()) or 0)

    def keys(self, kind: str) -> list[str]:
        """The keys of ``kind`` in order, without reading the rows' bodies."""
        return [
            key
            for (key,) in self.query(
                "SELECT key FROM view_rows WHERE kind = ? ORDER BY seq", [kind]
            )
        ]


def _first(row: Any) -> Any:
    if row is None:
        return None
    if isinstance(row, dict):
        return next(iter(row.values()))
    return row[0]


def _at(row: Any, index: int, name: str) -> Any:
    return row[name] if isinstance(row, dict) else row[index]


# Indexes replaced by others, dropped from views made before.
_REPLACED = ("view_rows_overdue",)


class SQLiteViewRecorder(_Rows, SQLiteTrackingRecorder):
    def __init__(self, datastore: SQLiteDatastore, *, indexed: bool = True) -> None:
        self.indexed = indexed  # asked by the library's constructor, below
        super().__init__(datastore)

    def index_statements(self) -> list[Any]:
        return [*_INDEXES, *(f"DROP INDEX IF EXISTS {name}" for name in _REPLACED)]

    def construct_create_table_statements(self) -> list[str]:
        indexes = self.index_statements() if self.indexed else []
        return [*super().construct_create_table_statements(), _TABLE, *indexes]


class PostgresViewRecorder(_Rows, PostgresTrackingRecorder):
    placeholder = "%s"

    def __init__(self, datastore: PostgresDatastore, *, indexed: bool = True) -> None:
        super().__init__(datastore, tracking_table_name="view_tracking")
        # In the datastore's schema, as the library's own tables are.
        self.table = f'"{datastore.schema}".view_rows'
        self.sql_create_statements.append(SQL(self._sql(_TABLE)).format())
        if indexed:
            self.sql_create_statements.extend(self.index_statements())

    def index_statements(self) -> list[Any]:
        schema = self.datastore.schema
        return [
            *(SQL(self._sql(s)).format() for s in _INDEXES),
            *(SQL(f'DROP INDEX IF EXISTS "{schema}".{name}').format() for name in _REPLACED),
        ]


ViewRecorder = SQLiteViewRecorder | PostgresViewRecorder


@dataclass(frozen=True)
class ViewPlace:
    """Where one generation of the views is kept: an SQLite file (or, for a replay and the
    tests, memory), or a PostgreSQL schema."""

    generation: int = 1
    sqlite_path: Path | None = None
    postgres: dict[str, Any] | None = None
    # Opened without its secondary indexes (a rebuild beside: they are made once it has caught
    # up, ``Feed``); opened indexed, a store that lacks them gains them.
    indexed: bool = True
    # In memory: one name per place, so every reader of it opens the same database.
    temporary: bool = False  # removed once the views kept in it are no longer used
    memory_name: str = field(
        default_factory=lambda: f"file:views-{uuid4().hex}?mode=memory&cache=shared"
    )

    @classmethod
    def scratch(cls) -> ViewPlace:
        """A file of its own in the temporary directory, removed when the process ends: a
        replay of a long history kept out of memory."""
        handle, name = tempfile.mkstemp(prefix="chb-views-", suffix=".sqlite")
        os.close(handle)
        atexit.register(_remove, name)
        return cls(sqlite_path=Path(name), temporary=True)

    def open(self) -> ViewRecorder:
        if self.postgres is not None:
            # Connections checked before use: after a database restart (or connections ended
            # by an administrator) the pool opens new ones rather than failing a request.
            postgres = self.postgres

            # One connection kept (each API process has a few of these: the writer's, the
            # reader's), more only while requests overlap: PostgreSQL's connections are few.
            def datastore() -> PostgresDatastore:
                return PostgresDatastore(**postgres, pool_size=1, max_overflow=3, pre_ping=True)

            recorder: ViewRecorder = PostgresViewRecorder(datastore(), indexed=self.indexed)
            recorder.renew = datastore
        else:
            name = str(self.sqlite_path) if self.sqlite_path is not None else self.memory_name
            recorder = SQLiteViewRecorder(
                SQLiteDatastore(name, lock_timeout=10), indexed=self.indexed
            )
        try:
            recorder.create_table()
        except (IntegrityError, ProgrammingError) as error:
            if not _made_meanwhile(error):
                raise
            recorder.create_table()  # now they exist: IF NOT EXISTS holds
        return recorder


def _made_meanwhile(error: Exception) -> bool:
    """Whether another process made the same table or index at the same moment: PostgreSQL's
    ``IF NOT EXISTS`` does not hold between two sessions making one at once (one of them fails
    with a duplicate table, or a unique violation on the catalogue)."""
    if isinstance(error, IntegrityError):
        return True
    return isinstance(
        error.__cause__,
        psycopg.errors.DuplicateTable | psycopg.errors.DuplicateObject,
    )


def remove_place(recorder: ViewRecorder, place: ViewPlace) -> None:
    """Close a temporary place's database and remove its file."""
    recorder.datastore.close()
    if place.sqlite_path is not None:
        _remove(str(place.sqlite_path))


def _remove(name: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{name}{suffix}")
