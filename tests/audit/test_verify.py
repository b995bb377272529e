"""The verifier's walk, on histories built in memory: each kind of tampering is named at the
first place it happened, and a checkpoint record that was altered or lost is caught too."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from contracts.audit import HistoryCheckpoint
from services.audit.verification import Verification
from services.audit.verify import check
from services.runtime.chain import GENESIS, extend

pytestmark = pytest.mark.domain

Leaf = tuple[int, str]


def history(n: int) -> list[Leaf]:
    return [(i, hashlib.sha256(f"event {i}".encode()).hexdigest()) for i in range(1, n + 1)]


def checkpoints(leaves: list[Leaf], size: int = 4) -> list[bytes]:
    out, head, count = [], GENESIS, 0
    for start in range(0, len(leaves), size):
        chunk = leaves[start : start + size]
        count += len(chunk)
        checkpoint = HistoryCheckpoint(
            service="hold",
            first_notification_id=chunk[0][0],
            last_notification_id=chunk[-1][0],
            count=count,
            previous_head=head,
            head=extend(head, chunk),
            checkpointed_at=datetime(2026, 3, 1, tzinfo=UTC),
            leaves=chunk,
        )
        head = checkpoint.head
        out.append(checkpoint.model_dump_json().encode())
    return out


def test_an_untouched_history_verifies_to_the_checkpoints_head() -> None:
    """Every event matches; the head is the last checkpoint's; later events are the tail."""
    leaves = history(12)
    report = check("hold", [*leaves, (13, "f" * 64)], checkpoints(leaves))
    assert report.ok and report.verified == 12 and report.verified_through == 12
    assert report.head == extend(GENESIS, leaves) and report.checkpoints == 3
    assert report.unverified_tail == 1


def test_an_altered_event_is_named() -> None:
    leaves = history(12)
    store = [*leaves[:6], (7, "0" * 64), *leaves[7:]]
    report = check("hold", store, checkpoints(leaves))
    assert report.finding is not None
    assert (report.finding.kind, report.finding.notification_id) == ("altered", 7)
    assert report.verified_through == 6


@pytest.mark.parametrize("renumbered", [False, True])
def test_a_removed_event_is_named_whether_or_not_later_ones_were_renumbered(
    renumbered: bool,
) -> None:
    """Event 7 deleted: named as removed at 7; the report says later events were renumbered
    (8 is now 7) only when they were, never "8 is now 8"."""
    leaves = history(12)
    rest = [(i - 1, leaf) for i, leaf in leaves[7:]] if renumbered else leaves[7:]
    report = check("hold", [*leaves[:6], *rest], checkpoints(leaves))
    assert report.finding is not None
    assert (report.finding.kind, report.finding.notification_id) == ("removed", 7)
    assert ("renumbered" in report.finding.detail) == renumbered, report.finding.detail
    if renumbered:
        assert "renumbered: 8 is now 7" in report.finding.detail


def test_a_truncated_history_is_named_where_it_ends() -> None:
    leaves = history(12)
    report = check("hold", leaves[:9], checkpoints(leaves))
    assert report.finding is not None
    assert (report.finding.kind, report.finding.notification_id) == ("removed", 10)


@pytest.mark.parametrize("renumbered", [False, True])
def test_an_inserted_event_is_named(renumbered: bool) -> None:
    """Inserted into a gap in the ids, or with every later event moved up one (then, and only
    then, the report says which checkpointed event was renumbered to what)."""
    leaves = [(i * 2, leaf) for i, leaf in history(12)]  # ids 2, 4, 6, ...: gaps, as in Postgres
    forged = (9 if not renumbered else 10, "e" * 64)
    rest = [(i + 2, leaf) for i, leaf in leaves[4:]] if renumbered else leaves[4:]
    report = check("hold", [*leaves[:4], forged, *rest], checkpoints(leaves))
    assert report.finding is not None
    assert (report.finding.kind, report.finding.notification_id) == ("inserted", forged[0])
    # Renumbering is reported only where an id changed: 10 is now 12, never "10 is now 10".
    assert ("renumbered" in report.finding.detail) == renumbered, report.finding.detail
    if renumbered:
        assert "10 is now 12" in report.finding.detail


def test_two_events_swapped_are_named_as_reordered_at_the_first() -> None:
    leaves = history(12)
    store = list(leaves)
    store[4], store[9] = (5, leaves[9][1]), (10, leaves[4][1])
    report = check("hold", store, checkpoints(leaves))
    assert report.finding is not None
    assert (report.finding.kind, report.finding.notification_id) == ("reordered", 5)
    assert "checkpointed as 10" in report.finding.detail


def test_a_lost_checkpoint_or_an_altered_one_is_caught() -> None:
    """A checkpoint missing from the record breaks the link to the next; one whose leaves
    were edited (to hide an altered event) no longer gives its own head."""
    leaves = history(12)
    records = checkpoints(leaves)
    lost = check("hold", leaves, [records[0], records[2]])
    assert lost.finding is not None and lost.finding.kind == "checkpoint"
    assert lost.finding.notification_id == 9 and lost.verified_through == 4

    edited = HistoryCheckpoint.model_validate_json(records[1])
    forged_leaves = [*edited.leaves[:2], (7, "0" * 64), edited.leaves[3]]
    records[1] = edited.model_copy(update={"leaves": forged_leaves}).model_dump_json().encode()
    store = [*leaves[:6], (7, "0" * 64), *leaves[7:]]
    report = check("hold", store, records)
    assert report.finding is not None and report.finding.kind == "checkpoint"
    assert "does not hold together" in report.finding.detail


def test_events_not_yet_checkpointed_are_a_warning_with_a_count_that_strict_refuses() -> None:
    """A service killed before its notary's first checkpoint (no checkpoint at all) and one
    killed after some (a tail after the last) are told alike: ok, a warning counting the
    events not yet checkpointed, and not passing under --strict. An empty store, or one
    checkpointed to its end, passes either way."""
    leaves = history(12)
    never = check("hold", leaves[:3], [])
    tail = check("hold", leaves, checkpoints(leaves[:8]))
    for report, count, verified in ((never, 3, 0), (tail, 4, 8)):
        assert report.ok and report.finding is None
        assert (report.unverified_tail, report.verified) == (count, verified)
        assert report.warning == f"{count} not yet checkpointed"
        assert report.passes() and not report.passes(strict=True)
        assert report.line() == (
            f"hold: ok ({count + verified} events; {count} not yet checkpointed: warning)"
        )
        assert report.as_dict()["warning"] == report.warning
    assert never.checkpoints == 0 and tail.checkpoints == 2

    for clean in (check("hold", [], []), check("hold", leaves, checkpoints(leaves))):
        assert clean.passes(strict=True) and clean.warning is None
    assert check("hold", leaves, checkpoints(leaves)).line() == (
        "hold: ok (12 events, all checkpointed)"
    )


def test_the_system_summary_fails_only_on_tampering_and_counts_the_rest() -> None:
    """``ok`` (the API's and the command's) is false for a finding, never for events not yet
    checkpointed: those are added up and named per service as warnings."""
    leaves = history(12)
    result = Verification(
        [check("clear", leaves, checkpoints(leaves)), check("hold", leaves[:5], [])]
    )
    assert result.ok and result.passes() and not result.passes(strict=True)
    summary = result.as_dict()
    assert summary["ok"] and summary["not_yet_checkpointed"] == 5
    assert summary["warnings"] == ["hold: 5 not yet checkpointed"]

    altered = [*leaves[:6], (7, "0" * 64), *leaves[7:]]
    result.services.append(check("build", altered, checkpoints(leaves)))
    assert not result.ok and not result.as_dict()["ok"] and not result.passes()
