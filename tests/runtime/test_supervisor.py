"""The supervisor `chb up` runs its processes under: a crash is restarted after a back-off that
doubles with each crash close to the last, counted and written to the status file; only
repeated crashes in a short window stop everything, with the reason. Simulated processes and
clock: nothing is started and nothing sleeps."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.runtime.supervisor import (
    STATUS_FILE,
    GaveUp,
    ProcessSpec,
    RestartPolicy,
    Supervisor,
)

pytestmark = pytest.mark.domain


@dataclass
class FakeChild:
    pid: int
    returncode: int | None = None
    signals: list[int] = field(default_factory=list)

    def poll(self) -> int | None:
        return self.returncode

    def send_signal(self, sig: int) -> None:
        self.signals.append(sig)
        self.returncode = 0

    def wait(self, timeout: float | None = None) -> int:
        return self.returncode or 0

    def kill(self) -> None:
        self.returncode = -9


@dataclass
class World:
    now: float = 0.0
    started: list[FakeChild] = field(default_factory=list)
    said: list[str] = field(default_factory=list)

    def start(self, spec: ProcessSpec) -> FakeChild:
        child = FakeChild(pid=1000 + len(self.started))
        self.started.append(child)
        return child

    def supervisor(self, status: Path, policy: RestartPolicy | None = None) -> Supervisor:
        specs = [
            ProcessSpec(name, ("chb", "serve", name), {}, status.parent / f"{name}.log")
            for name in ("clear", "hold", "build", "api")
        ]
        return Supervisor(
            specs,
            status,
            policy=policy,
            start=self.start,
            clock=lambda: self.now,
            say=self.said.append,
            wall_clock=lambda: datetime(2026, 3, 1, tzinfo=UTC),
        )


def hold_of(supervisor: Supervisor) -> FakeChild:
    child = supervisor.processes["hold"].child
    assert isinstance(child, FakeChild)
    return child


def test_a_crashed_process_is_restarted_after_a_back_off_and_counted(tmp_path: Path) -> None:
    world = World()
    status = tmp_path / STATUS_FILE
    supervisor = world.supervisor(status)
    supervisor.start_all()
    assert len(world.started) == 4

    hold_of(supervisor).returncode = -9
    supervisor.check()
    assert world.said == ["hold exited with -9; restarting in 0.5s (restart 1)"]
    assert supervisor.dead() == ["hold"]
    world.now = 0.4
    supervisor.check()
    assert len(world.started) == 4  # not yet
    world.now = 0.5
    supervisor.check()
    assert len(world.started) == 5 and supervisor.dead() == []
    written = json.loads(status.read_text())
    assert written["restarts"] == 1
    assert written["processes"]["hold"] == {
        "pid": 1004,
        "running": True,
        "restarts": 1,
        "last_exit": -9,
        "last_exit_at": "2026-03-01T00:00:00+00:00",
    }
    assert written["processes"]["clear"]["restarts"] == 0


def test_the_back_off_doubles_for_crashes_close_together_and_resets_after_the_window(
    tmp_path: Path,
) -> None:
    world = World()
    supervisor = world.supervisor(tmp_path / STATUS_FILE)
    supervisor.start_all()
    for expected in (0.5, 1, 2):
        hold_of(supervisor).returncode = 1
        supervisor.check()
        world.now += expected
        supervisor.check()
    assert world.said == [
        "hold exited with 1; restarting in 0.5s (restart 1)",
        "hold exited with 1; restarting in 1s (restart 2)",
        "hold exited with 1; restarting in 2s (restart 3)",
    ]
    world.now += 61  # a minute of quiet: the next crash is a first one again
    hold_of(supervisor).returncode = -9
    supervisor.check()
    assert world.said[-1] == "hold exited with -9; restarting in 0.5s (restart 4)"


def test_repeated_crashes_in_a_short_window_give_up_with_the_reason(tmp_path: Path) -> None:
    world = World()
    status = tmp_path / STATUS_FILE
    supervisor = world.supervisor(status, RestartPolicy(give_up_after=3, window_seconds=60))
    supervisor.start_all()
    for _ in range(2):
        hold_of(supervisor).returncode = -9
        supervisor.check()
        world.now += 10
        supervisor.check()
    hold_of(supervisor).returncode = -9
    with pytest.raises(GaveUp) as gave_up:
        supervisor.check()
    reason = "hold exited with -9; 3 exits within 60 s, so stopping everything"
    assert str(gave_up.value).startswith(reason)
    supervisor.stop_all(timeout=1)
    others = [c for c in world.started if c.signals]
    assert len(others) == 3  # clear, build and the API asked to stop; hold stays down
    written = json.loads(status.read_text())
    assert written["gave_up"].startswith(reason) and written["stopped"] is True
    assert not any(p["running"] for p in written["processes"].values())


def test_a_stop_restarts_nothing(tmp_path: Path) -> None:
    world = World()
    supervisor = world.supervisor(tmp_path / STATUS_FILE)
    supervisor.start_all()
    hold_of(supervisor).returncode = -9
    supervisor.check()
    supervisor.stop_all(timeout=1)
    world.now = 100
    assert len(world.started) == 4
    assert all(c.signals for c in world.started if c.returncode == 0)


def test_restarts_are_read_back_from_the_status_file_and_none_without_a_supervisor(
    tmp_path: Path,
) -> None:
    """The API reads the restarts the supervisor wrote; with no status file (systemd or
    Kubernetes count restarts themselves) it reports none rather than zeros."""
    from services.runtime.supervisor import STATUS_FILE, recorded_restarts

    assert recorded_restarts(tmp_path) is None
    (tmp_path / STATUS_FILE).write_text(
        '{"processes": {"hold": {"restarts": 2}, "api": {"restarts": 0}}}', encoding="utf-8"
    )
    assert recorded_restarts(tmp_path) == {"hold": 2, "api": 0}
    (tmp_path / STATUS_FILE).write_text("{half", encoding="utf-8")
    assert recorded_restarts(tmp_path) is None
