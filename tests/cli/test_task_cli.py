"""`chb task ... --agency A` acts as someone at A: with only a signing key at hand (no
administrator token), it sends a token minted for that agency."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from services.api.identity import read_token
from services.cli import app
from tests.conftest import TEST_JWT_KEY


def test_a_task_action_sends_a_token_for_the_agency_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: dict[str, Any] = {}

    def fake_request(method: str, url: str, **kwargs: Any) -> httpx.Response:
        sent.update(method=method, url=url, headers=kwargs["headers"])
        body = {"task_id": "t-1", "status": "accepted", "agency": "msd"}
        return httpx.Response(200, json=body, request=httpx.Request(method, url))

    monkeypatch.setattr(httpx, "request", fake_request)
    result = CliRunner().invoke(
        app,
        ["--api", "http://api", "task", "accept", "t-1", "--agency", "msd"],
        env={"CHB_JWT_KEY": TEST_JWT_KEY, "CHB_DATA_DIR": str(tmp_path), "CHB_TOKEN": ""},
    )
    assert result.exit_code == 0, result.output
    assert (sent["method"], sent["url"]) == ("POST", "http://api/tasks/t-1/accept")
    token = sent["headers"]["Authorization"].removeprefix("Bearer ")
    who = read_token(token, TEST_JWT_KEY, "chb")
    assert (who.agency, who.role) == ("msd", "agency_worker")
