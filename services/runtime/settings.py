"""Settings, read once by the factory that builds a process, never at import time."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

Store = Literal["sqlite", "postgres", "memory"]


class Settings(BaseSettings):
    """Every knob a process has. Environment variables are ``CHB_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="CHB_", extra="ignore")

    nats_url: str = "nats://127.0.0.1:4222"
    # Who this process is on NATS (services/runtime/nats_permissions.py: clear, hold, build, api,
    # auditor or admin) and its password. Empty: connect without credentials (a server without
    # an authorization block). `chb up` hands each process its own.
    nats_user: str = ""
    nats_password: str = ""
    # Replies arrive under this prefix; empty means the user's own, ``_INBOX_<user>``.
    nats_inbox_prefix: str = ""
    # TLS: the CA that signed the server's certificate (a tls:// URL without it uses the
    # system's CAs), and a client certificate and key if the server asks for one.
    nats_tls_ca_file: Path | None = None
    nats_tls_cert_file: Path | None = None
    nats_tls_key_file: Path | None = None
    data_dir: Path = Path("data")
    store: Store = "sqlite"
    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5432
    postgres_user: str = "postgres"
    postgres_password: str = ""
    postgres_dbname: str = "chb"
    # The schema is the service name, prefixed by this (so test runs can share one database).
    postgres_schema_prefix: str = ""
    stream_replicas: int = Field(default=1, ge=1, le=5)
    # Notifications a relay reads and publishes at once: one atomic batch of up to 1,000.
    relay_batch: int = Field(default=1000, ge=1, le=10_000)
    consumer_batch: int = Field(default=64, ge=1, le=1_000)
    # How long the relay waits for the stream to acknowledge a publish before it doubts the
    # batch and reads its position from the stream again (what was stored is not sent twice).
    publish_timeout_seconds: float = Field(default=10.0, gt=0)
    # How long JetStream waits for an ack before redelivering to another (or restarted) process.
    ack_wait_seconds: float = Field(default=10.0, gt=0)
    # The notary checkpoints each history at least this often (and every checkpoint_size events).
    checkpoint_interval_seconds: float = Field(default=1.0, gt=0)
    checkpoint_size: int = Field(default=1000, ge=1, le=10_000)
    # A clean stop publishes, then checkpoints, what the store still holds, each within this
    # long: a NATS that does not answer must not hold a stop for ever (what is left goes out
    # at the next start, and `chb audit verify` counts it as not yet checkpointed meanwhile).
    stop_timeout_seconds: float = Field(default=5.0, gt=0)
    # The API's /ready says ready only when each view is at most this many events behind its
    # service's store (the store's position when asked; services/api/readiness.py).
    ready_max_lag: int = Field(default=0, ge=0)
    # How long the API waits for a service to walk its whole history in /audit/verify.
    verify_timeout_seconds: float = Field(default=600.0, gt=0)
    # Bearer tokens: the key that signs and checks them (HS256) and the issuer they must name.
    jwt_key: str = ""
    jwt_issuer: str = "chb"
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8080, ge=0, le=65535)
    command_timeout_seconds: float = Field(default=5.0, gt=0)
    # Need-to-know over time: how many days after its last task of a household finished (or
    # was moved on) an agency may still read the household's personal details. Hold and the
    # API must agree: both read it from here.
    personal_details_days: float = Field(default=30.0, ge=0, le=3650)
    log_level: str = "info"
    # Prometheus: a service process serves /metrics over HTTP on this port (0: not at all; the
    # API serves GET /metrics on its own port whatever this says).
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=0, ge=0, le=65535)
    # OpenTelemetry: traces are exported over OTLP/HTTP to this collector endpoint (for example
    # http://otel-collector:4318/v1/traces); empty: no traces are made at all.
    otel_endpoint: str = ""
    # Pages: sign-in through the agencies' OpenID Connect provider (authorization code + PKCE).
    # No issuer: only `chb signin-link` links sign in. The claims that carry the role, the
    # agency code and the places (a list) the person is limited to.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_role_claim: str = "chb_role"
    oidc_agency_claim: str = "chb_agency"
    oidc_places_claim: str = "chb_places"
    # Test aid: SIGKILL this process at a point in the tracked consumer (see runtime/faults.py).
    fault_point: Literal[
        "", "before_commit", "after_commit", "pause_before_commit", "after_send"
    ] = ""
    fault_after_batches: int = Field(default=0, ge=0)

    @property
    def personal_window(self) -> timedelta:
        return timedelta(days=self.personal_details_days)

    def postgres_schema(self, service: str) -> str:
        return f"{self.postgres_schema_prefix}{service}"
