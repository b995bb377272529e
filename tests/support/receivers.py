"""A real HTTP receiver for webhooks, verifying each request as a receiver would (with the
standardwebhooks library), and answering what the test tells it to."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook


@dataclass
class Received:
    webhook_id: str
    headers: dict[str, str]
    body: bytes
    payload: dict[str, Any]
    answered: int


@dataclass
class WebhookReceiver:
    """HTTP/1.1 on loopback; ``status`` is what it answers next (503, 410, ...)."""

    secret: str = ""
    status: int = 200
    received: list[Received] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # signatures that did not verify
    server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hooks/chb"

    async def start(self) -> WebhookReceiver:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    def ids(self) -> list[str]:
        return [r.webhook_id for r in self.received]

    def delivered(self) -> list[Received]:
        return [r for r in self.received if 200 <= r.answered < 300]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await reader.readline()
                if not request:
                    return
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status = self.status
                try:
                    payload = Webhook(self.secret).verify(body, headers)
                except Exception as error:
                    self.refused.append(repr(error))
                    status, payload = 400, {}
                self.received.append(
                    Received(headers.get("webhook-id", ""), headers, body, payload, status)
                )
                answer = json.dumps({"status": status}).encode()
                writer.write(
                    f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(answer)}\r\n\r\n".encode()
                    + answer
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()
