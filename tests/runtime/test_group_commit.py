"""Group commit: commands queued together are decided in order and recorded in one go."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from services.clear.application import ClearApplication
from services.clear.commands import Launch
from services.clear.domain import OperationNotLaunched
from services.runtime.clock import SimulatedClock
from services.runtime.deciding import Sender
from services.runtime.group_commit import GroupCommit
from services.runtime.meta import Actor
from tests.support.clear import arrest_command, launch_operation, plan_operation

pytestmark = pytest.mark.application

ACTOR = Actor("p", "police", "planner")


def clear_app() -> ClearApplication:
    return ClearApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=SimulatedClock()
    )


async def test_commands_submitted_together_share_a_transaction_and_keep_their_order() -> None:
    """Fifty arrests submitted at once are recorded in far fewer transactions than fifty,
    each gets its own arrest id, and the operation counts all of them."""
    app = clear_app()
    op = plan_operation(app, "Pakari", "Southern", "Mataura", "gang", datetime.now(UTC), ACTOR)
    launch_operation(app, op, ACTOR)
    writer = GroupCommit(app.decide)
    ids = await asyncio.gather(
        *(
            writer.submit(arrest_command(op, f"P-{i}", f"H-{i}", ["s"], [], False, ACTOR))
            for i in range(50)
        )
    )
    assert len(set(ids)) == 50
    assert writer.commands == 50 and writer.batches < 50
    assert app.get_operation(op).arrests == 50
    assert app.recorder.max_notification_id() == 52


async def test_a_refused_command_records_nothing_and_does_not_disturb_the_others() -> None:
    """In one batch: a launch, an arrest on an operation that is not launched (refused with
    its reason), and arrests after the launch: only the refused one fails."""
    app = clear_app()
    launched = plan_operation(app, "A", "d", "Gore", "g", datetime.now(UTC), ACTOR)
    planned = plan_operation(app, "B", "d", "Gore", "g", datetime.now(UTC), ACTOR)
    writer = GroupCommit(app.decide)
    results = await asyncio.gather(
        writer.submit(Launch(launched, Sender(ACTOR))),
        writer.submit(arrest_command(planned, "P-1", "H-1", ["s"], [], False, ACTOR)),
        writer.submit(arrest_command(launched, "P-2", "H-2", ["s"], [], False, ACTOR)),
        return_exceptions=True,
    )
    assert isinstance(results[1], OperationNotLaunched)
    assert app.get_operation(launched).arrests == 1
    assert app.get_operation(planned).arrests == 0


async def test_when_a_batch_fails_as_a_whole_each_command_is_decided_alone() -> None:
    """A command that breaks unexpectedly takes the batch down; the others are then recorded
    one by one and only the broken one reports its error."""
    app = clear_app()
    op = plan_operation(app, "A", "d", "Gore", "g", datetime.now(UTC), ACTOR)
    launch_operation(app, op, ACTOR)

    class Broken:
        """A command no handler knows: deciding it fails (a bug, not a refusal)."""

    writer = GroupCommit(app.decide)
    results = await asyncio.gather(
        writer.submit(arrest_command(op, "P-1", "H-1", ["s"], [], False, ACTOR)),
        writer.submit(Broken()),
        writer.submit(arrest_command(op, "P-2", "H-2", ["s"], [], False, ACTOR)),
        return_exceptions=True,
    )
    assert isinstance(results[1], RuntimeError)
    assert app.get_operation(op).arrests == 2
