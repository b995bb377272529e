"""The OpenAPI document tells the truth about refusals: each is a problem document served as
``application/problem+json``, every 422 with the fields and reasons, and no route is left
with FastAPI's default validation error (a shape the API never serves)."""

from __future__ import annotations

from typing import Any

from services.api.access import OPEN
from services.api.app import create_app
from services.runtime.settings import Settings
from tests.conftest import TEST_JWT_KEY


def document() -> dict[str, Any]:
    schema: dict[str, Any] = create_app(Settings(jwt_key=TEST_JWT_KEY)).openapi()
    return schema


def operations(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]


def test_every_refusal_is_documented_as_a_problem_document() -> None:
    schema = document()
    for label, operation in operations(schema):
        for status, answer in operation["responses"].items():
            if int(status) < 400 or label == "GET /ready":  # a probe's 503 is its own body
                continue
            content = answer["content"]
            assert list(content) == ["application/problem+json"], (label, status)
            name = "InvalidProblem" if status == "422" else "Problem"
            assert content["application/problem+json"]["schema"] == {
                "$ref": f"#/components/schemas/{name}"
            }, (label, status)
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert "errors" in schema["components"]["schemas"]["InvalidProblem"]["required"]


def test_every_route_behind_the_door_says_it_may_answer_401_403_and_422() -> None:
    for label, operation in operations(document()):
        if operation["operationId"].split("_")[0] in OPEN:
            assert "401" not in operation["responses"], label
            continue
        assert {"401", "403", "422"} <= set(operation["responses"]), label
        if label.startswith(("POST", "PATCH")):
            assert {"400", "409", "503"} <= set(operation["responses"]), label
