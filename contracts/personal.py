"""A household's personal details, and the sealed form in which alone they travel and rest.

Names, addresses and notes enter at the front door and leave it only sealed: encrypted with
the household's own key (AES-GCM), so that erasing that key makes them unreadable in every
store, stream and export at once, while the events around them, and the hash chain over
those events, stay as they were. Services pass sealed text along without reading it; the
contracts refuse plaintext where sealed text belongs.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from contracts.envelope import Contract, Ref

SEALED_PREFIX = "chb-sealed:v1:"
# chb-sealed:v1:<key id: 32 hex digits of a digest of the household ref>:<base64 ciphertext>
SealedText = Annotated[
    str,
    Field(
        pattern=r"^chb-sealed:v1:[0-9a-f]{32}:[A-Za-z0-9+/]+={0,2}$",
        max_length=40_000,
        description="personal details sealed with the household's key (never plaintext)",
    ),
]


class ChildDetails(Contract):
    child_ref: Ref
    name: str = Field(min_length=1, max_length=200)


class PersonalDetails(Contract):
    """What the planning cell records about the arrested person's household."""

    person_name: str | None = Field(default=None, min_length=1, max_length=200)
    address: str | None = Field(default=None, min_length=1, max_length=500)
    children: list[ChildDetails] = Field(default_factory=list, max_length=50)
    notes: str | None = Field(default=None, min_length=1, max_length=4000)
