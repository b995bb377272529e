"""The audit index: every published event once, keyed for the questions auditors ask.

A derived, rebuildable SQLite file (never a source of truth): one row per integration event
with its service, notification id, recorded time (UTC, fixed width so text order is time
order), operation, place, cause and the event's JSON. It is brought up to date incrementally
from the stores (only notifications past the last indexed one are read), so:

- the state of one operation at a moment is a query over that operation's rows only, however
  long the whole history is;
- a replay of everything is a single ordered scan, events parsed one by one (memory holds the
  read model being built, not the history).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from contracts import ContractError, IntegrationEvent, parse_event
from contracts.place import place_key
from contracts.registry import REGISTRY
from services.audit.timeline import Entry
from services.runtime.settings import Settings
from services.runtime.topology import H_NOTIFICATION_ID, stream_name, subjects
from services.views.read_model import ReadModel
from services.views.store import ViewPlace
from services.views.stores import SOURCES, open_store, pages, translated

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    service TEXT NOT NULL,
    notification_id INTEGER NOT NULL,
    recorded_at TEXT NOT NULL,
    operation_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    causation_id TEXT,
    place TEXT,
    item_id TEXT,
    event_type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (service, notification_id)
);
CREATE INDEX IF NOT EXISTS events_by_operation ON events (operation_id, recorded_at);
CREATE INDEX IF NOT EXISTS events_by_time ON events (recorded_at, service, notification_id);
CREATE INDEX IF NOT EXISTS events_by_cause ON events (causation_id);
CREATE INDEX IF NOT EXISTS events_by_place ON events (place, event_type);
CREATE INDEX IF NOT EXISTS events_by_item ON events (item_id);
CREATE TABLE IF NOT EXISTS positions (
    service TEXT PRIMARY KEY,
    notification_id INTEGER NOT NULL,
    stream_sequence INTEGER NOT NULL DEFAULT 0  -- when fed from the service's stream
);
"""
PAGE = 2000
# Bumped whenever the rows' meaning changes: an index of another version is rebuilt.
# 5: PlanGateDecided and ProgrammeChanged v2 (v1 bodies are no longer read); 6: notify's events,
# a notification's item (the task or milestone it is about) as its item.
VERSION = 6
NIL = "00000000-0000-0000-0000-000000000000"
# The id of the thing an event is about, for the events that carry one.
ITEM_FIELDS = ("task_id", "milestone_id", "programme_id", "case_id", "plan_id", "item_id")
PLANNED = "OperationPlanned"
# What a place's resilience plan is made of, for the plan as it stood at a moment.
PLAN_EVENTS = (
    "ResiliencePlanOpened",
    "PlanGateSignedOff",
    "PlanGateDecided",
    "MilestoneScheduled",
    "MilestoneChanged",
    "ProgrammeRegistered",
    "ProgrammeChanged",
)
COLUMNS = "service, notification_id, recorded_at, event_type, schema_version, body"


def utc_text(moment: datetime) -> str:
    """Fixed-width UTC text: compares as text exactly as the instants compare."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def default_path(settings: Settings) -> Path:
    """Beside the SQLite stores; for PostgreSQL, named after the database and schemas."""
    if settings.store == "postgres":
        name = f"{settings.postgres_host}-{settings.postgres_port}-{settings.postgres_dbname}"
        return settings.data_dir / f"audit-index-{name}-{settings.postgres_schema_prefix}.sqlite"
    return settings.data_dir / "audit-index.sqlite"


class AuditIndex:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, check_same_thread=False)
        # A cache that can always be rebuilt: no need to fsync every page of it.
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        if self.db.execute("PRAGMA user_version").fetchone()[0] != VERSION:
            self.db.executescript("DROP TABLE IF EXISTS events; DROP TABLE IF EXISTS positions;")
            self.db.execute(f"PRAGMA user_version = {VERSION}")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def clear(self) -> None:
        with self.db:
            self.db.execute("DELETE FROM events")
            self.db.execute("DELETE FROM positions")

    def position(self, service: str) -> int:
        row = self.db.execute(
            "SELECT notification_id FROM positions WHERE service = ?", (service,)
        ).fetchone()
        return int(row[0]) if row else 0

    def stream_position(self, service: str) -> int:
        row = self.db.execute(
            "SELECT stream_sequence FROM positions WHERE service = ?", (service,)
        ).fetchone()
        return int(row[0]) if row else 0

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def add(
        self,
        service: str,
        events: Iterable[tuple[int, IntegrationEvent]],
        upto: int,
        stream_sequence: int = 0,
    ) -> int:
        """Index events of one service (in notification order) and move its position to
        ``upto`` (and, fed from a stream, to ``stream_sequence``), in one transaction. Events
        already indexed are left as they are."""
        rows = [_row(service, nid, event) for nid, event in events]
        # An event that names no place belongs to its operation's place (filled in from the
        # operation's plan, whichever of the two was indexed first), or for place-level work
        # (no operation) to the place of the milestone or programme it is about.
        by_operation = {r[3] for r in rows if r[3] != NIL and (r[6] is None or r[8] == PLANNED)}
        by_item = {r[7] for r in rows if r[3] == NIL and r[7] is not None}
        with self.db:
            self.db.executemany(
                "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
            self.db.executemany(
                "UPDATE events SET place = (SELECT p.place FROM events p WHERE "
                f"p.operation_id = ?1 AND p.event_type = '{PLANNED}') "
                "WHERE operation_id = ?1 AND place IS NULL",
                [(op,) for op in by_operation],
            )
            self.db.executemany(
                "UPDATE events SET place = (SELECT p.place FROM events p WHERE "
                "p.item_id = ?1 AND p.place IS NOT NULL LIMIT 1) "
                "WHERE item_id = ?1 AND place IS NULL",
                [(item,) for item in by_item],
            )
            self.db.execute(
                "INSERT INTO positions VALUES (?, ?, ?) ON CONFLICT (service) DO UPDATE "
                "SET notification_id = MAX(notification_id, excluded.notification_id), "
                "stream_sequence = MAX(stream_sequence, excluded.stream_sequence)",
                (service, upto, stream_sequence),
            )
        return len(rows)

    def catch_up(self, settings: Settings, progress: Callable[[int], None] = lambda n: None) -> int:
        """Index every notification recorded since the last run; returns how many were read."""
        read = 0
        for service in SOURCES:
            app = open_store(service, settings)
            try:
                if self.position(service) > (app.recorder.max_notification_id() or 0):
                    # The store was replaced by a shorter one: this index describes another.
                    self.clear()
                for notifications in pages(app, self.position(service) + 1, PAGE):
                    events = translated(service, app, notifications)
                    self.add(service, events, notifications[-1].id)
                    read += len(notifications)
                    progress(len(notifications))
            finally:
                app.close()
        return read

    def backlog(self, settings: Settings) -> int:
        """How many notifications the stores hold past what is indexed."""
        total = 0
        for service in SOURCES:
            app = open_store(service, settings)
            try:
                total += max(0, (app.recorder.max_notification_id() or 0) - self.position(service))
            finally:
                app.close()
        return total

    def events(
        self,
        operation_id: UUID | str | None = None,
        until: datetime | None = None,
        place: str | None = None,
        types: tuple[str, ...] = (),
    ) -> Iterator[IntegrationEvent]:
        """Events in recorded order (one operation's, a place's, of some types, or all), up
        to ``until`` if given; read and parsed one at a time."""
        clauses, params = [], []
        if operation_id is not None:
            clauses.append("operation_id = ?")
            params.append(str(operation_id))
        if place is not None:
            clauses.append("place = ?")
            params.append(place_key(place))
        if types:
            clauses.append(f"event_type IN ({', '.join('?' * len(types))})")
            params += types
        if until is not None:
            clauses.append("recorded_at <= ?")
            params.append(utc_text(until))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        order = "ORDER BY recorded_at, service, notification_id"
        cursor = self.db.execute(
            f"SELECT event_type, schema_version, body FROM events {where} {order}", params
        )
        while rows := cursor.fetchmany(PAGE):
            for event_type, version, body in rows:
                yield REGISTRY[(event_type, version)].model_validate_json(body)

    def entries(self, operation_id: str | None = None, place: str | None = None) -> Iterator[Entry]:
        """Timeline entries (one operation's, a place's, or all) in recorded order, each with
        what it caused within the same scope; streamed, so an export of everything holds one
        page at a time. The scope is the one ``timeline.assemble`` gives."""
        operations: set[str] | None = None
        if place is not None:
            operations = {
                row[0]
                for row in self.db.execute(
                    "SELECT operation_id FROM events WHERE event_type = 'OperationPlanned' "
                    "AND place = ?",
                    (place_key(place),),
                )
            }
        if operation_id is not None:
            op = str(operation_id)
            operations = {op} if operations is None else operations & {op}
        where, params = "", list[object]()
        if operations is not None:
            where = f"WHERE operation_id IN ({', '.join('?' * len(operations))})"
            params = [*operations]
            if place is not None:
                where += " OR place = ?"
                params.append(place_key(place))
        cursor = self.db.execute(
            "SELECT service, notification_id, event_type, schema_version, body, event_id "
            f"FROM events {where} ORDER BY recorded_at, service, notification_id",
            params,
        )
        causes = self.db.cursor()
        while rows := cursor.fetchmany(PAGE):
            for service, nid, event_type, version, body, event_id in rows:
                event = REGISTRY[(event_type, version)].model_validate_json(body)
                entry = Entry.of(service, nid, event)
                children = causes.execute(
                    "SELECT event_id, operation_id, place FROM events WHERE causation_id = ? "
                    "ORDER BY recorded_at, service, notification_id",
                    (event_id,),
                )
                entry.caused = [
                    child
                    for child, child_operation, child_place in children
                    if operations is None
                    or child_operation in operations
                    or (place is not None and child_place == place_key(place))
                ]
                yield entry

    def replay(
        self,
        operation_id: UUID | str | None = None,
        until: datetime | None = None,
        progress: Callable[[int], None] = lambda n: None,
        place: str | None = None,
        types: tuple[str, ...] = (),
    ) -> ReadModel:
        """The read model as it stood at ``until`` (or now): for one operation, a place's
        events of some ``types`` (e.g. ``PLAN_EVENTS``), or everything."""
        # One row per (service, notification): no repeats. A replay of everything is kept in a
        # file, not in memory: a history of millions of events replays in bounded memory.
        everything = operation_id is None and place is None and not types
        place_of_views = ViewPlace.scratch() if everything else None
        model = ReadModel(place_of_views, dedupe=False)

        def counted() -> Iterator[IntegrationEvent]:
            for n, event in enumerate(self.events(operation_id, until, place, types), 1):
                yield event
                if n % PAGE == 0:
                    progress(PAGE)

        model.apply_all(counted())
        return model


def _row(service: str, nid: int, event: IntegrationEvent) -> tuple[object, ...]:
    place = getattr(event, "place", None)
    item = next((getattr(event, f) for f in ITEM_FIELDS if hasattr(event, f)), None)
    return (
        service,
        nid,
        utc_text(event.recorded_at),
        str(event.operation_id),
        str(event.event_id),
        str(event.causation_id) if event.causation_id else None,
        place_key(place) if isinstance(place, str) else None,
        str(item) if item is not None else None,
        event.event_type,
        event.schema_version,
        event.model_dump_json(),
    )


async def catch_up_from_streams(index: AuditIndex, js: JetStreamContext, batch: int = 1000) -> int:
    """Index what each service published since the index last looked (the API's feed: it
    reads streams, never stores). Done when an audit question is asked, not as events arrive,
    so the arrests' hot path pays nothing for it. Returns how many messages were read."""
    read = 0
    for service in SOURCES:
        try:
            info = await js.stream_info(stream_name(service))
        except NotFoundError:
            continue
        last, position = info.state.last_seq, index.stream_position(service)
        if position > last:  # the stream was made anew: this index describes another
            await asyncio.to_thread(index.clear)
            position = 0
        position = max(position, info.state.first_seq - 1)
        if position >= last:
            continue
        sub = await js.pull_subscribe(
            subjects(service),
            stream=stream_name(service),
            config=ConsumerConfig(
                ack_policy=AckPolicy.NONE,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=position + 1,
                inactive_threshold=60.0,
            ),
        )
        try:
            while position < last:
                events: list[tuple[int, IntegrationEvent]] = []
                for msg in await sub.fetch(min(batch, last - position), timeout=10):
                    position = msg.metadata.sequence.stream
                    nid = (msg.headers or {}).get(H_NOTIFICATION_ID, "")
                    with contextlib.suppress(ContractError):
                        if nid.isdigit():  # not from a relay: not part of the record
                            events.append((int(nid), parse_event(msg.data)))
                    read += 1
                upto = events[-1][0] if events else index.position(service)
                await asyncio.to_thread(index.add, service, events, upto, position)
        finally:
            await sub.unsubscribe()
    return read


def open_index(settings: Settings, path: Path | None = None) -> AuditIndex:
    return AuditIndex(path or default_path(settings))
