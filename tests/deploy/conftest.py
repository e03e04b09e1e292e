"""Fixtures for the deploy proofs: rendered overlays and the parsed compose file, built once."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from .kustomize import Manifest, build, ensure_kustomize
from .paths import COMPOSE_FILE, K8S_BASE, K8S_OVERLAYS


@pytest.fixture(scope="session")
def kustomize_command() -> list[str]:
    """The kustomize build command, provisioned into the cache on first use."""
    return ensure_kustomize()


@pytest.fixture(scope="session")
def overlays(kustomize_command: list[str]) -> dict[str, list[Manifest]]:
    """The objects of every overlay (dev, prod), as ``kubectl apply -k`` would send them."""
    return {name: build(kustomize_command, path) for name, path in K8S_OVERLAYS.items()}


@pytest.fixture(scope="session")
def base_objects(kustomize_command: list[str]) -> list[Manifest]:
    """The objects of the base alone."""
    return build(kustomize_command, K8S_BASE)


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    """docker-compose.yml as data (YAML anchors and merge keys resolved)."""
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded
