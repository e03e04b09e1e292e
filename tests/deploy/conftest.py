"""Fixtures for the deploy proofs: rendered overlays and the parsed compose file, built once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from lanes_devstack.gotools import ensure_kustomize

from .kustomize import Manifest, build
from .paths import COMPOSE_FILE, K8S_BASE, K8S_OVERLAYS


@pytest.fixture(scope="session")
def kustomize() -> Path:
    """The kustomize binary ``make provision`` built (built here if it has not)."""
    return ensure_kustomize()


@pytest.fixture(scope="session")
def overlays(kustomize: Path) -> dict[str, list[Manifest]]:
    """The objects of every overlay (dev, prod), as ``kubectl apply -k`` would send them."""
    return {name: build(kustomize, path) for name, path in K8S_OVERLAYS.items()}


@pytest.fixture(scope="session")
def base_objects(kustomize: Path) -> list[Manifest]:
    """The objects of the base alone."""
    return build(kustomize, K8S_BASE)


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    """docker-compose.yml as data (YAML anchors and merge keys resolved)."""
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded
