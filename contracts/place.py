"""A place name, as one value: people write "Ōpōtiki", "ōpōtiki " and "ŌPŌTIKI" for one place.

Every comparison of places, and every id, scope or key made of one, goes through ``Place`` so
they all agree (a plan's id, a playbook's scope, a token's places, a place's sealing key).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Place:
    """``name`` as written (kept for display); equal, and hashed, by ``key``."""

    name: str = field(compare=False)
    key: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", self.name.strip().casefold())

    def __str__(self) -> str:
        return self.name

    def among(self, places: Iterable[str]) -> bool:
        """Whether any of ``places`` (names as written) is this place."""
        return any(self == Place(p) for p in places)


def place_key(name: str) -> str:
    """The form a place name is compared, keyed and derived by."""
    return Place(name).key


def same_place(a: str, b: str) -> bool:
    """Whether two place names, as written, name one place."""
    return Place(a) == Place(b)
