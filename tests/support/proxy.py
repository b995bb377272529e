"""A TCP proxy in front of a nats-server, for faults between one process and NATS: it can lose
chosen messages on their way to the client (a publish acknowledgement that never arrives: the
message was stored, the publisher does not know it), and it can be cut and restored (NATS
unreachable for that process alone)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

# Decides, for each message the server sends the client (subject, payload), whether to lose it.
Losing = Callable[[str, bytes], bool]


def lose_nothing(subject: str, payload: bytes) -> bool:
    return False


@dataclass
class LossyProxy:
    upstream_port: int
    lose: Losing = lose_nothing
    upstream_host: str = "127.0.0.1"
    port: int = 0  # chosen at the first start, kept when started again after a cut
    lost: list[tuple[str, bytes]] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _open: set[asyncio.StreamWriter] = field(default_factory=set)
    _pumps: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    async def start(self) -> LossyProxy:
        self._server = await asyncio.start_server(self._connected, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def cut(self) -> None:
        """Refuse new connections and drop the open ones (``start`` restores it)."""
        if self._server is not None:
            self._server.close()
        for writer in self._open:
            writer.close()
        self._open.clear()
        for pump in list(self._pumps):
            pump.cancel()
        if self._pumps:
            await asyncio.gather(*self._pumps, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[LossyProxy]:
        await self.start()
        try:
            yield self
        finally:
            with contextlib.suppress(Exception):
                await self.cut()

    async def _connected(
        self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
    ) -> None:
        server_r, server_w = await asyncio.open_connection(self.upstream_host, self.upstream_port)
        self._open |= {client_w, server_w}
        for pump in (self._copy(client_r, server_w), self._filter(server_r, client_w)):
            task = asyncio.create_task(pump)
            self._pumps.add(task)
            task.add_done_callback(self._pumps.discard)

    @staticmethod
    async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _filter(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Pass the server's protocol through frame by frame, leaving out the messages
        ``lose`` picks (``MSG subject sid [reply] size`` / ``HMSG ... hdr_size size``)."""
        try:
            while line := await reader.readline():
                verb = line[:5].upper()
                if not (verb.startswith(b"MSG ") or verb.startswith(b"HMSG ")):
                    writer.write(line)
                    await writer.drain()
                    continue
                parts = line.split()
                size = int(parts[-1])
                body = await reader.readexactly(size + 2)  # payload (and headers) and CRLF
                subject = parts[1].decode()
                payload = body[int(parts[-2]) : size] if verb.startswith(b"HMSG") else body[:size]
                if self.lose(subject, payload):
                    self.lost.append((subject, payload))
                    continue
                writer.write(line + body)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
