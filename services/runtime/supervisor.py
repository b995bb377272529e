"""Keeps a set of processes running, as ``chb up`` needs: a process that exits while the
system runs is started again after a back-off that doubles with each crash close to the last
(as systemd's ``Restart=on-failure`` with ``RestartSec`` does in ``deploy/``), every restart is
counted and written to a status file, and only a process that keeps crashing (``give_up_after``
exits within ``window_seconds``) stops everything, with the reason.

The clock and the way a process is started are injected, so the tests drive crashes, back-off
and giving up without sleeping or starting anything.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

STATUS_FILE = "supervisor.json"


class Child(Protocol):
    """What the supervisor needs of a started process (``subprocess.Popen`` has it)."""

    pid: int
    returncode: int | Any

    def poll(self) -> int | None: ...

    def send_signal(self, sig: int) -> None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def kill(self) -> None: ...


@dataclass(frozen=True)
class ProcessSpec:
    """One process to keep running: its name, command line, environment and log file."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str]
    log: Path


def start_process(spec: ProcessSpec) -> Child:
    """Start ``spec`` with its output appended to its log file."""
    with open(spec.log, "ab") as log:
        return subprocess.Popen(
            list(spec.argv),
            env=dict(spec.env),
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )


@dataclass(frozen=True)
class RestartPolicy:
    """Back-off ``first_delay * factor**(n-1)`` (at most ``max_delay``) for the n-th crash
    within ``window_seconds``; the ``give_up_after``-th crash in that window stops all."""

    first_delay: float = 0.5
    factor: float = 2.0
    max_delay: float = 30.0
    give_up_after: int = 5
    window_seconds: float = 60.0

    def delay(self, recent_crashes: int) -> float:
        exponent = max(recent_crashes - 1, 0)
        return float(min(self.max_delay, self.first_delay * self.factor**exponent))


@dataclass
class Supervised:
    spec: ProcessSpec
    child: Child | None = None
    restarts: int = 0
    crashes: deque[float] = field(default_factory=deque)
    restart_at: float | None = None
    last_exit: int | None = None
    last_exit_at: str | None = None


class GaveUp(Exception):
    """A process kept crashing; the message names it and how often."""


class Supervisor:
    def __init__(
        self,
        specs: Iterable[ProcessSpec],
        status_file: Path | None,
        *,
        policy: RestartPolicy | None = None,
        start: Callable[[ProcessSpec], Child] = start_process,
        clock: Callable[[], float],
        say: Callable[[str], None],
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.processes = {spec.name: Supervised(spec) for spec in specs}
        self.status_file = status_file
        self.policy = policy or RestartPolicy()
        self._start = start
        self._clock = clock
        self._say = say
        self._wall_clock = wall_clock
        self.gave_up: str | None = None

    def start_all(self) -> None:
        for process in self.processes.values():
            process.child = self._start(process.spec)
        self.write_status()

    def dead(self) -> list[str]:
        """The processes not running now (exited, waiting for their restart)."""
        return [name for name, p in self.processes.items() if not self._running(p)]

    @staticmethod
    def _running(process: Supervised) -> bool:
        return process.child is not None and process.child.poll() is None

    def check(self) -> None:
        """Notice exits, restart what is due; raises ``GaveUp`` when one keeps crashing."""
        now = self._clock()
        changed = False
        for name, process in self.processes.items():
            child = process.child
            if child is not None and child.poll() is not None:
                changed = True
                self._exited(name, process, child.poll() or 0, now)
            elif process.restart_at is not None and now >= process.restart_at:
                changed = True
                process.restart_at = None
                process.restarts += 1
                process.child = self._start(process.spec)
        if changed:
            self.write_status()
        if self.gave_up is not None:
            raise GaveUp(self.gave_up)

    def _exited(self, name: str, process: Supervised, code: int, now: float) -> None:
        process.child = None
        process.last_exit = code
        process.last_exit_at = self._wall_clock().isoformat()
        process.crashes.append(now)
        while process.crashes and process.crashes[0] <= now - self.policy.window_seconds:
            process.crashes.popleft()
        recent = len(process.crashes)
        if recent >= self.policy.give_up_after:
            self.gave_up = (
                f"{name} exited with {code}; {recent} exits within "
                f"{self.policy.window_seconds:g} s, so stopping everything "
                f"(see {process.spec.log})"
            )
            return  # check() raises it: the caller says why and stops everything
        delay = self.policy.delay(recent)
        process.restart_at = now + delay
        self._say(
            f"{name} exited with {code}; restarting in {delay:g}s (restart {process.restarts + 1})"
        )

    def stop_all(self, timeout: float) -> None:
        """SIGTERM every running process, then wait up to ``timeout`` for each before a kill."""
        for process in self.processes.values():
            process.restart_at = None
            if process.child is not None and process.child.poll() is None:
                process.child.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            if process.child is None:
                continue
            try:
                process.child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.child.kill()
                process.child.wait()
        self.write_status(stopped=True)

    def status(self, stopped: bool = False) -> dict[str, Any]:
        return {
            "updated_at": self._wall_clock().isoformat(),
            "stopped": stopped,
            "gave_up": self.gave_up,
            "restarts": sum(p.restarts for p in self.processes.values()),
            "processes": {
                name: {
                    "pid": p.child.pid if p.child is not None else None,
                    "running": not stopped and self._running(p),
                    "restarts": p.restarts,
                    "last_exit": p.last_exit,
                    "last_exit_at": p.last_exit_at,
                }
                for name, p in self.processes.items()
            },
        }

    def write_status(self, stopped: bool = False) -> None:
        """The status file, replaced whole (readers never see half of it)."""
        if self.status_file is None:
            return
        partial = self.status_file.with_suffix(".partial")
        partial.write_text(json.dumps(self.status(stopped), indent=2) + "\n", encoding="utf-8")
        os.replace(partial, self.status_file)


def recorded_restarts(data_dir: Path) -> dict[str, int] | None:
    """Restarts per process as the supervisor of ``data_dir`` last wrote them; None when no
    supervisor runs there (a deployment's own, e.g. systemd, counts them itself)."""
    try:
        status = json.loads((data_dir / STATUS_FILE).read_text(encoding="utf-8"))
        return {name: int(p["restarts"]) for name, p in status["processes"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return None
