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
from services.api.pages.charts import chart, place_outcomes
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
    # Before and after each operation, charted; a mean of a count under 5 shows as "<5" in the
    # chart and the table alike.
    counts = {r["indicator"] for r in readings if r["unit"].casefold() in COUNT_UNITS}
    outcomes = await place_outcomes(site.api, PUBLIC, place)
    charts = [chart(o, i, counts=o["indicator"] in counts) for i, o in enumerate(outcomes)]
    for outcome in (o for o in outcomes if o["indicator"] in counts):
        small_before = small_mean(outcome["baseline"]["mean"]) == "<5"
        for window in (outcome["baseline"], *outcome["after"]):
            window["mean"] = small_mean(window["mean"])
            if small_before or window["mean"] == "<5":
                window["change_percent"] = None  # a ratio to a small count gives it away
    return site.page(
        request, "public_place.html", place=place, rows=rows, outcomes=outcomes, charts=charts
    )


def small_mean(mean: str | None) -> str | None:
    """A count's mean as the public page shows it: under 5 (and above nothing) as "<5"."""
    if mean is not None and 0 < Decimal(mean) < SMALL:
        return "<5"
    return mean
