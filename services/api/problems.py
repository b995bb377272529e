"""Errors as RFC 9457 problem details (``application/problem+json``), and how the OpenAPI
document describes them.

Every refusal the API gives has ``type``, ``title``, ``status``, ``detail`` (one sentence a
person can act on) and ``instance`` (the path asked for); every 422 (a request that does not
validate, a field a service refuses, a refused playbook) also lists each field and the reason
in ``errors``, in one shape. ``responses`` documents the statuses a route can answer with this
schema; ``install`` makes every refusal follow it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.routing import Match

from services.runtime.authorization import Refusal

MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    field: str = Field(description="the field, e.g. ``children[0].age`` or ``query.limit``")
    reason: str
    loc: list[str | int] | None = Field(
        default=None, description="where FastAPI found it: body, query, path, header"
    )


class Problem(BaseModel):
    """RFC 9457 problem details; a 422 lists each field and why in ``errors``."""

    model_config = ConfigDict(extra="allow")  # RFC 9457: extension members are allowed

    type: str = "about:blank"
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    instance: str
    errors: list[FieldError] | None = None


class InvalidProblem(Problem):
    """A 422: always at least one field and its reason."""

    errors: list[FieldError] = Field(min_length=1)


# What each status means on this API, said once for the document.
MEANING = {
    400: "A body that is not JSON, or a malformed Idempotency-Key header",
    401: "No valid bearer token",
    403: "The caller's role or scope may not do this",
    404: "No such item, or one hidden from the caller",
    405: "Method not allowed on this path",
    409: "The item's state does not allow it, or an Idempotency-Key still in flight",
    422: "A field is invalid or refused: ``errors`` names each one and why",
    503: "A service did not answer, or the views are still catching up",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route or router: each status answered with a problem document
    (``InvalidProblem`` for 422), under ``application/problem+json`` as it is served."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        model = InvalidProblem if status == 422 else Problem
        answer: dict[str, Any] = {
            "description": MEANING.get(status, HTTPStatus(status).phrase),
            "content": {MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
        }
        if status == 401:
            answer["headers"] = {
                "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}
            }
        documented[status] = answer
    return documented


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


def as_field_errors(status: int, detail: str, errors: Any) -> list[dict[str, Any]] | None:
    """``errors`` in the one shape: a service's or a playbook's lines (``where: reason``)
    become fields and reasons, and a 422 that named none names the field its detail does."""
    if errors is None and status != 422:
        return None
    lines = errors if isinstance(errors, list) and errors else [detail]
    shaped = []
    for line in lines:
        if isinstance(line, dict):
            shaped.append(line)
            continue
        where, colon, reason = str(line).partition(": ")
        # A reason with no field before it is about the request as a whole.
        shaped.append(
            {"field": where, "reason": reason} if colon else {"field": "body", "reason": where}
        )
    return shaped


def install(app: FastAPI, routes: Callable[[], list[APIRoute]]) -> None:
    """Every refusal as a problem document; ``routes``: every route, for a 405's ``Allow``."""
    document_problems(app)

    @app.exception_handler(Refusal)
    async def not_permitted(request: Request, error: Refusal) -> JSONResponse:
        # 404 for an item hidden from the caller (as for an unknown id), 403 otherwise.
        return problem(request, error.status, str(error))

    @app.exception_handler(Refused)
    async def refused(request: Request, error: Refused) -> JSONResponse:
        extensions = dict(error.extensions)
        errors = as_field_errors(error.status, error.detail, extensions.pop("errors", None))
        if errors is not None:
            extensions["errors"] = errors
        return problem(request, error.status, error.detail, **extensions)

    @app.exception_handler(HTTPException)
    async def http_problem(request: Request, error: HTTPException) -> JSONResponse:
        headers = dict(error.headers or {})
        if error.status_code == 405:
            # Starlette names only the methods of the first route on the path; a path served
            # by two routes (GET and PATCH /agencies/{code}) answers with both.
            allowed = {
                method
                for route in routes()
                if route.matches(request.scope)[0] is not Match.NONE
                for method in route.methods or ()
            }
            headers["Allow"] = ", ".join(sorted(allowed))
        errors = as_field_errors(error.status_code, str(error.detail), None)
        extensions = {"errors": errors} if errors is not None else {}
        return problem(request, error.status_code, str(error.detail), headers, **extensions)

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


def document_problems(app: FastAPI) -> None:
    """The problem schemas in the document's components (the routes name them by reference,
    as ``responses`` gives them under a media type FastAPI does not fill in itself)."""
    made = app.openapi

    def openapi() -> dict[str, Any]:
        document = made()  # FastAPI's, kept in app.openapi_schema: this runs once
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        if "Problem" not in schemas:
            for model in (Problem, InvalidProblem):
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                schemas[model.__name__] = schema
        return document

    app.openapi = openapi  # type: ignore[method-assign]
