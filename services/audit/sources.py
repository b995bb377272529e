"""Each service's store, opened for reading by the audit tools, and how its events translate."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import Application

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


def open_store(service: str, settings: Settings) -> Application[UUID]:
    cls, _ = SOURCES[service]
    return cls(env=store_env(settings, service))


def open_stores(settings: Settings) -> dict[str, Application[UUID]]:
    return {service: open_store(service, settings) for service in SOURCES}
