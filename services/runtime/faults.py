"""Deliberate crashes at exact points, for the exactly-once tests (off unless configured).

A SIGKILL from outside lands at a random moment; these land at the two moments that matter most:
just before the batch's transaction commits, and after it commits but before the acks are sent.
``pause_before_commit`` stops the process there instead (SIGSTOP, once): a test holds it past
its ack wait while a replacement processes the redelivered batch, then lets it go on (SIGCONT)
to try to commit a batch that is no longer its own.
"""

from __future__ import annotations

import os
import signal

import structlog

log = structlog.get_logger()

# after_send: the notifier, between sending a notification and recording that it was sent.
POINTS = ("before_commit", "after_commit", "pause_before_commit", "after_send")


class FaultInjector:
    def __init__(self, point: str = "", after_batches: int = 0) -> None:
        if point and point not in POINTS:
            raise ValueError(f"fault point must be one of {POINTS}, not {point!r}")
        self.point = point
        self.after_batches = after_batches
        self.batches = 0

    def reached(self, point: str) -> None:
        """Called at each point; kills this process when the configured one comes round."""
        if not self.point:
            return
        if point == POINTS[0]:
            self.batches += 1
        if self.point == "pause_before_commit" and point == "before_commit":
            if self.batches >= self.after_batches:
                self.point = ""  # once
                log.warning("fault injected: pausing this process", batch=self.batches)
                os.kill(os.getpid(), signal.SIGSTOP)
            return
        if point == self.point and self.batches >= self.after_batches:
            log.warning("fault injected: killing this process", point=point, batch=self.batches)
            os.kill(os.getpid(), signal.SIGKILL)
