"""What the stores hold on disk, read as bytes: for tests that look for a name in them."""

from __future__ import annotations

from pathlib import Path


def stored_bytes(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())
