"""The agency register: which agencies exist, as events (who added or changed one, when, why).

One aggregate per agency, its id derived from its code, so registering the same code twice
lands on the same aggregate and is refused, and two hold processes seeding at once cannot both
record it. Only the leadership group's chair or an administrator keeps the register
(``register_agency`` in services/runtime/authorization.py); hold records the seeded agencies
itself at start-up, as the hold service. Contact points (where notifications go) will be events
of their own on the same aggregate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from contracts.agencies import AGENCY_KINDS, SEEDED_CODES, SYSTEM_AGENCY, not_registered
from services.runtime.authorization import Caller, check
from services.runtime.errors import DomainError, Invalid, Missing, RuleBroken
from services.runtime.meta import SERVICE_ACTORS, Meta, derived_id


class AgencyRefused(DomainError):
    """A change to the register that cannot be made."""


class AgencyAlreadyRegistered(AgencyRefused, RuleBroken):
    """The code is taken (HTTP 409)."""


class AgencyNotRegistered(AgencyRefused, Missing):
    """No agency has this code (HTTP 404)."""


class AgencyInvalid(AgencyRefused, Invalid, ValueError):
    """A field is not acceptable (HTTP 422); ``errors`` names each field and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.errors = [{"field": field, "reason": reason}]


class UnknownAgency(AgencyInvalid):
    """A command names an agency that is not in the register (HTTP 422)."""

    def __init__(self, field: str, code: str, known: Iterable[str]) -> None:
        super().__init__(field, not_registered(code, known))


def check_kind(kind: str) -> None:
    if kind not in AGENCY_KINDS:
        raise AgencyInvalid("kind", f"{kind!r} is not one of {', '.join(AGENCY_KINDS)}")


def check_code(code: str) -> None:
    if code == SYSTEM_AGENCY:
        raise AgencyInvalid("code", f"{code!r} is reserved for the system and its administrator")


def check_reason(meta: Meta) -> None:
    if not (meta.reason or "").strip():
        raise AgencyInvalid("reason", "the register keeps why an agency was added or changed")


class Agency(Aggregate):
    """One agency: its code (never changes), name, kind and the places it serves."""

    class Registered(Aggregate.Created):
        code: str
        name: str
        kind: str
        places: list[str]
        meta: Meta

    class Changed(Aggregate.Event):
        code: str
        name: str
        kind: str
        places: list[str]
        changed: list[str]
        meta: Meta

    @staticmethod
    def create_id(code: str) -> UUID:
        return derived_id("agency", code)

    @classmethod
    def register(
        cls,
        caller: Caller,
        code: str,
        name: str,
        kind: str,
        places: list[str],
        meta: Meta,
        taken: bool = False,
    ) -> Agency:
        """A new agency, added by the chair or an administrator (refused to anyone else, even
        when the command reached hold by another path than the front door). ``taken``: the
        register already holds the code."""
        check(caller, "register_agency")
        if taken:
            raise AgencyAlreadyRegistered(f"agency {code} is already registered")
        check_code(code)
        check_kind(kind)
        check_reason(meta)
        return cls(code=code, name=name, kind=kind, places=places, meta=meta)

    @classmethod
    def seed(cls, code: str, name: str, kind: str, places: list[str], meta: Meta) -> Agency:
        """An agency every system starts with, recorded by hold itself at start-up."""
        if meta.actor != SERVICE_ACTORS["hold"] or code not in SEEDED_CODES:
            raise AgencyInvalid("code", f"{code!r} is not a seeded agency for hold to record")
        check_reason(meta)
        return cls(code=code, name=name, kind=kind, places=places, meta=meta)

    @event(Registered)
    def __init__(self, code: str, name: str, kind: str, places: list[str], meta: Meta) -> None:
        self.code = code
        self.name = name
        self.kind = kind
        self.places = list(places)
        self.registered_at = meta.occurred_at

    def change(
        self,
        caller: Caller,
        meta: Meta,
        name: str | None = None,
        kind: str | None = None,
        places: list[str] | None = None,
    ) -> bool:
        """Change the fields given; those equal to what is held are left alone, so a retried
        change records nothing twice. Returns whether anything changed."""
        check(caller, "register_agency")
        check_reason(meta)
        if kind is not None:
            check_kind(kind)
        wanted: dict[str, Any] = {"name": name, "kind": kind, "places": places}
        changed = [
            f for f, value in wanted.items() if value is not None and value != getattr(self, f)
        ]
        if not changed:
            return False
        self._changed(
            code=self.code,
            name=name if name is not None else self.name,
            kind=kind if kind is not None else self.kind,
            places=list(places) if places is not None else self.places,
            changed=changed,
            meta=meta,
        )
        return True

    @event(Changed)
    def _changed(
        self, code: str, name: str, kind: str, places: list[str], changed: list[str], meta: Meta
    ) -> None:
        self.name = name
        self.kind = kind
        self.places = list(places)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "kind": self.kind, "places": self.places}


def check_registered(field: str, code: str | None, registered: Callable[[str], bool]) -> None:
    """Refuse a command naming an agency the register does not hold."""
    if code is not None and not registered(code):
        raise UnknownAgency(field, code, SEEDED_CODES)
