"""The audit index: one operation's state at a moment from its own rows only, identical to a
replay of the whole history, and brought up to date incrementally."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.history import HistoryMaker
from services.audit.index import open_index
from services.audit.timeline import replay
from services.cli import app
from services.runtime.settings import Settings

pytestmark = pytest.mark.integration


def views(model: object, op: object) -> dict[str, object]:
    from services.views.read_model import ReadModel

    assert isinstance(model, ReadModel)
    return {
        "operation": model.operations.get(op),  # type: ignore[call-overload]
        "cases": model.list_cases(op),  # type: ignore[arg-type]
        "tasks": model.list_tasks(op),  # type: ignore[arg-type]
        "milestones": model.list_milestones(op),  # type: ignore[arg-type]
    }


def test_an_operation_as_of_any_moment_matches_a_replay_of_everything(tmp_path: Path) -> None:
    """Three operations made by the services' own code. At moments through the history (every
    fifth event's recorded time, and a microsecond before it), the index's answer for each
    operation, from that operation's rows alone, equals the whole history replayed to that
    moment; replaying the whole index equals replaying the stores."""
    settings = Settings(store="sqlite", data_dir=tmp_path / "stores")
    maker = HistoryMaker(settings)
    for _ in range(3):
        maker.operation(arrests=6)
    operations = [op for op, _, _ in maker.operations]
    maker.close()

    index = open_index(settings)
    try:
        index.catch_up(settings)
        times = [event.recorded_at for event in index.events()]
        moments = [t - d for t in times[::5] for d in (timedelta(0), timedelta(microseconds=1))]
        assert len(set(times)) > 100
        shown = 0
        for moment in moments:
            whole = replay(settings, until=moment)
            for op in operations:
                expected = views(whole, op)
                assert views(index.replay(op, moment), op) == expected, (op, moment)
                shown += len(expected["tasks"])  # type: ignore[arg-type]
        assert shown > 1000, "the moments must catch operations part-way through"
        assert dict(index.replay().tasks.items()) == dict(replay(settings).tasks.items())
    finally:
        index.close()


def test_the_index_reads_only_what_is_new_and_starts_again_for_another_store(
    tmp_path: Path,
) -> None:
    settings = Settings(store="sqlite", data_dir=tmp_path / "stores")
    maker = HistoryMaker(settings)
    maker.operation(arrests=4)
    first = maker.total()
    index = open_index(settings)
    assert index.catch_up(settings) == first and index.catch_up(settings) == 0
    maker.operation(arrests=4)
    assert index.catch_up(settings) == maker.total() - first
    maker.close()
    index.close()

    # The stores are replaced by a shorter history: the index notices and starts again.
    for name in ("clear", "hold", "build"):
        (settings.data_dir / f"{name}.sqlite").unlink()
    maker = HistoryMaker(settings)
    maker.operation(arrests=2)
    index = open_index(settings)
    assert index.catch_up(settings) == maker.total() and index.count() < first
    maker.close()
    index.close()


def test_the_command_answers_as_of_a_moment_from_a_data_directory(tmp_path: Path) -> None:
    """`chb audit as-of --at T --operation ID --json` (no system running) shows each task as it
    stood at T: offered before its agency accepted it, completed after."""
    settings = Settings(store="sqlite", data_dir=tmp_path / "stores")
    maker = HistoryMaker(settings)
    maker.operation(arrests=3)
    op = maker.operations[0][0]
    maker.close()

    def as_of(moment: object) -> dict[str, object]:
        result = CliRunner().invoke(
            app,
            [
                "audit",
                "as-of",
                "--at",
                str(moment),
                "--operation",
                str(op),
                "--json",
                "--data-dir",
                str(settings.data_dir),
            ],
        )
        assert result.exit_code == 0, result.output
        state: dict[str, object] = json.loads(result.stdout)
        return state

    index = open_index(settings)
    index.catch_up(settings)
    opened = [e.recorded_at for e in index.events(op) if e.event_type == "SupportTaskOpened"]
    index.close()
    early = as_of(max(opened).isoformat())  # every task opened, none yet accepted
    late = as_of(datetime.now(UTC).isoformat())
    assert {t["status"] for t in early["tasks"]} == {"offered"}  # type: ignore[union-attr,index]
    assert {t["status"] for t in late["tasks"]} == {"completed"}  # type: ignore[union-attr,index]
    assert early["operation"]["status"] == "launched"  # type: ignore[index]
    assert late["operation"]["status"] == "concluded"  # type: ignore[index]
    shutil.rmtree(settings.data_dir)
    gone = CliRunner().invoke(
        app, ["audit", "as-of", "--at", "2026-03-01T14:05:00Z", "--data-dir", str(tmp_path / "x")]
    )
    assert gone.exit_code == 2 and "no clear store" in gone.output


def test_the_indexed_timeline_is_the_timeline(tmp_path: Path) -> None:
    """Streamed from the index, the timeline of everything, of one operation and of a place
    (its operations and its place-wide entries) is entry for entry the one assembled from the
    stores, with the same causes and effects."""
    from dataclasses import asdict

    from services.audit.timeline import timeline

    settings = Settings(store="sqlite", data_dir=tmp_path / "stores")
    maker = HistoryMaker(settings)
    for _ in range(4):
        maker.operation(arrests=3)
    op = maker.operations[1][0]
    maker.close()
    index = open_index(settings)
    index.catch_up(settings)
    place = index.replay().operations[op].place
    try:
        for scope in ({}, {"operation_id": str(op)}, {"place": place.upper()}):
            indexed = [asdict(e) for e in index.entries(**scope)]
            assembled = [asdict(e) for e in timeline(settings, **scope)]
            assert indexed == assembled, scope
            assert indexed and any(e["caused"] for e in indexed)
    finally:
        index.close()


def test_a_place_plan_at_a_moment_reads_only_that_places_plan(tmp_path: Path) -> None:
    """Asked for a place alone, the answer holds its plan and milestones and nothing of any
    operation (the whole history is not replayed for an operation nobody asked about)."""
    from services.audit.point_in_time import state_at

    settings = Settings(store="sqlite", data_dir=tmp_path / "stores")
    maker = HistoryMaker(settings)
    for _ in range(3):
        maker.operation(arrests=2)
    maker.close()
    index = open_index(settings)
    index.catch_up(settings)
    try:
        place = next(iter(index.replay().plans.values())).place
        state = state_at(index, datetime.now(UTC), None, place)
        assert state["plan"]["place"] == place and state["place_milestones"]
        assert state["tasks"] == [] and state["cases"] == [] and state["operation"] is None
        assert {m["place"] for m in state["place_milestones"]} == {place}
    finally:
        index.close()


def test_as_of_a_moment_before_anything_says_so(tmp_path: Path) -> None:
    """`chb audit as-of` at a moment before the operation was planned says that it had not
    been, rather than print an empty table; before any operation, that nothing had happened."""
    settings = Settings(store="sqlite", data_dir=tmp_path / "stores")
    maker = HistoryMaker(settings)
    maker.operation(arrests=1)
    op = maker.operations[0][0]
    maker.close()
    before = "2001-01-01T00:00:00+13:00"
    asked = ["audit", "as-of", "--at", before, "--data-dir", str(settings.data_dir)]

    one = CliRunner().invoke(app, [*asked, "--operation", str(op)])
    assert one.exit_code == 0, one.output
    assert f"operation {op} had not been planned by 2001-01-01T00:00:00+13:00" in one.output
    everything = CliRunner().invoke(app, asked)
    assert everything.exit_code == 0, everything.output
    assert "nothing had happened by 2001-01-01T00:00:00+13:00" in everything.output
    assert "tasks as of" not in everything.output
    later = CliRunner().invoke(app, [*asked[:2], "--at", datetime.now(UTC).isoformat(), *asked[4:]])
    assert "nothing had happened" not in later.output and "tasks as of" in later.output
