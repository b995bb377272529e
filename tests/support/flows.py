"""Steps every system test takes: plan and launch an operation, record an arrest, count a stream."""

from __future__ import annotations

from typing import Any

from services.runtime.settings import Settings
from services.runtime.topology import stream_name
from tests.support.nats_users import connect_as
from tests.support.system import InProcessSystem

START = "2026-03-01T05:00:00+13:00"


async def plan_and_launch(system: InProcessSystem, place: str = "Mataura") -> str:
    response = await system.api.post(
        "/operations",
        json={
            "name": "Operation Pakari",
            "district": "Southland",
            "place": place,
            "target_group": "gang supply network",
            "planned_start": START,
        },
    )
    assert response.status_code == 201, response.text
    operation_id: str = response.json()["operation_id"]
    assert (await system.api.post(f"/operations/{operation_id}/launch")).status_code == 200
    return operation_id


async def arrest(
    system: InProcessSystem,
    operation_id: str,
    person: str,
    household: str,
    children: list[dict[str, Any]] | None = None,
    only_carer: bool = False,
) -> str:
    response = await system.api.post(
        f"/operations/{operation_id}/arrests",
        json={
            "person_ref": person,
            "household_ref": household,
            "charges": ["supply methamphetamine"],
            "children": children or [],
            "only_carer_present": only_carer,
        },
    )
    assert response.status_code == 201, response.text
    arrest_id: str = response.json()["arrest_id"]
    return arrest_id


async def stream_count(settings: Settings, service: str) -> int:
    nc = await connect_as(settings)
    info = await nc.jetstream().stream_info(stream_name(service))
    await nc.close()
    return int(info.state.messages)
