"""The gateway's settings, read from ``LANES_*`` environment variables."""

from __future__ import annotations

from pydantic import Field

from lanes_common.settings import LanesSettings


class GatewaySettings(LanesSettings):
    """Where the gateway listens, where auth is, and what it accepts from one user."""

    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(default=8000, ge=1, le=65535)
    auth_url: str = "http://127.0.0.1:8001"
    max_body_bytes: int = Field(default=65_536, gt=0)
    # Past this many queued requests, a user's enqueues answer 429 until some run.
    max_queued_per_user: int = Field(default=1000, ge=1)
    # How long an Idempotency-Key names the request it first accepted.
    idempotency_key_ttl_seconds: int = Field(default=86_400, ge=60)
    # How long an enqueue waits for Kafka's acks=all (retrying across a leader election)
    # before it answers 503. Below the idempotency claim's 60 s lease, so a retry with
    # the same key can take the claim over once the first attempt has given up.
    enqueue_timeout_seconds: float = Field(default=30.0, ge=1, le=50)
    # How long a repeat waits for the first request with its key to be accepted, then 409.
    idempotency_wait_seconds: float = Field(default=10.0, gt=0, le=60)
    # How long "this account is not deleted" is trusted before asking the store again.
    deleted_users_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    # Server-sent events: how far back a stream can resume, and how many may be open.
    stream_resume_window_seconds: float = Field(default=300.0, gt=0)
    stream_resume_window_events: int = Field(default=20_000, ge=1)
    max_streams_per_user: int = Field(default=10, ge=1)
    max_streams: int = Field(default=2000, ge=1)
    stream_heartbeat_seconds: float = Field(default=15.0, gt=0)

    @property
    def jwks_url(self) -> str:
        """Where auth publishes its public signing keys."""
        return f"{self.auth_url.rstrip('/')}/.well-known/jwks.json"
