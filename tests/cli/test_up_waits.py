"""`chb up` waits on for a catch-up that moves (issue 17): it reads the progress /ready reports."""

from __future__ import annotations

import httpx
import pytest

from services.cli.run import _catch_up_applied

pytestmark = pytest.mark.application


def answer(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body)


def test_the_progress_of_a_catch_up_is_read_from_a_503() -> None:
    catching_up = {"events_behind": 900, "applied": 100, "progress": 0.1}
    assert _catch_up_applied(answer(503, {"ready": False, "catching_up": catching_up})) == 100


def test_anything_else_is_no_progress() -> None:
    assert _catch_up_applied(answer(503, {"ready": False, "catching_up": None})) is None
    assert _catch_up_applied(answer(503, {"ready": False})) is None
    assert _catch_up_applied(httpx.Response(502, text="bad gateway")) is None
