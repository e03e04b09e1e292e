"""Where the devstack keeps downloads, binaries, keys and server data."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[4]


def lanes_home() -> Path:
    """The git-ignored folder for everything provisioned (``LANES_HOME`` overrides)."""
    return Path(os.environ.get("LANES_HOME", REPO_ROOT / ".lanes"))


def cache_dir() -> Path:
    """Provisioned servers and tools: Kafka, mongo-java-server, promtool, kustomize."""
    return lanes_home() / "cache"


def tools_dir() -> Path:
    """Where the Makefile installs the project's own uv (``pip install --target``)."""
    return lanes_home() / "tools"


def keys_dir() -> Path:
    """Dev JWT signing keys, generated at first run."""
    return lanes_home() / "keys"


def run_dir() -> Path:
    """Data and logs of the servers that ``make run`` starts."""
    return lanes_home() / "run"
