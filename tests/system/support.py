"""The whole system in one event loop (real NATS, real stores), and polling with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from services.api.app import create_app
from services.factories import FACTORIES, build_clear
from services.runtime.clock import Clock
from services.runtime.process import ServiceProcess
from services.runtime.settings import Settings
from services.runtime.translation import Translator

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    check: Callable[[T], bool],
    within: float = 15.0,
    what: str = "condition",
) -> T:
    """Poll ``probe`` until ``check`` holds. The effects are asynchronous; the deadline only
    bounds how long a broken system is waited for, it asserts nothing about speed."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last value: {value!r}")
        await asyncio.sleep(0.05)


@dataclass
class InProcessSystem:
    settings: Settings
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    client: httpx.AsyncClient | None = None

    @property
    def api(self) -> httpx.AsyncClient:
        assert self.client is not None
        return self.client

    async def start_service(
        self, name: str, clock: Clock | None = None, translate: Translator | None = None
    ) -> ServiceProcess:
        if name == "clear":
            process = build_clear(self.settings, clock, translate)
        else:
            process = FACTORIES[name](self.settings, clock)
        await process.start()
        self.services[name] = process
        return process

    async def stop_service(self, name: str) -> None:
        await self.services.pop(name).stop()

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.api.get(path, params={k: v for k, v in params.items() if v})
        assert response.status_code == 200, response.text
        return response.json()


@asynccontextmanager
async def running_system(
    settings: Settings, clock: Clock | None = None, translate: Translator | None = None
) -> AsyncIterator[InProcessSystem]:
    """clear, hold and build as in production (their own stores, real NATS), plus the API."""
    system = InProcessSystem(settings)
    async with AsyncExitStack() as stack:
        await system.start_service("clear", clock, translate)
        await system.start_service("hold", clock)
        await system.start_service("build", clock)
        app = create_app(settings)
        await stack.enter_async_context(app.router.lifespan_context(app))
        system.client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://chb")
        )
        try:
            yield system
        finally:
            for name in list(system.services):
                await system.stop_service(name)
