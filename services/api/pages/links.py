"""One-time sign-in links for the embedded default (no identity provider of one's own).

A link carries a short-lived JWT signed with the same key as the API's bearer tokens, but with
its own audience: a link is not a bearer token and a bearer token is not a link (PyJWT refuses
a token with an audience when none is asked for, and one without when it is). Each link's id is
remembered until it expires, so it signs in once only. Whoever holds the key can mint any
bearer token anyway, so a link gives no power the key did not.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from services.api.identity import ALGORITHM, Identity, InvalidToken, read_token

AUDIENCE = "chb-signin"
LINK_TTL = timedelta(minutes=15)
LINK_PATH = "/signin/link"


def make_link(
    base_url: str,
    key: str,
    issuer: str,
    identity: Identity,
    ttl: timedelta = LINK_TTL,
    now: datetime | None = None,
) -> str:
    """The URL that signs ``identity`` in once, within ``ttl``."""
    issued = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": identity.subject,
        "role": identity.role,
        "agency": identity.agency,
        "jti": secrets.token_urlsafe(16),
        "iat": issued,
        "exp": issued + ttl,
    }
    if identity.places:
        claims["places"] = list(identity.places)
    token = jwt.encode(claims, key, algorithm=ALGORITHM)
    return f"{base_url.rstrip('/')}{LINK_PATH}?token={token}"


@dataclass
class LinkRedeemer:
    """Checks a link's token and lets each one through once."""

    key: str
    issuer: str
    used: dict[str, datetime] = field(default_factory=dict)  # jti -> when it expires

    def redeem(self, token: str, now: datetime) -> Identity:
        """The person the link signs in. PyJWT checks its expiry against the machine's clock;
        ``now`` only prunes the ids of links that have expired since."""
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                audience=AUDIENCE,
                options={"require": ["exp", "iss", "sub", "aud", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("this sign-in link has expired: ask for a new one") from None
        except jwt.InvalidTokenError:
            raise InvalidToken("this is not a valid sign-in link") from None
        self.used = {j: exp for j, exp in self.used.items() if exp > now}
        jti = str(claims["jti"])
        if jti in self.used:
            raise InvalidToken("this sign-in link has been used already: ask for a new one")
        # The claims are checked as a bearer token's are (role, agency code, places).
        identity = read_token(
            jwt.encode({k: v for k, v in claims.items() if k != "aud"}, self.key, ALGORITHM),
            self.key,
            self.issuer,
        )
        self.used[jti] = datetime.fromtimestamp(int(claims["exp"]), UTC)
        return identity
