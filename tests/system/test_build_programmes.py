"""Funded programmes through the front door: exact money from the panel to the results."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from services.build.indicators import add_months
from services.runtime.settings import Settings
from tests.system.support import CHAIR, eventually, running_system
from tests.system.test_pipeline import plan_and_launch

pytestmark = pytest.mark.integration

PANEL = [{"id": "p-1", "agency": "iwi", "role": "commissioning_panel"}]


async def test_a_programme_is_commissioned_paid_and_reports_its_social_return(
    settings: Settings,
) -> None:
    """Registered, approved by the panel for $2,600,000.00, paid in cents-exact amounts,
    refused an overspend, and reporting results worth $4.60 per $1: the read side agrees."""
    async with running_system(settings) as system:
        registered = await system.as_(CHAIR).post(
            "/programmes",
            json={
                "name": "Rangatahi mentoring",
                "provider": "Te Rūnanga",
                "place": "West Coast",
                "focus_area": "rangatahi_pathway",
                "funding_source": "CRWS fund",
                "agreement_kind": "outcome_agreement",
            },
        )
        assert registered.status_code == 201, registered.text
        pid = registered.json()["programme_id"]
        base = f"/programmes/{pid}"
        approved = await system.as_(CHAIR).post(
            f"{base}/panel-decisions",
            json={"decision": "approved", "amount": "2600000.00", "panel": PANEL},
        )
        assert approved.status_code == 200 and approved.json()["committed"] == "2600000.00"
        for amount in ("0.10", "0.20", "1299999.70"):
            spent = await system.as_(CHAIR).post(
                f"{base}/spend", json={"amount": amount, "period": "Q1"}
            )
            assert spent.status_code == 200, spent.text
        assert spent.json()["spent"] == "1300000.00"
        over = await system.as_(CHAIR).post(
            f"{base}/spend", json={"amount": "1300000.01", "period": "Q2"}
        )
        assert over.status_code == 409 and "over the 2600000.00 committed" in over.json()["detail"]
        fraction = await system.as_(CHAIR).post(
            f"{base}/spend", json={"amount": "0.001", "period": "Q2"}
        )
        assert fraction.status_code == 422
        result = await system.as_(CHAIR).post(
            f"{base}/results",
            json={
                "period": "2026-H1",
                "people_engaged": 40,
                "cost": "250000.00",
                "outcome_value": "1150000.00",
            },
        )
        assert result.json()["social_return"] == "4.60"

        async def programme() -> dict[str, Any]:
            listed = await system.get("/programmes", place="west coast")
            return listed[0] if listed else {}

        seen = await eventually(programme, lambda p: p.get("social_return") == "4.60")
        assert (Decimal(seen["committed"]), Decimal(seen["spent"])) == (
            Decimal("2600000.00"),
            Decimal("1300000.00"),
        )
        assert seen["people_engaged"] == 40
        assert [h["change"] for h in seen["history"]] == [
            "panel_decided",
            "spend_recorded",
            "spend_recorded",
            "spend_recorded",
            "result_reported",
        ]


async def test_indicators_count_only_once_committed_and_compare_before_and_after(
    settings: Settings,
) -> None:
    """An import's rows are invisible until it is committed; an import whose commit is refused
    (rows missing) never counts. With the operation's dates, the outcomes endpoint gives the
    baseline against each window after it."""
    async with running_system(settings) as system:
        op = await plan_and_launch(system, place="Ōpōtiki")
        assert (await system.api.post(f"/operations/{op}/conclude")).status_code == 200
        launched = date.today()
        rows = []
        for months_back, load in ((5, 120), (4, 120), (3, 120), (2, 120), (1, 120)):
            rows.append((add_months(launched, -months_back), load))
        for months_on, load in ((1, 60), (2, 60)):
            rows.append((add_months(launched, months_on), load))
        body = [
            {
                "place": "Ōpōtiki",
                "indicator": "wastewater_drug_load",
                "series": "meth",
                "period_start": d.isoformat(),
                "value": str(v),
                "unit": "mg/1000 people/day",
            }
            for d, v in rows
        ]

        started = await system.as_(CHAIR).post(
            "/indicator-imports", json={"file_name": "loads.csv", "rows_expected": len(body)}
        )
        assert started.status_code == 201, started.text
        iid = started.json()["import_id"]
        assert (
            await system.as_(CHAIR).post(f"/indicator-imports/{iid}/rows", json={"rows": body[:4]})
        ).status_code == 200
        early = await system.as_(CHAIR).post(f"/indicator-imports/{iid}/commit")
        assert early.status_code == 409 and "none of them count" in early.json()["detail"]
        assert (
            await system.as_(CHAIR).post(f"/indicator-imports/{iid}/rows", json={"rows": body[4:]})
        ).status_code == 200
        assert await system.get("/indicators", place="Ōpōtiki") == []
        assert (await system.as_(CHAIR).post(f"/indicator-imports/{iid}/commit")).status_code == 200

        readings = await eventually(
            lambda: system.get("/indicators", place="ōpōtiki"), lambda r: len(r) == 7
        )
        assert readings[0]["value"] == "120"
        (committed,) = await system.get("/indicator-imports")
        assert (committed["file_name"], committed["rows"]) == ("loads.csv", 7)
        outcome = await system.get(
            "/places/Ōpōtiki/outcomes", indicator="wastewater_drug_load", series="meth"
        )
        (comparison,) = outcome["operations"]
        assert comparison["baseline"]["mean"] == "120.000"
        assert comparison["baseline"]["readings"] == 5
        three = comparison["after"][0]
        assert (three["months_after"], three["mean"], three["change_percent"]) == (
            3,
            "60.000",
            "-50.0",
        )
