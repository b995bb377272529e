"""Sign-in links, the mapping of a provider's claims, sessions, CSRF and the security headers,
against the API app itself (no browser, no services: none of these calls reaches one)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.api.app import create_app
from services.api.identity import Identity, InvalidToken, read_token
from services.api.pages.links import AUDIENCE, LinkRedeemer, make_link
from services.api.pages.oidc import NoAccess, identity_of
from services.api.pages.render import PINNED, integrity, nz_time
from services.runtime.settings import Settings
from tests.conftest import TEST_JWT_KEY

pytestmark = pytest.mark.application

WORKER = Identity("ot-worker-3", "agency_worker", "oranga_tamariki", places=("Greymouth",))
REGISTER = {"oranga_tamariki", "msd", "police"}
SETTINGS = Settings(jwt_key=TEST_JWT_KEY)


def token_of(link: str) -> str:
    return link.split("token=", 1)[1]


def test_a_link_signs_in_once_and_only_as_itself() -> None:
    redeemer = LinkRedeemer(TEST_JWT_KEY, "chb")
    now = datetime.now(UTC)  # PyJWT checks a link's expiry against the machine's clock
    link = make_link("http://chb", TEST_JWT_KEY, "chb", WORKER, now=now)
    assert link.startswith("http://chb/signin/link?token=")
    assert redeemer.redeem(token_of(link), now) == WORKER
    with pytest.raises(InvalidToken, match="used already"):
        redeemer.redeem(token_of(link), now)


def test_an_expired_link_is_refused() -> None:
    issued = datetime.now(UTC) - timedelta(hours=1)
    link = make_link("http://chb", TEST_JWT_KEY, "chb", WORKER, now=issued)
    with pytest.raises(InvalidToken, match="expired"):
        LinkRedeemer(TEST_JWT_KEY, "chb").redeem(token_of(link), datetime.now(UTC))


def test_a_link_is_not_a_bearer_token_and_a_bearer_token_is_not_a_link() -> None:
    from services.api.identity import issue_token

    link = make_link("http://chb", TEST_JWT_KEY, "chb", WORKER)
    with pytest.raises(InvalidToken):
        read_token(token_of(link), TEST_JWT_KEY, "chb")
    bearer = issue_token(TEST_JWT_KEY, "chb", WORKER)
    with pytest.raises(InvalidToken, match="not a valid sign-in link"):
        LinkRedeemer(TEST_JWT_KEY, "chb").redeem(bearer, datetime.now(UTC))
    assert AUDIENCE == "chb-signin"


def test_claims_map_to_an_identity() -> None:
    claims = {
        "sub": "a1b2",
        "chb_role": "agency_worker",
        "chb_agency": "msd",
        "chb_places": ["Westport"],
    }
    assert identity_of(SETTINGS, claims, REGISTER) == Identity(
        "a1b2", "agency_worker", "msd", places=("Westport",)
    )


@pytest.mark.parametrize(
    ("claims", "said"),
    [
        ({"sub": "a1", "chb_agency": "msd"}, "names no role"),
        ({"sub": "a1", "chb_role": "wizard", "chb_agency": "msd"}, "not one this system knows"),
        ({"sub": "a1", "chb_role": "public", "chb_agency": "msd"}, "not one this system knows"),
        ({"sub": "a1", "chb_role": "agency_worker"}, "names no agency"),
        ({"sub": "a1", "chb_role": "agency_worker", "chb_agency": "acme"}, "not in the agency"),
    ],
)
def test_claims_that_give_no_way_in_say_why(claims: dict[str, object], said: str) -> None:
    with pytest.raises(NoAccess, match=said):
        identity_of(SETTINGS, claims, REGISTER)


def test_the_scripts_match_their_pins() -> None:
    for name, pinned in PINNED.items():
        assert integrity(name) == pinned


def test_times_are_new_zealand_time_with_the_zone() -> None:
    assert nz_time("2026-03-01T05:00:00+00:00") == "Sun 1 Mar 2026, 18:00 NZDT"
    assert nz_time("2026-07-01T05:00:00+00:00") == "Wed 1 Jul 2026, 17:00 NZST"


@pytest.fixture
async def browser_like() -> AsyncIterator[httpx.AsyncClient]:
    """The API app as a browser would reach it over HTTPS (no services started: sign-in by
    link, the home page and sign-out never call one)."""
    app = create_app(SETTINGS)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://chb.test") as client:
        yield client


def csrf_on(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def test_a_session_lives_in_a_strict_cookie_and_sign_out_ends_it(
    browser_like: httpx.AsyncClient,
) -> None:
    link = make_link(
        "https://chb.test", TEST_JWT_KEY, "chb", Identity("adm", "administrator", "chb")
    )
    signed = await browser_like.get(link.removeprefix("https://chb.test"))
    assert signed.status_code == 303
    cookie = signed.headers["set-cookie"].lower()
    for flag in ("httponly", "samesite=lax", "secure", "path=/"):
        assert flag in cookie
    home = await browser_like.get("/")
    assert "Administrator" in home.text
    csp = home.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert home.headers["cache-control"] == "no-store"

    # Without the token the form is refused, and the session goes on.
    forged = await browser_like.post("/signout", data={})
    assert forged.status_code == 403
    assert "Administrator" in (await browser_like.get("/")).text

    kept = dict(browser_like.cookies)
    out = await browser_like.post("/signout", data={"csrf": csrf_on(home.text)})
    assert out.status_code == 303
    # The old cookie, sent again, finds no session: it ended on the server.
    browser_like.cookies.update(kept)
    again = await browser_like.get("/inbox")
    assert again.status_code == 303
    assert again.headers["location"] == "/signin?next=%2Finbox"


async def test_without_a_provider_signing_in_asks_for_a_link(
    browser_like: httpx.AsyncClient,
) -> None:
    page = await browser_like.get("/signin")
    assert page.status_code == 200
    assert "chb signin-link" in page.text


async def test_an_unknown_path_is_still_the_apis_problem(browser_like: httpx.AsyncClient) -> None:
    missing = await browser_like.get("/no-such-thing")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_chb_signin_link_prints_a_link_for_that_person(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from services.cli import app

    monkeypatch.setenv("CHB_JWT_KEY", TEST_JWT_KEY)
    runner = CliRunner()
    made = runner.invoke(
        app,
        [
            "--api",
            "http://127.0.0.1:9",
            "signin-link",
            "--role",
            "agency_worker",
            "--agency",
            "msd",
            "--place",
            "Westport",
        ],
    )
    assert made.exit_code == 0, made.output
    link = made.output.strip()
    assert link.startswith("http://127.0.0.1:9/signin/link?token=")
    person = LinkRedeemer(TEST_JWT_KEY, "chb").redeem(token_of(link), datetime.now(UTC))
    assert (person.role, person.agency, person.places) == ("agency_worker", "msd", ("Westport",))
    refused = runner.invoke(app, ["signin-link", "--role", "wizard", "--agency", "msd"])
    assert refused.exit_code == 2


def test_only_a_path_on_this_site_is_followed_after_sign_in() -> None:
    from services.api.pages.signin import local

    assert local("/inbox?status=offered") == "/inbox?status=offered"
    for elsewhere in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "inbox"):
        assert local(elsewhere) == "/"


async def test_an_api_path_asked_with_another_method_is_still_the_apis_405(
    browser_like: httpx.AsyncClient,
) -> None:
    """The pages match every path; a path the API serves with other methods stays its 405."""
    wrong = await browser_like.delete("/operations")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET, POST"
    assert wrong.headers["content-type"] == "application/problem+json"
