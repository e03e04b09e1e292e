"""The gateway's settings come from the fixed ``LANES_*`` names."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from lanes_gateway.config import GatewaySettings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("LANES_")]:
        monkeypatch.delenv(name)

    settings = GatewaySettings()

    assert settings.gateway_port == 8000
    assert settings.auth_url == "http://127.0.0.1:8001"
    assert settings.max_body_bytes == 65_536
    assert settings.jwks_url == "http://127.0.0.1:8001/.well-known/jwks.json"
    assert settings.max_queued_per_user == 1000
    assert settings.idempotency_key_ttl_seconds == 86_400
    assert settings.idempotency_wait_seconds == 10.0


def test_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANES_GATEWAY_HOST", "::1")
    monkeypatch.setenv("LANES_GATEWAY_PORT", "9100")
    monkeypatch.setenv("LANES_AUTH_URL", "http://auth:8001/")
    monkeypatch.setenv("LANES_MAX_BODY_BYTES", "1024")
    monkeypatch.setenv("LANES_REQUESTS_TOPIC", "custom.topic")
    monkeypatch.setenv("LANES_MAX_QUEUED_PER_USER", "5")
    monkeypatch.setenv("LANES_IDEMPOTENCY_KEY_TTL_SECONDS", "3600")
    monkeypatch.setenv("LANES_IDEMPOTENCY_WAIT_SECONDS", "2.5")

    settings = GatewaySettings()

    assert (settings.gateway_host, settings.gateway_port) == ("::1", 9100)
    assert settings.jwks_url == "http://auth:8001/.well-known/jwks.json"
    assert settings.max_body_bytes == 1024
    assert settings.requests_topic == "custom.topic"
    assert settings.max_queued_per_user == 5
    assert settings.idempotency_key_ttl_seconds == 3600
    assert settings.idempotency_wait_seconds == 2.5


def test_a_bad_limit_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANES_MAX_BODY_BYTES", "0")

    with pytest.raises(ValidationError, match="max_body_bytes"):
        GatewaySettings()


@pytest.mark.parametrize(
    ("name", "value"),
    [("LANES_MAX_QUEUED_PER_USER", "0"), ("LANES_IDEMPOTENCY_WAIT_SECONDS", "0")],
)
def test_limits_that_would_refuse_everything_fail_loudly(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError, match=name.removeprefix("LANES_").lower()):
        GatewaySettings()
