"""The hash chain over a service's notification log.

A *leaf* is the SHA-256 of one stored event as the store holds it (originator id, version,
topic, state), independent of its position, so an event that moved is recognised as the same
event. A *link* covers the previous link, the notification id and the leaf, so the chain's
head commits to every event, its content and its place.
"""

from __future__ import annotations

import hashlib
import struct
from uuid import UUID

from eventsourcing.persistence import Notification

GENESIS = "0" * 64


def leaf(notification: Notification) -> str:
    originator = notification.originator_id
    originator_bytes = (originator if isinstance(originator, UUID) else UUID(str(originator))).bytes
    topic = notification.topic.encode()
    digest = hashlib.sha256(originator_bytes)
    digest.update(struct.pack(">QI", notification.originator_version, len(topic)))
    digest.update(topic)
    state = notification.state
    # Someone editing the table by hand can leave text where bytes were: still hash it.
    digest.update(
        state if isinstance(state, bytes | bytearray | memoryview) else str(state).encode()
    )
    return digest.hexdigest()


def link(previous: str, notification_id: int, leaf_hex: str) -> str:
    digest = hashlib.sha256(bytes.fromhex(previous))
    digest.update(struct.pack(">Q", notification_id))
    digest.update(bytes.fromhex(leaf_hex))
    return digest.hexdigest()


def extend(previous: str, leaves: list[tuple[int, str]]) -> str:
    """The head after ``leaves``, starting from ``previous``."""
    head = previous
    for notification_id, leaf_hex in leaves:
        head = link(head, notification_id, leaf_hex)
    return head
