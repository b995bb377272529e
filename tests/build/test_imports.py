"""An indicator import's rows and commit are the starting agency's, and every row of it lies
within the token of whoever adds or commits it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from services.build.domain import IndicatorImport
from services.runtime.authorization import Caller, NotFound, NotPermitted
from services.runtime.dead_letters import NIL
from services.runtime.meta import Actor, Meta

pytestmark = pytest.mark.domain

AT = datetime(2026, 7, 1, tzinfo=UTC)
MSD_LEAD = Caller("l-1", "agency_lead", "msd")
HEALTH_LEAD = Caller("l-2", "agency_lead", "health_nz")


def meta(who: Caller) -> Meta:
    return Meta(AT, NIL, Actor(who.subject, who.agency, who.role))


def row(place: str, value: str = "120") -> dict[str, Any]:
    return {
        "place": place,
        "indicator": "wastewater_drug_load",
        "series": "meth",
        "period_start": "2026-01-01",
        "value": value,
        "unit": "mg/1000 people/day",
        "source": "",
    }


def started(rows_expected: int = 2, by: Caller = MSD_LEAD) -> IndicatorImport:
    return IndicatorImport.start(by, uuid4(), "loads.csv", rows_expected, meta(by))


def test_the_import_records_the_agency_that_started_it() -> None:
    batch = started()
    assert batch.starter_agency == "msd"
    (event,) = batch.collect_events()
    assert isinstance(event, IndicatorImport.Started) and event.starter_agency == "msd"


def test_another_agencys_lead_neither_adds_rows_nor_commits() -> None:
    """Today's row 5: health_nz's lead adding a row worth 99999 to msd's import, or committing
    it, is refused; msd's own lead (another person at msd) may do both."""
    batch = started(rows_expected=1)
    with pytest.raises(NotPermitted, match="agency that started it"):
        batch.add_rows(HEALTH_LEAD, [row("Mataura", "99999")], meta(HEALTH_LEAD))
    assert batch.rows_received == 0
    other_msd_lead = Caller("l-3", "agency_lead", "msd")
    batch.add_rows(other_msd_lead, [row("Mataura")], meta(other_msd_lead))
    with pytest.raises(NotPermitted, match="committed by the agency that started it"):
        batch.commit(HEALTH_LEAD, meta(HEALTH_LEAD))
    assert not batch.committed
    batch.commit(MSD_LEAD, meta(MSD_LEAD))
    assert batch.committed


def test_a_token_limited_to_places_adds_rows_for_them_only() -> None:
    """A lead limited to Gore sending a Mataura row is refused, naming it, and nothing of the
    chunk is taken."""
    gore = Caller("l-1", "agency_lead", "msd", places=("Gore",))
    batch = started(by=gore)
    with pytest.raises(NotPermitted, match="rows for Mataura is outside your token's scope"):
        batch.add_rows(gore, [row("Gore"), row("Mataura")], meta(gore))
    assert batch.rows_received == 0 and batch.places == {}


def test_an_import_holding_a_row_outside_the_tokens_places_is_not_found() -> None:
    """A Gore-limited lead of the starting agency cannot commit an import holding a Mataura
    row another lead added: for them it does not exist, as an unknown import."""
    batch = started()
    batch.add_rows(MSD_LEAD, [row("Gore"), row("Mataura")], meta(MSD_LEAD))
    gore = Caller("l-4", "agency_lead", "msd", places=("gore",))
    with pytest.raises(NotFound) as hidden:
        batch.commit(gore, meta(gore))
    assert str(hidden.value) == f"no import {batch.id}"
    assert not batch.committed
    both = Caller("l-4", "agency_lead", "msd", places=("Gore", "Mataura"))
    batch.commit(both, meta(both))
    assert batch.committed


def test_a_token_limited_to_operations_starts_no_import() -> None:
    one_op = Caller("l-1", "agency_lead", "msd", operations=(str(uuid4()),))
    with pytest.raises(NotPermitted, match="outside your token's scope"):
        started(by=one_op)
    with pytest.raises(NotPermitted):
        started(by=Caller("w-1", "agency_worker", "msd"))
