"""Who is calling: bearer tokens (signed JWTs) in, an ``Identity`` out.

The signing key and issuer come from settings (``CHB_JWT_KEY``, ``CHB_JWT_ISSUER``); ``chb token
issue`` mints tokens for local use and tests, ``chb up`` keeps its key in the data directory.
A token names an opaque person reference (never a name), one role, the agency the person acts
for, and optionally the places or operations the role is limited to.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt

from contracts import Actor

ALGORITHM = "HS256"
KEY_FILE = "jwt.key"

ROLES = (
    "administrator",
    "planner",
    "operation_commander",
    "agency_worker",
    "agency_lead",
    "leadership_group_member",
    "leadership_group_chair",
    "auditor",
    "public",
)


# What `chb up` prints for local use: may call anything (never issued by default elsewhere).
ADMINISTRATOR_SUBJECT = "local-administrator"


class InvalidToken(Exception):
    """The token is missing, malformed, wrongly signed, expired, or names no known role."""


@dataclass(frozen=True)
class Identity:
    subject: str
    role: str
    agency: str
    places: tuple[str, ...] = ()  # empty: not limited to places
    operations: tuple[str, ...] = ()  # empty: not limited to operations

    @property
    def actor(self) -> Actor:
        return Actor(id=self.subject, agency=self.agency, role=self.role)

    def covers_place(self, place: str | None) -> bool:
        if not self.places:
            return True
        return place is not None and place.casefold() in {p.casefold() for p in self.places}

    def covers_operation(self, operation_id: object) -> bool:
        return not self.operations or str(operation_id) in self.operations

    def covers(self, item: dict[str, Any]) -> bool:
        """Whether an item (anything with a ``place`` and/or an ``operation_id``) lies within
        the places and operations this token is limited to. An item that names no place is
        outside a token limited to places: unknown is not the same as allowed."""
        if self.places and not self.covers_place(item.get("place")):
            return False
        return not self.operations or (
            "operation_id" in item and self.covers_operation(item["operation_id"])
        )


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
    return Identity(
        subject=str(claims["sub"]),
        role=role,
        agency=agency,
        places=tuple(claims.get("places") or ()),
        operations=tuple(claims.get("operations") or ()),
    )


def key_in(directory: Path) -> str:
    """The signing key kept in ``directory`` (made on first use, readable by its owner only)."""
    path = directory / KEY_FILE
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


ADMINISTRATOR = Identity(subject=ADMINISTRATOR_SUBJECT, role="administrator", agency="chb")


def local_signing_key(key: str, directory: Path) -> str | None:
    """The key to sign local tokens with: ``key`` (CHB_JWT_KEY) if set, else the one `chb up`
    keeps in ``directory``; None when there is neither."""
    if key:
        return key
    return key_in(directory) if (directory / KEY_FILE).exists() else None
