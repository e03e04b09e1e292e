"""Rendering the kustomizations with the provisioned kustomize (`lanes_devstack.gotools`)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]


def build(kustomize: Path, kustomization: Path) -> list[Manifest]:
    """Render a kustomization to its objects; fail with kustomize's own message."""
    result = subprocess.run(
        [str(kustomize), "build", str(kustomization)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"kustomize build {kustomization} failed:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]
