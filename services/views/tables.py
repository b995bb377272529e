"""The views' items as mappings over the rows table (``store.py``), so that the functions that
change the views (``dispatch.py``) read and change items as they would in a dict.

Outside a batch every read asks the store, and nothing is kept in memory: an API process holds
no view of its own, however long the history. Inside a batch (``Batch``: the projector applies a
batch of events, or a replay applies many), each item read or written is kept until the batch
is written, so an item several events change is read once and written once, and the functions
may change an item in place, as they did when the views were dicts.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

import orjson
from eventsourcing.persistence import Tracking
from pydantic import BaseModel

from services.views.store import COLUMNS, StoredRow, ViewPlace, ViewRecorder, remove_place

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")

MISSING: Any = object()


@dataclass(frozen=True)
class Codec(Generic[T]):
    """How a value becomes JSON and back."""

    dump: Callable[[T], Any]
    load: Callable[[Any], T]


def row_codec(cls: type[T]) -> Codec[T]:
    """A dataclass row: its fields by name; datetimes as ISO text."""
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    times = {f.name for f in fields(cls) if f.type in ("datetime", "datetime | None")}  # type: ignore[arg-type]

    def dump(row: T) -> dict[str, Any]:
        body = {name: getattr(row, name) for name in names}
        for name in times:
            if body[name] is not None:
                body[name] = body[name].isoformat()
        return body

    def load(body: dict[str, Any]) -> T:
        for name in times:
            if body.get(name) is not None:
                body[name] = datetime.fromisoformat(body[name])
        return cls(**body)

    return Codec(dump, load)


def model_codec(cls: type[BaseModel]) -> Codec[Any]:
    return Codec(lambda m: m.model_dump(mode="json"), cls.model_validate)


def list_of(inner: Codec[T]) -> Codec[list[T]]:
    return Codec(lambda items: [inner.dump(i) for i in items], lambda b: [inner.load(i) for i in b])


PLAIN: Codec[Any] = Codec(lambda v: v, lambda v: v)
UUIDS: Codec[list[UUID]] = Codec(lambda ids: [str(i) for i in ids], lambda b: [UUID(i) for i in b])


def text_key(key: Any) -> str:
    if isinstance(key, tuple):
        return "\x1f".join(str(k) for k in key)
    return str(key)


@dataclass(frozen=True)
class KeyCodec(Generic[K]):
    load: Callable[[str], K]


UUID_KEY: KeyCodec[UUID] = KeyCodec(UUID)
TEXT_KEY: KeyCodec[str] = KeyCodec(str)


def _pair(key: str) -> tuple[str, str]:
    first, second = key.split("\x1f", 1)
    return first, second


PAIR_KEY: KeyCodec[tuple[str, str]] = KeyCodec(_pair)

Columns = Callable[[Any], dict[str, Any]]


class Batch:
    """The items a batch has read or written, written back together (``Views.flush``)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Any] = {}
        self.tables: dict[str, Table[Any, Any]] = {}
        self.deleted: set[tuple[str, str]] = set()
        # Each item's body as it was read: an item read and not changed is not written again.
        self.read: dict[tuple[str, str], str] = {}


class Table(Generic[K, V]):
    """Items of one kind by key, as a mapping. ``columns`` gives an item's indexed columns."""

    def __init__(
        self,
        views: Any,
        kind: str,
        key: KeyCodec[K],
        value: Codec[V],
        columns: Columns | None = None,
    ) -> None:
        self.views = views
        self.kind = kind
        self.key_codec = key
        self.codec = value
        self.columns = columns

    @property
    def recorder(self) -> ViewRecorder:
        recorder: ViewRecorder = self.views.recorder
        return recorder

    def _decode(self, body: str) -> V:
        return self.codec.load(orjson.loads(body))

    def _stored(self, key: str, value: V) -> StoredRow:
        dumped = self.codec.dump(value)
        body = orjson.dumps(dumped, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
        cols = self.columns(value) if self.columns else {}
        return StoredRow(self.kind, key, body, tuple(cols.get(c) for c in COLUMNS))

    # -- reading and writing one item --------------------------------------------------------

    def get(self, key: K, default: Any = None) -> V | Any:
        k = text_key(key)
        batch: Batch | None = self.views.batch
        if batch is not None:
            found = batch.items.get((self.kind, k), MISSING)
            if found is not MISSING:
                return default if found is None else found
        bodies = self.recorder.bodies(self.kind, [k])
        value = self._decode(bodies[k]) if k in bodies else None
        if batch is not None:
            batch.items[(self.kind, k)] = value
            batch.tables[self.kind] = self
            if value is not None:
                batch.read[(self.kind, k)] = bodies[k]
        return default if value is None else value

    def load_many(self, keys: Iterable[K]) -> None:
        """Read these items into the batch at once (one query, not one per item)."""
        batch: Batch | None = self.views.batch
        assert batch is not None
        wanted = [k for k in (text_key(key) for key in keys) if (self.kind, k) not in batch.items]
        if not wanted:
            return
        bodies = self.recorder.bodies(self.kind, wanted)
        for k in wanted:
            batch.items[(self.kind, k)] = self._decode(bodies[k]) if k in bodies else None
        for k, body in bodies.items():
            batch.read[(self.kind, k)] = body
        batch.tables[self.kind] = self

    def many(self, keys: Iterable[K]) -> dict[str, V]:
        """The items found among ``keys``, by key as text, in one query per 500 keys."""
        wanted = list(dict.fromkeys(text_key(k) for k in keys))
        return {k: self._decode(b) for k, b in self.recorder.bodies(self.kind, wanted).items()}

    def __getitem__(self, key: K) -> V:
        value = self.get(key, MISSING)
        if value is MISSING:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return self.get(key, MISSING) is not MISSING  # type: ignore[arg-type]

    def __setitem__(self, key: K, value: V) -> None:
        batch: Batch | None = self.views.batch
        if batch is None:  # a write on its own: a batch of one
            with self.views.writing():
                self[key] = value
            return
        k = text_key(key)
        batch.items[(self.kind, k)] = value
        batch.tables[self.kind] = self
        batch.deleted.discard((self.kind, k))

    def setdefault(self, key: K, default: V) -> V:
        with self.views.writing():
            value = self.get(key, MISSING)
            if value is MISSING:
                self[key] = default
                return default
            return value

    def pop(self, key: K, default: Any = None) -> V | Any:
        with self.views.writing() as batch:
            value = self.get(key, MISSING)
            if value is MISSING:
                return default
            k = text_key(key)
            batch.items[(self.kind, k)] = None
            batch.deleted.add((self.kind, k))
            return value

    # -- reading many ------------------------------------------------------------------------

    def select(
        self,
        where: str = "",
        params: Iterable[Any] = (),
        order: str = "seq",
        limit: int | None = None,
        offset: int = 0,
    ) -> list[V]:
        """The items matching a condition over the indexed columns, from the store (what a
        batch has not yet written is not among them: only the projector writes)."""
        rows = self.recorder.select(self.kind, where, tuple(params), order, limit, offset)
        return [self._decode(body) for _, body in rows]

    def count(self, where: str = "", params: Iterable[Any] = ()) -> int:
        return self.recorder.count(self.kind, where, tuple(params))

    def values(self) -> list[V]:
        self._settle()
        return self.select()

    def keys(self) -> list[K]:
        self._settle()
        return [self.key_codec.load(k) for k in self.recorder.keys(self.kind)]

    def items(self) -> list[tuple[K, V]]:
        self._settle()
        return [
            (self.key_codec.load(k), self._decode(body))
            for k, body in self.recorder.select(self.kind)
        ]

    def __iter__(self) -> Iterator[K]:
        return iter(self.keys())

    def __len__(self) -> int:
        self._settle()
        return self.count()

    def _settle(self) -> None:
        """A scan inside a batch first writes what the batch holds (rare: a replay's figures)."""
        if self.views.batch is not None:
            self.views.flush()


class Log(Generic[V]):
    """Items appended in order and never changed (committed indicator rows, imports, dead
    letters), as a list."""

    def __init__(self, views: Any, kind: str, value: Codec[V]) -> None:
        self.table: Table[str, V] = Table(views, kind, TEXT_KEY, value)
        self.views = views

    def append(self, value: V) -> None:
        self.table[f"{self.views.next_seq():016d}"] = value

    def extend(self, values: Iterable[V]) -> None:
        for value in values:
            self.append(value)

    def __iter__(self) -> Iterator[V]:
        return iter(self.table.values())

    def __len__(self) -> int:
        return len(self.table)


class RecentIds:
    """The ids of the last ``size`` events applied: enough to make an event applied twice in a
    row change nothing, and to tell a caller its own command's event is in the views, without
    a set that grows with the history."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        # An OrderedDict, not a dict: a dict's first key is found by walking past every slot
        # its deletions left, so forgetting the oldest id cost more the longer the views ran
        # (8% of a rebuild at 250,000 events); ``popitem(last=False)`` is constant time.
        self._ids: OrderedDict[UUID, None] = OrderedDict()

    def add(self, event_id: UUID) -> None:
        self._ids[event_id] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids


class Views:
    """The views' store and the batch being written to it."""

    def __init__(self, place: ViewPlace) -> None:
        self.place = place
        self.recorder: ViewRecorder = place.open()
        if place.temporary:  # a replay's file goes when the replay's views do
            weakref.finalize(self, remove_place, self.recorder, place)
        self.batch: Batch | None = None
        self._seq = self.recorder.max_seq()
        self.fresh = self._seq == 0  # nothing written yet: a new store

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    @contextmanager
    def writing(self) -> Iterator[Batch]:
        """The batch under way, or a new one written when this block ends."""
        if self.batch is not None:
            yield self.batch
            return
        self.batch = Batch()
        try:
            with self.recorder.open_batch():
                yield self.batch
                self.flush()
        finally:
            self.batch = None

    def flush(self, trackings: Sequence[Tracking] = ()) -> None:
        """Write what the batch holds, with the streams' positions, in one transaction."""
        batch = self.batch
        if batch is None or not (batch.items or batch.deleted):
            if trackings:
                self.recorder.write([], [], trackings)
            return
        rows: list[tuple[StoredRow, int]] = []
        for (kind, key), value in batch.items.items():
            if value is None:
                continue
            stored = batch.tables[kind]._stored(key, value)
            if batch.read.get((kind, key)) != stored.body:  # new, or changed since read
                rows.append((stored, self.next_seq()))
        self.recorder.write(rows, sorted(batch.deleted), trackings)
        batch.items.clear()
        batch.deleted.clear()
        batch.read.clear()

    def position(self, stream: str) -> int:
        """The last sequence of ``stream`` these views have applied (0: none)."""
        return self.recorder.tracked(stream)

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Everything read in this block is the views at one moment (the writer may commit
        meanwhile in another thread or process: not seen until the block ends)."""
        with self.recorder.open_read():
            yield

    def close(self) -> None:
        self.recorder.datastore.close()
