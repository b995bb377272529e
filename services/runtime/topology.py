"""Names of streams, subjects and durable consumers: one place, so nothing drifts."""

from __future__ import annotations

# Wire names the contracts define, used here beside the runtime's own.
from contracts.registry import SERVICES as SERVICES
from contracts.registry import command_subject as command_subject

# The notifier (services/notify): a service like the others, with its own store, stream and
# NATS user, kept out of SERVICES so the three phases' pipeline (the views, the API's answers)
# does not wait on it. The audit tools (verify, reconcile, the timeline and its index) cover
# its store as they do the others' (services/views/stores.py).
NOTIFY = "notify"
ALL_SERVICES = (*SERVICES, NOTIFY)

# Which upstream services each downstream service follows.
FOLLOWS: dict[str, tuple[str, ...]] = {
    "clear": (),
    "hold": ("clear",),
    "build": ("clear",),
    NOTIFY: ("hold", "build"),
}


def stream_name(service: str) -> str:
    """One stream per producing service.

    DESIGN.md sketches one stream ``CHB``; a stream per service lets the relay put an exact
    ``Nats-Expected-Last-Sequence`` on every pipelined publish (only its own relay writes there),
    and gives each service's subjects their own retention and permissions.
    """
    return f"CHB_{service.upper()}"


def subjects(service: str) -> str:
    return f"chb.{service}.>"


def durable_name(upstream: str, downstream: str) -> str:
    return f"{downstream}_from_{upstream}"


# Each service's history checkpoints (see runtime/checkpoints.py), kept apart from its stream.
AUDIT_STREAM = "CHB_AUDIT"
AUDIT_SUBJECTS = "audit.*.checkpoint"


# The household keys that seal personal details (services/runtime/sealing.py): a key-value bucket
# (the stream KV_<bucket>) that only the front door writes; hold may read it (sealed ages).
KEYS_BUCKET = "CHB_HOUSEHOLD_KEYS"


def checkpoint_subject(service: str) -> str:
    return f"audit.{service}.checkpoint"


def status_subject(service: str) -> str:
    """Request/reply: the service's readiness and positions."""
    return f"status.{service}"


def verify_subject(service: str) -> str:
    """Request/reply: the service verifies its own store against its checkpoints."""
    return f"verify.{service}"


# Headers the relay sets and the tracked consumer reads.
H_MSG_ID = "Nats-Msg-Id"
H_EXPECTED_LAST_SEQ = "Nats-Expected-Last-Sequence"
# JetStream atomic batch publish (ADR-50).
H_BATCH_ID = "Nats-Batch-Id"
H_BATCH_SEQUENCE = "Nats-Batch-Sequence"
H_BATCH_COMMIT = "Nats-Batch-Commit"
H_EXPECTED_LAST_SUBJECT_SEQ = "Nats-Expected-Last-Subject-Sequence"
H_NOTIFICATION_ID = "Chb-Notification-Id"
H_PREVIOUS_ID = "Chb-Previous-Id"
H_EVENT_ID = "Chb-Event-Id"
H_OPERATION_ID = "Chb-Operation-Id"
