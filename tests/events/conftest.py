"""One real Lanes (auth, gateway, a processor) on the real servers for the event-stream proofs.

The signing key is written into auth's key folder first, so tests can mint
tokens for many users (or short-lived ones) without registering each.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lanes_devstack.infra_modes import IntegrationInfra
from lanes_devstack.process import free_port
from lanes_devstack.stack import LanesStack, StackConfig
from tests.gateway.conftest import write_signing_key

PARTITIONS = 3
STREAM_ENV = {
    "LANES_LOG_FORMAT": "json",
    "LANES_PROCESSOR_MAX_ATTEMPTS": "3",
    "LANES_PROCESSOR_RETRY_BASE_SECONDS": "0.05",
    "LANES_PROCESSOR_RETRY_MAX_SECONDS": "0.2",
    "LANES_STREAM_HEARTBEAT_SECONDS": "1",
    "LANES_MAX_STREAMS_PER_USER": "3",
    "LANES_MAX_STREAMS": "150",
}


@dataclass
class EventsStack:
    """The running stack and a key to mint tokens with."""

    stack: LanesStack
    signing_key: Ed25519PrivateKey
    kid: str

    @property
    def url(self) -> str:
        """The gateway's base URL."""
        assert self.stack.gateway is not None
        return self.stack.gateway.url

    def stop_processing(self) -> None:
        """Stop every processor (they drain and commit): what is enqueued now stays queued."""
        for processor in list(self.stack.processors):
            processor.stop()
            self.stack.processors.remove(processor)

    def start_processing(self) -> None:
        """Start a processor again."""
        self.stack.start_processor(free_port())

    def token(self, subject: str | None = None, lifetime: int = 600) -> tuple[str, str]:
        """A (user id, access token) pair signed with auth's key; the user need not exist."""
        subject = subject or f"user-{uuid.uuid4().hex[:12]}"
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": subject,
            "iss": "lanes-auth",
            "aud": "lanes",
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
        }
        encoded = jwt.encode(claims, self.signing_key, algorithm="EdDSA", headers={"kid": self.kid})
        return subject, encoded


@pytest.fixture(scope="package")
def events_stack(
    infra: IntegrationInfra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EventsStack]:
    """Auth, gateway and one processor with short retries and small stream bounds."""
    name = f"t{uuid.uuid4().hex[:12]}"
    keys_dir = tmp_path_factory.mktemp("keys")
    signing_key = write_signing_key(keys_dir)
    config = StackConfig(
        log_dir=tmp_path_factory.mktemp("logs"),
        keys_dir=keys_dir,
        auth_port=free_port(),
        gateway_port=free_port(),
        processor_ports=[free_port()],
        database=name,
        requests_topic=f"{name}.requests",
        dead_letter_topic=f"{name}.requests.dlq",
        status_topic=f"{name}.status",
        partitions=PARTITIONS,
        group_id=f"{name}-processor",
        extra_env=STREAM_ENV,
    )
    infra.create_topics(
        [config.requests_topic, config.dead_letter_topic, config.status_topic], PARTITIONS
    )
    stack = LanesStack(config, infra.kafka_bootstrap_servers, infra.mongo_uri)
    stack.start()
    try:
        assert stack.auth is not None
        jwks = httpx.get(f"{stack.auth.url}/.well-known/jwks.json", timeout=5.0).json()
        yield EventsStack(stack, signing_key, jwks["keys"][0]["kid"])
    finally:
        stack.stop()
