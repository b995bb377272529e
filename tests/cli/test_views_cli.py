"""`chb views status|rebuild` over the API: the generation served, and a rebuild followed with
a progress bar to the new generation (or exit 1 when another ends up served)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from services.cli import app

pytestmark = pytest.mark.application

TOKEN = {"CHB_TOKEN": "a-token"}


def status(generation: int, rebuild: dict[str, Any] | None = None) -> dict[str, Any]:
    positions = {"CHB_CLEAR": 10, "CHB_HOLD": 1200, "CHB_BUILD": 0}
    return {"generation": generation, "leading": True, "positions": positions, "rebuild": rebuild}


def answering(monkeypatch: pytest.MonkeyPatch, answers: list[dict[str, Any]]) -> list[str]:
    """The API answers each request with the next of ``answers``; the requests are kept."""
    asked: list[str] = []

    def fake(method: str, url: str, **kwargs: Any) -> httpx.Response:
        asked.append(f"{method} {url.removeprefix('http://api')}")
        code = 202 if method == "POST" else 200
        return httpx.Response(code, json=answers.pop(0), request=httpx.Request(method, url))

    monkeypatch.setattr(httpx, "request", fake)
    return asked


def test_status_says_which_generation_is_served_and_how_far_a_rebuild_has_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answering(
        monkeypatch, [status(3, {"generation": 4, "asked": True, "applied": 500, "total": 1210})]
    )
    result = CliRunner().invoke(app, ["--api", "http://api", "views", "status"], env=TOKEN)
    assert result.exit_code == 0, result.output
    assert "generation 3 served, 1,210 events applied; this API writes them" in result.output
    assert "rebuilding: generation 4, 500 of 1,210 events read" in result.output


def test_status_says_when_a_rebuild_has_read_everything_and_is_making_its_indexes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rebuild = {"generation": 4, "asked": True, "indexing": True, "applied": 1210, "total": 1210}
    answering(monkeypatch, [status(3, rebuild)])
    result = CliRunner().invoke(app, ["--api", "http://api", "views", "status"], env=TOKEN)
    assert result.exit_code == 0, result.output
    assert "rebuilding: generation 4, 1,210 of 1,210 events read; making its indexes" in (
        result.output
    )


def test_rebuild_follows_the_new_generation_until_it_is_served(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    building = {"generation": 4, "asked": True, "applied": 0, "total": 1210}
    asked = answering(
        monkeypatch,
        [
            status(3, building),
            status(3, {**building, "applied": 600}),
            status(4),
        ],
    )
    result = CliRunner().invoke(
        app, ["--api", "http://api", "views", "rebuild", "--every", "0.05"], env=TOKEN
    )
    assert result.exit_code == 0, result.output
    assert asked == ["POST /views/rebuild", "GET /views", "GET /views"]
    assert "generation 4 served" in result.output


def test_rebuild_exits_1_when_another_generation_ends_up_served(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    building = {"generation": 4, "asked": True, "applied": 0, "total": 10}
    answering(monkeypatch, [status(3, building), status(3)])
    result = CliRunner().invoke(
        app, ["--api", "http://api", "views", "rebuild", "--every", "0.05"], env=TOKEN
    )
    assert result.exit_code == 1
    assert "did not finish; generation 3 is served" in result.output
