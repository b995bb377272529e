"""The README works as written: its walk-through's commands, taken from README.md itself, run
in order against a `chb up` this test starts (its own data directory, ports and nats-server),
from a directory laid out as a fresh clone's (``examples/``, ``.venv``). A command that fails,
or whose documented output (its ``#>`` lines) no longer matches what it prints, fails the
test, naming the README line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.runtime.embedded_nats import free_port
from tests.support.processes import chb_up
from tests.support.readme import Step, walk_through

pytestmark = pytest.mark.system

ROOT = Path(__file__).parents[2]
# Commands the README shows that are not checked here, each with why (matched by how they
# start).
NOT_CHECKED = {
    "chb audit verify --data-dir data --strict": (
        "a running system has up to a second of events not yet checkpointed, so --strict may "
        "fail while it runs (tests/system/test_stop_and_verify.py checks it after a stop)"
    ),
}
# Commands that change nothing, so may be asked again until the effect they show has arrived
# (hold and build act on an arrest within milliseconds, but after the answer to it).
READS = (
    "curl",
    "echo",
    "chb tasks",
    "chb cases",
    "chb milestones",
    "chb operation show",
    "chb task show",
    "chb audit",
    "chb agency list",
    "chb agency show",
)
WITHIN_SECONDS = 30.0


def is_read(step: Step) -> bool:
    command = step.command
    if step.assigns:  # NAME=$(command): as the command
        command = command.removeprefix(f"{step.assigns}=$(")
    writes = ("-X POST", "-X PATCH")
    return command.startswith(READS) and not any(w in command for w in writes)


def checked(steps: list[Step]) -> list[Step]:
    return [s for s in steps if not s.command.startswith(tuple(NOT_CHECKED))]


def run(step: Step, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = step.command
    if step.assigns:
        script += f'\nprintf %s "${step.assigns}"'
    return subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def problem(step: Step, done: subprocess.CompletedProcess[str]) -> str | None:
    """What is wrong with ``done`` as the README documents ``step``, or None."""
    printed = done.stdout + done.stderr
    if done.returncode != step.exit_code:
        return f"exit {done.returncode}, documented {step.exit_code}"
    if step.assigns and not done.stdout.strip():
        return f"{step.assigns} came out empty"
    if step.printed and not step.pattern().search(printed):
        return "output differs from the documented #> lines"
    return None


def test_the_walk_through_runs_as_written(tmp_path: Path) -> None:
    steps = walk_through((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(steps) > 40, "the walk-through was not found in README.md"
    assert all(any(s.command.startswith(key) for s in steps) for key in NOT_CHECKED)
    clone = tmp_path / "clone"
    clone.mkdir()
    (clone / "examples").symlink_to(ROOT / "examples")
    (clone / ".venv").symlink_to(Path(sys.executable).parents[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHB_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    with chb_up(clone / "data", free_port(), tmp_path / "up.log"):
        for step in checked(steps):
            deadline = time.monotonic() + WITHIN_SECONDS
            while True:
                done = run(step, clone, env)
                wrong = problem(step, done)
                if wrong is None or not is_read(step) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)  # an effect still on its way (see READS)
            assert wrong is None, (
                f"README.md line {step.line}: {step.command}\n{wrong}\n"
                f"--- printed:\n{done.stdout}{done.stderr}"
            )
            if step.assigns:
                env[step.assigns] = done.stdout
