"""A NATS connection as one user, collecting the errors the server sends it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

from services.runtime.embedded_nats import EmbeddedNats
from services.runtime.nats_access import connect_options
from services.runtime.settings import Settings
from tests.support.system import eventually

REFUSED = (nats.errors.TimeoutError, nats.errors.NoRespondersError)
DENIED_TIMEOUT = 0.25


@dataclass
class Connection:
    """A connection as one user, keeping the errors the server sent it."""

    nc: Client
    errors: list[str] = field(default_factory=list)

    @property
    def js(self) -> JetStreamContext:
        return self.nc.jetstream(timeout=1.0)

    @property
    def denied(self) -> JetStreamContext:
        """For a JetStream call the server is expected to refuse: a refused request is never
        answered, so it ends in a timeout, kept short here. That it was a refusal, not a slow
        answer, is what ``refused`` checks (the server's permissions violation)."""
        return self.nc.jetstream(timeout=DENIED_TIMEOUT)

    async def refused(self, action: str, subject: str) -> bool:
        """Whether the server refused ``action`` ("publish" or "subscription") on
        ``subject`` as a permissions violation (nats-py reports it in lower case)."""
        wanted = f'permissions violation for {action} to "{subject.lower()}"'
        await eventually(
            lambda: _errors(self),
            lambda errors: any(wanted in e for e in errors),
            within=5.0,
            what=f"{action} to {subject} refused; errors: {self.errors}",
        )
        return True


async def _errors(connection: Connection) -> list[str]:
    return connection.errors


@contextlib.asynccontextmanager
async def connected(server: EmbeddedNats, user: str) -> AsyncIterator[Connection]:
    settings = Settings(**server.access(user))
    errors: list[str] = []

    async def collect(error: Exception) -> None:
        errors.append(str(error).lower())

    nc = await nats.connect(
        settings.nats_url, error_cb=collect, allow_reconnect=False, **connect_options(settings)
    )
    try:
        yield Connection(nc, errors)
    finally:
        await nc.close()
