"""The views themselves, for the administrator: which generation is served, and a rebuild from
the streams beside it (``chb views rebuild``), served once it has caught up."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.api.access import Caller
from services.api.deps import Door
from services.api.problems import Refused, responses
from services.api.routers.audit import whole_system

router = APIRouter()


@router.get("/views")
async def views_status(door: Door, who: Caller) -> dict[str, Any]:
    """The generation of the views served, where it stands on each stream, whether this
    process writes them, and a rebuild under way: how many events it has read of how many."""
    whole_system(who, "the views")
    return door.projector.progress()


@router.post("/views/rebuild", status_code=202, responses=responses(400, 409, 503))
async def rebuild_views(door: Door, who: Caller) -> JSONResponse:
    """Rebuild every view from the streams alone, into a new generation beside the one served
    (which goes on answering, live, meanwhile), and serve it once it has caught up. Follow it
    with ``GET /views``."""
    whole_system(who, "the views")
    if not door.projector.leading:
        raise Refused(409, "this API process reads the views another one writes: ask that one")
    if not await door.projector.rebuild_asked(door.broker.connection):
        raise Refused(409, "a rebuild of the views is already under way")
    return JSONResponse(status_code=202, content=door.projector.progress())
