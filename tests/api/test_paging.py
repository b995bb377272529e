"""Every list pages: limit and offset, the total in X-Total-Count, next and prev in Link."""

from __future__ import annotations

import typing

import pytest

from services.api.app import api_routes
from tests.support.flows import plan_and_launch
from tests.support.system import InProcessSystem, eventually


@pytest.mark.domain
def test_every_route_that_answers_a_list_takes_limit_and_offset() -> None:
    lists = [r for r in api_routes() if typing.get_origin(r.response_model) is list]
    assert len(lists) >= 11
    for route in lists:
        names = {p.name for p in route.dependant.query_params} | {
            p.name for d in route.dependant.dependencies for p in d.query_params
        }
        assert {"limit", "offset"} <= names, route.path


@pytest.mark.integration
async def test_pages_of_operations_with_links_and_a_total(system: InProcessSystem) -> None:
    ops = [await plan_and_launch(system, place=f"Place {n}") for n in range(5)]

    async def listed() -> int:  # the list is the read model: it follows clear's stream
        return int((await system.api.get("/operations")).headers["x-total-count"])

    await eventually(listed, lambda n: n == 5, what="five operations listed")
    first = await system.api.get("/operations", params={"limit": 2})
    assert first.status_code == 200 and len(first.json()) == 2
    assert first.headers["x-total-count"] == "5"
    assert first.headers["link"] == '</operations?limit=2&offset=2>; rel="next"'
    last = await system.api.get("/operations", params={"limit": 2, "offset": 4})
    assert len(last.json()) == 1 and 'rel="prev"' in last.headers["link"]
    assert 'rel="next"' not in last.headers["link"]
    seen = [o["operation_id"] for o in first.json()]
    seen += [
        o["operation_id"]
        for o in (await system.api.get("/operations", params={"limit": 2, "offset": 2})).json()
    ]
    seen += [o["operation_id"] for o in last.json()]
    assert sorted(seen) == sorted(ops)
    for bad in ({"limit": 0}, {"limit": 10_001}, {"offset": -1}):
        refused = await system.api.get("/operations", params=bad)
        assert refused.status_code == 422, bad
        assert refused.json()["errors"][0]["field"] in ("query.limit", "query.offset")
