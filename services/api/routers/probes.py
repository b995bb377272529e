"""Probes and metrics for orchestrators: open, no personal data."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.api.deps import Door
from services.api.readiness import (
    catching_up,
    follower_lag,
    notifier_deployed,
    stream_ends,
    view_lag,
)
from services.runtime.topology import NOTIFY, SERVICES, stream_name

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
    """Ready when NATS, every service and every view are: each view within ``ready_max_lag``
    events of its service's store as it stood when asked (``services/api/readiness.py``);
    ``views`` says by how much each is behind and ``catching_up`` the progress. The notifier,
    once the system has one, likewise: answering, ready, and within ``ready_max_lag`` of what
    it follows (``notifier``)."""
    *statuses, notify = await asyncio.gather(*(door.service_status(s) for s in (*SERVICES, NOTIFY)))
    # The stores' positions first, then the streams' ends: a view at those ends has what each
    # store held when asked.
    ends: dict[str, int | None] = dict.fromkeys(SERVICES)
    deployed = False
    if door.connected and door.started:
        with contextlib.suppress(Exception):  # NATS away: every view unknown, not ready
            js = door.broker.connection.jetstream()
            ends = await stream_ends(js, list(SERVICES))
            deployed = await notifier_deployed(js)
    reading = door.projector.reading
    max_lag = door.settings.ready_max_lag
    views = {
        service: view_lag(status, ends.get(service), reading.get(stream_name(service), 0), max_lag)
        for service, status in zip(SERVICES, statuses, strict=True)
    }
    rebuilding = door.projector.rebuilding
    caught_up = not rebuilding and all(v["caught_up"] for v in views.values())
    notifier = follower_lag(notify, max_lag) if deployed else None
    if notifier is not None:
        statuses.append(notify)
    body = {
        "ready": door.ready()
        and caught_up
        and all(s.get("ready") for s in statuses)
        and (notifier is None or notifier["caught_up"]),
        "nats_connected": door.connected,
        "read_model_caught_up": caught_up,
        "rebuilding": rebuilding,
        "max_lag": max_lag,
        "views": views,
        "catching_up": catching_up(views) if not caught_up else None,
        "notifier": notifier,
        "services": {s["service"]: s for s in statuses},
    }
    restarts = door.restarts()
    if restarts is not None:  # under `chb up`: a process that crashed and came back says so
        body["restarts"] = restarts
    return JSONResponse(status_code=200 if body["ready"] else 503, content=body)
