"""Checkpoints of each service's hash-chained history, published apart from its store.

Every notification a service records is hashed (its *leaf*: originator, version, topic and
stored state), and the leaves are chained in notification order (each link covers the one
before). A checkpoint carries the leaves it covers and the chain's head, so an auditor can
find the first event that was altered, removed, inserted or reordered in a store, and see
whether the checkpoint record itself was tampered with (its head would not follow).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, Field

from contracts.envelope import Code, Contract

Digest = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class HistoryCheckpoint(Contract):
    """The chain of one service's history from ``first_notification_id`` to
    ``last_notification_id`` (both recorded in the store), linked to the checkpoint before it
    by ``previous_head``."""

    schema_version: int = 1
    service: Code
    first_notification_id: int = Field(ge=1)
    last_notification_id: int = Field(ge=1)
    # How many notifications every checkpoint so far covers, this one included.
    count: int = Field(ge=1)
    previous_head: Digest
    head: Digest
    checkpointed_at: AwareDatetime
    # (notification id, leaf) for every notification covered, in order.
    leaves: list[tuple[int, Digest]] = Field(min_length=1, max_length=10_000)
