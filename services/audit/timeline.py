"""One timeline from every service's history, read straight from the stores.

Each service's notification log is replayed through the same translation its relay uses, so
an entry says exactly what was published: when, who (person, agency, role), why (reason), what
caused it (causation) and, once the timeline is assembled, what it caused.
"""

from __future__ import annotations

import csv
import heapq
import io
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import nats
from eventsourcing.application import Application
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from contracts import ContractError, IntegrationEvent, parse_event
from contracts.place import same_place
from services.runtime.settings import Settings
from services.runtime.topology import H_NOTIFICATION_ID, stream_name, subjects
from services.views.read_model import ReadModel
from services.views.store import ViewPlace
from services.views.stores import SOURCES, connect_once, open_stores, pages, translated

ENVELOPE = {
    "event_id",
    "event_type",
    "schema_version",
    "occurred_at",
    "recorded_at",
    "operation_id",
    "causation_id",
    "actor",
    "reason",
}
PAGE = 1000


@dataclass
class Entry:
    recorded_at: str
    occurred_at: str
    service: str
    notification_id: int
    event_type: str
    event_id: str
    operation_id: str
    causation_id: str | None
    actor_id: str
    actor_agency: str
    actor_role: str
    reason: str | None
    facts: dict[str, Any]
    caused: list[str] = field(default_factory=list)

    @property
    def headline(self) -> str:
        """The event's type and, for an event that records a step (a task's, a milestone's,
        a programme's), which step, who it went to and the status it left: one line, for a
        person reading the timeline (the facts hold the rest)."""
        change = self.facts.get("change")
        if not isinstance(change, str):
            return self.event_type
        line = f"{self.event_type}: {change}"
        if self.facts.get("agency"):
            line += f" ({self.facts['agency']})"
        status = self.facts.get("status")
        return line + (f", now {status}" if status and status != change else "")

    @classmethod
    def of(cls, service: str, notification_id: int, event: IntegrationEvent) -> Entry:
        data = event.model_dump(mode="json")
        return cls(
            recorded_at=data["recorded_at"],
            occurred_at=data["occurred_at"],
            service=service,
            notification_id=notification_id,
            event_type=event.event_type,
            event_id=str(event.event_id),
            operation_id=str(event.operation_id),
            causation_id=str(event.causation_id) if event.causation_id else None,
            actor_id=event.actor.id,
            actor_agency=event.actor.agency,
            actor_role=event.actor.role,
            reason=event.reason,
            facts={k: v for k, v in data.items() if k not in ENVELOPE},
        )


def merged(histories: list[Iterator[Entry]] | list[Iterable[Entry]]) -> Iterator[Entry]:
    """Every history merged by the time each event was recorded (each is already in order)."""
    return heapq.merge(*histories, key=lambda e: (e.recorded_at, e.service, e.notification_id))


Histories = Mapping[str, Iterable[tuple[int, IntegrationEvent]]]


def store_histories(
    settings: Settings, apps: dict[str, Application[UUID]], progress: Callable[[int], None]
) -> Histories:
    def numbered(service: str, app: Application[UUID]) -> Iterator[tuple[int, IntegrationEvent]]:
        for notifications in pages(app, 1, PAGE):
            yield from translated(service, app, notifications)
            progress(len(notifications))

    return {service: numbered(service, app) for service, app in apps.items()}


async def stream_histories(settings: Settings, until: Mapping[str, int] | None = None) -> Histories:
    """What a running system published, read from its streams (not its stores) at
    ``settings.nats_url`` as the settings' user; up to the stream sequence ``until`` gives for
    a stream, if it gives one."""
    nc = await connect_once(settings)
    js = nc.jetstream()
    histories: dict[str, list[tuple[int, IntegrationEvent]]] = {}
    try:
        for service in SOURCES:
            events: list[tuple[int, IntegrationEvent]] = []
            try:
                info = await js.stream_info(stream_name(service))
            except nats.js.errors.NotFoundError:
                histories[service] = events
                continue
            last = min(info.state.last_seq, (until or {}).get(stream_name(service), 1 << 62))
            sub = await js.pull_subscribe(
                subjects(service),
                stream=stream_name(service),
                config=ConsumerConfig(ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL),
            )
            position = info.state.first_seq - 1 if info.state.messages else last
            while position < last:
                for msg in await sub.fetch(min(last - position, 1000), timeout=10):
                    position = msg.metadata.sequence.stream
                    if position > last:
                        break
                    nid = (msg.headers or {}).get(H_NOTIFICATION_ID)
                    if nid is None or not nid.isdigit():
                        continue  # not from a relay: not part of the record
                    try:
                        events.append((int(nid), parse_event(msg.data)))
                    except ContractError:
                        continue
            await sub.unsubscribe()
            histories[service] = events
    finally:
        await nc.close()
    return histories


def timeline(
    settings: Settings,
    operation_id: str | None = None,
    place: str | None = None,
    progress: Callable[[int], None] = lambda n: None,
    histories: Histories | None = None,
) -> list[Entry]:
    """The timeline of one operation, or of every operation in a place (or everything), with
    what each entry caused filled in; from the stores, or from ``histories`` if given."""
    apps = open_stores(settings) if histories is None else {}
    try:
        source = histories if histories is not None else store_histories(settings, apps, progress)
        entries = assemble(source, operation_id, place)
    finally:
        for app in apps.values():
            app.close()
    return entries


def _entries(service: str, events: Iterable[tuple[int, IntegrationEvent]]) -> Iterator[Entry]:
    for nid, event in events:
        yield Entry.of(service, nid, event)


def assemble(histories: Histories, operation_id: str | None, place: str | None) -> list[Entry]:
    streams = [_entries(service, events) for service, events in histories.items()]
    everything = list(merged(streams))
    operations: set[str] | None = None
    if place is not None:
        operations = {
            e.operation_id
            for e in everything
            if e.event_type == "OperationPlanned" and same_place(str(e.facts["place"]), place)
        }
    if operation_id is not None:
        operations = {operation_id} if operations is None else operations & {operation_id}
    entries = [
        e
        for e in everything
        if operations is None or e.operation_id in operations or _place_wide(e, place)
    ]
    by_id = {e.event_id: e for e in entries}
    for entry in entries:
        if entry.causation_id in by_id:
            by_id[entry.causation_id].caused.append(entry.event_id)
    return entries


def replay(
    settings: Settings,
    until: datetime | None = None,
    progress: Callable[[int], None] = lambda n: None,
    histories: Histories | None = None,
) -> ReadModel:
    """The read model the front door serves, rebuilt from the history alone (the stores, or
    ``histories`` if given): as it is now, or as it was at ``until`` (every event recorded up
    to and including that moment)."""
    model = ReadModel(ViewPlace.scratch())  # in a file: bounded memory for any history
    apps = open_stores(settings) if histories is None else {}
    try:
        source = histories if histories is not None else store_histories(settings, apps, progress)
        streams = [(event for _, event in events) for events in source.values()]
        merged = heapq.merge(*streams, key=lambda e: e.recorded_at)
        model.apply_all(
            itertools.takewhile(lambda e: until is None or e.recorded_at <= until, merged)
        )
    finally:
        for app in apps.values():
            app.close()
    return model


def _place_wide(entry: Entry, place: str | None) -> bool:
    """Build's place-level events (a plan's gate, its programmes) belong to the place."""
    return place is not None and same_place(str(entry.facts.get("place", "")), place)


def jsonl_line(entry: Entry) -> str:
    return json.dumps(asdict(entry), ensure_ascii=False) + "\n"


def to_jsonl(entries: Iterable[Entry]) -> str:
    return "".join(map(jsonl_line, entries))


CSV_COLUMNS = (
    "recorded_at",
    "occurred_at",
    "service",
    "event_type",
    "event_id",
    "operation_id",
    "causation_id",
    "caused",
    "actor_id",
    "actor_agency",
    "actor_role",
    "reason",
    "facts",
)


def csv_lines(entries: Iterable[Entry]) -> Iterator[str]:
    """The CSV export line by line, header first (so it can be written as it is read)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        row = asdict(e)
        row["caused"] = " ".join(e.caused)
        row["facts"] = json.dumps(e.facts, ensure_ascii=False, sort_keys=True)
        writer.writerow([row[c] if row[c] is not None else "" for c in CSV_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def to_csv(entries: Iterable[Entry]) -> str:
    return "".join(csv_lines(entries))
