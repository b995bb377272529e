"""What every page shares: the signed-in session, the CSRF check on every form, the answer
to a refusal, and the objects the pages hold (sessions, the in-process API client, templates,
the identity provider, the sign-in links)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from services.api.door import FrontDoor
from services.api.pages.calls import Answer, Api
from services.api.pages.links import LinkRedeemer
from services.api.pages.oidc import Provider
from services.api.pages.render import Renderer
from services.api.pages.sessions import Session, SessionStore, csrf_ok
from services.runtime.clock import Clock
from services.runtime.settings import Settings


@dataclass
class Site:
    settings: Settings
    api: Api
    sessions: SessionStore
    renderer: Renderer
    provider: Provider
    links: LinkRedeemer
    clock: Clock
    door: FrontDoor  # for the agency register and the one check that needs the views

    @property
    def register(self) -> Any:
        """The agency register as the front door knows it (seeded, then Hold's)."""
        return self.door.read_model.agencies

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        return self.renderer.page(
            request, name, status, agency_label=self.agency_label(request), **context
        )

    def agency_label(self, request: Request) -> str | None:
        """The signed-in person's agency by its registered name (its code if the register
        does not hold it): what the header of every page shows."""
        session = getattr(request.state, "session", None)
        if session is None:
            return None
        code: str = session.identity.agency
        registered = self.register.get(code)
        return registered.name if registered is not None else code

    def refused(self, request: Request, answer: Answer) -> Response:
        """The API's refusal, shown as a page with its status and its reason."""
        return self.page(
            request,
            "refused.html",
            status=answer.status,
            status_code=answer.status,
            detail=answer.detail,
        )


class SignInNeeded(Exception):
    """No session: the person is sent to sign in, then back to where they were going."""


async def site_of(request: Request) -> Site:
    site: Site = request.app.state.site
    return site


SiteDep = Annotated[Site, Depends(site_of)]


async def signed_in(request: Request, site: SiteDep) -> Session:
    session = site.sessions.of(request, site.clock.now())
    if session is None:
        raise SignInNeeded()
    request.state.session = session
    return session


SignedIn = Annotated[Session, Depends(signed_in)]


@dataclass
class Posted:
    """A form posted by the signed-in person, its CSRF token checked."""

    session: Session
    form: FormData

    def text(self, name: str) -> str:
        value = self.form.get(name)
        return value.strip() if isinstance(value, str) else ""


async def posted(request: Request, session: SignedIn) -> Posted:
    """Every form carries the session's CSRF token; a post without it (or with another
    session's) is refused before anything is done."""
    form = await request.form()
    sent = form.get("csrf")
    if not csrf_ok(session, sent if isinstance(sent, str) else None):
        raise HTTPException(status_code=403, detail="the form's CSRF token is missing or wrong")
    return Posted(session, form)


PostedForm = Annotated[Posted, Depends(posted)]


def back_to(url: str) -> RedirectResponse:
    """After a form: back to a page with GET (post/redirect/get)."""
    return RedirectResponse(url, status_code=303)
