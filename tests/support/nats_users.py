"""The test session's nats-server runs with the production users and permissions: each test
process connects as the user it would be in production (``as_user``); tests that inspect or
tear down streams connect as the admin (``connect_as``)."""

from __future__ import annotations

import nats
from nats.aio.client import Client
from nats.js.errors import NotFoundError

from services.runtime.embedded_nats import EmbeddedNats
from services.runtime.nats_access import connect_options, servers
from services.runtime.nats_permissions import ADMIN
from services.runtime.settings import Settings
from services.runtime.topology import ALL_SERVICES, AUDIT_STREAM, KEYS_BUCKET, NOTIFY, stream_name

# The session's server, set by the ``nats_server`` fixture (tests/conftest.py).
SESSION: list[EmbeddedNats] = []


def password(user: str) -> str:
    return SESSION[0].passwords[user]


def as_user(settings: Settings, user: str) -> Settings:
    """The same settings, connecting to NATS as ``user``."""
    return settings.model_copy(update={"nats_user": user, "nats_password": password(user)})


async def connect_as(settings: Settings, user: str = ADMIN) -> Client:
    target = as_user(settings, user)
    return await nats.connect(servers(target), **connect_options(target))


Message = tuple[str, int, str, bytes, dict[str, str]]


async def every_message(settings: Settings) -> list[Message]:
    """Every message on every stream the system writes (the services', the audit stream and
    the household keys): stream, sequence, subject, body, headers. For searches of the lot."""
    nc = await connect_as(settings)
    js = nc.jetstream()
    found: list[Message] = []
    try:
        streams = [stream_name(s) for s in ALL_SERVICES] + [AUDIT_STREAM, f"KV_{KEYS_BUCKET}"]
        for name in streams:
            try:
                info = await js.stream_info(name)
            except NotFoundError:
                if name == stream_name(NOTIFY):
                    continue  # a test that does not run the notifier has no notify stream
                raise
            for seq in range(max(info.state.first_seq, 1), info.state.last_seq + 1):
                try:
                    msg = await js.get_msg(name, seq)
                except NotFoundError:
                    continue
                headers = dict(msg.headers or {})
                found.append((name, seq, msg.subject or "", msg.data or b"", headers))
    finally:
        await nc.close()
    return found
