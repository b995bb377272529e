"""Signing in (the agency's OpenID Connect provider, or a one-time link) and out."""

from __future__ import annotations

from datetime import timedelta

import structlog
from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from services.api.identity import Identity, InvalidToken
from services.api.pages.oidc import NoAccess, identity_of
from services.api.pages.sessions import PendingSignIn, clear_cookie, set_cookie
from services.api.pages.site import PostedForm, SiteDep, back_to

log = structlog.get_logger()
router = APIRouter()

# How long the provider may take to send the person back.
PENDING_TTL = timedelta(minutes=10)


@router.get("/")
async def home(request: Request, site: SiteDep) -> Response:
    session = site.sessions.of(request, site.clock.now())
    request.state.session = session
    return site.page(request, "home.html", provider=site.provider.enabled)


def callback_url(request: Request) -> str:
    """Where the provider sends the person back (the pages are mounted at the root)."""
    return f"{str(request.base_url).rstrip('/')}/signin/callback"


def local(path: str) -> str:
    """Only a path on this site is followed after sign-in (never another site's URL)."""
    return path if path.startswith("/") and not path.startswith(("//", "/\\")) else "/"


@router.get("/signin")
async def sign_in(request: Request, site: SiteDep, next: str = "/") -> Response:
    if not site.provider.enabled:
        return site.page(request, "signin.html")
    redirect_uri = callback_url(request)
    url, state, verifier, nonce = await site.provider.authorization_url(redirect_uri)
    now = site.clock.now()
    pending = PendingSignIn(verifier, nonce, now + PENDING_TTL, next=local(next))
    site.sessions.remember(state, pending, now)
    return RedirectResponse(url, status_code=303)


@router.get("/signin/callback")
async def signin_callback(
    request: Request, site: SiteDep, code: str = "", state: str = "", error: str = ""
) -> Response:
    pending = site.sessions.take(state, site.clock.now()) if state else None
    if error or not code or pending is None:
        why = "the provider did not sign you in" if error else "this sign-in has expired"
        return site.page(request, "no_access.html", status=400, reason=why)
    redirect_uri = callback_url(request)
    try:
        claims = await site.provider.claims(
            redirect_uri, code, pending.verifier, pending.nonce, site.clock.now()
        )
        identity = identity_of(site.settings, claims, site.register)
    except NoAccess as refusal:
        # The subject only: the claims may carry a name or an address.
        log.info("sign-in refused", reason=str(refusal))
        return site.page(request, "no_access.html", status=403, reason=str(refusal))
    return start_session(request, site, identity, pending.next)


@router.get("/signin/link")
async def signin_link(request: Request, site: SiteDep, token: str = "") -> Response:
    try:
        identity = site.links.redeem(token, site.clock.now())
    except InvalidToken as refusal:
        return site.page(request, "no_access.html", status=403, reason=str(refusal))
    if identity.agency not in site.register and identity.role != "administrator":
        reason = f"the link's agency {identity.agency!r} is not in the agency register"
        return site.page(request, "no_access.html", status=403, reason=reason)
    return start_session(request, site, identity)


def start_session(request: Request, site: SiteDep, identity: Identity, then: str = "/") -> Response:
    session = site.sessions.start(identity, site.clock.now())
    log.info("signed in", subject=identity.subject, role=identity.role, agency=identity.agency)
    response = back_to(then)
    set_cookie(response, request, session)
    return response


@router.post("/signout")
async def sign_out(request: Request, site: SiteDep, form: PostedForm) -> Response:
    site.sessions.end(form.session)
    response = back_to("/")
    clear_cookie(response, request)
    return response
