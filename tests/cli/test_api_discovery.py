"""Which API `chb` talks to (the root --api, CHB_API, else the one the running `chb up` of the
data directory wrote down), what it says when none answers, and what it prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
import typer
from typer.testing import CliRunner

from services.cli import app

pytestmark = pytest.mark.application

# Nothing listens on port 9 (discard) on loopback.
NO_API = "http://127.0.0.1:9"


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every request `chb` makes, answered with an empty list."""
    requests: list[tuple[str, str]] = []

    def fake_request(method: str, url: str, **kwargs: Any) -> httpx.Response:
        requests.append((method, url))
        return httpx.Response(200, json=[], request=httpx.Request(method, url))

    monkeypatch.setattr(httpx, "request", fake_request)
    return requests


def env_of(data: Path, **more: str) -> dict[str, str]:
    return {"CHB_DATA_DIR": str(data), "CHB_TOKEN": "t", "CHB_API": "", **more}


def test_chb_finds_the_api_of_the_running_chb_up_in_its_data_directory(
    tmp_path: Path, sent: list[tuple[str, str]]
) -> None:
    (tmp_path / "api.url").write_text("http://127.0.0.1:18123\n")
    result = CliRunner().invoke(app, ["tasks"], env=env_of(tmp_path))
    assert result.exit_code == 0, result.output
    assert sent == [("GET", "http://127.0.0.1:18123/tasks")]


def test_the_root_api_option_and_chb_api_win_over_the_data_directory(
    tmp_path: Path, sent: list[tuple[str, str]]
) -> None:
    (tmp_path / "api.url").write_text("http://127.0.0.1:18123\n")
    given = CliRunner().invoke(app, ["--api", "http://api/", "cases"], env=env_of(tmp_path))
    assert given.exit_code == 0, given.output
    from_env = CliRunner().invoke(app, ["cases"], env=env_of(tmp_path, CHB_API="http://env"))
    assert from_env.exit_code == 0, from_env.output
    assert sent == [("GET", "http://api/cases"), ("GET", "http://env/cases")]


def test_no_api_answering_is_one_line_that_says_how_to_point_chb_elsewhere(
    tmp_path: Path,
) -> None:
    (tmp_path / "api.url").write_text(NO_API + "\n")
    result = CliRunner().invoke(app, ["tasks"], env=env_of(tmp_path))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error: no API answers at {NO_API} (written by `chb up` in ")
    assert "--api URL" in lines[0] and "CHB_API=URL" in lines[0]


def test_a_refusal_is_one_line_with_the_problems_detail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    problem = {
        "type": "about:blank",
        "title": "Unprocessable Content",
        "status": 422,
        "detail": "status: Input should be 'offered', 'accepted' or ...",
        "instance": "/tasks",
        "errors": [{"field": "status", "reason": "Input should be 'offered', 'accepted' or ..."}],
    }

    def refuse(method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"content-type": "application/problem+json"}
        return httpx.Response(422, json=problem, headers=headers)

    monkeypatch.setattr(httpx, "request", refuse)
    result = CliRunner().invoke(
        app, ["--api", "http://api", "tasks", "--status", "open"], env=env_of(tmp_path)
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: 422: status: Input should be 'offered', 'accepted' or ..."
    ]


def test_the_task_board_shows_whole_task_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [str(uuid4()) for _ in range(3)]
    row = {
        "case_id": str(uuid4()),
        "kind": "child_safety_check",
        "place": "Mataura",
        "agency": "oranga_tamariki",
        "lead_agency": "oranga_tamariki",
        "status": "offered",
        "due_at": "2026-11-22T07:25:20.715104+00:00",
        "escalation_level": 0,
        "playbook": "national@v2",
        "causation_id": str(uuid4()),
        "correlation_id": str(uuid4()),
    }

    def board(method: str, url: str, **kwargs: Any) -> httpx.Response:
        rows = [{**row, "task_id": task_id} for task_id in ids]
        return httpx.Response(200, json=rows, request=httpx.Request(method, url))

    monkeypatch.setattr(httpx, "request", board)
    table = CliRunner().invoke(app, ["--api", "http://api", "tasks"], env=env_of(tmp_path))
    assert table.exit_code == 0, table.output
    assert all(task_id in table.output for task_id in ids)
    only_ids = CliRunner().invoke(
        app, ["--api", "http://api", "tasks", "--ids"], env=env_of(tmp_path)
    )
    assert only_ids.output.split() == ids


def every_command(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in getattr(group, "commands", {}).items():
        found += every_command(command, (*path, name))
    return found


def test_no_help_shows_a_bool_placeholder() -> None:
    root = typer.main.get_command(app)
    commands = every_command(root)
    assert len(commands) > 40
    for path in commands:
        result = CliRunner().invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "<bool>" not in result.output, (path, result.output)
