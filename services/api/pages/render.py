"""Templates, the pinned scripts, the security headers and New Zealand time.

htmx and its server-sent-events extension are copies kept in ``static/`` (no Node build);
each is served with the integrity hash pinned here, and the pages refuse to start if a copy
does not match its pin, so a changed file is noticed before a browser would refuse it.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HERE = Path(__file__).parent
STATIC = HERE / "static"
NZ = ZoneInfo("Pacific/Auckland")

# file -> its SHA-384 as a browser checks it (the values the htmx project publishes).
PINNED = {
    "htmx-2.0.4.min.js": "sha384-HGfztofotfshcF7+8n44JQL2oJmowVChPTg48S+jvZoztPfvwD79OC/LTtG6dMp+",
    "htmx-ext-sse-2.2.2.js": (
        "sha384-fw+eTlCc7suMV/1w/7fr2/PmwElUIt5i82bi+qTiLXvjRXZ2/FkiTNA/w0MhXnGI"
    ),
}

# No inline script or style anywhere: scripts and the stylesheet come from this origin only.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def integrity(name: str) -> str:
    digest = hashlib.sha384((STATIC / name).read_bytes()).digest()
    return "sha384-" + base64.b64encode(digest).decode()


def check_pins() -> None:
    for name, pinned in PINNED.items():
        if integrity(name) != pinned:
            raise RuntimeError(f"static/{name} does not match its pinned integrity hash")


def nz_time(value: str | datetime | None) -> str:
    """A stored UTC time as New Zealand time, with the zone: ``Sun 1 Mar 2026, 05:00 NZDT``."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = moment.astimezone(NZ)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def from_nz_input(value: str) -> str:
    """A date-time typed into a form (``datetime-local``: no zone) is New Zealand time; the
    API is given it with its offset. A value that already names its zone is kept."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value  # the API names the field and why
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=NZ)
    return moment.isoformat()


def label(value: str | None) -> str:
    """``child_safety_check`` -> ``Child safety check``."""
    return (value or "").replace("_", " ").capitalize()


def templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["nz"] = nz_time
    env.filters["label"] = label
    env.globals["pinned"] = PINNED
    return env


class Renderer:
    def __init__(self) -> None:
        self.env = templates()

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        session = getattr(request.state, "session", None)
        html = self.env.get_template(name).render(
            request=request,
            session=session,
            who=session.identity if session else None,
            csrf=session.csrf if session else "",
            **context,
        )
        return HTMLResponse(html, status_code=status)


class SecurityHeaders:
    """Every page answer carries the CSP and its companions; pages are never cached, as
    they show what one signed-in person may see."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                ]
                if not scope["path"].startswith("/assets/"):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
