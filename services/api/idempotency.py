"""``Idempotency-Key`` on every command: a retried request gets the first answer again, and
the command is not sent twice.

Keys are kept per caller (the token's subject) in a SQLite file beside the API's audit index,
so they outlive a restart of the API. The first request with a key is recorded as in flight
before it is sent; its answer is stored when it comes. A retry with the same key and the same
request gets that answer (``Idempotent-Replayed: true``); with a different request, 422; while
the first is still in flight, 409. An answer of 5xx is not kept, so a retry may try again. If
the API stopped while a request was in flight, its outcome is unknown: the key then answers 409
saying so for good, rather than risk recording the arrest twice.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    subject TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER,
    content_type TEXT,
    body BLOB,
    claimed_at REAL NOT NULL,
    PRIMARY KEY (subject, key)
);
"""
KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # 1 to 255 visible ASCII characters


@dataclass(frozen=True)
class Stored:
    fingerprint: str
    status: int | None  # None: the first request is still in flight (or never finished)
    content_type: str | None
    body: bytes | None
    claimed_at: float


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256(f"{method} {path}?{query}\n".encode())
    digest.update(body)
    return digest.hexdigest()


class IdempotencyStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)
        self.lock = threading.Lock()

    def claim(self, subject: str, key: str, print_: str) -> Stored | None:
        """Record the request as in flight, or return what is already recorded for the key."""
        with self.lock:
            row = self.db.execute(
                "SELECT fingerprint, status, content_type, body, claimed_at FROM requests "
                "WHERE subject = ? AND key = ?",
                (subject, key),
            ).fetchone()
            if row is not None:
                return Stored(*row)
            self.db.execute(
                "INSERT INTO requests (subject, key, fingerprint, claimed_at) VALUES (?, ?, ?, ?)",
                (subject, key, print_, time.time()),
            )
            return None

    def finish(self, subject: str, key: str, status: int, content_type: str, body: bytes) -> None:
        with self.lock:
            if status >= 500:  # not an answer to keep: let a retry try again
                self.db.execute(
                    "DELETE FROM requests WHERE subject = ? AND key = ?", (subject, key)
                )
                return
            self.db.execute(
                "UPDATE requests SET status = ?, content_type = ?, body = ? "
                "WHERE subject = ? AND key = ?",
                (status, content_type, body, subject, key),
            )

    def close(self) -> None:
        self.db.close()
