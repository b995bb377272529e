"""The front door's metrics and the first span of each request's trace.

The commands it sends carry the trace on by FastStream's ``NatsTelemetryMiddleware`` (wired with
the broker); what is here is the HTTP side: the server span the command's spans hang from, and
the API's own readiness for Prometheus.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ServerSpans:
    """One SERVER span per HTTP request, current while the route runs.

    Not opentelemetry-instrumentation-asgi: that records the full URL and query string, and a
    query here may carry free text (``/cases/{id}/personal?reason=...``). This span is named by
    the route's template and records only the method, the template and the status.
    """

    def __init__(self, app: ASGIApp, tracer: Tracer) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        status: dict[str, int] = {}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        with self.tracer.start_as_current_span(
            method, kind=SpanKind.SERVER, attributes={"http.request.method": method}
        ) as span:
            try:
                await self.app(scope, receive, sending)
            finally:
                route = getattr(scope.get("route"), "path", None)
                if route is not None:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                if "code" in status:
                    span.set_attribute("http.response.status_code", status["code"])
                    if status["code"] >= 500:
                        span.set_status(Status(StatusCode.ERROR))


class ApiCollector(Collector):
    """The API's readiness (its own: NATS, streams, read model) and its read model's
    position on each stream, read when scraped. Each service's own readiness is that
    service's ``chb_ready``."""

    def __init__(
        self,
        ready: Callable[[], bool],
        positions: Callable[[], dict[str, int]],
        restarts: Callable[[], dict[str, int] | None] = lambda: None,
    ) -> None:
        self.ready = ready
        self.positions = positions
        self.restarts = restarts

    def collect(self) -> Iterator[Metric]:
        ready = GaugeMetricFamily(
            "chb_ready",
            "1 when the process is ready (store, stream, NATS, consumers)",
            labels=["service"],
        )
        ready.add_metric(["api"], 1.0 if self.ready() else 0.0)
        yield ready
        position = GaugeMetricFamily(
            "chb_read_model_position",
            "the last stream sequence the API's read model has applied",
            labels=["stream"],
        )
        for stream, sequence in sorted(self.positions().items()):
            position.add_metric([stream], sequence)
        yield position
        restarts = self.restarts()
        if restarts is not None:  # only under `chb up`'s supervisor
            restarted = CounterMetricFamily(
                "chb_process_restarts",
                "times the supervisor started a process again after it exited",
                labels=["process"],
            )
            for process, count in sorted(restarts.items()):
                restarted.add_metric([process], count)
            yield restarted
