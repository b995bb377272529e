"""Place reports: charts and tables for the leadership group; aggregates only for the public."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.build.report import suppress, write_place_report

pytestmark = pytest.mark.application

PNG = b"\x89PNG\r\n\x1a\n"


def data() -> dict[str, Any]:
    return {
        "operations": [
            {
                "name": "Operation Highwater",
                "launched": "2026-03-01",
                "concluded": "2026-03-31",
                "hold": {
                    "households": 3,
                    "children": 7,
                    "tasks": 9,
                    "overdue": 1,
                    "share_done_within_due_time": 0.667,
                },
            },
        ],
        "indicators": [
            {
                "place": "Ōpōtiki",
                "indicator": "wastewater_drug_load",
                "series": "meth",
                "period_start": f"2026-{m:02d}-01",
                "value": str(v),
                "unit": "mg/1000 people/day",
            }
            for m, v in ((1, 120), (2, 118), (3, 90), (4, 60), (5, 58), (6, 61))
        ],
        "milestones": [
            {
                "due_at": "2026-04-30T00:00:00+00:00",
                "label": "Hold review",
                "owner_agency": "rocc_leadership_group",
                "status": "met",
            },
        ],
        "programmes": [
            {
                "name": "Rangatahi mentoring",
                "focus_area": "rangatahi_pathway",
                "committed": "1300000.10",
                "spent": "650000.05",
                "people_engaged": 4,
                "social_return": "4.60",
            },
            {
                "name": "AOD treatment",
                "focus_area": "methamphetamine_harm",
                "committed": "1299999.90",
                "spent": "0.00",
                "people_engaged": 12,
                "social_return": None,
            },
        ],
        "cases": [{"household_ref": "HH-SECRET-1", "children": 3, "arrest_ids": ["a"]}],
    }


def test_small_counts_are_suppressed_and_zero_and_large_ones_shown() -> None:
    assert [suppress(n) for n in (0, 1, 4, 5, 12, None)] == ["0", "<5", "<5", "5", "12", "-"]


def test_the_full_report_has_charts_tables_and_households(tmp_path: Path) -> None:
    page = write_place_report("Ōpōtiki", data(), tmp_path)
    html = page.read_text()
    chart = tmp_path / "wastewater_drug_load-meth.png"
    assert chart.read_bytes().startswith(PNG)
    assert "wastewater_drug_load-meth.png" in html
    assert "HH-SECRET-1" in html
    assert "<td>3</td><td>7</td><td>9</td>" in html  # households, children, tasks
    assert "$2,600,000.00" in html and "$650,000.05" in html  # exact totals


def test_the_public_report_holds_aggregates_only_with_small_counts_suppressed(
    tmp_path: Path,
) -> None:
    """No household reference appears; 3 households, 1 overdue and 4 people engaged are each
    shown as <5; 7 children and 9 tasks are shown; money totals stay exact."""
    html = write_place_report("Ōpōtiki", data(), tmp_path, public=True).read_text()
    assert "HH-SECRET" not in html
    assert "<td>&lt;5</td><td>7</td><td>9</td>" in html  # households, children, tasks
    assert html.count("<td>&lt;5</td>") == 3  # households, overdue, people engaged
    assert "$2,600,000.00" in html


def test_each_milestone_names_its_operation_and_a_share_before_anything_is_due_says_so(
    tmp_path: Path,
) -> None:
    """Two operations concluded in one place each have a "Hold review": each row names its
    own operation (and one added to the plan itself says so); an operation whose tasks are
    none of them due yet shows "nothing due yet", not 0%."""
    report = data()
    first, second = "5fcf55ff-bb0b-43c9-80db-9a047c3a90c1", "7a1c0b3e-0000-4000-8000-000000000001"
    waiting = {"households": 1, "children": 1, "tasks": 2, "overdue": 0}
    report["operations"] = [
        {**report["operations"][0], "operation_id": first},
        {
            **report["operations"][0],
            "operation_id": second,
            "name": "Operation Pakari",
            "hold": {
                **waiting,
                "share_done_within_due_time": 0.0,
                "tasks_by_status": {"offered": 2},
            },
        },
    ]
    review = report["milestones"][0]
    report["milestones"] = [
        {**review, "operation_id": first},
        {**review, "operation_id": second},
        {**review, "label": "Marae hui", "operation_id": "00000000-0000-0000-0000-000000000000"},
    ]
    html = write_place_report("Ōpōtiki", report, tmp_path).read_text()
    assert "<td>Hold review</td><td>Operation Highwater (5fcf55ff)</td>" in html
    assert "<td>Hold review</td><td>Operation Pakari (7a1c0b3e)</td>" in html
    assert "<td>Marae hui</td><td>the place&#x27;s own</td>" in html
    assert html.count("nothing due yet") == 1 and "<td>0%</td>" not in html
