"""What a verification found, and how it is told: per service, and for the whole system.

Two kinds of news, kept apart on purpose:

- a *finding* is evidence of tampering (an event altered, removed, inserted or reordered, a
  checkpoint that does not follow, the audit stream gone): never acceptable;
- events *not yet checkpointed* (recorded after a service's last checkpoint, or before its
  first) are a *warning with a count*. A running system always has a second's worth; a clean
  stop leaves none; a killed service leaves what it recorded since its notary's last pass. They
  are not verified, so ``--strict`` refuses them, but by default they do not fail the check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from services.runtime.chain import GENESIS

Kind = Literal["altered", "removed", "inserted", "reordered", "checkpoint", "no-audit-stream"]


@dataclass
class Finding:
    kind: Kind
    notification_id: int | None
    detail: str


@dataclass
class ServiceVerification:
    service: str
    verified: int = 0  # events matched against a checkpoint
    verified_through: int = 0  # the last notification id matched
    head: str = GENESIS  # the chain's head through ``verified_through``
    checkpoints: int = 0
    last_checkpoint_at: str | None = None
    unverified_tail: int = 0  # events recorded after the last checkpoint (or with none)
    finding: Finding | None = None

    @property
    def ok(self) -> bool:
        """Nothing tampered with (events not yet checkpointed are only a warning)."""
        return self.finding is None

    @property
    def events(self) -> int:
        return self.verified + self.unverified_tail

    @property
    def warning(self) -> str | None:
        if self.finding is not None or not self.unverified_tail:
            return None
        return f"{self.unverified_tail:,} not yet checkpointed"

    def passes(self, strict: bool = False) -> bool:
        return self.ok and not (strict and self.unverified_tail)

    def line(self, strict: bool = False) -> str:
        """One line for a person: ``hold: ok (1,234 events; 12 not yet checkpointed: warning)``."""
        if self.finding is not None:
            return f"{self.service}: {self.finding.kind}: {self.finding.detail}"
        if not self.unverified_tail:
            counted = f"{self.events:,} events, all checkpointed" if self.events else "no events"
            return f"{self.service}: ok ({counted})"
        tail = f"{self.events:,} events; {self.warning}"
        if strict:
            return f"{self.service}: not verified under --strict ({tail})"
        return f"{self.service}: ok ({tail}: warning)"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok, "warning": self.warning}


def summary(services: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The whole system's answer from each service's ``as_dict()`` (the API gets those over
    NATS): ``ok`` only for tampering; the events not yet checkpointed as a count and
    warnings beside it."""
    reports = list(services)
    return {
        "ok": all(r["ok"] for r in reports),
        "not_yet_checkpointed": sum(r.get("unverified_tail", 0) for r in reports),
        "warnings": [f"{r['service']}: {r['warning']}" for r in reports if r.get("warning")],
        "services": reports,
    }


@dataclass
class Verification:
    services: list[ServiceVerification] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.services)

    @property
    def not_yet_checkpointed(self) -> int:
        return sum(s.unverified_tail for s in self.services)

    def passes(self, strict: bool = False) -> bool:
        return all(s.passes(strict) for s in self.services)

    def as_dict(self) -> dict[str, Any]:
        return summary(s.as_dict() for s in self.services)
