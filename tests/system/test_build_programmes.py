"""Funded programmes through the front door: exact money from the panel to the results."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from services.runtime.settings import Settings
from services.views.outcomes import add_months
from tests.support.build_flows import (
    CHAIR,
    commissioned,
    concluded_in,
    person,
    registered_programme,
)
from tests.support.system import eventually, running_system

pytestmark = pytest.mark.integration

PROVIDER_LEAD = person("l-iwi-provider-1", "agency_lead", "iwi_provider")


async def test_a_programme_is_commissioned_paid_and_reports_its_social_return(
    settings: Settings,
) -> None:
    """Registered, approved for $2,600,000.00 on three panel members' own votes, paid by its
    provider's lead in cents-exact amounts, refused an overspend, and reporting results worth
    $4.60 per $1: the read side agrees."""
    async with running_system(settings) as system:
        pid = await registered_programme(system, "West Coast", "iwi_provider")
        base = f"/programmes/{pid}"
        approved = await commissioned(system, pid, "2600000.00")
        assert approved["committed"] == "2600000.00" and approved["votes"] == []
        for amount in ("0.10", "0.20", "1299999.70"):
            spent = await system.api.post(
                f"{base}/spend", headers=PROVIDER_LEAD, json={"amount": amount, "period": "Q1"}
            )
            assert spent.status_code == 200, spent.text
        assert spent.json()["spent"] == "1300000.00"
        over = await system.api.post(
            f"{base}/spend", headers=PROVIDER_LEAD, json={"amount": "1300000.01", "period": "Q2"}
        )
        assert over.status_code == 409 and "over the 2600000.00 committed" in over.json()["detail"]
        fraction = await system.api.post(
            f"{base}/spend", headers=PROVIDER_LEAD, json={"amount": "0.001", "period": "Q2"}
        )
        assert fraction.status_code == 422
        result = await system.api.post(
            f"{base}/results",
            headers=PROVIDER_LEAD,
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
            "panel_vote_cast",
            "panel_vote_cast",
            "panel_vote_cast",
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
        await concluded_in(system, "Ōpōtiki")
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

        started = await system.api.post(
            "/indicator-imports",
            headers=CHAIR,
            json={"file_name": "loads.csv", "rows_expected": len(body)},
        )
        assert started.status_code == 201, started.text
        iid = started.json()["import_id"]
        assert (
            await system.api.post(
                f"/indicator-imports/{iid}/rows", headers=CHAIR, json={"rows": body[:4]}
            )
        ).status_code == 200
        early = await system.api.post(f"/indicator-imports/{iid}/commit", headers=CHAIR)
        assert early.status_code == 409 and "none of them count" in early.json()["detail"]
        assert (
            await system.api.post(
                f"/indicator-imports/{iid}/rows", headers=CHAIR, json={"rows": body[4:]}
            )
        ).status_code == 200
        assert await system.get("/indicators", place="Ōpōtiki") == []
        committing = await system.api.post(f"/indicator-imports/{iid}/commit", headers=CHAIR)
        assert committing.status_code == 200

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
