"""The whole system behind a real HTTP port, a real OpenID Connect provider (the
``oidc-provider-mock`` package, on its own thread and port) and Debian's chromium driven by
Playwright: what the browser tests of the pages share, one per test module."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import oidc_provider_mock
import uvicorn
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from services.api.identity import Identity
from services.runtime.embedded_nats import EmbeddedNats
from services.runtime.nats_permissions import AUDITOR
from services.runtime.settings import Settings
from tests.conftest import TEST_JWT_KEY, reset_streams
from tests.support.system import InProcessSystem, bearer, eventually, running_system

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CLIENT_ID = "chb-pages"


@dataclass
class PagesSystem:
    system: InProcessSystem
    base_url: str
    issuer: str
    browser: Browser

    async def person(self, identity: Identity) -> tuple[BrowserContext, Page]:
        """A browser of its own (its own cookies), signed in through the provider's form as
        ``identity``: the provider is told the person's claims first, as an agency's
        directory would hold them."""
        claims: dict[str, Any] = {"chb_role": identity.role, "chb_agency": identity.agency}
        if identity.places:
            claims["chb_places"] = list(identity.places)
        context, page = await self.at_provider(identity.subject, claims)
        await page.wait_for_url(f"{self.base_url}/")
        return context, page

    async def at_provider(
        self, subject: str, claims: dict[str, Any]
    ) -> tuple[BrowserContext, Page]:
        """A new browser that went through the provider's form as ``subject``, whom the
        provider knows by ``claims``; where it landed is for the caller to check."""
        async with httpx.AsyncClient() as http:
            put = await http.put(f"{self.issuer}/users/{quote(subject)}", json=claims)
            assert put.status_code == 204, put.text
        context = await self.browser.new_context(viewport={"width": 1100, "height": 900})
        page = await watched(context)
        await sign_in(page, self.base_url, subject)
        return context, page

    async def api_post(self, who: Identity, url: str, body: Any = None) -> Any:
        response = await self.system.api.post(url, json=body, headers=bearer(who))
        assert response.is_success, (url, response.status_code, response.text)
        return response.json()

    async def api_get(self, who: Identity, url: str, **params: Any) -> Any:
        response = await self.system.api.get(url, params=params, headers=bearer(who))
        assert response.is_success, (url, response.status_code, response.text)
        return response.json()


# Each page's console errors, for ``checked``: a blocked inline script or style shows there.
CONSOLE_ERRORS: dict[int, list[str]] = {}


async def watched(context: BrowserContext) -> Page:
    page = await context.new_page()
    errors = CONSOLE_ERRORS.setdefault(id(page), [])
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page


async def sign_in(page: Page, base_url: str, subject: str) -> None:
    """Through the provider's own authorization form, as a person would."""
    await page.goto(f"{base_url}/signin")
    await page.fill("input[name=sub]", subject)
    await page.click("button[type=submit]:not([name=action])")
    await page.wait_for_url(f"{base_url}/**")


async def checked(page: Page, name: str) -> None:
    """axe-core on the page as it is: no serious or critical violation; then a screenshot
    (docs/screenshots/<name>.png) for the README."""
    results = await Axe().run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{name}: {bad}"
    # The provider's own pages are not ours; ours must never trip the CSP.
    refused = [e for e in CONSOLE_ERRORS.get(id(page), []) if "Content Security Policy" in e]
    assert not refused, f"{name}: {refused}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def pages_system(nats_server: EmbeddedNats, data_dir: Path) -> AsyncIterator[PagesSystem]:
    await reset_streams(nats_server)
    with oidc_provider_mock.run_server_in_thread() as provider:
        issuer = f"http://127.0.0.1:{provider.server_port}"
        settings = Settings(
            **nats_server.access(AUDITOR),
            data_dir=data_dir,
            store="sqlite",
            jwt_key=TEST_JWT_KEY,
            oidc_issuer=issuer,
            oidc_client_id=CLIENT_ID,
            oidc_client_secret="not-a-secret",
        )
        async with running_system(settings) as system:
            port = free_port()
            server = uvicorn.Server(
                uvicorn.Config(
                    system.app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
                )
            )
            serving = asyncio.create_task(server.serve())

            async def started() -> bool:
                return bool(server.started)

            await eventually(started, bool, what="the pages' HTTP server")
            try:
                async with async_playwright() as playwright:
                    browser = await playwright.chromium.launch(executable_path=CHROMIUM)
                    yield PagesSystem(system, f"http://127.0.0.1:{port}", issuer, browser)
                    await browser.close()
            finally:
                server.should_exit = True
                await serving
