"""ARCHITECTURE.md stays true: every file and folder it names exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]

pytestmark = pytest.mark.domain


def named_paths() -> set[str]:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    return set(re.findall(r"`((?:services|contracts|deploy|tests)/[\w/.]*)`", text))


def test_architecture_names_only_files_that_exist() -> None:
    """A move that leaves the map pointing at nothing fails here, so the map gets moved too."""
    named = named_paths()
    assert len(named) > 30  # the map names the arrest's whole path, not a handful
    assert sorted(p for p in named if not (ROOT / p).exists()) == []
