"""People of several agencies and roles take random steps on a household's tasks and read
what they may, against the running system; after every step three things hold:

- a family's personal details reach an agency only inside its need-to-know window (here the
  window after an agency's part ends is nothing, so: while it holds an accepted, unfinished
  task of the household), and always reach an auditor;
- a refused step changes nothing;
- nothing outside a token's scope is ever returned.

The model of who holds what is the test's own, kept from the answers the API gave.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import AsyncExitStack
from typing import Any, TypeVar

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from services.api.identity import Identity
from services.runtime.settings import Settings
from tests.support.system import InProcessSystem, bearer, running_system
from tests.support.world import World

pytestmark = pytest.mark.integration

T = TypeVar("T")

PEOPLE = {
    "ot worker": Identity("s-ot-w", "agency_worker", "oranga_tamariki"),
    "ot lead": Identity("s-ot-l", "agency_lead", "oranga_tamariki"),
    "iwi worker": Identity("s-iwi-w", "agency_worker", "iwi_provider"),
    "iwi worker, Mataura only": Identity(
        "s-iwi-m", "agency_worker", "iwi_provider", places=("Mataura",)
    ),
    "police worker": Identity("s-po-w", "agency_worker", "police"),
    "msd worker": Identity("s-msd-w", "agency_worker", "msd"),
    "ot worker, Gore only": Identity(
        "s-ot-g", "agency_worker", "oranga_tamariki", places=("Gore",)
    ),
    "member": Identity("s-mem", "leadership_group_member", "msd"),
    "chair": Identity("s-chair", "leadership_group_chair", "iwi"),
    "auditor": Identity("s-aud", "auditor", "oversight"),
    "planner": Identity("s-pl", "planner", "police"),
}
AUDITOR = PEOPLE["auditor"]
STEPS: dict[str, dict[str, Any] | None] = {
    "accept": None,
    "decline": {"reason_code": "no_capacity"},
    "assign": {"worker_ref": "W-1"},
    "start": None,
    "complete": {"outcome": "support in place"},
    "close": {"reason_code": "no_longer_needed"},
    "note": {"text": "visited"},
    "offer": {"to_agency": "msd"},
}
FINISHED = ("completed", "closed")


class Background:
    """An event loop in a thread of its own, for the running system: hypothesis's state
    machines are synchronous."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture
def background_system(api_settings: Settings) -> Iterator[tuple[Background, InProcessSystem]]:
    background = Background()
    stack = AsyncExitStack()
    quick = api_settings.model_copy(update={"personal_details_days": 0})
    system = background.run(stack.enter_async_context(running_system(quick)))
    try:
        yield background, system
    finally:
        background.run(stack.aclose())
        background.close()


def test_random_steps_never_leak_a_family_change_anything_refused_or_cross_a_scope(
    background_system: tuple[Background, InProcessSystem],
) -> None:
    background, system = background_system
    world = World(system)
    background.run(world.plan("L", "Mataura", launch=True))
    background.run(world.plan("G", "Gore", launch=True))
    counter = iter(range(10_000))

    def call(who: Identity, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return background.run(system.api.request(method, url, headers=bearer(who), **kwargs))

    class Household(RuleBasedStateMachine):
        @initialize()
        def arrest(self) -> None:
            self.household = f"HS-{next(counter)}"
            background.run(world.arrest("L", self.household))
            background.run(world.arrest("G", f"{self.household}-G"))
            background.run(world.settle([self.household, f"{self.household}-G"]))
            self.case = world.cases[self.household]["case_id"]
            # The model: each task's agency and status, and each agency's accepted tasks.
            self.tasks = {
                world.task(self.household, kind): {"agency": agency, "status": "offered"}
                for kind, agency in (
                    ("child_safety_check", "oranga_tamariki"),
                    ("family_liaison_contact", "police"),
                    ("needs_assessment", "iwi_provider"),
                )
            }

        def holds(self, agency: str) -> bool:
            return any(
                t["agency"] == agency and t["status"] not in ("offered", *FINISHED)
                for t in self.tasks.values()
            )

        @rule(
            who=st.sampled_from(sorted(PEOPLE)),
            step=st.sampled_from(sorted(STEPS)),
            index=st.integers(0, 2),
        )
        def take_a_step(self, who: str, step: str, index: int) -> None:
            task_id = sorted(self.tasks)[index]
            before = call(AUDITOR, "GET", f"/tasks/{task_id}").json()
            response = call(PEOPLE[who], "POST", f"/tasks/{task_id}/{step}", json=STEPS[step])
            if response.is_success:
                answer = response.json()
                self.tasks[task_id] = {"agency": answer["agency"], "status": answer["status"]}
                return
            assert response.status_code in (403, 404, 409, 422), response.text
            after = call(AUDITOR, "GET", f"/tasks/{task_id}").json()
            assert after == before, f"{who}'s refused {step} changed the task"

        @rule(who=st.sampled_from(sorted(PEOPLE)))
        def read_the_family(self, who: str) -> None:
            person = PEOPLE[who]
            response = call(
                person,
                "GET",
                f"/cases/{self.case}/personal",
                params={"reason": "checking before a visit"},
            )
            in_scope = person.covers_place("Mataura")
            may = in_scope and (
                person.role == "auditor"
                or (person.role not in ("public", "administrator") and self.holds(person.agency))
            )
            assert response.is_success is may, (who, self.tasks, response.text)
            if not in_scope:
                assert response.status_code == 404, response.text

        @rule(who=st.sampled_from(sorted(PEOPLE)), listing=st.sampled_from(["/tasks", "/cases"]))
        def list(self, who: str, listing: str) -> None:
            person = PEOPLE[who]
            response = call(person, "GET", listing)
            assert response.status_code == 200, response.text
            for item in response.json():
                assert person.covers_place(item["place"]), (who, listing, item["place"])

        @invariant()
        def the_views_agree_with_the_model(self) -> None:
            if not hasattr(self, "tasks"):
                return
            for task_id, expected in self.tasks.items():
                shown = call(AUDITOR, "GET", f"/tasks/{task_id}").json()
                assert (shown["agency"], shown["status"]) == (
                    expected["agency"],
                    expected["status"],
                )

    Household.TestCase.settings = settings(
        max_examples=6,
        stateful_step_count=20,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    Household.TestCase().runTest()
