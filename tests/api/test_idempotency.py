"""A retried command with the same Idempotency-Key records nothing twice: the arrest is
recorded once and the retry gets the first answer, also after the API restarts."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from services.api.app import create_app
from services.runtime.nats_permissions import API
from services.runtime.settings import Settings
from tests.support.flows import plan_and_launch
from tests.support.nats_users import as_user
from tests.support.system import InProcessSystem, eventually, running_system, signed_in

pytestmark = pytest.mark.integration

ARREST = {
    "person_ref": "P-1",
    "household_ref": "HH-1",
    "charges": ["supply"],
    "children": [{"child_ref": "C-1", "age": 6}],
    "only_carer_present": True,
}


async def arrests_of(system: InProcessSystem, op: str) -> int:
    count: int = (await system.get(f"/operations/{op}"))["arrests"]
    return count


async def test_a_retried_arrest_is_recorded_once_and_answered_the_same(
    system: InProcessSystem,
) -> None:
    op = await plan_and_launch(system)
    url = f"/operations/{op}/arrests"
    first = await system.api.post(url, json=ARREST, headers={"Idempotency-Key": "raid-1-P-1"})
    again = await system.api.post(url, json=ARREST, headers={"Idempotency-Key": "raid-1-P-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers

    changed = await system.api.post(
        url, json={**ARREST, "person_ref": "P-2"}, headers={"Idempotency-Key": "raid-1-P-1"}
    )
    assert changed.status_code == 422 and "different request" in changed.json()["detail"]
    assert changed.json()["errors"][0]["field"] == "Idempotency-Key"  # as every 422 names one
    bad = await system.api.post(url, json=ARREST, headers={"Idempotency-Key": "a key with spaces"})
    assert bad.status_code == 400 and bad.json()["title"] == "Bad Request"

    other = await system.api.post(url, json=ARREST, headers={"Idempotency-Key": "raid-1-P-1b"})
    assert other.status_code == 201 and other.json() != first.json()
    await eventually(lambda: arrests_of(system, op), lambda n: n == 2, what="two arrests")
    tasks = await eventually(
        lambda: system.get("/tasks", operation_id=op), lambda t: len(t) == 3, what="tasks"
    )
    assert len(tasks) == 3  # one household: the retry opened nothing more


async def test_the_key_outlives_a_restart_of_the_api(api_settings: Settings) -> None:
    async with running_system(api_settings) as system:
        op = await plan_and_launch(system)
        url = f"/operations/{op}/arrests"
        first = await system.api.post(url, json=ARREST, headers={"Idempotency-Key": "k-77"})
        assert first.status_code == 201
    async with running_system(api_settings) as system:
        again = await system.api.post(url, json=ARREST, headers={"Idempotency-Key": "k-77"})
        assert again.status_code == 201 and again.json() == first.json()
        await eventually(lambda: arrests_of(system, op), lambda n: n == 1, what="one arrest")


async def test_keys_are_each_callers_own(system: InProcessSystem) -> None:
    """Two planners who happen to choose the same key do not get each other's answers."""
    op = await plan_and_launch(system)
    url = f"/operations/{op}/arrests"
    mine = await system.api.post(url, json=ARREST, headers={"Idempotency-Key": "same"})
    theirs = await system.api.post(
        url,
        json=ARREST,
        headers={"Idempotency-Key": "same", "X-Actor-Id": "planner-2", "X-Actor-Role": "planner"},
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json() != theirs.json() and "idempotent-replayed" not in theirs.headers


@pytest.mark.domain
def test_the_store_keeps_answers_but_not_failures(tmp_path: object) -> None:
    """In flight, then answered; a 5xx answer is forgotten so a retry may try again; the
    record survives reopening the file."""
    from pathlib import Path

    from services.api.idempotency import IdempotencyStore

    path = Path(str(tmp_path)) / "keys.sqlite"
    store = IdempotencyStore(path)
    assert store.claim("p-1", "k", "f1") is None
    in_flight = store.claim("p-1", "k", "f1")
    assert in_flight is not None and in_flight.status is None
    store.finish("p-1", "k", 201, "application/json", b'{"arrest_id": "a"}')
    assert store.claim("p-2", "k", "f1") is None  # another caller's key is another key
    store.finish("p-2", "k", 503, "application/problem+json", b"{}")
    assert store.claim("p-2", "k", "f1") is None  # forgotten: claimed afresh
    store.close()
    reopened = IdempotencyStore(path).claim("p-1", "k", "f1")
    assert reopened is not None and (reopened.status, reopened.body) == (201, b'{"arrest_id": "a"}')


async def test_a_retry_through_another_api_instance_records_the_arrest_once(
    system: InProcessSystem, tmp_path: Path
) -> None:
    """Two API instances do not share their key files; the key still reaches clear as the
    command's id, so a retry sent to the other instance gets the same arrest, recorded once."""
    op = await plan_and_launch(system)
    url = f"/operations/{op}/arrests"
    first = await system.api.post(url, json=ARREST, headers={"Idempotency-Key": "raid-9-P-1"})
    assert first.status_code == 201
    other = create_app(
        as_user(system.settings, API).model_copy(update={"data_dir": tmp_path / "api-2"})
    )
    async with (
        other.router.lifespan_context(other),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=other),
            base_url="http://chb-2",
            event_hooks={"request": [signed_in(system.settings)]},
        ) as second,
    ):
        again = await second.post(url, json=ARREST, headers={"Idempotency-Key": "raid-9-P-1"})
    assert again.status_code == 201 and again.json() == first.json()
    assert "idempotent-replayed" not in again.headers  # clear answered it, not a key file
    await eventually(lambda: arrests_of(system, op), lambda n: n == 1, what="one arrest")
    tasks = await eventually(
        lambda: system.get("/tasks", operation_id=op), lambda t: len(t) == 3, what="tasks"
    )
    assert len(tasks) == 3
