"""Signing in with the agency's OpenID Connect provider: authorization code flow with PKCE
(S256) and a nonce, through authlib. The ID token is checked against the provider's published
keys, then the userinfo claims are added; the role, agency and places come from the claims
named in settings (``CHB_OIDC_*_CLAIM``). What the provider says about a person is mapped to
the same ``Identity`` a bearer token gives, so the same authorization table decides.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import authlib.deprecate  # noqa: F401  (it sets its warnings to "always" when imported)
import httpx
from authlib.common.security import generate_token
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

with warnings.catch_warnings():
    # authlib would rather have the httpx2 fork; its client works with httpx, which the
    # project uses everywhere else.
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import AsyncOAuth2Client

from services.api.identity import AGENCY_CODE, ROLES, Identity, InvalidToken, check_agency
from services.runtime.settings import Settings

SCOPE = "openid profile"


class NoAccess(Exception):
    """Signed in at the provider, but its claims give no way into this system (no role, an
    unknown role or agency): said to the person on a page, never a stack trace."""


@dataclass(frozen=True)
class Provider:
    settings: Settings

    @property
    def enabled(self) -> bool:
        return bool(self.settings.oidc_issuer and self.settings.oidc_client_id)

    def client(self, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.settings.oidc_client_id,
            client_secret=self.settings.oidc_client_secret,
            scope=SCOPE,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=10.0,
        )

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (read at each sign-in: it is small, and a
        provider's keys and endpoints may change)."""
        issuer = self.settings.oidc_issuer.rstrip("/")
        async with httpx.AsyncClient(timeout=10.0) as http:
            found = await http.get(f"{issuer}/.well-known/openid-configuration")
            found.raise_for_status()
            document: dict[str, Any] = found.json()
        return document

    async def authorization_url(self, redirect_uri: str) -> tuple[str, str, str, str]:
        """Where to send the browser, and the state, PKCE verifier and nonce to remember."""
        meta = await self.metadata()
        verifier, nonce = generate_token(48), generate_token(24)
        async with self.client(redirect_uri) as client:
            url, state = client.create_authorization_url(
                meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
            )
        return url, state, verifier, nonce

    async def claims(
        self, redirect_uri: str, code: str, verifier: str, nonce: str, now: datetime
    ) -> dict[str, Any]:
        """Trade the code (with the PKCE verifier) for tokens; the ID token's claims, checked,
        with the userinfo claims added."""
        meta = await self.metadata()
        async with self.client(redirect_uri) as client:
            token = await client.fetch_token(
                meta["token_endpoint"], code=code, code_verifier=verifier
            )
            async with httpx.AsyncClient(timeout=10.0) as http:
                keys = (await http.get(meta["jwks_uri"])).json()
            try:
                id_token = jwt.decode(token["id_token"], KeySet.import_key_set(keys))
                jwt.JWTClaimsRegistry(
                    now=int(now.timestamp()),
                    leeway=60,
                    iss={"essential": True, "value": meta["issuer"]},
                    aud={"essential": True, "value": self.settings.oidc_client_id},
                    nonce={"essential": True, "value": nonce},
                    exp={"essential": True},
                    sub={"essential": True},
                ).validate(id_token.claims)
            except (JoseError, KeyError, ValueError) as error:
                raise NoAccess(f"the provider's ID token could not be checked: {error}") from None
            claims: dict[str, Any] = dict(id_token.claims)
            if meta.get("userinfo_endpoint"):
                info = await client.get(meta["userinfo_endpoint"])
                if info.is_success and info.json().get("sub") == claims.get("sub"):
                    claims = {**info.json(), **claims}
        return claims


def identity_of(
    settings: Settings, claims: Mapping[str, Any], register: Collection[str]
) -> Identity:
    """The person as this system knows them, from the provider's claims; ``NoAccess`` with a
    sentence when the claims name no role, an unknown one, or an agency not in the register."""
    role = claims.get(settings.oidc_role_claim)
    agency = claims.get(settings.oidc_agency_claim)
    places = claims.get(settings.oidc_places_claim) or []
    if not role:
        raise NoAccess("your account names no role in this system")
    if role not in ROLES or role == "public":
        raise NoAccess(f"your account's role {role!r} is not one this system knows")
    if not isinstance(agency, str) or not AGENCY_CODE.fullmatch(agency):
        raise NoAccess("your account names no agency this system knows")
    if isinstance(places, str):
        places = [places]
    if not isinstance(places, list) or not all(isinstance(p, str) and p for p in places):
        raise NoAccess("your account's places are not a list of place names")
    subject = str(claims.get("sub", ""))
    if not 1 <= len(subject) <= 128:
        raise NoAccess("your account has no usable subject identifier")
    identity = Identity(subject=subject, role=role, agency=agency, places=tuple(places))
    try:
        check_agency(identity, register)
    except InvalidToken:
        raise NoAccess(f"your account's agency {agency!r} is not in the agency register") from None
    return identity
