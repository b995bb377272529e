"""Server-side sessions for the pages: the browser holds only a random id in an HttpOnly,
SameSite=Lax cookie (Secure over HTTPS); who is signed in, and the session's CSRF token, stay
in the API process. Signing out forgets the session here, so a copied cookie is worthless.

Kept in memory: a restart of the API signs everyone out, which is the safe direction.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from services.api.identity import Identity

COOKIE = "chb_session"
# A working day: after it the person signs in again through their provider.
SESSION_TTL = timedelta(hours=10)


@dataclass
class Session:
    id: str
    identity: Identity
    csrf: str
    expires: datetime


@dataclass
class PendingSignIn:
    """An authorization request on its way to the provider: what the callback must match."""

    verifier: str
    nonce: str
    expires: datetime
    next: str = "/"  # the page the person was going to


@dataclass
class SessionStore:
    sessions: dict[str, Session] = field(default_factory=dict)
    pending: dict[str, PendingSignIn] = field(default_factory=dict)  # state -> request

    def start(self, identity: Identity, now: datetime) -> Session:
        session = Session(
            id=secrets.token_urlsafe(32),
            identity=identity,
            csrf=secrets.token_urlsafe(32),
            expires=now + SESSION_TTL,
        )
        self.sessions = {k: s for k, s in self.sessions.items() if s.expires > now}
        self.sessions[session.id] = session
        return session

    def of(self, request: Request, now: datetime) -> Session | None:
        session_id = request.cookies.get(COOKIE)
        session = self.sessions.get(session_id) if session_id else None
        if session is None or session.expires <= now:
            return None
        return session

    def end(self, session: Session) -> None:
        self.sessions.pop(session.id, None)

    def remember(self, state: str, pending: PendingSignIn, now: datetime) -> None:
        self.pending = {k: p for k, p in self.pending.items() if p.expires > now}
        self.pending[state] = pending

    def take(self, state: str, now: datetime) -> PendingSignIn | None:
        pending = self.pending.pop(state, None)
        return pending if pending is not None and pending.expires > now else None


def csrf_ok(session: Session, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(session.csrf, sent)


def set_cookie(response: Response, request: Request, session: Session) -> None:
    response.set_cookie(
        COOKIE,
        session.id,
        max_age=int(SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )
