"""How a process connects to NATS: its user, password, inbox prefix and TLS, from settings.

Every connection (the service and API brokers, the audit tools, the tests) goes through here, so
none connects with another's identity or the default ``_INBOX`` prefix its user may not read.
"""

from __future__ import annotations

import ssl
from typing import Any

import nats
from faststream.nats import NatsBroker
from faststream.nats.security import NatsSecurity, NatsUserPassword
from nats.aio.client import Client

from services.runtime.nats_permissions import inbox_prefix
from services.runtime.settings import Settings


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """A client TLS context when a CA or a client certificate is configured; None otherwise
    (nats-py then uses the system's CAs for a ``tls://`` URL, and plain TCP for ``nats://``)."""
    if settings.nats_tls_ca_file is None and settings.nats_tls_cert_file is None:
        return None
    context = ssl.create_default_context(
        purpose=ssl.Purpose.SERVER_AUTH,
        cafile=str(settings.nats_tls_ca_file) if settings.nats_tls_ca_file else None,
    )
    if settings.nats_tls_cert_file is not None:
        context.load_cert_chain(
            str(settings.nats_tls_cert_file),
            str(settings.nats_tls_key_file) if settings.nats_tls_key_file else None,
        )
    return context


def reply_prefix(settings: Settings) -> str:
    if settings.nats_inbox_prefix:
        return settings.nats_inbox_prefix
    return inbox_prefix(settings.nats_user) if settings.nats_user else "_INBOX"


def servers(settings: Settings) -> list[str]:
    """``CHB_NATS_URL`` may list several servers, comma-separated (a cluster's nodes): the
    client connects to one and fails over to the others."""
    return [url.strip() for url in settings.nats_url.split(",") if url.strip()]


def connect_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``nats.connect(servers(settings), **connect_options(settings))``."""
    options: dict[str, Any] = {"inbox_prefix": reply_prefix(settings)}
    if settings.nats_user:
        options["user"] = settings.nats_user
        options["password"] = settings.nats_password
    tls = tls_context(settings)
    if tls is not None:
        options["tls"] = tls
    return options


async def connect(settings: Settings, **kwargs: Any) -> Client:
    """A nats-py connection to ``settings.nats_url`` as the settings' user."""
    return await nats.connect(servers(settings), **connect_options(settings), **kwargs)


def broker(settings: Settings, **kwargs: Any) -> NatsBroker:
    """A FastStream broker connecting as the settings' user (its TLS and inbox prefix too)."""
    tls = tls_context(settings)
    security: NatsSecurity | None
    if settings.nats_user:
        security = NatsUserPassword(
            settings.nats_user, settings.nats_password, ssl_context=tls, use_ssl=tls is not None
        )
    elif tls is not None:
        security = NatsSecurity(ssl_context=tls)
    else:
        security = None
    return NatsBroker(
        servers(settings), security=security, inbox_prefix=reply_prefix(settings), **kwargs
    )
