"""The auth service's settings: `LANES_*` variables on top of the shared ones."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, field_validator

from lanes_common.settings import LanesSettings


class AuthSettings(LanesSettings):
    """Where auth listens, where its signing keys live, and how long its tokens last."""

    auth_host: str = "0.0.0.0"  # noqa: S104  (the gateway and probes reach it over the pod network)
    auth_port: int = Field(default=8001, ge=1, le=65535)
    # Required, no default: a key folder baked into the code would be a shared secret.
    auth_keys_dir: Path
    auth_generate_keys: bool = False
    access_token_ttl_seconds: int = Field(default=900, ge=1, le=86_400)
    refresh_token_ttl_seconds: int = Field(default=14 * 86_400, ge=60)
    # Brute-force limits: failed logins per account and per client address in a window.
    auth_login_max_failures_per_account: int = Field(default=5, ge=1)
    auth_login_max_failures_per_address: int = Field(default=30, ge=1)
    auth_login_failure_window_seconds: int = Field(default=300, ge=1)
    # Proxies (the gateway) whose X-Forwarded-For names the real client address.
    auth_trusted_proxies: str = "127.0.0.1"

    @field_validator("auth_keys_dir", mode="before")
    @classmethod
    def _keys_dir_is_named(cls, value: object) -> object:
        # An empty value would become Path("."): keys written into whatever the cwd is.
        if isinstance(value, str) and not value.strip():
            raise ValueError("must name a folder, not be empty")
        return value


def describe_settings_error(error: ValidationError) -> str:
    """One line per bad setting, each named by its environment variable."""
    lines = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "?"
        variable = f"LANES_{field.upper()}"
        if item["type"] == "missing":
            lines.append(f"{variable} is required but not set{_HINTS.get(field, '')}")
        else:
            lines.append(f"{variable} is invalid: {item['msg']}")
    return "; ".join(lines)


_HINTS = {
    "auth_keys_dir": (
        ": point it at the folder holding the Ed25519 signing key(s) as PEM files "
        "(set LANES_AUTH_GENERATE_KEYS=true to create a development key there)"
    ),
}
