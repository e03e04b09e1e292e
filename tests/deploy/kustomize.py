"""kustomize for the manifest tests: built once from the Go module proxy, kept in the cache.

Like the devstack's servers, the tool is provisioned by the project itself, so
a fresh machine with Go needs nothing installed by hand. Without Go, kubectl's
built-in kustomize (``kubectl kustomize``) is used when kubectl is on PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from lanes_devstack.errors import DevstackError
from lanes_devstack.paths import cache_dir

KUSTOMIZE_MODULE = "sigs.k8s.io/kustomize/kustomize/v5"
KUSTOMIZE_VERSION = "v5.8.1"
GO_INSTALL_TIMEOUT_SECONDS = 600

Manifest = dict[str, Any]


def kustomize_binary() -> Path:
    """Where the provisioned kustomize lives (the version is in the name)."""
    return cache_dir() / "bin" / f"kustomize-{KUSTOMIZE_VERSION}"


def ensure_kustomize() -> list[str]:
    """The command that builds a kustomization: ``[kustomize, "build"]``, provisioned if needed.

    Falls back to ``kubectl kustomize`` when Go is missing or the build fails
    and kubectl is on PATH; otherwise fails saying what to install.
    """
    binary = kustomize_binary()
    if binary.exists():
        return [str(binary), "build"]
    kubectl = shutil.which("kubectl")
    go = shutil.which("go")
    try:
        if go is None:
            raise DevstackError(
                "Neither 'go' (to build kustomize) nor 'kubectl' (whose kustomize would do) is "
                "on PATH. Install Go 1.22+ (https://go.dev/doc/install, or apt-get install golang)."
            )
        _go_install(go, binary)
    except DevstackError:
        if kubectl is not None:
            return [kubectl, "kustomize"]
        raise
    return [str(binary), "build"]


def _go_install(go: str, binary: Path) -> None:
    binary.parent.mkdir(parents=True, exist_ok=True)
    # Build into a private folder and rename: two sessions provisioning at
    # once never see a half-written binary.
    with tempfile.TemporaryDirectory(dir=binary.parent) as gobin:
        result = subprocess.run(
            [go, "install", f"{KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION}"],
            env={**os.environ, "GOBIN": gobin, "CGO_ENABLED": "0"},
            capture_output=True,
            text=True,
            timeout=GO_INSTALL_TIMEOUT_SECONDS,
            check=False,
        )
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
            raise DevstackError(
                f"Building kustomize {KUSTOMIZE_VERSION} from the Go module proxy failed "
                f"(is proxy.golang.org reachable?):\n{tail}"
            )
        os.replace(Path(gobin) / "kustomize", binary)


def build(command: list[str], kustomization: Path) -> list[Manifest]:
    """Render a kustomization to its objects; fail with kustomize's own message."""
    result = subprocess.run(
        [*command, str(kustomization)], capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"kustomize build {kustomization} failed:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]
