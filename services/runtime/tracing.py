"""Traces that follow one piece of work (an arrest) from the API through every service.

The request/reply path (API -> a service's command handler) is FastStream's own
``NatsTelemetryMiddleware``. The event path is ours (the relay and the tracked consumer are not
FastStream subscribers), so the W3C ``traceparent`` is carried by hand:

1. whatever span is current when a domain event's ``Meta`` is made is recorded in the event
   (``Meta.traceparent``, see runtime/meta.py), in the same transaction as the event itself;
2. the relay, which may publish it much later (after a restart, or after NATS was down), puts
   it in the message's ``traceparent`` header;
3. the tracked consumer starts its span for that message from the header, and the events its
   processing records carry that span on.

Nothing here touches OpenTelemetry's global providers: the process's wiring makes a tracer
provider from settings (``tracer_provider``) and hands it to whatever makes spans; without one
no spans are made and nothing is stored.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NoOpTracerProvider, Span, Tracer, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from services.runtime.settings import Settings

TRACER_NAME = "chb"
H_TRACEPARENT = "traceparent"

_PROPAGATOR = TraceContextTextMapPropagator()


def traceparent_of(span: Span) -> str | None:
    """The W3C traceparent naming ``span``; None for no span (tracing off)."""
    c = span.get_span_context()
    if not c.is_valid:
        return None
    return f"00-{c.trace_id:032x}-{c.span_id:016x}-{int(c.trace_flags):02x}"


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, or None when there is none (tracing off)."""
    return traceparent_of(trace.get_current_span())


def context_from(traceparent: str | None) -> Context | None:
    """The context whose parent is ``traceparent`` (None: none, or not a valid one)."""
    if not traceparent:
        return None
    context = _PROPAGATOR.extract({H_TRACEPARENT: traceparent})
    return context if trace.get_current_span(context).get_span_context().is_valid else None


def tracer_of(provider: TracerProvider | None) -> Tracer:
    """The project's tracer from ``provider``; a no-op one without (never the global one)."""
    return (provider or NoOpTracerProvider()).get_tracer(TRACER_NAME)


def tracer_provider(settings: Settings, service: str) -> TracerProvider | None:
    """What ``chb serve`` traces with: OTLP/HTTP to ``CHB_OTEL_ENDPOINT``, batched off the hot
    path; None (no spans at all) when it is not set. The exporter is an optional dependency
    (``pip install 'chb[otlp]'``), imported only here."""
    if not settings.otel_endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = SdkTracerProvider(resource=Resource.create({"service.name": f"chb-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(settings.otel_endpoint)))
    return provider


def shutdown(provider: TracerProvider | None) -> None:
    """Flush what is still batched (the SDK's provider has ``shutdown``; the API's has not)."""
    close: Any = getattr(provider, "shutdown", None)
    if close is not None:
        close()
