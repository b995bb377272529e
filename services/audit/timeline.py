"""One timeline from every service's history, read straight from the stores.

Each service's notification log is replayed through the same translation its relay uses, so
an entry says exactly what was published: when, who (person, agency, role), why (reason), what
caused it (causation) and, once the timeline is assembled, what it caused.
"""

from __future__ import annotations

import csv
import heapq
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from contracts import IntegrationEvent
from services.api.read_model import ReadModel
from services.build.application import BuildApplication
from services.build.transport import translate as build_translate
from services.clear.application import ClearApplication
from services.clear.transport import translate as clear_translate
from services.hold.application import HoldApplication
from services.hold.transport import translate as hold_translate
from services.runtime.settings import Settings
from services.runtime.store import store_env
from services.runtime.translation import Translator

SOURCES: dict[str, tuple[type[Application[UUID]], Translator]] = {
    "clear": (ClearApplication, clear_translate),
    "hold": (HoldApplication, hold_translate),
    "build": (BuildApplication, build_translate),
}
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


def open_store(service: str, settings: Settings) -> Application[UUID]:
    cls, _ = SOURCES[service]
    return cls(env=store_env(settings, service))


def history(
    service: str, app: Application[UUID], progress: Callable[[int], None] = lambda n: None
) -> Iterator[Entry]:
    """A service's whole published history, in the order it was recorded, page by page (memory
    stays flat however long the history is)."""
    _, translate = SOURCES[service]
    start = 1
    while notifications := app.recorder.select_notifications(start, PAGE):
        for notification in notifications:
            event = translate(app.mapper.to_domain_event(notification))
            if event is not None:
                yield Entry.of(service, notification.id, event)
        progress(len(notifications))
        start = notifications[-1].id + 1


def published(
    service: str, app: Application[UUID], progress: Callable[[int], None] = lambda n: None
) -> Iterator[IntegrationEvent]:
    """A service's published events, in the order they were recorded, page by page."""
    _, translate = SOURCES[service]
    start = 1
    while notifications := app.recorder.select_notifications(start, PAGE):
        for notification in notifications:
            event = translate(app.mapper.to_domain_event(notification))
            if event is not None:
                yield event
        progress(len(notifications))
        start = notifications[-1].id + 1


def replay(
    settings: Settings,
    until: datetime | None = None,
    progress: Callable[[int], None] = lambda n: None,
) -> ReadModel:
    """The read model the front door serves, rebuilt from the stores alone: as it is now, or
    as it was at ``until`` (every event recorded up to and including that moment)."""
    model = ReadModel()
    apps = {service: open_store(service, settings) for service in SOURCES}
    try:
        streams = [published(s, app, progress) for s, app in apps.items()]
        for event in heapq.merge(*streams, key=lambda e: e.recorded_at):
            if until is not None and event.recorded_at > until:
                break
            model.apply(event)
    finally:
        for app in apps.values():
            app.close()
    return model


def merged(histories: list[Iterator[Entry]]) -> Iterator[Entry]:
    """Every history merged by the time each event was recorded (each is already in order)."""
    return heapq.merge(*histories, key=lambda e: (e.recorded_at, e.service, e.notification_id))


def timeline(
    settings: Settings,
    operation_id: str | None = None,
    place: str | None = None,
    progress: Callable[[int], None] = lambda n: None,
) -> list[Entry]:
    """The timeline of one operation, or of every operation in a place, with what each entry
    caused filled in."""
    apps = {service: open_store(service, settings) for service in SOURCES}
    try:
        operations: set[str] | None = None
        if place is not None:
            operations = {
                e.operation_id
                for e in history("clear", apps["clear"])
                if e.event_type == "OperationPlanned"
                and str(e.facts["place"]).casefold() == place.casefold()
            }
        if operation_id is not None:
            operations = {operation_id} if operations is None else operations & {operation_id}
        entries = [
            e
            for e in merged([history(s, app, progress) for s, app in apps.items()])
            if operations is None or e.operation_id in operations or _place_wide(e, place)
        ]
    finally:
        for app in apps.values():
            app.close()
    by_id = {e.event_id: e for e in entries}
    for entry in entries:
        if entry.causation_id in by_id:
            by_id[entry.causation_id].caused.append(entry.event_id)
    return entries


def _place_wide(entry: Entry, place: str | None) -> bool:
    """Build's place-level events (a plan's gate, its programmes) belong to the place."""
    return place is not None and str(entry.facts.get("place", "")).casefold() == place.casefold()


def total_notifications(settings: Settings) -> int:
    total = 0
    for service in SOURCES:
        app = open_store(service, settings)
        total += app.recorder.max_notification_id() or 0
        app.close()
    return total


def to_jsonl(entries: list[Entry]) -> str:
    return "".join(json.dumps(asdict(e), ensure_ascii=False) + "\n" for e in entries)


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


def to_csv(entries: list[Entry]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        row = asdict(e)
        row["caused"] = " ".join(e.caused)
        row["facts"] = json.dumps(e.facts, ensure_ascii=False, sort_keys=True)
        writer.writerow([row[c] if row[c] is not None else "" for c in CSV_COLUMNS])
    return buffer.getvalue()
