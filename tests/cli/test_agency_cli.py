"""The command line and the agency register: tokens and playbooks checked against it (offline
against the seeded one, or one given), and `chb agency add|list|show` over the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from services.api.identity import read_token
from services.cli import app
from tests.conftest import TEST_JWT_KEY

pytestmark = pytest.mark.application

NATIONAL = Path(__file__).parents[2] / "services/hold/playbooks/national.toml"
# Nothing listens on port 9 (discard) on loopback: "no API running".
NO_API = "http://127.0.0.1:9"
KEY = {"CHB_JWT_KEY": TEST_JWT_KEY}


def issue(*args: str, api: str = NO_API) -> Any:
    """`chb --api API token issue ARGS`: with no API answering, unless another is given."""
    return CliRunner().invoke(app, ["--api", api, "token", "issue", *args], env=KEY)


def test_a_token_for_a_misspelt_agency_is_refused_with_the_closest_code() -> None:
    result = issue("--role", "agency_worker", "--agency", "oranga_tamarki")
    assert result.exit_code == 1
    assert "'oranga_tamarki' is not a registered agency (did you mean oranga_tamariki?)" in (
        result.output
    )
    assert "seeded register" in result.output
    assert result.stdout.count("eyJ") == 0  # no token printed


def test_the_system_code_is_the_administrators_alone_and_a_long_code_is_refused() -> None:
    assert issue("--role", "administrator", "--agency", "chb").exit_code == 0
    worker = issue("--role", "agency_worker", "--agency", "chb")
    assert worker.exit_code == 1 and "reserved for the administrator" in worker.output
    long = issue("--role", "agency_worker", "--agency", "a" * 65)
    assert long.exit_code == 1 and "not an agency code" in long.output


def test_an_agency_only_the_running_api_knows_gets_a_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not a seeded agency: the running API's register is asked, with a token it accepts."""
    asked: dict[str, Any] = {}

    def fake_get(url: str, **kwargs: Any) -> httpx.Response:
        asked.update(url=url, headers=kwargs["headers"])
        listed = [{"code": "te_runanga_o_makaawhio"}, {"code": "police"}]
        return httpx.Response(200, json=listed, request=httpx.Request("GET", url))

    monkeypatch.setattr(httpx, "get", fake_get)
    result = issue("--role", "agency_lead", "--agency", "te_runanga_o_makaawhio", api="http://api")
    assert result.exit_code == 0, result.output
    assert read_token(result.stdout.strip(), TEST_JWT_KEY, "chb").agency == (
        "te_runanga_o_makaawhio"
    )
    assert asked["url"] == "http://api/agencies"
    bearer = asked["headers"]["Authorization"].removeprefix("Bearer ")
    assert read_token(bearer, TEST_JWT_KEY, "chb").role == "administrator"
    unknown = issue("--role", "agency_lead", "--agency", "ministry_of_magic", api="http://api")
    assert unknown.exit_code == 1 and "register of the API at http://api" in unknown.output


def playbook(tmp_path: Path, lead: str, fallback: str) -> Path:
    path = tmp_path / "west-coast.toml"
    path.write_text(
        'name = "west-coast"\nversion = 1\n'
        '[[rules]]\nid = "a"\nwhen = { event = "arrest" }\n'
        f'task = {{ kind = "k", lead_agency = "{lead}", due_within = "2h",'
        f' fallback_agencies = ["msd", "{fallback}"] }}\n'
    )
    return path


def test_a_playbook_naming_unknown_agencies_fails_the_check_listing_each(tmp_path: Path) -> None:
    path = playbook(tmp_path, "ministry_of_magic", "helth_nz")
    result = CliRunner().invoke(app, ["playbook", "check", str(path)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith(str(path))]
    assert lines == [
        f"{path}: rules[0] (id 'a').task.lead_agency: 'ministry_of_magic' is not a registered "
        "agency",
        f"{path}: rules[0] (id 'a').task.fallback_agencies[1]: 'helth_nz' is not a registered "
        "agency (did you mean health_nz?)",
    ]


def test_a_playbook_is_checked_against_a_register_given_as_a_file(tmp_path: Path) -> None:
    """A JSON list of codes, or what `chb agency list --json` prints; it replaces the seeded
    register."""
    path = playbook(tmp_path, "te_runanga_o_makaawhio", "police")
    codes = tmp_path / "codes.json"
    codes.write_text(json.dumps(["te_runanga_o_makaawhio", "msd", "police"]))
    listed = tmp_path / "listed.json"
    listed.write_text(json.dumps([{"code": "te_runanga_o_makaawhio"}, {"code": "msd"}]))
    assert CliRunner().invoke(app, ["playbook", "check", str(path)]).exit_code == 1
    ok = CliRunner().invoke(app, ["playbook", "check", str(path), "--agencies", str(codes)])
    assert ok.exit_code == 0 and "valid: west-coast@v1" in ok.output
    short = CliRunner().invoke(app, ["playbook", "check", str(path), "--agencies", str(listed)])
    assert short.exit_code == 1 and "'police' is not a registered agency" in short.output
    broken = tmp_path / "broken.json"
    broken.write_text('{"police": true}')
    bad = CliRunner().invoke(app, ["playbook", "check", str(path), "--agencies", str(broken)])
    assert bad.exit_code == 1 and "not a JSON list of agency codes" in bad.output


def test_the_national_playbook_checks_clean_against_the_seeded_register() -> None:
    result = CliRunner().invoke(app, ["playbook", "check", str(NATIONAL)])
    assert result.exit_code == 0, result.output


def test_agency_add_list_and_show_talk_to_the_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str, str, Any]] = []
    agency = {"code": "te_runanga_o_makaawhio", "name": "Te Rūnanga o Makaawhio", "kind": "iwi"}
    history = [
        {
            "change": "registered",
            "at": "2026-06-07T10:00:00+00:00",
            "actor": {"id": "chair-1", "agency": "iwi", "role": "leadership_group_chair"},
            "reason": "joins the group",
            "fields": {"kind": "iwi"},
        }
    ]

    def fake_request(method: str, url: str, **kwargs: Any) -> httpx.Response:
        sent.append((method, url, kwargs.get("json")))
        body: Any = {**agency, "places": ["Hokitika"]}
        if method == "GET" and url.endswith("/agencies"):
            body = [body]
        elif method == "GET":
            body = {**body, "history": history}
        return httpx.Response(200, json=body, request=httpx.Request(method, url))

    monkeypatch.setattr(httpx, "request", fake_request)
    env = {"CHB_TOKEN": "t", "CHB_DATA_DIR": str(tmp_path)}
    added = CliRunner().invoke(
        app,
        [
            "--api", "http://api",
            "agency", "add", "te_runanga_o_makaawhio", "--name", "Te Rūnanga o Makaawhio",
            "--kind", "iwi", "--place", "Hokitika", "--reason", "joins the group",
        ],
        env=env,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert sent[0] == (
        "POST",
        "http://api/agencies",
        {**agency, "places": ["Hokitika"], "reason": "joins the group"},
    )
    listed = CliRunner().invoke(app, ["--api", "http://api", "agency", "list"], env=env)
    assert listed.exit_code == 0 and "te_runanga_o_makaawhio" in listed.output
    shown = CliRunner().invoke(
        app, ["--api", "http://api", "agency", "show", "te_runanga_o_makaawhio"], env=env
    )
    assert shown.exit_code == 0 and "joins the group" in shown.output
