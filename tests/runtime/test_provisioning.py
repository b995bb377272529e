"""Provisioning a stream on a cluster that has only just formed: JetStream may answer "no
suitable peers for placement" (err_code 10005) for a moment after its meta leader is elected,
before it counts every peer. That answer is asked again; every other refusal is not."""

from __future__ import annotations

from typing import Any

import pytest
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError, NotFoundError, ServerError

from services.runtime.provisioning import NO_PEERS_FOR_PLACEMENT, ensure_stream_config

WANTED = StreamConfig(name="CHB_CLEAR", subjects=["chb.clear.>"], num_replicas=3)


def no_peers() -> ServerError:
    return ServerError(
        code=500,
        err_code=NO_PEERS_FOR_PLACEMENT,
        description="no suitable peers for placement",
    )


class Forming:
    """The JetStream API of a cluster with no stream yet, refusing ``refusals`` in turn."""

    def __init__(self, *refusals: Exception) -> None:
        self.refusals = list(refusals)
        self.made: list[StreamConfig] = []

    async def stream_info(self, name: str) -> Any:
        raise NotFoundError(code=404, description="stream not found")

    async def add_stream(self, config: StreamConfig) -> None:
        if self.refusals:
            raise self.refusals.pop(0)
        self.made.append(config)


async def test_a_stream_the_cluster_cannot_place_yet_is_made_once_it_can() -> None:
    """Refused twice for want of peers, then made: once, as wanted."""
    js = Forming(no_peers(), no_peers())
    await ensure_stream_config(js, WANTED, poll=0)  # type: ignore[arg-type]
    assert js.made == [WANTED] and js.refusals == []


async def test_a_cluster_that_never_has_the_peers_is_reported_after_the_wait() -> None:
    """Still no peers when the wait is over: the refusal is raised, not hidden."""
    js = Forming(*(no_peers() for _ in range(1000)))
    with pytest.raises(ServerError) as raised:
        await ensure_stream_config(js, WANTED, within=0.05, poll=0.01)  # type: ignore[arg-type]
    assert raised.value.err_code == NO_PEERS_FOR_PLACEMENT and js.made == []


async def test_any_other_refusal_is_raised_at_once() -> None:
    """A configuration the server refuses is not asked again."""
    refused = BadRequestError(code=400, err_code=10058, description="stream name already in use")
    js = Forming(refused, no_peers())
    with pytest.raises(BadRequestError):
        await ensure_stream_config(js, WANTED, poll=0)  # type: ignore[arg-type]
    assert js.made == [] and len(js.refusals) == 1
