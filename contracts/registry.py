"""Which event types and versions exist, where they are published, and how to read one."""

from __future__ import annotations

import re
from typing import Any

import orjson
from pydantic import ValidationError

# The modules that define the events: importing them registers every event type.
from contracts import build, clear, dead_letter, hold, indicators, notify  # noqa: F401
from contracts.envelope import EVENT_TYPES, IntegrationEvent

# Every event type, by its service (clear, hold, build, notify; indicators are build's; dead
# letters any service's), each in the order its module defines it.
_ORDER = ("clear", "hold", "build", "indicators", "dead_letter", "notify")
ALL_EVENTS: tuple[type[IntegrationEvent], ...] = tuple(
    sorted(EVENT_TYPES, key=lambda c: _ORDER.index(c.__module__.rpartition(".")[2]))
)


def _key(cls: type[IntegrationEvent]) -> tuple[str, int]:
    fields = cls.model_fields
    return fields["event_type"].default, fields["schema_version"].default


REGISTRY: dict[tuple[str, int], type[IntegrationEvent]] = {_key(c): c for c in ALL_EVENTS}
# The producing services, defined once (services/runtime/topology.py names their streams).
SERVICES = ("clear", "hold", "build")
# Every service that publishes: the three phases and the notifier (services/notify).
PRODUCERS = (*SERVICES, "notify")


class ContractError(ValueError):
    """A message that cannot be read as a known integration event. Dead-letter it."""


class MalformedEvent(ContractError):
    pass


class UnknownEventType(ContractError):
    pass


class UnsupportedVersion(ContractError):
    pass


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def subject_for(service: str, event_type: str) -> str:
    """``chb.<service>.<event>``: no ids and no names in subjects, ever."""
    if service not in PRODUCERS:
        raise ValueError(f"unknown service {service!r}")
    return f"chb.{service}.{_snake(event_type)}"


def command_subject(service: str, command: str) -> str:
    """Request/reply subjects for commands: outside every stream, so JetStream never answers."""
    return f"cmd.{service}.{command}"


def parse_event(data: bytes | str) -> IntegrationEvent:
    """Read one message body, refusing anything that is not exactly a known contract."""
    try:
        # orjson: a third of the time json's parser takes (a rebuild parses every event); it
        # is stricter too (no NaN, no integer beyond 64 bits), which no contract allows.
        raw: Any = orjson.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedEvent(f"body is not JSON: {error}") from None
    if not isinstance(raw, dict):
        raise MalformedEvent("body is not a JSON object")
    event_type, version = raw.get("event_type"), raw.get("schema_version")
    if not isinstance(event_type, str):
        raise MalformedEvent("event_type: missing or not a string")
    if not isinstance(version, int) or isinstance(version, bool):
        raise MalformedEvent("schema_version: missing or not an integer")
    cls = REGISTRY.get((event_type, version))
    if cls is None:
        if any(key[0] == event_type for key in REGISTRY):
            known = sorted(v for (t, v) in REGISTRY if t == event_type)
            raise UnsupportedVersion(
                f"{event_type} schema_version {version} is not supported (known: {known})"
            )
        raise UnknownEventType(f"unknown event_type {event_type!r}")
    try:
        return cls.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise MalformedEvent(
            f"{event_type} v{version}: {where}: {first['msg']} ({error.error_count()} errors)"
        ) from None
