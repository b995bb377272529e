"""A pull consumer's next batch, taken without an await per message.

nats-py's ``fetch`` awaits every message of a batch through ``next_msg``, which makes a task and
a timeout for each: two or three turns of the event loop per message. In a process whose loop is
busy (the notifier sends hundreds of webhooks a second on the same loop) a turn takes a
millisecond or more, and a batch of 64 took ~130 ms to *fetch* while deciding and recording it
took ~150 ms (bench/README.md). Here the server is asked for the batch as nats-py asks (a
``no_wait`` request, then, only when there is nothing, one that lingers until the time is up),
the first message is awaited, and everything else that has already arrived is taken from the
subscription's queue at once; what arrives later stays in the queue for the next call, which
takes it without asking the server again. The queue, the request subject and the inbox are
nats-py's own (pinned in pyproject.toml), read here because nats-py offers no batch-at-once
fetch.
"""

from __future__ import annotations

import json
import time

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.errors import APIError

# Statuses that end a pull request without an error: no messages, request timed out, and the
# conflicts the server answers while a consumer's leader changes (nats-py treats them alike).
_ENDED = ("404", "408", "409")
_HEARTBEAT = "100"


def _status(msg: Msg) -> str | None:
    return JetStreamContext.is_status_msg(msg)


def take_ready(psub: JetStreamContext.PullSubscription, most: int) -> list[Msg]:
    """What has already arrived, up to ``most``, without waiting; status messages (meant for
    earlier requests) are dropped."""
    sub = psub._sub
    queue = sub._pending_queue
    taken: list[Msg] = []
    while len(taken) < most and not queue.empty():
        msg = queue.get_nowait()
        sub._pending_size -= len(msg.data)
        queue.task_done()
        if _status(msg) is None:
            taken.append(msg)
    return taken


async def fetch_batch(
    psub: JetStreamContext.PullSubscription, batch: int, within: float
) -> list[Msg]:
    """Up to ``batch`` messages in stream order: those already here; else what the server has
    now (a ``no_wait`` request, ended at once by a status when it has fewer); else one
    lingering request for the rest of ``within`` seconds, its first message awaited
    (``nats.errors.TimeoutError`` when none comes). The rest of the batch comes with the
    first, as far as the server has it now (``_rest_of``). As nats-py does, at most one
    request lingers: a no_wait request is answered at once, so asking often leaves none behind
    on the server."""
    ready = take_ready(psub, batch)
    if ready:
        return ready
    started = time.monotonic()
    await _ask(psub, {"batch": batch, "no_wait": True})
    lingering = False
    while True:
        remaining = within - (time.monotonic() - started)
        if remaining <= 0:
            raise NatsTimeoutError
        msg = await psub._sub.next_msg(timeout=remaining)
        status = _status(msg)
        if status is None:
            return await _rest_of(psub, [msg], batch, started + within)
        if status == _HEARTBEAT:
            continue
        if status in _ENDED:
            expires = int(remaining * 1e9) - 100_000
            if lingering or status == "409" or expires <= 0:
                # The lingering request ended (or a request before it did): nothing now.
                raise NatsTimeoutError
            # Nothing there now: wait, as long as is left, for the next to come.
            await _ask(psub, {"batch": batch, "expires": expires})
            lingering = True
            continue
        raise APIError.from_msg(msg)


async def _rest_of(
    psub: JetStreamContext.PullSubscription, msgs: list[Msg], batch: int, deadline: float
) -> list[Msg]:
    """The batch begun by ``msgs``: what has arrived, taken at once; and while the server says
    more are pending (each message carries how many) and the request has not ended, one await
    for the next of them, then again all that has arrived. So a catch-up gets whole batches
    (one transaction each, not one per handful that happened to be in the socket), and a
    consumer that is caught up gets what there is at once."""
    while len(msgs) < batch:
        msgs += take_ready(psub, batch - len(msgs))
        if len(msgs) >= batch or msgs[-1].metadata.num_pending == 0:
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            msg = await psub._sub.next_msg(timeout=remaining)
        except NatsTimeoutError:
            break
        status = _status(msg)
        if status == _HEARTBEAT:
            continue
        if status is not None:  # the request ended: the rest comes with the next one
            break
        msgs.append(msg)
    return msgs


async def _ask(psub: JetStreamContext.PullSubscription, request: dict[str, object]) -> None:
    await psub._nc.publish(psub._nms, json.dumps(request).encode(), psub._deliver)
