"""Saved logins, one per profile, in a file only its owner can read (0600).

The file is ``$LANES_CONFIG_DIR/credentials.json`` (default
``~/.config/lanes``): ``{"profiles": {"default": {"url", "access_token",
"refresh_token", "access_expires_at"}}}``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from lanes_client.types import Tokens

DEFAULT_URL = "http://127.0.0.1:8000"


def config_dir() -> Path:
    """Where the credentials file lives."""
    configured = os.environ.get("LANES_CONFIG_DIR")
    return Path(configured) if configured else Path.home() / ".config" / "lanes"


@dataclass
class Profile:
    """Where one profile's API is and the tokens it logged in with."""

    url: str = DEFAULT_URL
    access_token: str | None = None
    refresh_token: str | None = None
    access_expires_at: float | None = None

    def take(self, tokens: Tokens) -> None:
        """Remember new tokens (after a login or a refresh)."""
        self.access_token = tokens.access_token
        self.access_expires_at = time.time() + tokens.expires_in
        if tokens.refresh_token is not None:
            self.refresh_token = tokens.refresh_token


class ProfileStore:
    """Reads and writes the credentials file."""

    def __init__(self, directory: Path | None = None) -> None:
        self.path = (directory or config_dir()) / "credentials.json"

    def _read_all(self) -> dict[str, dict[str, object]]:
        if not self.path.exists():
            return {}
        profiles = json.loads(self.path.read_text()).get("profiles", {})
        return profiles if isinstance(profiles, dict) else {}

    def load(self, name: str) -> Profile:
        """The profile ``name`` (a fresh one when never saved)."""
        saved = self._read_all().get(name)
        if not isinstance(saved, dict):
            return Profile()
        fields = {k: v for k, v in saved.items() if k in Profile.__dataclass_fields__}
        return Profile(**fields)  # type: ignore[arg-type]

    def save(self, name: str, profile: Profile) -> None:
        """Write the profile; the file is created 0600 and its folder 0700."""
        profiles = self._read_all()
        profiles[name] = asdict(profile)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.path.with_suffix(".tmp")
        # Created with 0600 from the start: the tokens are never readable by others.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump({"profiles": profiles}, file, indent=2)
        os.chmod(temporary, 0o600)
        temporary.replace(self.path)
