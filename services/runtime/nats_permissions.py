"""Who may do what on NATS: one user per service, the API, a read-only auditor and an admin.

This is the one definition of the users and their subject permissions. The embedded server's
configuration (``embedded_nats.py``) and the deploy profiles in ``deploy/nats/`` are both
rendered from it (``chb nats deploy-configs`` writes them; a test fails if they differ), so the
permissions a test exercises are the ones production runs with.

JetStream is an API over core NATS: creating, reading and consuming are *publishes* to
``$JS.API.<verb>.<stream>[.<consumer>]`` and acks are publishes to
``$JS.ACK.<stream>.<consumer>.>``, so publish permissions decide which streams and consumers
a user may touch. Replies come back on the user's own inbox prefix (``_INBOX_<user>``), the
only inbox it may subscribe to; a service answers requests (commands, status, verify) through
``allow_responses``.

Passwords are never in the configuration: each user's is ``$CHB_NATS_PASSWORD_<USER>``, resolved
by nats-server from its environment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.runtime.topology import (
    ALL_SERVICES,
    AUDIT_STREAM,
    FOLLOWS,
    KEYS_BUCKET,
    NOTIFY,
    checkpoint_subject,
    command_subject,
    durable_name,
    status_subject,
    stream_name,
    subjects,
    verify_subject,
)

API = "api"
AUDITOR = "auditor"
# Creates every stream (CHB_AUDIT included) and may delete them: `chb nats provision`, `chb up`
# and the tests. No service process runs as admin.
ADMIN = "admin"
USERS: tuple[str, ...] = (*ALL_SERVICES, API, AUDITOR, ADMIN)

JS_API = "$JS.API"
STREAMS: tuple[str, ...] = (*map(stream_name, ALL_SERVICES), AUDIT_STREAM)


def inbox_prefix(user: str) -> str:
    """Each user's replies arrive under its own prefix, so no one can read another's replies."""
    return f"_INBOX_{user}"


def password_variable(user: str) -> str:
    """The environment variable nats-server reads the user's password from."""
    return f"CHB_NATS_PASSWORD_{user.upper()}"


@dataclass(frozen=True)
class Permissions:
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    publish_deny: tuple[str, ...] = ()
    allow_responses: bool = False


def _durables() -> list[tuple[str, str]]:
    """Every (stream, durable consumer) pair the services use."""
    return [
        (stream_name(upstream), durable_name(upstream, downstream))
        for downstream, upstreams in FOLLOWS.items()
        for upstream in upstreams
    ]


def _reader(stream: str) -> list[str]:
    """Reading a stream through ephemeral consumers (no ack): create one (nats-py names it and
    puts its filter in the subject: ``CONSUMER.CREATE.<stream>.<name>.<filter>``), ask about
    it, fetch, answer flow control. The services' durable consumers are denied by name (see
    ``_not_durables``)."""
    return [
        f"{JS_API}.STREAM.INFO.{stream}",
        f"{JS_API}.STREAM.MSG.GET.{stream}",
        f"{JS_API}.CONSUMER.CREATE.{stream}",
        f"{JS_API}.CONSUMER.CREATE.{stream}.*",
        f"{JS_API}.CONSUMER.CREATE.{stream}.*.>",
        f"{JS_API}.CONSUMER.INFO.{stream}.*",
        f"{JS_API}.CONSUMER.MSG.NEXT.{stream}.*",
        f"$JS.FC.{stream}.>",
    ]


def _not_durables() -> list[str]:
    """A reader may not take messages from, or change, a service's durable consumer."""
    denied: list[str] = []
    for stream, durable in _durables():
        denied += [
            f"{JS_API}.CONSUMER.MSG.NEXT.{stream}.{durable}",
            f"{JS_API}.CONSUMER.CREATE.{stream}.{durable}",
            f"{JS_API}.CONSUMER.CREATE.{stream}.{durable}.>",
            f"{JS_API}.CONSUMER.DURABLE.CREATE.{stream}.{durable}",
            f"{JS_API}.CONSUMER.DELETE.{stream}.{durable}",
        ]
    return denied


# Services that may read (never make, write or purge) a household's key: hold opens an
# arrest's sealed ages in memory, to decide which tasks its playbook calls for; notify opens a
# contact point's sealed target (URL and secret, or address) in memory, to send.
KEY_READERS = ("hold", NOTIFY)
KEYS_STREAM = f"KV_{KEYS_BUCKET}"


def _key_reader() -> list[str]:
    """Reading a key: find the bucket, then get its last value (directly or from the stream).
    Writes and purges are publishes to ``$KV.<bucket>.<key>``, which a reader is not given."""
    return [
        f"{JS_API}.STREAM.INFO.{KEYS_STREAM}",
        f"{JS_API}.STREAM.MSG.GET.{KEYS_STREAM}",
        f"{JS_API}.DIRECT.GET.{KEYS_STREAM}",
        f"{JS_API}.DIRECT.GET.{KEYS_STREAM}.>",
    ]


def service_permissions(service: str) -> Permissions:
    own = stream_name(service)
    publish = [
        # Its events (the relay) and its checkpoints (the notary), nothing else.
        subjects(service),
        checkpoint_subject(service),
        f"{JS_API}.INFO",
        # Its own stream: made and kept to the declared configuration by the service itself.
        f"{JS_API}.STREAM.INFO.{own}",
        f"{JS_API}.STREAM.CREATE.{own}",
        f"{JS_API}.STREAM.UPDATE.{own}",
        f"{JS_API}.STREAM.MSG.GET.{own}",
        # The audit stream: the notary finds its last checkpoint; verify reads its own ones
        # (a consumer filtered on its own checkpoint subject, which the server checks against
        # the subject of the create request).
        f"{JS_API}.STREAM.INFO.{AUDIT_STREAM}",
        f"{JS_API}.STREAM.MSG.GET.{AUDIT_STREAM}",
        f"{JS_API}.CONSUMER.CREATE.{AUDIT_STREAM}.*.{checkpoint_subject(service)}",
        f"{JS_API}.CONSUMER.INFO.{AUDIT_STREAM}.*",
        f"{JS_API}.CONSUMER.MSG.NEXT.{AUDIT_STREAM}.*",
    ]
    for upstream in FOLLOWS[service]:
        stream, durable = stream_name(upstream), durable_name(upstream, service)
        publish += [
            f"{JS_API}.STREAM.INFO.{stream}",
            # Its own durable consumer on the upstream stream, and no other.
            f"{JS_API}.CONSUMER.INFO.{stream}.{durable}",
            f"{JS_API}.CONSUMER.CREATE.{stream}.{durable}",
            f"{JS_API}.CONSUMER.CREATE.{stream}.{durable}.>",
            f"{JS_API}.CONSUMER.DURABLE.CREATE.{stream}.{durable}",
            f"{JS_API}.CONSUMER.MSG.NEXT.{stream}.{durable}",
            f"$JS.ACK.{stream}.{durable}.>",
        ]
    if service in KEY_READERS:
        publish += _key_reader()
    return Permissions(
        publish=tuple(publish),
        subscribe=(
            f"{inbox_prefix(service)}.>",
            command_subject(service, ">"),
            status_subject(service),
            verify_subject(service),
        ),
        allow_responses=True,
    )


def api_permissions() -> Permissions:
    publish = [f"{JS_API}.INFO"]
    for service in ALL_SERVICES:
        publish += [
            command_subject(service, "*"),
            verify_subject(service),
            status_subject(service),
        ]
    for stream in STREAMS:
        publish += _reader(stream)
    # The household keys: the front door's own bucket, made, written and purged by it alone
    # (hold may read a key, see KEY_READERS; build, clear and the auditor may not).
    publish += [
        f"$KV.{KEYS_BUCKET}.>",
        f"{JS_API}.STREAM.CREATE.{KEYS_STREAM}",
        *_key_reader(),
    ]
    return Permissions(
        publish=tuple(publish),
        subscribe=(f"{inbox_prefix(API)}.>",),
        publish_deny=tuple(_not_durables()),
    )


def auditor_permissions() -> Permissions:
    publish = [f"{JS_API}.INFO"]
    for stream in STREAMS:
        publish += _reader(stream)
    return Permissions(
        publish=tuple(publish),
        subscribe=(f"{inbox_prefix(AUDITOR)}.>",),
        publish_deny=tuple(_not_durables()),
    )


def permissions(user: str) -> Permissions | None:
    """The user's permissions; None for the admin, who may do everything."""
    if user in ALL_SERVICES:
        return service_permissions(user)
    if user == API:
        return api_permissions()
    if user == AUDITOR:
        return auditor_permissions()
    if user == ADMIN:
        return None
    raise ValueError(f"unknown NATS user {user!r}: one of {', '.join(USERS)}")


def _quoted(items: Iterable[str], indent: str) -> str:
    return "".join(f'{indent}"{item}"\n' for item in items)


def user_block(user: str, indent: str = "    ") -> str:
    """One entry of ``authorization { users = [...] }``; the password from the environment."""
    inner = indent + "  "
    lines = f"{indent}{{\n{inner}user: {user}\n{inner}password: ${password_variable(user)}\n"
    granted = permissions(user)
    if granted is not None:
        deep = inner + "    "
        lines += f"{inner}permissions: {{\n"
        lines += f"{inner}  publish: {{\n{inner}    allow: [\n"
        lines += _quoted(granted.publish, deep + "  ")
        lines += f"{deep}]\n"
        if granted.publish_deny:
            lines += f"{deep}deny: [\n" + _quoted(granted.publish_deny, deep + "  ") + f"{deep}]\n"
        lines += f"{inner}  }}\n"
        lines += f"{inner}  subscribe: {{\n{deep}allow: [\n"
        lines += _quoted(granted.subscribe, deep + "  ")
        lines += f"{deep}]\n{inner}  }}\n"
        if granted.allow_responses:
            lines += f"{inner}  allow_responses: true\n"
        lines += f"{inner}}}\n"
    return lines + f"{indent}}}\n"


def authorization_block() -> str:
    """The ``authorization`` block every CHB nats-server runs with."""
    users = "".join(user_block(user) for user in USERS)
    return (
        "# One user per service, the API, a read-only auditor and an admin (provisioning).\n"
        "# Generated from services/runtime/nats_permissions.py: edit that, not this.\n"
        "authorization {\n  users = [\n" + users + "  ]\n}\n"
    )
