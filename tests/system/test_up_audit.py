"""`chb up` as a user runs it, and `chb audit verify` on its data directory: while it runs
(checkpoints from its NATS), after it stopped (its NATS data started for the check), and after
someone edited a store behind its back."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from services.runtime.embedded_nats import free_port
from tests.support.flows import START
from tests.support.processes import chb, wait_for

pytestmark = pytest.mark.system


def test_verify_on_the_data_directory_of_chb_up(tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    api = f"http://127.0.0.1:{port}"
    with open(tmp_path / "up.log", "wb") as log:
        up = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "services.cli",
                "up",
                "--data-dir",
                str(data),
                "--port",
                str(port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        wait_for(lambda: httpx.get(f"{api}/ready", timeout=2).status_code == 200, "ready")
        # The administrator token chb up printed, and kept beside its key.
        admin = {"Authorization": f"Bearer {(data / 'admin.token').read_text().strip()}"}
        assert httpx.get(f"{api}/tasks").status_code == 401
        planned = httpx.post(
            f"{api}/operations",
            headers=admin,
            json={
                "name": "Operation Pakari",
                "district": "Southland",
                "place": "Mataura",
                "target_group": "supply network",
                "planned_start": START,
            },
        )
        op = planned.json()["operation_id"]
        assert httpx.post(f"{api}/operations/{op}/launch", headers=admin).status_code == 200
        arrest = {
            "person_ref": "P-1",
            "household_ref": "HH-1",
            "charges": ["supply"],
            "children": [{"child_ref": "C-1", "age": 4}],
            "only_carer_present": True,
        }
        assert (
            httpx.post(f"{api}/operations/{op}/arrests", json=arrest, headers=admin).status_code
            == 201
        )

        def checkpointed() -> bool:
            services = httpx.get(f"{api}/ready", timeout=2).json()["services"].values()
            return (
                all(
                    s["checkpoint"]["notification_id"] == s["store_notification_id"] > 0
                    for s in services
                    if s["service"] != "build"
                )
                and len(httpx.get(f"{api}/tasks", headers=admin).json()) == 3
            )

        wait_for(checkpointed, "every store checkpointed")
        running = chb("audit", "verify", "--data-dir", str(data), "--json")
        assert running.returncode == 0, running.stdout + running.stderr
        assert json.loads(running.stdout)["ok"]
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(60)
    assert up.returncode == 0 and not (data / "nats.url").exists()

    stopped = chb("audit", "verify", "--data-dir", str(data))
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr

    with sqlite3.connect(data / "hold.sqlite") as db:
        db.execute("UPDATE stored_events SET state = state || ' ' WHERE rowid = 2")
    tampered = chb("audit", "verify", "--data-dir", str(data))
    assert tampered.returncode == 1
    assert "hold: altered: notification 2 differs" in tampered.stderr
