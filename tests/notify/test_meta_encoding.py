"""Every stored event's meta, encoded by hand for speed (the notifier stores several events per
offer): exactly what ``dataclasses.asdict`` gave, so stored bytes (and the hash chain over
them) are the same as before, and no field of ``Meta`` can be left out unnoticed."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import UTC, datetime
from uuid import uuid4

from services.runtime.meta import Actor, Meta, MetaAsDict

TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_meta_encodes_as_asdict_did_in_the_same_order_with_traceparent_only_when_traced() -> None:
    actor = Actor(id="notify-service", agency="chb", role="service")
    at = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    for traceparent in (None, TRACE):
        meta = Meta(at, uuid4(), actor, uuid4(), "why", traceparent=traceparent)
        expected = asdict(meta)
        if traceparent is None:
            del expected["traceparent"]
        encoded = MetaAsDict().encode(meta)
        assert list(encoded.items()) == list(expected.items())
        assert MetaAsDict().decode(encoded) == meta
    traced = MetaAsDict().encode(Meta(at, uuid4(), actor, traceparent=TRACE))
    assert list(traced) == [f.name for f in fields(Meta)]
