"""Sealing a household's personal details with its own key, and destroying that key.

The front door seals personal details before a command leaves for a service, and unseals them
for a reader who may see them (after Hold has recorded the read). The one other reader is Hold,
which opens an arrest's sealed ages in memory only, to decide which tasks the playbook calls
for; it may read keys but never make, change or purge one (``HouseholdKeys.existing``).

Each household has its own AES-256 key (AES-GCM, the ``eventsourcing`` library's cipher), kept
in a NATS key-value bucket with no history. Erasure purges that key: every copy of the sealed
text, in stores, streams and exports alike, becomes unreadable at once, and nothing else in
the history changes, so its hash chain still verifies.

The key is found by an id derived from the household reference (a digest, so the reference
itself appears in no subject); a household given a new key after an erasure cannot read its
old details either, because AES-GCM refuses a ciphertext under any key but its own.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import structlog
from eventsourcing.cryptography import AESCipher
from eventsourcing.utils import Environment
from nats.js import JetStreamContext
from nats.js.api import StorageType
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pydantic import BaseModel

from contracts.personal import SEALED_PREFIX
from contracts.place import place_key
from services.runtime.topology import KEYS_BUCKET

log = structlog.get_logger()


class Unreadable(Exception):
    """The household's key is gone (erased), or the text was not sealed with it."""


def place_ref(place: str) -> str:
    """The key reference of a place's own free text (a milestone's check-in notes, a
    programme's result notes): a "/" no household reference can hold keeps the two apart."""
    return f"place/{place_key(place)}"


def contact_ref(contact_id: object) -> str:
    """The key reference of a contact point's target (a webhook's URL and secret, an e-mail
    address): sealed by the front door, opened only by the notifier to send."""
    return f"contact/{contact_id}"


def key_id(household_ref: str) -> str:
    return hashlib.sha256(f"chb-household:{household_ref}".encode()).hexdigest()[:32]


def _cipher(key: str) -> AESCipher:
    return AESCipher(Environment(env={AESCipher.CIPHER_KEY: key}))


def seal_with(key: str, household_ref: str, plaintext: bytes) -> str:
    ciphertext = base64.b64encode(_cipher(key).encrypt(plaintext)).decode("ascii")
    return f"{SEALED_PREFIX}{key_id(household_ref)}:{ciphertext}"


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(SEALED_PREFIX)


def sealed_key_id(sealed: str) -> str:
    return sealed[len(SEALED_PREFIX) :].split(":", 1)[0]


def unseal_with(key: str, sealed: str) -> bytes:
    ciphertext = base64.b64decode(sealed[len(SEALED_PREFIX) :].split(":", 1)[1])
    try:
        return _cipher(key).decrypt(ciphertext)
    except ValueError as error:  # the library's cipher: a tag that does not match
        raise Unreadable("sealed with a key that no longer exists") from error


class HouseholdKeys:
    """One key per household in a NATS key-value bucket (history 1: a purge leaves nothing)."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    @classmethod
    async def open(cls, js: JetStreamContext, replicas: int = 1) -> HouseholdKeys:
        try:
            kv = await js.key_value(KEYS_BUCKET)
        except BucketNotFoundError:
            kv = await js.create_key_value(
                bucket=KEYS_BUCKET,
                description="one key per household: purge a key to erase its personal details",
                history=1,
                storage=StorageType.FILE,
                replicas=replicas,
            )
        return cls(kv)

    @classmethod
    async def existing(cls, js: JetStreamContext) -> HouseholdKeys | None:
        """The bucket as a reader finds it, never made by it: None if it does not exist (then
        no key was ever made, so nothing sealed can be opened)."""
        try:
            return cls(await js.key_value(KEYS_BUCKET))
        except BucketNotFoundError:
            return None

    async def stored_key(self, kid: str) -> str | None:
        try:
            entry = await self.kv.get(kid)
        except KeyNotFoundError:  # also a deleted or purged key
            return None
        return entry.value.decode("ascii") if entry.value else None

    async def key_for_sealing(self, household_ref: str) -> str:
        """The household's key, made on first use (two front doors making it at once agree on
        whichever was stored first)."""
        kid = key_id(household_ref)
        key = await self.stored_key(kid)
        if key is not None:
            return key
        fresh = AESCipher.create_key(32)
        try:
            await self.kv.create(kid, fresh.encode("ascii"))
            return fresh
        except KeyWrongLastSequenceError:
            stored = await self.stored_key(kid)
            if stored is None:
                raise
            return stored

    async def seal(self, household_ref: str, details: BaseModel | str) -> str:
        plain = details if isinstance(details, str) else details.model_dump_json()
        key = await self.key_for_sealing(household_ref)
        return seal_with(key, household_ref, plain.encode("utf-8"))

    def opener(self) -> Opener:
        return Opener(self)

    async def erase(self, household_ref: str) -> None:
        """Purge the key and every revision of it. Idempotent."""
        await self.kv.purge(key_id(household_ref))
        log.info("household key erased", key_id=key_id(household_ref))


# What a reader is shown where a household's details were erased.
ERASED: dict[str, bool] = {"erased": True}


class Opener:
    """Opens the sealed texts of one answer: each household's key is fetched once, however
    many of its texts the answer shows."""

    def __init__(self, keys: HouseholdKeys) -> None:
        self.keys = keys
        self._found: dict[str, str | None] = {}

    async def text(self, sealed: str) -> str | dict[str, bool]:
        """The plaintext, or ``ERASED`` when the household's key is gone."""
        kid = sealed_key_id(sealed)
        if kid not in self._found:
            self._found[kid] = await self.keys.stored_key(kid)
        key = self._found[kid]
        if key is None:
            return ERASED
        try:
            return unseal_with(key, sealed).decode("utf-8")
        except Unreadable:  # a key made after an erasure cannot open what came before it
            return ERASED

    async def details(self, sealed: str | None) -> Any:
        """Sealed personal details as the JSON they were, ``ERASED``, or None if none."""
        if sealed is None:
            return None
        opened = await self.text(sealed)
        return json.loads(opened) if isinstance(opened, str) else opened
