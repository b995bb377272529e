"""The notary's chain survives restarts without forking, and a stale notary is refused."""

from __future__ import annotations

import pytest
from nats.js.errors import APIError

from services.runtime.checkpoints import Notary, NotaryPosition
from services.runtime.clock import SystemClock
from services.runtime.settings import Settings
from services.runtime.topology import AUDIT_STREAM, checkpoint_subject
from services.views.stores import open_store
from tests.support.history import record_history, verify
from tests.support.nats_users import connect_as
from tests.support.system import running_system

pytestmark = pytest.mark.integration


async def test_the_chain_continues_across_a_restart_and_a_stale_notary_is_refused(
    settings: Settings,
) -> None:
    """Hold is stopped and started between two operations: its checkpoints carry on from the
    last one (the whole history verifies as one chain). A notary that believes it is further
    back (a stale process) cannot publish: the audit stream expects the last checkpoint."""
    async with running_system(settings) as system:
        await record_history(system)
        await system.stop_service("hold")
        await system.start_service("hold")
        await record_history(system)

    report = await verify(settings, "hold")
    assert report.ok and report.checkpoints >= 2 and report.unverified_tail == 0, report

    nc = await connect_as(settings, "hold")
    store = open_store("hold", settings)
    try:
        js = nc.jetstream()
        before = await js.stream_info(AUDIT_STREAM, subjects_filter=checkpoint_subject("hold"))
        stale = Notary(store, "hold", SystemClock())
        stale.position = NotaryPosition()  # believes nothing was ever checkpointed
        with pytest.raises(APIError, match="wrong last sequence"):
            await stale.checkpoint(js)
        await stale.resync(js)
        assert stale.position.notification_id == report.verified_through
        assert await stale.checkpoint(js) == 0
        after = await js.stream_info(AUDIT_STREAM, subjects_filter=checkpoint_subject("hold"))
        assert after.state.messages == before.state.messages
    finally:
        store.close()
        await nc.close()
    assert (await verify(settings, "hold")).ok
