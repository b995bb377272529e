"""The webhook sender against a real HTTP receiver that verifies each signature as an agency's
system would: what each answer becomes as an outcome, and one connection kept for many."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from services.notify.delivery import Message, Outcome, WebhookSender
from tests.support.receivers import WebhookReceiver

pytestmark = pytest.mark.integration

SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZg=="


def message() -> Message:
    return Message(uuid4(), "offered", datetime.now(UTC), {"task_id": str(uuid4())})


async def test_each_answer_becomes_an_outcome_and_a_verified_signature() -> None:
    receiver = await WebhookReceiver(secret=SECRET).start()
    sender = WebhookSender(timeout_seconds=5)
    target = {"url": receiver.url, "secret": SECRET}
    try:
        answers = {}
        for status in (200, 202, 503, 410, 400):
            receiver.status = status
            answers[status] = await sender.send(message(), target)
    finally:
        await sender.aclose()
        await receiver.stop()
    assert answers == {
        200: Outcome("delivered", "HTTP 200"),
        202: Outcome("delivered", "HTTP 202"),
        503: Outcome("failed", "HTTP 503"),
        410: Outcome("gone", "HTTP 410"),
        400: Outcome("failed", "HTTP 400"),
    }
    assert receiver.refused == []
    assert [r.payload["type"] for r in receiver.received] == ["chb.offered"] * 5


async def test_the_same_message_sent_twice_carries_the_same_webhook_id() -> None:
    receiver = await WebhookReceiver(secret=SECRET).start()
    sender = WebhookSender()
    once = message()
    try:
        for _ in range(2):
            await sender.send(once, {"url": receiver.url, "secret": SECRET})
    finally:
        await sender.aclose()
        await receiver.stop()
    assert receiver.ids() == [str(once.id)] * 2


async def test_many_messages_share_one_kept_connection() -> None:
    connections = 0
    receiver = WebhookReceiver(secret=SECRET)

    async def counted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await receiver._serve(reader, writer)

    receiver.server = await asyncio.start_server(counted, "127.0.0.1", 0)
    sender = WebhookSender()
    try:
        for _ in range(20):
            sent = await sender.send(message(), {"url": receiver.url, "secret": SECRET})
            assert sent.outcome == "delivered"
    finally:
        await sender.aclose()
        await receiver.stop()
    assert connections == 1


async def test_no_answer_in_time_and_no_listener_are_failed_attempts() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await reader.read()  # reads, never answers
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sender = WebhookSender(timeout_seconds=0.2)
    try:
        slow = await sender.send(message(), {"url": f"http://127.0.0.1:{port}/", "secret": SECRET})
        server.close()
        await server.wait_closed()
        refused = await sender.send(
            message(), {"url": f"http://127.0.0.1:{port}/", "secret": SECRET}
        )
    finally:
        await sender.aclose()
    assert slow == Outcome("failed", "timeout")
    assert refused.outcome == "failed" and refused.detail.startswith("Client")
