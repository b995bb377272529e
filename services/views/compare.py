"""Compare the live read models with ones rebuilt from the event history alone."""

from __future__ import annotations

import json
from typing import Any

from services.views.read_model import ReadModel
from services.views.rows import shown

# What the front door lists, and the key of each item.
LISTS = {
    "/operations": "operation_id",
    "/cases": "case_id",
    "/tasks": "task_id",
    "/milestones": "milestone_id",
    "/programmes": "programme_id",
    "/plans": "plan_id",
}


def rebuilt_lists(model: ReadModel) -> dict[str, list[dict[str, Any]]]:
    return {
        "/operations": shown(model.operations.values()),
        "/cases": shown(model.cases.values()),
        "/tasks": shown(model.tasks.values()),
        "/milestones": shown(model.milestones.values()),
        "/programmes": shown(model.programmes.values()),
        "/plans": shown(model.plans.values()),
    }


def differences(
    live: dict[str, list[dict[str, Any]]], rebuilt: dict[str, list[dict[str, Any]]]
) -> list[str]:
    """Every difference, one line each: missing, extra, or a field that differs."""
    found = []
    for path, key in LISTS.items():
        have = {str(item[key]): item for item in live.get(path, [])}
        want = {str(item[key]): item for item in rebuilt.get(path, [])}
        for item_id in sorted(want.keys() - have.keys()):
            found.append(f"{path} {item_id}: in the history, missing from the live view")
        for item_id in sorted(have.keys() - want.keys()):
            found.append(f"{path} {item_id}: in the live view, not in the history")
        for item_id in sorted(have.keys() & want.keys()):
            for field in sorted(have[item_id].keys() | want[item_id].keys()):
                if have[item_id].get(field) != want[item_id].get(field):
                    found.append(
                        f"{path} {item_id}.{field}: live {have[item_id].get(field)!r}, "
                        f"history {want[item_id].get(field)!r}"
                    )
    return found


def snapshot(model: ReadModel) -> dict[str, list[dict[str, Any]]]:
    """Every list of ``model`` as the front door serves it (plain JSON values), copied: the
    live model may change as soon as the caller awaits anything."""
    copied: dict[str, list[dict[str, Any]]] = json.loads(
        json.dumps(rebuilt_lists(model), default=str)
    )
    return copied


def comparison(
    live: dict[str, list[dict[str, Any]]], rebuilt: ReadModel, positions: dict[str, int]
) -> dict[str, Any]:
    """A live snapshot taken at stream ``positions`` against a model rebuilt from the history
    up to the same positions: identical, or every difference named."""
    found = differences(live, snapshot(rebuilt))
    return {
        "identical": not found,
        "items": sum(len(v) for v in live.values()),
        "stream_positions": positions,
        "differences": found,
    }
