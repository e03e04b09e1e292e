"""docker-compose.yml as the containers see it: environment with ``${...}`` filled in."""

from __future__ import annotations

import re
from typing import Any

_INTERPOLATION = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")


def interpolate(value: Any) -> str:
    """``${VAR:-default}`` becomes its default; a required ``${VAR:?...}`` a stand-in value."""
    return _INTERPOLATION.sub(
        lambda m: m[3] if m[2] == "-" else f"stand-in-for-{m[1].lower()}", str(value)
    )


def compose_env(compose: dict[str, Any], service: str) -> dict[str, str]:
    """A compose service's environment, interpolated."""
    environment = compose["services"][service].get("environment", {})
    assert isinstance(environment, dict), f"{service}: use the mapping form of environment"
    return {k: interpolate(v) for k, v in environment.items()}
