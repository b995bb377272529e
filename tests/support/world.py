"""A small world of operations, households and tasks in known states, made through the API by
the people who would make them, for tests of who may do what to which item."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.api.identity import Identity
from tests.support.system import InProcessSystem, bearer, eventually

START = "2026-03-01T05:00:00+13:00"
ADMIN = Identity("adm-1", "administrator", "chb")
PLANNER = Identity("planner-1", "planner", "police")


def operation(place: str) -> dict[str, Any]:
    return {
        "name": "Operation Pakari",
        "district": "Southland",
        "place": place,
        "target_group": "supply network",
        "planned_start": START,
    }


def arrest_of(household: str, person: str = "P-1") -> dict[str, Any]:
    """An arrest leaving children with no carer: a child-safety check (Oranga Tamariki), family
    liaison (Police) and a needs assessment (iwi provider) for the household."""
    return {
        "person_ref": person,
        "household_ref": household,
        "charges": ["supply methamphetamine"],
        "children": [{"child_ref": f"{household}-C1", "age": 3}],
        "only_carer_present": True,
    }


@dataclass
class World:
    system: InProcessSystem
    operations: dict[str, str] = field(default_factory=dict)  # name -> id
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)  # household:kind -> task
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)  # household -> case
    extra: dict[str, str] = field(default_factory=dict)  # other items' ids, by name

    async def post(self, who: Identity, url: str, body: Any = None) -> Any:
        response = await self.system.api.post(url, json=body, headers=bearer(who))
        assert response.is_success, (url, response.status_code, response.text)
        return response.json()

    async def plan(self, name: str, place: str, launch: bool) -> str:
        made = await self.post(PLANNER, "/operations", operation(place))
        self.operations[name] = made["operation_id"]
        if launch:
            await self.post(PLANNER, f"/operations/{made['operation_id']}/launch")
        return str(made["operation_id"])

    async def arrest(self, operation_name: str, household: str) -> None:
        url = f"/operations/{self.operations[operation_name]}/arrests"
        await self.post(PLANNER, url, arrest_of(household))

    async def settle(self, households: list[str], tasks_each: int = 3) -> None:
        """Wait for each household's case and its tasks to reach the API's views."""

        async def listing(url: str) -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = (
                await self.system.api.get(url, headers=bearer(ADMIN))
            ).json()
            return found

        cases = await eventually(
            lambda: listing("/cases"),
            lambda found: set(households) <= {c["household_ref"] for c in found},
            what="every household's case",
        )
        for case in cases:
            self.cases[case["household_ref"]] = case
        wanted = {self.cases[h]["case_id"]: h for h in households}
        tasks = await eventually(
            lambda: listing("/tasks"),
            lambda found: all(
                sum(t["case_id"] == case_id for t in found) >= tasks_each for case_id in wanted
            ),
            what="every household's tasks",
        )
        for task in tasks:
            if task["case_id"] in wanted:
                self.tasks[f"{wanted[task['case_id']]}:{task['kind']}"] = task

    async def wait_for(
        self, url: str, check: Callable[[list[dict[str, Any]]], bool]
    ) -> list[dict[str, Any]]:
        async def listing() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = (
                await self.system.api.get(url, headers=bearer(ADMIN))
            ).json()
            return found

        return await eventually(listing, check, what=url)

    def task(self, household: str, kind: str) -> str:
        return str(self.tasks[f"{household}:{kind}"]["task_id"])

    async def step(self, who: Identity, household: str, kind: str, *steps: Any) -> None:
        """Take a task through steps as ``who`` (each a name, or a name and a body)."""
        task_id = self.task(household, kind)
        for step in steps:
            name, body = (step, None) if isinstance(step, str) else step
            await self.post(who, f"/tasks/{task_id}/{name}", body)

    async def task_now(self, task_id: str) -> dict[str, Any]:
        response = await self.system.api.get(f"/tasks/{task_id}", headers=bearer(ADMIN))
        assert response.status_code == 200, response.text
        task: dict[str, Any] = response.json()
        return task
