"""The settings every Lanes service shares, read from ``LANES_*`` variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRETS_DIR = Path("/run/secrets/lanes")


class LanesSettings(BaseSettings):
    """Connection and naming settings common to auth, gateway and processor.

    Each service subclasses this with its own fields; values come from
    environment variables with the ``LANES_`` prefix, or from files in
    ``/run/secrets/lanes`` (how Kubernetes mounts secrets) when that exists.
    """

    model_config = SettingsConfigDict(
        env_prefix="LANES_",
        extra="ignore",
        secrets_dir=SECRETS_DIR if SECRETS_DIR.is_dir() else None,
    )

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    requests_topic: str = "lanes.requests"
    dead_letter_topic: str = "lanes.requests.dlq"
    # Every recorded state change, keyed by user id (docs/architecture.md, "Topics").
    status_topic: str = "lanes.status"
    mongo_uri: str = "mongodb://127.0.0.1:27017"
    mongo_database: str = "lanes"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"
    jwt_issuer: str = "lanes-auth"
    jwt_audience: str = "lanes"
    startup_timeout_seconds: float = Field(default=30.0, gt=0)
    # Finished requests are deleted this long after they finished (gateway and processor agree).
    retention_days: float = Field(default=7.0, gt=0)
