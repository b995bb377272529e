"""A running system for the API's own tests (one store is enough: access does not depend on it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.runtime.embedded_nats import EmbeddedNats
from services.runtime.nats_permissions import API
from services.runtime.settings import Settings
from tests.conftest import TEST_JWT_KEY
from tests.support.system import InProcessSystem, running_system


@pytest.fixture
def api_settings(tmp_path: Path, clean_nats: EmbeddedNats) -> Settings:
    return Settings(
        **clean_nats.access(API), data_dir=tmp_path / "stores", store="sqlite", jwt_key=TEST_JWT_KEY
    )


@pytest.fixture
async def system(api_settings: Settings) -> AsyncIterator[InProcessSystem]:
    async with running_system(api_settings) as running:
        yield running
