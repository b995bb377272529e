"""The whole system in one event loop (real NATS, real stores), and polling with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from opentelemetry.trace import TracerProvider

from services.api.app import create_app
from services.api.identity import Identity, issue_token
from services.factories import build_clear, build_service
from services.runtime.clock import Clock
from services.runtime.nats_permissions import API
from services.runtime.process import ServiceProcess
from services.runtime.settings import Settings
from services.runtime.translation import Translator
from tests.conftest import TEST_JWT_KEY
from tests.support.nats_users import as_user

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


def caller(role: str, agency: str, person: str | None = None) -> dict[str, str]:
    """The test-only headers that make a request that person's (see ``signed_in``)."""
    return {
        "X-Actor-Id": person or f"{agency}-{role}",
        "X-Actor-Agency": agency,
        "X-Actor-Role": role,
    }


AUDITOR = caller("auditor", "oversight")
CHAIR = caller("leadership_group_chair", "iwi")
LEADERSHIP_MEMBER = caller("leadership_group_member", "msd")

DEFAULT_CALLER = Identity(subject="local-planner", role="planner", agency="police")


def token_for(settings: Settings, identity: Identity = DEFAULT_CALLER) -> str:
    return issue_token(settings.jwt_key, settings.jwt_issuer, identity)


def bearer(identity: Identity) -> dict[str, str]:
    """The Authorization header of ``identity``'s token, signed with the suite's key."""
    return {"Authorization": f"Bearer {issue_token(TEST_JWT_KEY, 'chb', identity)}"}


def signed(
    role: str, agency: str, *, places: tuple[str, ...] = (), operations: tuple[str, ...] = ()
) -> dict[str, str]:
    """The Authorization header of someone in ``role`` at ``agency``, optionally limited to
    places or operations: for tests that send real tokens rather than ``caller`` headers."""
    person = Identity(f"{agency}-{role}-1", role, agency, places=places, operations=operations)
    return bearer(person)


def signed_in(settings: Settings) -> Callable[[httpx.Request], Awaitable[None]]:
    """Every test request carries a bearer token, as a real caller's would: by default the
    local planner's; a test that acts as someone else says who in ``X-Actor-Id``,
    ``X-Actor-Agency`` and ``X-Actor-Role`` (test-only headers, turned into that person's
    token here and never sent). A request that already has an Authorization header, or says
    ``X-Anonymous``, is sent as it is."""

    async def hook(request: httpx.Request) -> None:
        headers = request.headers
        if "x-anonymous" in headers:
            del headers["x-anonymous"]
            return
        if "authorization" in headers:
            return
        identity = Identity(
            subject=headers.pop("x-actor-id", None) or DEFAULT_CALLER.subject,
            agency=headers.pop("x-actor-agency", None) or DEFAULT_CALLER.agency,
            role=headers.pop("x-actor-role", None) or DEFAULT_CALLER.role,
        )
        headers["authorization"] = f"Bearer {token_for(settings, identity)}"

    return hook


@dataclass
class ActingAs:
    client: httpx.AsyncClient
    who: dict[str, str]

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.who, **(kwargs.pop("headers", None) or {})}
        return await self.client.post(url, headers=headers, **kwargs)

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.who, **(kwargs.pop("headers", None) or {})}
        return await self.client.get(url, headers=headers, **kwargs)


@dataclass
class InProcessSystem:
    settings: Settings
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    client: httpx.AsyncClient | None = None
    app: Any = None  # the API's FastAPI app (its front door is app.state.door)
    # Where every process's spans go (tests that follow a trace give one; default: none).
    tracer_provider: TracerProvider | None = None

    @property
    def api(self) -> httpx.AsyncClient:
        assert self.client is not None
        return self.client

    async def start_service(
        self, name: str, clock: Clock | None = None, translate: Translator | None = None
    ) -> ServiceProcess:
        settings = as_user(self.settings, name)
        if name == "clear":
            process = build_clear(settings, clock, translate, self.tracer_provider)
        else:
            process = build_service(name, settings, clock, self.tracer_provider)
        await process.start()
        self.services[name] = process
        return process

    async def stop_service(self, name: str) -> None:
        await self.services.pop(name).stop()

    def as_(self, who: dict[str, str]) -> ActingAs:
        """Requests made as ``who`` (``CHAIR``, ``AUDITOR``, ``caller(...)``)."""
        return ActingAs(self.api, who)

    async def get(self, path: str, as_: dict[str, str] | None = None, **params: Any) -> Any:
        """GET as the default caller, or as the one ``as_`` names (``AUDITOR``, ``CHAIR``...)."""
        response = await self.api.get(
            path, params={k: v for k, v in params.items() if v}, headers=as_
        )
        assert response.status_code == 200, response.text
        return response.json()


@asynccontextmanager
async def running_system(
    settings: Settings,
    clock: Clock | None = None,
    translate: Translator | None = None,
    tracer_provider: TracerProvider | None = None,
) -> AsyncIterator[InProcessSystem]:
    """clear, hold and build as in production (their own stores, real NATS), plus the API;
    all tracing to ``tracer_provider`` if one is given."""
    system = InProcessSystem(settings, tracer_provider=tracer_provider)
    async with AsyncExitStack() as stack:
        await system.start_service("clear", clock, translate)
        await system.start_service("hold", clock)
        await system.start_service("build", clock)
        app = create_app(as_user(settings, API), tracer_provider)
        await stack.enter_async_context(app.router.lifespan_context(app))
        system.app = app
        system.client = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://chb",
                event_hooks={"request": [signed_in(settings)]},
            )
        )
        try:
            yield system
        finally:
            for name in list(system.services):
                await system.stop_service(name)
