"""Build's items as the authorization table asks about them: each one's relation to the
caller's agency, whether the caller's token lets them see it at all, and the answer a hidden
item gets, which is the answer an unknown id gets, word for word (so a refusal never reveals
that something exists). The front door (from its read model) and build's aggregates (from
their own state) both use these, so they decide alike."""

from __future__ import annotations

from collections.abc import Iterable

from services.runtime.authorization import Caller, NotPermitted, Relation
from services.runtime.dead_letters import NIL


def no_plan(place: str) -> str:
    return f"no resilience plan for {place}: one opens when an operation there concludes"


def no_milestone(milestone_id: object) -> str:
    return f"no milestone {milestone_id}"


def no_programme(programme_id: object) -> str:
    return f"no programme {programme_id}"


def no_import(import_id: object) -> str:
    return f"no import {import_id}"


def milestone_relation(caller: Caller, owner_agency: str) -> Relation:
    return Relation.OWNER if caller.agency == owner_agency else Relation.NONE


def programme_relation(caller: Caller, provider: str) -> Relation:
    # The provider is an agency's code: its lead reports the programme's spend and results.
    return Relation.PROVIDER if caller.agency == provider else Relation.NONE


def import_relation(caller: Caller, starter_agency: str) -> Relation:
    return Relation.STARTER if caller.agency == starter_agency else Relation.NONE


def place_visible(caller: Caller, place: str) -> bool:
    """A plan or programme: within the token's places (one limited to operations sees none:
    they belong to a place, not to an operation)."""
    return caller.covers(place=place)


def milestone_visible(caller: Caller, place: str, operation_id: object) -> bool:
    # A milestone of the place itself (no operation, NIL) is outside a token limited to
    # operations, as any item naming no operation is.
    operation = None if str(operation_id) == str(NIL) else operation_id
    return caller.covers(place=place, operation_id=operation)


def import_visible(caller: Caller, places: Iterable[str]) -> bool:
    """An import is seen only by a token that covers every place its rows name so far (one not
    yet holding rows names none): a token limited to Gore neither sees nor commits an import
    holding a Mataura row. A token limited to operations sees no import."""
    return not caller.operations and all(caller.covers_place(p) for p in places)


def outside_scope(caller: Caller, what: str) -> NotPermitted:
    """Refusal of something the caller brings (a new programme's place, rows they send) that
    lies outside their token: nothing hidden is revealed by naming what they sent."""
    return NotPermitted(f"{what} is outside your token's scope ({caller.scope_text()})")
