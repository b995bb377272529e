"""Notification lag for bench/pipeline.py: each lead agency gets a webhook contact point on a
receiver in the benchmark's own process, and the lag of a task is the time from hold recording
it (``SupportTaskOpened.recorded_at``) to its offer arriving here."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import httpx

# The lead agencies of the national playbook's tasks for an arrest with children.
AGENCIES = ("oranga_tamariki", "police", "iwi_provider")
SECRET = "whsec_YmVuY2gtbm90aWZpY2F0aW9uLWxhZw=="


class LagReceiver:
    """HTTP/1.1 on loopback: answers 200 and notes when each task's offer arrived."""

    def __init__(self) -> None:
        self.received: dict[str, float] = {}  # task_id -> time received (epoch)
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hooks/chb"

    async def start(self) -> LagReceiver:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readline():
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode().partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = json.loads(await reader.readexactly(length))
                if body.get("type") == "chb.offered":
                    self.received.setdefault(body["data"]["task_id"], time.time())
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except Exception:  # a connection dropped or cut at stop: nothing to note
            return
        finally:
            writer.close()


async def register(api_url: str, admin_token: str, url: str, within: float = 60.0) -> None:
    """A webhook intake for each lead agency (retried while the notifier is starting)."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    body = {"url": url, "secret": SECRET, "purpose": "intake", "reason": "benchmark receiver"}
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=10) as client:
        for agency in AGENCIES:
            while True:
                response = await client.post(f"/agencies/{agency}/contacts", json=body)
                if response.status_code == 201:
                    break
                if time.monotonic() > deadline:
                    response.raise_for_status()
                    raise RuntimeError(f"contact point for {agency}: {response.status_code}")
                await asyncio.sleep(0.5)


def lags_ms(opened: dict[str, float], received: dict[str, float]) -> list[float]:
    return [max(0.0, (received[t] - opened[t]) * 1000) for t in opened if t in received]
