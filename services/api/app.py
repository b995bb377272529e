"""The HTTP front door: one FastAPI app for planners, agencies, leadership groups and auditors.

Commands go to the owning service over NATS request/reply; queries are answered from the read
model the projector builds from the integration events. The front door never opens a store.
``create_app`` only assembles: the routes are in ``services/api/routers``, one per resource,
and who may call them in ``services/api/access.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from opentelemetry.trace import TracerProvider

from services.api.access import authorize
from services.api.door import FrontDoor, ServiceUnavailable
from services.api.idempotency import IdempotencyMiddleware
from services.api.observability import ServerSpans
from services.api.pages import mount as mount_pages
from services.api.problems import install as install_problems
from services.api.problems import problem, responses
from services.api.routers import (
    agencies,
    audit,
    cases,
    enforcement,
    indicators,
    notifications,
    operations,
    plans,
    playbooks,
    probes,
    programmes,
    tasks,
    views,
)
from services.runtime.settings import Settings
from services.runtime.tracing import tracer_of

log = structlog.get_logger()

ROUTERS = (
    operations,
    enforcement,
    cases,
    tasks,
    playbooks,
    plans,
    programmes,
    indicators,
    agencies,
    notifications,
    audit,
    views,
    probes,
)


def create_app(settings: Settings, tracer_provider: TracerProvider | None = None) -> FastAPI:
    """The front door. ``tracer_provider``: where its spans go (none: no traces at all)."""
    if not settings.jwt_key:
        # There is no unauthenticated mode: without a key no token could be checked.
        raise ValueError("CHB_JWT_KEY is not set: the API needs a key to check bearer tokens")
    door = FrontDoor(settings, tracer_provider)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await door.start()
        log.info("api started", nats_url=settings.nats_url)
        yield
        await door.stop()

    app = FastAPI(
        title="Clear, Hold, Build",
        version="0.1.0",
        description="Coordinates Police operations (Clear) with whanau support (Hold) and "
        "community rebuilding (Build), every step on a replayable audit trail.",
        lifespan=lifespan,
        dependencies=[Depends(authorize)],
    )
    app.state.door = door
    app.state.settings = settings
    for module in ROUTERS:
        # Behind the door every route may answer 401 or 403, and 422 for a request that does
        # not validate; each route documents what else it may answer (its decorator).
        guarded = responses(401, 403, 422) if module is not probes else None
        app.include_router(module.router, responses=guarded)

    install_problems(app, api_routes)
    # The pages, after every API route: a path the API knows stays the API's.
    mount_pages(app, settings, door, api_routes)

    @app.exception_handler(ServiceUnavailable)
    async def unavailable(request: Request, error: ServiceUnavailable) -> JSONResponse:
        return problem(request, 503, str(error))

    # A POST with Idempotency-Key is answered once; a retry gets that answer.
    app.add_middleware(
        IdempotencyMiddleware,
        store=lambda: door.idempotency,
        settings=settings,
        routes=api_routes,
    )
    if tracer_provider is not None:
        # Added last, so outermost: the span covers all the request does (idempotency too).
        app.add_middleware(ServerSpans, tracer=tracer_of(tracer_provider))
    return app


def api_routes() -> list[APIRoute]:
    """Every route of the front door (FastAPI includes routers lazily, so ``app.routes`` lists
    the routers, not their routes)."""
    return [r for module in ROUTERS for r in module.router.routes if isinstance(r, APIRoute)]
