"""The gateway's settings, read from ``LANES_*`` environment variables."""

from __future__ import annotations

from pydantic import Field

from lanes_common.settings import LanesSettings


class GatewaySettings(LanesSettings):
    """Where the gateway listens, where auth is, and how large a request body may be."""

    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(default=8000, ge=1, le=65535)
    auth_url: str = "http://127.0.0.1:8001"
    max_body_bytes: int = Field(default=65_536, gt=0)

    @property
    def jwks_url(self) -> str:
        """Where auth publishes its public signing keys."""
        return f"{self.auth_url.rstrip('/')}/.well-known/jwks.json"
