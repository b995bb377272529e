"""Each service's store, opened for reading by the audit tools, and how its events translate.

Here, with the views (which may import the services), so that the audit tools reach a service's
store and its translation only through this module, never the service itself."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from uuid import UUID

import nats
from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from nats.aio.client import Client

from contracts import IntegrationEvent
from services.build.application import BuildApplication
from services.build.translation import translate as build_translate
from services.clear.application import ClearApplication
from services.clear.translation import translate as clear_translate
from services.hold.application import HoldApplication
from services.hold.translation import translate as hold_translate
from services.notify.application import NotifyApplication
from services.notify.translation import translate as notify_translate
from services.runtime.nats_access import connect_options, servers
from services.runtime.settings import Settings
from services.runtime.store import sqlite_file, store_env
from services.runtime.translation import Translator

SOURCES: dict[str, tuple[type[Application[UUID]], Translator]] = {
    "clear": (ClearApplication, clear_translate),
    "hold": (HoldApplication, hold_translate),
    "build": (BuildApplication, build_translate),
    # The notifier's record (who was told of what, and how it went): in the timeline, the
    # audit index, verify and reconcile like the others.
    "notify": (NotifyApplication, notify_translate),
}


def open_store(service: str, settings: Settings) -> Application[UUID]:
    """A service's store, for reading. An SQLite store that exists already has its tables:
    not made again, since making them waits for the running service's write lock (a busy
    service kept an audit question waiting past SQLite's lock timeout)."""
    cls, _ = SOURCES[service]
    env = store_env(settings, service)
    if settings.store == "sqlite" and sqlite_file(settings, service).is_file():
        env["CREATE_TABLE"] = "n"
    return cls(env=env)


def open_stores(settings: Settings) -> dict[str, Application[UUID]]:
    return {service: open_store(service, settings) for service in SOURCES}


def pages(app: Application[UUID], start: int, size: int) -> Iterator[Sequence[Notification]]:
    """A store's notification log from ``start``, one page of ``size`` at a time."""
    while notifications := app.recorder.select_notifications(start, size):
        yield notifications
        start = notifications[-1].id + 1


def translated(
    service: str, app: Application[UUID], notifications: Sequence[Notification]
) -> Iterator[tuple[int, IntegrationEvent]]:
    """What the service's relay published for these notifications, with their ids."""
    _, translate = SOURCES[service]
    for notification in notifications:
        event = translate(app.mapper.to_domain_event(notification))
        if event is not None:
            yield notification.id, event


async def connect_once(settings: Settings) -> Client:
    """A connection for one audit command, as the settings' NATS user (the auditor's, or the
    API's in the API): no reconnecting, no retry chatter (the caller reports a failure in one
    line; nats-py would print every attempt)."""

    async def quiet(_: Exception) -> None:
        return None

    return await nats.connect(
        servers(settings),
        allow_reconnect=False,
        connect_timeout=5,
        error_cb=quiet,
        **connect_options(settings),
    )
