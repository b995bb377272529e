"""Who is calling: bearer tokens (signed JWTs) in, an ``Identity`` out.

The signing key and issuer come from settings (``CHB_JWT_KEY``, ``CHB_JWT_ISSUER``); ``chb token
issue`` mints tokens for local use and tests, ``chb up`` keeps its key in the data directory.
A token names an opaque person reference (never a name), one role, the agency the person acts
for, and optionally the places or operations the role is limited to.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import jwt

from contracts.agencies import SYSTEM_AGENCY, not_registered
from contracts.envelope import Requester
from services.runtime.authorization import ROLES as ROLES
from services.runtime.authorization import Caller
from services.views.rows import Row

ALGORITHM = "HS256"
# As contracts.envelope.Code: what an agency is called on the wire and in every record.
AGENCY_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
KEY_FILE = "jwt.key"


# What `chb up` prints for local use: may call anything (never issued by default elsewhere).
ADMINISTRATOR_SUBJECT = "local-administrator"


class InvalidToken(Exception):
    """The token is missing, malformed, wrongly signed, expired, or names no known role."""


@dataclass(frozen=True)
class Identity(Caller):
    """A caller as the front door knows them from their token: the authorization table's
    ``Caller``, plus how commands name them."""

    @property
    def actor(self) -> Requester:
        """Who the commands this caller sends are from, with the token's scope, so the owning
        service can decide them as the front door did."""
        return Requester(
            id=self.subject,
            agency=self.agency,
            role=self.role,
            places=self.places,
            operations=tuple(UUID(o) for o in self.operations),
        )

    def covers_item(self, item: Row) -> bool:
        """Whether an item of the views (with a place and/or an operation) lies within the
        places and operations this token is limited to."""
        return self.covers(*item.where())


def issue_token(
    key: str,
    issuer: str,
    identity: Identity,
    ttl: timedelta = timedelta(hours=12),
    now: datetime | None = None,
) -> str:
    if identity.role not in ROLES:
        raise ValueError(f"role {identity.role!r}: not one of {', '.join(ROLES)}")
    issued = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": identity.subject,
        "role": identity.role,
        "agency": identity.agency,
        "iat": issued,
        "exp": issued + ttl,
    }
    if identity.places:
        claims["places"] = list(identity.places)
    if identity.operations:
        claims["operations"] = list(identity.operations)
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def read_token(token: str, key: str, issuer: str) -> Identity:
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            options={"require": ["exp", "iss", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("the token has expired") from None
    except jwt.InvalidTokenError as error:
        raise InvalidToken(f"the token is not valid: {error}") from None
    role, agency = claims.get("role"), claims.get("agency")
    if role not in ROLES:
        raise InvalidToken(f"the token's role {role!r} is not one this system knows")
    if not isinstance(agency, str) or not agency:
        raise InvalidToken("the token names no agency")
    if not AGENCY_CODE.fullmatch(agency):
        raise InvalidToken(
            "the token's agency is not an agency code (lower case letters, digits and _, "
            "at most 64 characters)"
        )
    subject = str(claims["sub"])
    if not 1 <= len(subject) <= 128:
        raise InvalidToken("the token's subject must be 1 to 128 characters")
    places = claims.get("places") or []
    if not isinstance(places, list) or not all(
        isinstance(p, str) and 1 <= len(p) <= 100 for p in places
    ):
        raise InvalidToken("the token's places are not a list of place names")
    return Identity(
        subject=subject,
        role=role,
        agency=agency,
        places=tuple(places),
        operations=_operations(claims.get("operations")),
    )


def check_agency(identity: Identity, register: Collection[str]) -> None:
    """Refuse a token whose agency is not in the agency ``register``. The system's own code
    is the administrator's alone. A set or dict lookup: it runs on every request."""
    if identity.agency == SYSTEM_AGENCY:
        if identity.role != "administrator":
            raise InvalidToken(
                f"the token's agency {SYSTEM_AGENCY!r} is reserved for the administrator"
            )
        return
    if identity.agency not in register:
        raise InvalidToken(f"the token's agency: {not_registered(identity.agency, register)}")


def _operations(claimed: object) -> tuple[str, ...]:
    """The operations a token is limited to: ids, or the token is not valid."""
    if not claimed:
        return ()
    if not isinstance(claimed, list):
        raise InvalidToken("the token's operations are not a list of operation ids")
    try:
        return tuple(str(UUID(str(o))) for o in claimed)
    except ValueError:
        raise InvalidToken("the token's operations are not all operation ids") from None


def key_in(directory: Path) -> str:
    """The signing key kept in ``directory`` (made on first use, readable by its owner only)."""
    path = directory / KEY_FILE
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


ADMINISTRATOR = Identity(subject=ADMINISTRATOR_SUBJECT, role="administrator", agency=SYSTEM_AGENCY)


def local_signing_key(key: str, directory: Path) -> str | None:
    """The key to sign local tokens with: ``key`` (CHB_JWT_KEY) if set, else the one `chb up`
    keeps in ``directory``; None when there is neither."""
    if key:
        return key
    return key_in(directory) if (directory / KEY_FILE).exists() else None
