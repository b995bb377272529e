"""One arrest is one trace: the API's request, clear's command, clear's relay, hold's and build's
processing of the arrest, and hold's relay publishing the tasks it opened, all linked parent to
child, with ids only in their attributes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from services.runtime.settings import Settings
from tests.support.flows import plan_and_launch
from tests.support.system import AUDITOR, eventually, running_system

pytestmark = pytest.mark.integration

CANARY = "Zyxwuvtsrq"


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def one(found: list[ReadableSpan], what: str) -> ReadableSpan:
    assert len(found) == 1, f"{what}: {[s.name for s in found]}"
    return found[0]


def parent_of(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> ReadableSpan | None:
    return by_id.get(span.parent.span_id) if span.parent is not None else None


def descends_from(
    span: ReadableSpan, ancestor: ReadableSpan, by_id: dict[int, ReadableSpan]
) -> bool:
    current: ReadableSpan | None = span
    while current is not None:
        if current is ancestor:
            return True
        current = parent_of(current, by_id)
    return False


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
async def test_one_arrest_is_one_trace_from_the_api_through_clear_hold_and_build(
    settings: Settings, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    """The trace context recorded with clear's event reaches hold and build through the relay's
    traceparent header, and hold's task events carry it on to hold's own stream."""
    provider, exporter = spans
    async with running_system(settings, tracer_provider=provider) as system:
        op = await plan_and_launch(system)
        response = await system.api.post(
            f"/operations/{op}/arrests",
            json={
                "person_ref": "P-1",
                "household_ref": "HH-1",
                "charges": ["supply methamphetamine"],
                "children": [{"child_ref": "C-1", "age": 4}],
                "only_carer_present": True,
                "personal": {"person_name": f"Hemi {CANARY}", "address": f"1 {CANARY} Road"},
            },
        )
        assert response.status_code == 201, response.text
        await eventually(
            lambda: system.get("/tasks", as_=AUDITOR, operation_id=op),
            lambda tasks: any(t["kind"] == "child_safety_check" for t in tasks),
            what="hold's tasks",
        )

        def arrest_trace() -> list[ReadableSpan]:
            server = [
                s
                for s in exporter.get_finished_spans()
                if s.kind == SpanKind.SERVER and s.name == "POST /operations/{operation_id}/arrests"
            ]
            if not server:
                return []
            trace_id = server[0].context.trace_id
            return [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]

        def by_service(
            found: list[ReadableSpan], service: str, kind: SpanKind
        ) -> list[ReadableSpan]:
            return [
                s
                for s in found
                if s.kind == kind and (s.attributes or {}).get("chb.service") == service
            ]

        async def probe() -> list[ReadableSpan]:
            return arrest_trace()

        trace = await eventually(
            probe,
            lambda found: bool(
                by_service(found, "build", SpanKind.CONSUMER)
                and by_service(found, "hold", SpanKind.PRODUCER)
            ),
            what="hold's and build's spans in the arrest's trace",
        )

    by_id = {s.context.span_id: s for s in trace}
    api = one([s for s in trace if s.kind == SpanKind.SERVER], "the API's request")
    assert api.parent is None, "the request starts the trace"
    clear_command = one(
        [s for s in trace if s.name == "cmd.clear.record_arrest process"], "clear's command"
    )
    assert descends_from(clear_command, api, by_id)
    clear_publish = one(by_service(trace, "clear", SpanKind.PRODUCER), "clear's relay")
    assert parent_of(clear_publish, by_id) is clear_command, "recorded under clear's command"
    hold_process = one(by_service(trace, "hold", SpanKind.CONSUMER), "hold's processing")
    build_process = one(by_service(trace, "build", SpanKind.CONSUMER), "build's processing")
    assert parent_of(hold_process, by_id) is clear_publish
    assert parent_of(build_process, by_id) is clear_publish
    hold_publishes = by_service(trace, "hold", SpanKind.PRODUCER)
    assert hold_publishes, "hold's case and task events are in the same trace"
    assert all(parent_of(s, by_id) is hold_process for s in hold_publishes)
    assert {s.attributes["chb.operation_id"] for s in [clear_publish, *hold_publishes]} == {op}

    for span in exporter.get_finished_spans():
        text = f"{span.name} {dict(span.attributes or {})}"
        assert CANARY not in text and "HH-1" not in text and "P-1" not in text, text
