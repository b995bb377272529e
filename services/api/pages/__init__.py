"""Pages for the people who do the work, served by the API process under ``/``.

A sub-application mounted after every API route: a path the API knows is the API's, anything
else is a page (an unknown path still answers the API's problem document). The pages hold no
permission logic of their own: they call the API's routes as the signed-in person
(``calls.Api``), so the door and the authorization table decide for both.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.door import FrontDoor
from services.api.pages import auditor, board, build, inbox, planner, public, signin
from services.api.pages.calls import Api
from services.api.pages.links import LinkRedeemer
from services.api.pages.oidc import Provider
from services.api.pages.render import STATIC, Renderer, SecurityHeaders, check_pins
from services.api.pages.sessions import SessionStore
from services.api.pages.site import SignInNeeded, Site
from services.api.problems import install as install_problems
from services.runtime.clock import Clock, SystemClock
from services.runtime.settings import Settings

ROUTERS = (signin, inbox, board, build, planner, auditor, public)


def create_pages(
    api: FastAPI, settings: Settings, door: FrontDoor, clock: Clock | None = None
) -> FastAPI:
    check_pins()
    pages = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    pages.state.site = Site(
        settings=settings,
        api=Api(api, settings, door),
        sessions=SessionStore(),
        renderer=Renderer(),
        provider=Provider(settings),
        links=LinkRedeemer(settings.jwt_key, settings.jwt_issuer),
        clock=clock or SystemClock(),
        door=door,
    )
    for module in ROUTERS:
        pages.include_router(module.router)
    pages.mount("/assets", StaticFiles(directory=STATIC), name="assets")
    install_problems(pages, lambda: [])

    @pages.exception_handler(SignInNeeded)
    async def sign_in_first(request: Request, _: SignInNeeded) -> Response:
        wanted = request.url.path if request.method == "GET" else "/"
        if request.url.query and request.method == "GET":
            wanted += f"?{request.url.query}"
        return RedirectResponse(f"/signin?next={quote(wanted, safe='')}", status_code=303)

    pages.add_middleware(SecurityHeaders)
    return pages


class ApiPathsFirst:
    """A path of the API asked with a method it does not take is the API's 405 (with
    ``Allow``), not a missing page: the router would otherwise hand it to the pages, which
    match every path."""

    def __init__(self, pages: ASGIApp, routes: Callable[[], list[APIRoute]]) -> None:
        self.pages = pages
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and any(
            route.matches(scope)[0] is Match.PARTIAL for route in self.routes()
        ):
            raise HTTPException(status_code=405)  # the API's handler names what is allowed
        await self.pages(scope, receive, send)


def mount(
    api: FastAPI, settings: Settings, door: FrontDoor, routes: Callable[[], list[APIRoute]]
) -> None:
    """Mount the pages at ``/`` on the API app, after its ``routes``."""
    api.mount("/", ApiPathsFirst(create_pages(api, settings, door), routes), name="pages")
