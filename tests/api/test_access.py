"""Who may call what: every route, every role, against the running API; and what an invalid
token gets. The matrix itself lives in services/api/access.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import jwt
import pytest
from fastapi.routing import APIRoute
from typer.testing import CliRunner

from services.api.access import OPEN, ROUTES, actions_of
from services.api.app import api_routes, create_app
from services.api.identity import Identity, issue_token, read_token
from services.cli import app as cli
from services.runtime.authorization import TABLE
from services.runtime.settings import Settings
from tests.conftest import TEST_JWT_KEY
from tests.support.system import InProcessSystem, bearer, eventually

AGENCY = {"planner": "police", "operation_commander": "police", "auditor": "oversight"}
PATH_VALUES = {"action": "accept", "place": "Mataura"}
OPERATION = {
    "name": "Operation Pakari",
    "district": "Southland",
    "place": "Mataura",
    "target_group": "supply",
    "planned_start": "2026-03-01T05:00:00+13:00",
}


def routes() -> list[APIRoute]:
    return api_routes()


def url_of(route: APIRoute) -> str:
    return re.sub(r"{(\w+)}", lambda m: PATH_VALUES.get(m.group(1), str(uuid4())), route.path)


@pytest.mark.domain
def test_every_route_performs_an_action_of_the_table_or_is_open_and_nothing_else_is() -> None:
    """A route with no action is refused to everyone; who may do each action to which item is
    tested cell by cell, by hand, in tests/api/test_authorization_grid.py."""
    names = {r.name for r in routes()}
    assert names - OPEN == set(ROUTES)
    assert names >= OPEN
    assert all(action in TABLE for route in ROUTES for action in actions_of(route))


@pytest.mark.integration
async def test_no_token_or_a_bad_one_gets_401_and_the_probes_stay_open(
    system: InProcessSystem,
) -> None:
    planner = Identity("p-1", "planner", "police")
    anonymous = {"X-Anonymous": "1"}
    missing = await system.api.get("/tasks", headers=anonymous)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    expired = issue_token(
        TEST_JWT_KEY,
        "chb",
        planner,
        ttl=timedelta(hours=1),
        now=datetime.now(UTC) - timedelta(days=1),
    )
    wrong_key = issue_token("another-key-entirely-0123456789abcdef", "chb", planner)
    wrong_issuer = issue_token(TEST_JWT_KEY, "elsewhere", planner)
    unknown_role = jwt.encode(
        {
            "iss": "chb",
            "sub": "x",
            "role": "superuser",
            "agency": "police",
            "exp": datetime.now(UTC) + timedelta(hours=1),
        },
        TEST_JWT_KEY,
    )
    for token, why in [
        (expired, "expired"),
        (wrong_key, "Signature verification failed"),
        (wrong_issuer, "issuer"),
        (unknown_role, "superuser"),
        ("not-a-jwt", "not valid"),
    ]:
        response = await system.api.get("/tasks", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, why
        assert why in response.json()["detail"], response.json()
    assert (await system.api.get("/health", headers=anonymous)).status_code == 200
    assert (await system.api.get("/ready", headers=anonymous)).status_code in (200, 503)
    assert (await system.api.get("/metrics", headers=anonymous)).status_code == 200


@pytest.mark.integration
async def test_the_recorded_actor_is_the_tokens_person_not_what_the_caller_claims(
    system: InProcessSystem,
) -> None:
    """Who did it comes from the signed token alone: a header claiming to be someone else
    changes nothing on the record."""
    token = bearer(Identity("pl-77", "planner", "police"))
    response = await system.api.post(
        "/operations",
        headers={**token, "X-Actor-Id": "someone-else", "X-Actor-Role": "administrator"},
        json=OPERATION,
    )
    assert response.status_code == 201, response.text
    op = response.json()["operation_id"]
    auditor = bearer(Identity("a-1", "auditor", "oversight"))

    async def timeline() -> list[dict[str, str]]:
        response = await system.api.get(
            "/audit/timeline", params={"operation_id": op}, headers=auditor
        )
        entries: list[dict[str, str]] = response.json()
        return entries

    (planned,) = await eventually(timeline, lambda entries: len(entries) == 1)
    assert (planned["actor_id"], planned["actor_agency"], planned["actor_role"]) == (
        "pl-77",
        "police",
        "planner",
    )


def test_chb_token_issue_prints_a_token_the_api_accepts(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "token",
            "issue",
            "--role",
            "agency_worker",
            "--agency",
            "msd",
            "--place",
            "Mataura",
            "--subject",
            "w-9",
        ],
        env={"CHB_JWT_KEY": TEST_JWT_KEY},
    )
    assert result.exit_code == 0, result.output
    identity = read_token(result.stdout.strip(), TEST_JWT_KEY, "chb")
    assert identity == Identity("w-9", "agency_worker", "msd", ("Mataura",))
    bad = CliRunner().invoke(
        cli,
        ["token", "issue", "--role", "boss", "--agency", "msd"],
        env={"CHB_JWT_KEY": TEST_JWT_KEY},
    )
    assert bad.exit_code == 2 and "not one of" in bad.output
    keyless = CliRunner().invoke(
        cli,
        ["token", "issue", "--role", "auditor", "--agency", "x", "--data-dir", str(tmp_path)],
        env={"CHB_JWT_KEY": ""},
    )
    assert keyless.exit_code == 2 and "no key" in keyless.output


def test_the_api_refuses_to_start_without_a_key() -> None:
    with pytest.raises(ValueError, match="CHB_JWT_KEY"):
        create_app(Settings(jwt_key=""))


@pytest.mark.integration
async def test_every_refusal_is_a_problem_document(system: InProcessSystem) -> None:
    """RFC 9457: a body that does not validate names each field and why; a refusal by a
    service (409), an unknown route (404) and a missing token (401) all answer with
    ``application/problem+json`` carrying type, title, status, detail and instance."""
    planner = bearer(Identity("p-1", "planner", "police"))
    invalid = await system.api.post(
        "/operations", headers=planner, json={"name": "", "planned_start": "yesterday"}
    )
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == "application/problem+json"
    body = invalid.json()
    assert {k: body[k] for k in ("type", "title", "status", "instance")} == {
        "type": "about:blank",
        "title": "Unprocessable Entity",
        "status": 422,
        "instance": "/operations",
    }
    fields = {e["field"] for e in body["errors"]}
    assert {"name", "planned_start", "district"} <= fields
    assert body["detail"].startswith(body["errors"][0]["field"] + ": ")

    planned = await system.api.post(
        "/operations",
        headers=planner,
        json=OPERATION,
    )
    op = planned.json()["operation_id"]
    early = await system.api.post(
        f"/operations/{op}/arrests",
        headers=planner,
        json={"person_ref": "P-1", "household_ref": "HH-1", "charges": ["supply"]},
    )
    assert early.status_code == 409 and early.headers["content-type"] == "application/problem+json"
    assert early.json()["title"] == "Conflict" and "not launched" in early.json()["detail"]
    unknown = await system.api.get("/nowhere", headers=planner)
    assert unknown.status_code == 404 and unknown.json()["instance"] == "/nowhere"
    anonymous = await system.api.get("/tasks", headers={"X-Anonymous": "1"})
    assert anonymous.json()["status"] == 401 and anonymous.headers["www-authenticate"] == "Bearer"
