"""A relay held back, and a second front door, for watching a view catch up (issue 17)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from services.api.app import create_app
from services.runtime.nats_permissions import API
from services.runtime.settings import Settings
from services.runtime.translation import Translator
from tests.support.nats_users import as_user
from tests.support.system import signed_in


class RelayGate:
    """Holds a relay back: each notification it translates (in the relay's worker thread)
    waits for a permit the test hands out, so a catch-up goes at the test's pace."""

    def __init__(self) -> None:
        self._permits = threading.Semaphore(0)
        self._open = threading.Event()

    def wrap(self, translate: Translator) -> Translator:
        def gated(event: Any) -> Any:
            # A short timeout only to see the gate opened (a stop must not wait on a permit).
            while not self._open.is_set() and not self._permits.acquire(timeout=0.05):
                pass
            return translate(event)

        return gated

    def let_through(self, count: int) -> None:
        self._permits.release(count)

    def open(self) -> None:
        self._open.set()


@asynccontextmanager
async def front_door(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """Another API process's worth: its own app, projector and client."""
    app = create_app(as_user(settings, API))
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://chb",
                event_hooks={"request": [signed_in(settings)]},
            )
        )
        yield app, client


async def readiness(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/ready", headers={"X-Anonymous": "1"})
    body: dict[str, Any] = response.json()
    assert (response.status_code == 200) == body["ready"], body
    return body


async def tasks_visible(client: httpx.AsyncClient, operation_id: str) -> int:
    response = await client.get("/tasks", params={"operation_id": operation_id, "limit": 1})
    assert response.status_code == 200, response.text
    return int(response.headers["X-Total-Count"])
