"""A local mail sink for the embedded default: an SMTP server on loopback (aiosmtpd) that
writes each message it accepts to ``<directory>/<n>.eml``, so no mail server is needed to see
what the notifier sends. ``chb up`` runs one; production points ``CHB_SMTP_*`` at a real one."""

from __future__ import annotations

import itertools
import socket
import threading
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class _WriteEml:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        start = len(list(directory.glob("*.eml")))
        self._numbers = itertools.count(start + 1)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            path = self.directory / f"{next(self._numbers):06d}.eml"
        content = envelope.original_content or envelope.content
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return "250 Message accepted for delivery"


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class MailSink:
    """Started and stopped by its owner; ``port`` 0 picks a free one."""

    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        # aiosmtpd checks its server by connecting to the port it was given, so 0 will not do.
        self.port = port or free_port(host)
        self.controller = Controller(_WriteEml(directory), hostname=host, port=self.port)

    def start(self) -> MailSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def messages(self) -> list[Path]:
        return sorted(self.directory.glob("*.eml"))
