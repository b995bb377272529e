"""A public page per place, without sign-in: the place's outcome indicators, read from the
API as the ``public`` role (which the table lets read indicators and nothing else). A count
under 5 is shown as "<5", so a small number cannot point at a household."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from services.api.identity import Identity
from services.api.pages.site import SiteDep

router = APIRouter()

# Who the public page asks the API as: the public role, for the oversight body's register entry.
PUBLIC = Identity(subject="public-page", role="public", agency="oversight")
SMALL = 5
COUNT_UNITS = frozenset({"count", "people", "households", "children", "cases", "number"})


def shown(reading: dict[str, Any]) -> str:
    value = Decimal(str(reading["value"]))
    if reading["unit"].casefold() in COUNT_UNITS and 0 < value < SMALL:
        return "<5"
    return f"{value.normalize():f}"


@router.get("/public")
async def places(request: Request, site: SiteDep, place: str = "") -> Response:
    if place:
        return RedirectResponse(f"/public/{quote(place, safe='')}", status_code=303)
    return site.page(request, "public_index.html")


@router.get("/public/{place}")
async def place_page(request: Request, site: SiteDep, place: str) -> Response:
    found = await site.api.get(PUBLIC, "/indicators", place=place, limit=10_000)
    readings = found.body if found.ok and isinstance(found.body, list) else []
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for reading in readings:  # oldest first: the last one kept is the latest
        latest[(reading["indicator"], reading["series"])] = reading
    rows = [{**r, "shown": shown(r)} for r in latest.values()]
    return site.page(request, "public_place.html", place=place, rows=rows)
