"""The outcome charts drawn from ``GET /places/{place}/outcomes``'s rows: bars scaled to the
largest mean, every value in the description, and on the public page a count's mean under 5
shown as "<5" and not drawn."""

from __future__ import annotations

from typing import Any

import pytest

from services.api.pages.charts import BAR, PLOT, chart
from services.api.pages.public import small_mean
from services.api.pages.render import templates

pytestmark = pytest.mark.application


def outcome(before: str | None, *after: str | None) -> dict[str, Any]:
    return {
        "indicator": "school_attendance",
        "name": "Operation Kahu",
        "baseline": {"mean": before, "readings": 3},
        "after": [
            {"months_after": m, "mean": a, "change_percent": None, "readings": 1}
            for m, a in zip((3, 6, 12), after, strict=False)
        ],
    }


def test_bars_are_scaled_to_the_largest_mean_and_described() -> None:
    drawn = chart(outcome("80", "90", None, "40"), 0)
    heights = [b["height"] for b in drawn["bars"]]
    assert heights == [round(80 / 90 * PLOT), PLOT, 0, round(40 / 90 * PLOT)]
    assert all(b["y"] + b["height"] == drawn["base"] for b in drawn["bars"])
    assert drawn["desc"] == (
        "Before: 80; 3 months after: 90; 6 months after: no readings; 12 months after: 40."
    )
    assert drawn["width"] > 4 * BAR


def test_a_small_count_is_neither_drawn_nor_told() -> None:
    drawn = chart(outcome("3", "12"), 1, counts=True)
    assert [(b["text"], b["height"]) for b in drawn["bars"]] == [("<5", 0), ("12", PLOT)]
    assert "3" not in drawn["desc"].replace("3 months", "")
    assert small_mean("3.5") == "<5" and small_mean("0") == "0" and small_mean("7") == "7"


def test_the_svg_has_a_title_and_a_description_and_no_inline_style() -> None:
    macro = templates().get_template("chart.html").module.outcome_chart  # type: ignore[attr-defined]
    svg = str(macro(chart(outcome("80", "90"), 2)))
    assert '<title id="chart-2-t">' in svg and '<desc id="chart-2-d">' in svg
    assert 'aria-labelledby="chart-2-t chart-2-d"' in svg
    assert "style" not in svg
