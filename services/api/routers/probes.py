"""Probes and metrics for orchestrators: open, no personal data."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.api.deps import Door
from services.runtime.topology import SERVICES

router = APIRouter()


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/metrics",
    response_class=Response,  # documented as served: text, not JSON
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(door: Door) -> Response:
    """Prometheus text format: FastStream's broker metrics and the API's readiness (each
    service serves its pipeline figures on its own ``CHB_METRICS_PORT``)."""
    return Response(generate_latest(door.registry), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/ready",
    responses={
        503: {
            "description": "Not ready: the same body, saying what is not",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def ready(door: Door) -> JSONResponse:
    statuses = await asyncio.gather(*(door.service_status(s) for s in SERVICES))
    body = {
        "ready": door.ready() and all(s.get("ready") for s in statuses),
        "nats_connected": door.connected,
        "read_model_caught_up": door.projector.caught_up,
        "services": {s["service"]: s for s in statuses},
    }
    restarts = door.restarts()
    if restarts is not None:  # under `chb up`: a process that crashed and came back says so
        body["restarts"] = restarts
    return JSONResponse(status_code=200 if body["ready"] else 503, content=body)
