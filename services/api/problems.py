"""Errors as RFC 9457 problem details (``application/problem+json``).

Every refusal the API gives has ``type``, ``title``, ``status``, ``detail`` (one sentence a
person can act on) and ``instance`` (the path asked for); a request that does not validate
also lists each field and the reason in ``errors``; a refused playbook lists its errors too.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from services.runtime.authorization import Refusal

MEDIA_TYPE = "application/problem+json"


def problem(
    request: Request,
    status: int,
    detail: str,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extensions,
    }
    return JSONResponse(
        body, status_code=status, headers=dict(headers or {}), media_type=MEDIA_TYPE
    )


def field_of(location: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "children", 0, "age")`` -> ``children[0].age``; query and path keep theirs."""
    parts = list(location)
    if parts and parts[0] == "body":
        parts = parts[1:]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


class Refused(Exception):
    """A service refused a command: its status, its reason, and anything it listed."""

    def __init__(self, status: int, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.extensions = extensions


def install(app: FastAPI) -> None:
    @app.exception_handler(Refusal)
    async def not_permitted(request: Request, error: Refusal) -> JSONResponse:
        # 404 for an item hidden from the caller (as for an unknown id), 403 otherwise.
        return problem(request, error.status, str(error))

    @app.exception_handler(Refused)
    async def refused(request: Request, error: Refused) -> JSONResponse:
        return problem(request, error.status, error.detail, **error.extensions)

    @app.exception_handler(HTTPException)
    async def http_problem(request: Request, error: HTTPException) -> JSONResponse:
        return problem(request, error.status_code, str(error.detail), error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": field_of(e["loc"]), "reason": e["msg"], "loc": list(e["loc"])}
            for e in error.errors()
        ]
        first = errors[0]
        more = f" ({len(errors)} problems)" if len(errors) > 1 else ""
        detail = f"{first['field']}: {first['reason']}{more}"
        return problem(request, 422, detail, errors=errors)
