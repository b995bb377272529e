"""The pages are a client of the JSON API, in the same process: each page asks the API's own
routes, as the signed-in person, with a bearer token minted for that one call. So every page
goes through the same door (services/api/access.py), the same authorization table and the
same route functions as a curl call would: there is no second permission logic here, and a
personal-details read is recorded first exactly as the API records it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from fastapi import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from services.api.access import allowed
from services.api.door import FrontDoor
from services.api.identity import Identity, InvalidToken, check_agency, issue_token
from services.api.paging import Paging
from services.api.routers.tasks import list_tasks
from services.runtime.settings import Settings

# Long enough for one call, however slow; never kept.
CALL_TOKEN_TTL = timedelta(minutes=2)
# The API's largest page (services/api/paging.py).
PAGE = 10_000


@dataclass
class Answer:
    status: int
    body: Any
    total: int | None = None  # a list's X-Total-Count

    @property
    def ok(self) -> bool:
        return self.status < 400

    @property
    def detail(self) -> str:
        """The API's reason for a refusal, as one sentence."""
        if isinstance(self.body, dict):
            return str(self.body.get("detail") or self.body.get("title") or self.status)
        return str(self.status)


class Api:
    def __init__(self, app: ASGIApp, settings: Settings, door: FrontDoor) -> None:
        self.settings = settings
        self.door = door
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api.internal", timeout=30.0
        )

    def _headers(self, who: Identity) -> dict[str, str]:
        token = issue_token(
            self.settings.jwt_key, self.settings.jwt_issuer, who, ttl=CALL_TOKEN_TTL
        )
        return {"Authorization": f"Bearer {token}"}

    async def get(self, who: Identity, path: str, **params: Any) -> Answer:
        wanted = {k: v for k, v in params.items() if v is not None and v != "" and v is not False}
        response = await self.http.get(path, params=wanted, headers=self._headers(who))
        total = response.headers.get("x-total-count")
        return Answer(response.status_code, _body(response), int(total) if total else None)

    async def download(self, who: Identity, path: str, **params: Any) -> httpx.Response:
        """A file the API makes (an export), passed on as it is, headers and all."""
        wanted = {k: v for k, v in params.items() if v}
        return await self.http.get(path, params=wanted, headers=self._headers(who))

    async def get_all(self, who: Identity, path: str, **params: Any) -> Answer:
        """Every item of a list, page after page (the API gives at most ``PAGE`` at once)."""
        items: list[Any] = []
        while True:
            answer = await self.get(who, path, limit=PAGE, offset=len(items), **params)
            if not answer.ok or not isinstance(answer.body, list):
                return answer
            items += answer.body
            if not answer.body or answer.total is None or len(items) >= answer.total:
                return Answer(answer.status, items, answer.total)

    async def tasks(self, who: Identity, limit: int = sys.maxsize, **filters: Any) -> Answer:
        """The task board as ``GET /tasks`` answers it, every item, by calling that route's own
        function after the door's check (services/api/access.py): the same table and the same
        code, without turning thousands of tasks into JSON and back (an inbox or a board with
        40,000 tasks in the views would spend most of its time there)."""
        if not allowed("list_tasks", who.role):
            return Answer(403, {"detail": f"the {who.role} role may not list tasks"})
        try:
            check_agency(who, self.door.read_model.agencies)
            page = _everything(limit)
            items = await list_tasks(door=self.door, page=page, who=who, **filters)
        except InvalidToken as error:
            return Answer(401, {"detail": str(error)})
        except HTTPException as error:
            return Answer(error.status_code, {"detail": error.detail})
        return Answer(200, items, int(page.response.headers.get("X-Total-Count", len(items))))

    async def post(self, who: Identity, path: str, body: Any = None) -> Answer:
        response = await self.http.post(path, json=body, headers=self._headers(who))
        return Answer(response.status_code, _body(response))

    async def close(self) -> None:
        await self.http.aclose()


def _everything(limit: int = sys.maxsize) -> Paging:
    """The first ``limit`` items (by default as many as any list has)."""
    scope = {"type": "http", "path": "/tasks", "query_string": b"", "headers": []}
    return Paging(limit=limit, offset=0, request=Request(scope), response=Response())


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
