"""Auth settings: the names deploy manifests use, and a clear message when one is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from lanes_auth.config import AuthSettings, describe_settings_error


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "LANES_AUTH_KEYS_DIR",
        "LANES_AUTH_GENERATE_KEYS",
        "LANES_AUTH_PORT",
        "LANES_AUTH_HOST",
        "LANES_ACCESS_TOKEN_TTL_SECONDS",
    ):
        monkeypatch.delenv(name, raising=False)


def test_settings_come_from_lanes_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANES_AUTH_KEYS_DIR", "/srv/keys")
    monkeypatch.setenv("LANES_AUTH_GENERATE_KEYS", "true")
    monkeypatch.setenv("LANES_AUTH_PORT", "9001")
    monkeypatch.setenv("LANES_ACCESS_TOKEN_TTL_SECONDS", "60")
    settings = AuthSettings()  # type: ignore[call-arg]
    assert settings.auth_keys_dir == Path("/srv/keys")
    assert settings.auth_generate_keys is True
    assert settings.auth_port == 9001
    assert settings.access_token_ttl_seconds == 60


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANES_AUTH_KEYS_DIR", "/srv/keys")
    settings = AuthSettings()  # type: ignore[call-arg]
    assert settings.auth_port == 8001
    assert settings.auth_generate_keys is False
    assert settings.access_token_ttl_seconds == 900


def test_the_keys_folder_is_required_and_the_message_names_its_variable() -> None:
    with pytest.raises(ValidationError) as caught:
        AuthSettings()  # type: ignore[call-arg]
    message = describe_settings_error(caught.value)
    assert message.startswith("LANES_AUTH_KEYS_DIR is required but not set")
    assert "LANES_AUTH_GENERATE_KEYS" in message


def test_an_invalid_value_is_named_by_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANES_AUTH_KEYS_DIR", "/srv/keys")
    monkeypatch.setenv("LANES_AUTH_PORT", "not-a-port")
    with pytest.raises(ValidationError) as caught:
        AuthSettings()  # type: ignore[call-arg]
    assert describe_settings_error(caught.value).startswith("LANES_AUTH_PORT is invalid")


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_keys_folder_is_refused_rather_than_meaning_the_cwd(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("LANES_AUTH_KEYS_DIR", value)
    with pytest.raises(ValidationError) as caught:
        AuthSettings()  # type: ignore[call-arg]
    assert describe_settings_error(caught.value).startswith("LANES_AUTH_KEYS_DIR is invalid")
