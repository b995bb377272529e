"""The test session's nats-server runs with the production users and permissions: each test
process connects as the user it would be in production (``as_user``); tests that inspect or
tear down streams connect as the admin (``connect_as``)."""

from __future__ import annotations

import nats
from nats.aio.client import Client

from services.runtime.embedded_nats import EmbeddedNats
from services.runtime.nats_access import connect_options
from services.runtime.nats_permissions import ADMIN
from services.runtime.settings import Settings

# The session's server, set by the ``nats_server`` fixture (tests/conftest.py).
SESSION: list[EmbeddedNats] = []


def password(user: str) -> str:
    return SESSION[0].passwords[user]


def as_user(settings: Settings, user: str) -> Settings:
    """The same settings, connecting to NATS as ``user``."""
    return settings.model_copy(update={"nats_user": user, "nats_password": password(user)})


async def connect_as(settings: Settings, user: str = ADMIN) -> Client:
    target = as_user(settings, user)
    return await nats.connect(target.nats_url, **connect_options(target))
