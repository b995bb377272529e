"""One crash does not stop the system: under `chb up`, hold, build, clear and the API are each
SIGKILLed in turn while planners record arrests through the front door (retrying with one
Idempotency-Key per arrest while something is down). Each comes back by itself (the supervisor
logs the exit and the restart and counts it in its status file), and every acknowledged arrest
has its whānau case exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.runtime.embedded_nats import free_port
from services.runtime.supervisor import STATUS_FILE
from tests.support.flows import START
from tests.support.processes import Up, chb_up

pytestmark = pytest.mark.system

LANES = 8
# Each process under `chb up` in turn: the two that follow streams, then the one that takes
# commands, then the front door itself.
KILLED = ("hold", "build", "clear", "api")


@dataclass
class Acknowledged:
    """Each arrest the API answered 201 for (household -> arrest id), and the households
    whose arrest has an unknown outcome: the API was killed while it was in flight."""

    arrests: dict[str, str] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)


async def record(api: httpx.AsyncClient, op: str, arrest: dict[str, Any]) -> str | None:
    """One arrest, retried with one Idempotency-Key while a process is down (no answer, 503,
    or the attempt before still in flight): its arrest id, or None when its outcome is
    unknown (409 for that key)."""
    key = {"Idempotency-Key": f"arrest-{arrest['household_ref']}"}
    while True:
        try:
            answer = await api.post(f"/operations/{op}/arrests", json=arrest, headers=key)
        except httpx.HTTPError:
            await asyncio.sleep(0.1)
            continue
        if answer.status_code == 201:
            arrest_id: str = answer.json()["arrest_id"]
            return arrest_id
        if answer.status_code == 409 and "outcome is unknown" in answer.text:
            return None
        # Clear away (503), or the first attempt, given up on here, still in flight (409).
        assert answer.status_code == 503 or "still in flight" in answer.text, answer.text
        await asyncio.sleep(0.1)


async def record_arrests(
    api: httpx.AsyncClient, op: str, ledger: Acknowledged, stopping: asyncio.Event
) -> None:
    async def lane(number: int) -> None:
        i = 0
        while not stopping.is_set():
            household = f"HH-{number}-{i}"
            arrest = {
                "person_ref": f"P-{number}-{i}",
                "household_ref": household,
                "charges": ["supply methamphetamine"],
                "children": [{"child_ref": f"C-{number}-{i}", "age": 6}],
                "only_carer_present": i % 2 == 0,
            }
            arrest_id = await record(api, op, arrest)
            if arrest_id is None:
                ledger.unknown.add(household)
            else:
                ledger.arrests[household] = arrest_id
            i += 1

    await asyncio.gather(*(lane(n) for n in range(LANES)))


def supervised(up: Up) -> dict[str, Any]:
    status: dict[str, Any] = json.loads((up.data / STATUS_FILE).read_text(encoding="utf-8"))
    return status


async def until(probe: Any, what: str, within: float = 60.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def kill_and_see_it_back(up: Up, name: str, ledger: Acknowledged) -> None:
    before = supervised(up)["processes"][name]
    os.kill(before["pid"], signal.SIGKILL)

    def back() -> bool:
        now = supervised(up)["processes"][name]
        return bool(now["running"] and now["pid"] != before["pid"])

    await until(back, f"{name} restarted")
    after = supervised(up)["processes"][name]
    assert after["restarts"] == before["restarts"] + 1 and after["last_exit"] == -9
    recorded = len(ledger.arrests)
    await until(lambda: len(ledger.arrests) >= recorded + 10, f"arrests after {name} came back")


async def test_a_killed_service_comes_back_and_every_arrest_has_its_case_once(
    tmp_path: Path,
) -> None:
    log = tmp_path / "up.log"
    with chb_up(tmp_path / "data", free_port(), log) as up:
        async with httpx.AsyncClient(base_url=up.api, headers=up.admin, timeout=30) as api:
            planned = await api.post(
                "/operations",
                json={
                    "name": "Operation Pakari",
                    "district": "Southland",
                    "place": "Mataura",
                    "target_group": "supply network",
                    "planned_start": START,
                },
            )
            op = planned.json()["operation_id"]
            assert (await api.post(f"/operations/{op}/launch")).status_code == 200
            ledger, stopping = Acknowledged(), asyncio.Event()
            sending = asyncio.create_task(record_arrests(api, op, ledger, stopping))
            await until(lambda: len(ledger.arrests) >= 20, "the first arrests")
            for name in KILLED:
                await kill_and_see_it_back(up, name, ledger)
            stopping.set()
            await sending
            # The API (itself restarted once) tells an orchestrator what came back, and how often.
            ready = (await api.get("/ready")).json()
            assert {name: ready["restarts"][name] for name in KILLED} == dict.fromkeys(KILLED, 1)
            metrics = (await api.get("/metrics")).text
            for name in KILLED:
                assert f'chb_process_restarts_total{{process="{name}"}} 1.0' in metrics

            async def cases() -> list[dict[str, Any]]:
                params = {"operation_id": op, "limit": 10_000}
                answer = await api.get("/cases", params=params)
                found: list[dict[str, Any]] = answer.json()
                return found

            # Clear's own count of the arrests it recorded: the acknowledged ones and those of
            # the unknown outcomes that got through. Each is one household's only arrest, so
            # hold has caught up when there are as many cases.
            operation = (await api.get(f"/operations/{op}")).json()
            recorded = operation["arrests"]
            assert len(ledger.arrests) <= recorded <= len(ledger.arrests) + len(ledger.unknown)
            found: list[dict[str, Any]] = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                found = await cases()
                if len(found) >= recorded:
                    break
                await asyncio.sleep(0.2)
            assert len(found) == recorded, "hold has not opened a case for every arrest"
        assert supervised(up)["restarts"] == len(KILLED)
    output = log.read_text(encoding="utf-8")
    for name in KILLED:
        assert f"{name} exited with -9; restarting in 0.5s (restart 1)" in output
    per_household = Counter(c["household_ref"] for c in found)
    assert set(ledger.arrests) <= set(per_household) <= set(ledger.arrests) | ledger.unknown
    assert max(per_household.values()) == 1
    assert len(ledger.unknown) <= LANES  # at most those in flight when the API was killed
    for case in found:
        if case["household_ref"] in ledger.arrests:
            assert case["arrest_ids"] == [ledger.arrests[case["household_ref"]]]
        else:
            assert len(case["arrest_ids"]) == 1


def test_a_process_that_keeps_crashing_stops_everything_with_the_reason(tmp_path: Path) -> None:
    """Hold dies as it starts, every time (a sitecustomize on its path exits at once): `chb up`
    restarts it with a growing pause, then, at the fifth exit within a minute, stops every
    process and exits 1 saying why."""
    crash = tmp_path / "crash"
    crash.mkdir()
    (crash / "sitecustomize.py").write_text(
        "import os, sys\nif sys.argv[1:3] == ['serve', 'hold']:\n    os._exit(3)\n",
        encoding="utf-8",
    )
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(crash)}
    command = [sys.executable, "-m", "services.cli", "up", "--data-dir", str(data)]
    done = subprocess.run(
        [*command, "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    for restart, pause in enumerate(("0.5", "1", "2", "4"), start=1):
        assert f"hold exited with 3; restarting in {pause}s (restart {restart})" in done.stderr
    assert "error: hold exited with 3; 5 exits within 60 s, so stopping everything" in (done.stderr)
    status = json.loads((data / STATUS_FILE).read_text(encoding="utf-8"))
    assert status["stopped"] is True and status["gave_up"].startswith("hold exited with 3")
    assert status["processes"]["hold"]["restarts"] == 4
    assert not (data / "api.url").exists() and not (data / "nats.url").exists()
