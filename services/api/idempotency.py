"""``Idempotency-Key`` on every command: a retried request gets the first answer again, and
the command is not sent twice.

Keys are kept per caller (the whole of who the token says: subject, role, agency, and the
places and operations it is limited to) in a SQLite file beside the API's audit index, so they
outlive a restart of the API. A first answer is given again only after the door's check that
the caller's role may call the route at all: a key never answers for someone the door would
refuse. The first request with a key is recorded as in flight
before it is sent; its answer is stored when it comes. A retry with the same key and the same
request gets that answer (``Idempotent-Replayed: true``); with a different request, 422; while
the first is still in flight, 409. An answer of 5xx is not kept, so a retry may try again. If
the API stopped while a request was in flight, its outcome is unknown: the key then answers 409
saying so for good, rather than risk recording the arrest twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from uuid import UUID, uuid5

from fastapi import Depends
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.place import place_key
from services.api.access import allowed
from services.api.identity import Identity, InvalidToken, read_token
from services.api.problems import problem
from services.runtime.settings import Settings

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    subject TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER,
    content_type TEXT,
    body BLOB,
    claimed_at REAL NOT NULL,
    PRIMARY KEY (subject, key)
);
"""
KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # 1 to 255 visible ASCII characters


@dataclass(frozen=True)
class Stored:
    fingerprint: str
    status: int | None  # None: the first request is still in flight (or never finished)
    content_type: str | None
    body: bytes | None
    claimed_at: float


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256(f"{method} {path}?{query}\n".encode())
    digest.update(body)
    return digest.hexdigest()


class IdempotencyStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)
        self.lock = threading.Lock()

    def claim(self, subject: str, key: str, print_: str) -> Stored | None:
        """Record the request as in flight, or return what is already recorded for the key."""
        with self.lock:
            row = self.db.execute(
                "SELECT fingerprint, status, content_type, body, claimed_at FROM requests "
                "WHERE subject = ? AND key = ?",
                (subject, key),
            ).fetchone()
            if row is not None:
                return Stored(*row)
            self.db.execute(
                "INSERT INTO requests (subject, key, fingerprint, claimed_at) VALUES (?, ?, ?, ?)",
                (subject, key, print_, time.time()),
            )
            return None

    def finish(self, subject: str, key: str, status: int, content_type: str, body: bytes) -> None:
        with self.lock:
            if status >= 500:  # not an answer to keep: let a retry try again
                self.db.execute(
                    "DELETE FROM requests WHERE subject = ? AND key = ?", (subject, key)
                )
                return
            self.db.execute(
                "UPDATE requests SET status = ?, content_type = ?, body = ? "
                "WHERE subject = ? AND key = ?",
                (status, content_type, body, subject, key),
            )

    def close(self) -> None:
        self.db.close()


class IdempotencyMiddleware:
    """Plain ASGI, so every request without a key passes straight through (no extra task, no
    buffering); a keyed POST is claimed, answered, stored, and only then sent."""

    def __init__(
        self,
        app: ASGIApp,
        store: Callable[[], IdempotencyStore | None],
        settings: Settings,
        routes: Callable[[], list[APIRoute]],
    ) -> None:
        self.app = app
        self.store = store
        self.settings = settings
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        request = Request(scope, receive)
        key = request.headers.get("idempotency-key")
        if key is None:
            return await self.app(scope, receive, send)
        if not KEY.match(key):
            answer = problem(request, 400, "Idempotency-Key: 1 to 255 visible ASCII characters")
            return await answer(scope, receive, send)
        token = request.headers.get("authorization", "").partition(" ")[2]
        try:
            identity = read_token(token, self.settings.jwt_key, self.settings.jwt_issuer)
        except InvalidToken:
            return await self.app(scope, receive, send)  # refused as unauthenticated anyway
        if not allowed(self.route_name(scope), identity.role):
            return await self.app(scope, receive, send)  # the door refuses it, key or not
        subject = caller_key(identity)
        body = await request.body()
        print_ = fingerprint("POST", request.url.path, request.url.query, body)
        store = self.store()
        assert store is not None  # opened at start-up, before any request
        stored = await asyncio.to_thread(store.claim, subject, key, print_)
        if stored is not None:
            return await self.answer_again(request, stored, print_)(scope, receive, send)

        given = False

        async def replay() -> Message:
            """The body, already read, once; then whatever the client does next."""
            nonlocal given
            if given:
                return await receive()
            given = True
            return {"type": "http.request", "body": body, "more_body": False}

        messages: list[Message] = []

        async def keep(message: Message) -> None:
            messages.append(message)

        try:
            await self.app(scope, replay, keep)
        except BaseException:
            await asyncio.to_thread(store.finish, subject, key, 500, "", b"")
            raise
        start = next(m for m in messages if m["type"] == "http.response.start")
        content = b"".join(
            m.get("body", b"") for m in messages if m["type"] == "http.response.body"
        )
        content_type = Headers(raw=start["headers"]).get("content-type", "")
        await asyncio.to_thread(store.finish, subject, key, start["status"], content_type, content)
        for message in messages:  # sent only once stored: a retry right after finds the answer
            await send(message)

    def route_name(self, scope: Scope) -> str:
        for route in self.routes():
            if route.matches(scope)[0] is Match.FULL:
                return route.name
        return ""

    def answer_again(self, request: Request, stored: Stored, print_: str) -> Response:
        if stored.fingerprint != print_:
            reason = "already used for a different request"
            # Every 422 names its field: here the header.
            where = ["header", "idempotency-key"]
            error = {"field": "Idempotency-Key", "reason": reason, "loc": where}
            return problem(request, 422, f"Idempotency-Key was {reason}", errors=[error])
        if stored.status is None:
            abandoned = time.time() - stored.claimed_at > 2 * self.settings.command_timeout_seconds
            return problem(
                request,
                409,
                "the first request with this Idempotency-Key did not finish (the API stopped "
                "while it was in flight): its outcome is unknown; check what was recorded, then "
                "use a new key"
                if abandoned
                else "the first request with this Idempotency-Key is still in flight",
            )
        return Response(
            stored.body,
            status_code=stored.status,
            media_type=stored.content_type,
            headers={"Idempotent-Replayed": "true"},
        )


# The namespace of command ids made from idempotency keys (a fixed random UUID; never change it).
COMMAND_IDS = UUID("0b7e4a52-9d13-4c8e-b6f1-2a5c7d9e3f61")


async def command_id(request: Request) -> UUID | None:  # async: no thread hop
    """The caller's ``Idempotency-Key`` as the id of the command it sends on: the same caller
    and key always give the same id, so the owning service records a retried command once even
    when the retry reaches another API instance (which does not share this one's key file), or
    the first attempt's answer was lost between the service and the API."""
    key = request.headers.get("idempotency-key")
    if not key:
        return None
    return uuid5(COMMAND_IDS, f"{caller_key(request.state.identity)}\n{key}")


def caller_key(identity: Identity) -> str:
    """Everything the token says of its bearer: the same subject with another role, agency
    or scope is another caller, with keys of its own."""
    parts = [
        identity.subject,
        identity.role,
        identity.agency,
        ",".join(sorted(place_key(p) for p in identity.places)),
        ",".join(sorted(identity.operations)),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


CommandId = Annotated[UUID | None, Depends(command_id)]
