"""Relay catch-up benchmark: a store republished into an empty stream, as after a stream is lost.

    .venv/bin/python bench/relay.py                      # a history of 100,000 events
    .venv/bin/python bench/relay.py --events 300000 --json

The history is made by the services' own code (``bench/history.py``) in SQLite files in a
temporary directory; an embedded nats-server with JetStream (``sync_interval: always``, every
write fsynced before it is acknowledged, as in production) is started on it, and each service's
relay (its own code: read the notification log, translate, publish with the exactly-once guards)
publishes its whole store into its empty stream. Reported per service: events, seconds, events
per second, and the relay process's peak memory.

Target (issue 17): at least 10,000 events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: import the project
    sys.path.insert(0, str(ROOT))

from bench.history import make_history  # noqa: E402
from services.runtime.embedded_nats import EmbeddedNats  # noqa: E402
from services.runtime.logging import configure_logging  # noqa: E402
from services.runtime.nats_access import connect  # noqa: E402
from services.runtime.provisioning import ensure_stream  # noqa: E402
from services.runtime.relay import Relay  # noqa: E402
from services.runtime.settings import Settings  # noqa: E402


async def republish(
    settings: Settings, server: EmbeddedNats, service: str, app: Any
) -> dict[str, Any]:
    from services.clear.translation import translate as clear_translate
    from services.hold.translation import translate as hold_translate

    translate = {"clear": clear_translate, "hold": hold_translate}[service]
    own = Settings(**server.access(service), data_dir=settings.data_dir)
    nc = await connect(own)
    js = nc.jetstream()
    await ensure_stream(js, service, own)
    relay = Relay(app, service, translate, batch=own.relay_batch)
    await relay.resync(js)
    events = app.recorder.max_notification_id() or 0
    started = time.perf_counter()
    while await relay.publish_pending(js):
        pass
    seconds = time.perf_counter() - started
    await nc.close()
    return {
        "service": service,
        "events": events,
        "published": relay.published,
        "seconds": round(seconds, 2),
        "events_per_second": round(events / seconds),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="history size (100,000)")
    parser.add_argument("--json", action="store_true", help="also print one JSON line")
    args = parser.parse_args()
    configure_logging("warning")  # as a service runs: not a line per event
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(store="sqlite", data_dir=Path(directory) / "stores")
        made = time.perf_counter()
        maker = make_history(settings, args.events)
        print(f"history: {maker.total():,} events in {time.perf_counter() - made:.0f} s")
        server = EmbeddedNats(Path(directory) / "nats", sync_always=True).start()
        try:
            results = [
                asyncio.run(republish(settings, server, "clear", maker.clear)),
                asyncio.run(republish(settings, server, "hold", maker.hold)),
            ]
        finally:
            server.stop()
            maker.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for r in results:
        print(
            f"{r['service']:>5}: {r['events']:>9,} events republished in {r['seconds']:>6} s: "
            f"{r['events_per_second']:>7,} events/s"
        )
    print(f"peak memory of this process (history, both relays): {peak:.0f} MB")
    if args.json:
        print(json.dumps({"relays": results, "peak_rss_mb": round(peak)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
