"""A task's page says who was told about it, from notify's record, and nothing personal."""

from __future__ import annotations

from typing import Any

import pytest

from services.api.pages.render import templates

pytestmark = pytest.mark.domain


def render_task(**changes: Any) -> str:
    task = {
        "task_id": "1bc6e315-0000-4000-8000-000000000000",
        "kind": "child_safety_check",
        "agency": "oranga_tamariki",
        "status": "offered",
        "due_at": "2026-03-01T16:00:00+00:00",
        "history": [],
        "badge": "due",
        **changes,
    }
    page = templates().get_template("task.html")
    context = {"may": set(), "order": [], "decline_reasons": [], "close_reasons": []}
    return page.render(task=task, agencies=[], error="", request=None, session=None, **context)


def test_each_notification_is_listed_with_its_outcome_in_new_zealand_time() -> None:
    html = render_task(
        notifications=[
            {
                "kind": "task_offered",
                "agency": "oranga_tamariki",
                "purpose": "intake",
                "channel": "webhook",
                "queued_at": "2026-03-01T14:12:00+00:00",
                "status": "delivered",
                "delivered_at": "2026-03-01T14:12:01+00:00",
                "attempts": 1,
                "detail": "HTTP 204",
            }
        ]
    )
    told = html[html.index("Who was told") : html.index('id="history"')]
    assert "Task offered" in told and "oranga_tamariki" in told and "Webhook" in told
    assert "Delivered Mon 2 Mar 2026, 03:12 NZDT" in told and "1 attempt (HTTP 204)" in told


def test_a_task_nobody_was_told_about_says_so() -> None:
    html = render_task()
    assert "No notification about this task is on record for you to see." in html
