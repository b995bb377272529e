"""Outcome indicators: imports, readings and before/after comparisons per place."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse

from contracts.build_commands import (
    ImportIndicatorsCommand,
    IndicatorRowsChunk,
    StartIndicatorImport,
)
from services.api.access import Caller
from services.api.deps import Door, reply
from services.api.door import FrontDoor
from services.api.identity import Identity
from services.api.paging import Page
from services.api.problems import responses
from services.runtime.authorization import check
from services.views.access import (
    import_relation,
    import_visible,
    no_import,
    outside_scope,
    place_visible,
)
from services.views.outcomes import place_outcomes
from services.views.rows import shown

router = APIRouter()


def check_import(door: FrontDoor, who: Identity, import_id: UUID, action: str) -> None:
    """Rows and the commit are the starting agency's; an import holding a row outside the
    token's places is answered as one that does not exist (its rows are not the caller's to
    see, let alone to commit)."""
    facts = door.read_model.import_facts.get(import_id)
    if facts is not None:
        check(
            who,
            action,
            # Rows read before the start (never, in order): started by no one the caller is.
            import_relation(who, facts.starter_agency or ""),
            visible=import_visible(who, facts.places),
            hidden_as=no_import(import_id),
        )


@router.post("/indicator-imports", status_code=201, responses=responses(400, 404, 409, 503))
async def start_import(door: Door, body: StartIndicatorImport, who: Caller) -> JSONResponse:
    """Start an indicator import; send its rows in chunks, then commit it. Until it is
    committed none of its rows count (nothing is half imported). Its rows and its commit are
    for the caller's agency."""
    check(who, "start_import")
    if who.operations:
        raise outside_scope(who, "an import of a place's indicators")
    command = ImportIndicatorsCommand(
        import_id=uuid4(), step="start", **body.model_dump(), actor=who.actor
    )
    result = await door.send("build", "import_indicators", command)
    if result.status >= 400:
        raise HTTPException(status_code=result.status, detail=result.error)
    return JSONResponse(status_code=201, content=result.result)


@router.post("/indicator-imports/{import_id}/rows", responses=responses(400, 404, 409, 503))
async def add_import_rows(
    door: Door, import_id: UUID, body: IndicatorRowsChunk, who: Caller
) -> JSONResponse:
    check_import(door, who, import_id, "add_import_rows")
    # A token limited to places imports readings for those places only.
    outside = sorted({r.place for r in body.rows if not who.covers_place(r.place)})
    if outside:
        raise outside_scope(who, f"rows for {', '.join(outside)}")
    command = ImportIndicatorsCommand(
        import_id=import_id, step="rows", rows=body.rows, actor=who.actor
    )
    return reply(await door.send("build", "import_indicators", command))


@router.post("/indicator-imports/{import_id}/commit", responses=responses(400, 404, 409, 503))
async def commit_import(door: Door, import_id: UUID, who: Caller) -> JSONResponse:
    check_import(door, who, import_id, "commit_import")
    command = ImportIndicatorsCommand(import_id=import_id, step="commit", actor=who.actor)
    return reply(await door.send("build", "import_indicators", command))


@router.get("/indicator-imports")
async def list_imports(door: Door, page: Page, who: Caller) -> list[dict[str, Any]]:
    """The committed imports the token covers every row of: file, rows, places, the agency
    that started it, when and by whom it was committed."""
    return page.apply(shown(i for i in door.read_model.imports if import_visible(who, i.places)))


@router.get("/indicators")
async def list_indicators(
    door: Door,
    page: Page,
    who: Caller,
    place: str,
    indicator: str | None = None,
    series: str | None = None,
) -> list[dict[str, Any]]:
    """A place's committed indicator readings, oldest first (none for a place outside the
    token's places, as for a place with none)."""
    if not place_visible(who, place):
        return page.apply([])
    readings = door.read_model.indicator_readings(place, indicator, series)
    return page.apply([r.model_dump(mode="json") for r in readings])


@router.get("/places/{place}/outcomes", responses=responses(404))
async def outcomes(
    door: Door,
    who: Caller,
    place: str,
    indicator: str,
    series: str | None = None,
    before_months: Annotated[int, Query(ge=1, le=60)] = 6,
) -> dict[str, Any]:
    """For each operation in the place: the indicator's mean in the months before it
    launched against 3, 6 and 12 months after it concluded; and the place's programmes'
    social return where they report cost and outcome value. What the token does not cover is
    left out, as if there were none."""
    covers = who.covers_item
    covered = place_visible(who, place)
    model = door.read_model
    return place_outcomes(model, place, indicator, series, before_months, covered, covers)
