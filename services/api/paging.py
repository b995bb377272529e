"""Pagination on every list: ``?limit=&offset=``, the total in ``X-Total-Count`` and the next
and previous pages in a ``Link`` header (RFC 8288), so the body stays the plain list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request, Response

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
T = TypeVar("T")


@dataclass
class Paging:
    limit: int
    offset: int
    request: Request
    response: Response

    def apply(self, items: list[T]) -> list[T]:
        self.headers(len(items))
        return items[self.offset : self.offset + self.limit]

    def window(self, items: list[T], total: int) -> list[T]:
        """A page the store has already cut (``items``) out of ``total``."""
        self.headers(total)
        return items

    def headers(self, total: int) -> None:
        self.response.headers["X-Total-Count"] = str(total)
        links = []
        if self.offset + self.limit < total:
            links.append(self._link(self.offset + self.limit, "next"))
        if self.offset > 0:
            links.append(self._link(max(0, self.offset - self.limit), "prev"))
        if links:
            self.response.headers["Link"] = ", ".join(links)

    def _link(self, offset: int, rel: str) -> str:
        url = self.request.url.include_query_params(limit=self.limit, offset=offset)
        return f'<{url.path}?{url.query}>; rel="{rel}"'


async def paging(  # async: FastAPI would run a plain def in a worker thread
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page")] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, description="Items to skip")] = 0,
) -> Paging:
    return Paging(limit, offset, request, response)


Page = Annotated[Paging, Depends(paging)]
