"""promtool and kustomize, built from the Go module proxy into the cache by ``make provision``.

The proofs of the alert rules and the Kubernetes manifests need them; neither
is taken from PATH, so a machine where someone installed one by hand proves
nothing a fresh machine would not. Each binary carries its version in its
name and is built in a private folder, then renamed: two sessions
provisioning at once never see a half-written binary.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from lanes_devstack.paths import REPO_ROOT, cache_dir
from lanes_devstack.provision import require_tool, run_build_step

# ``go install ...promtool@version`` is refused (Prometheus's go.mod carries a
# replace directive), so promtool is built from a pinned module:
# the same Prometheus release docker-compose.yml runs.
PROMTOOL_MODULE = REPO_ROOT / "infra" / "promtool"
PROMTOOL_PACKAGE = "github.com/prometheus/prometheus/cmd/promtool"
PROMTOOL_VERSION = "v3.5.0"  # module version v0.305.0
KUSTOMIZE_MODULE = "sigs.k8s.io/kustomize/kustomize/v5"
KUSTOMIZE_VERSION = "v5.8.1"
# A cold build of promtool fetches and compiles a few hundred modules: 400 CPU
# seconds, but 24 minutes measured on 2 cores under a load of 20 to 25 and more
# than 30 under 40 to 50 (others' suites). Only a hung build should hit this.
GO_BUILD_TIMEOUT_SECONDS = 3600


def _go() -> str:
    return require_tool(
        "go", "Install Go 1.23+ (https://go.dev/doc/install, or apt-get install golang)."
    )


def promtool_binary() -> Path:
    """Where the provisioned promtool lives (the version is in the name)."""
    return cache_dir() / "bin" / f"promtool-{PROMTOOL_VERSION}"


def _promtool_source() -> str:
    return (PROMTOOL_MODULE / "go.sum").read_text()


def promtool_is_provisioned() -> bool:
    """True when promtool built from the pinned module is in the cache."""
    binary = promtool_binary()
    stamp = binary.with_suffix(".source")
    return binary.exists() and stamp.exists() and stamp.read_text() == _promtool_source()


def ensure_promtool() -> Path:
    """The promtool binary, built unless cached; fails saying what to install."""
    binary = promtool_binary()
    if promtool_is_provisioned():
        return binary
    go = _go()
    binary.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=binary.parent) as build_dir:
        built = Path(build_dir) / "promtool"
        run_build_step(
            [go, "build", "-trimpath", "-o", str(built), PROMTOOL_PACKAGE],
            f"Building promtool {PROMTOOL_VERSION} from the Go module proxy "
            "(is proxy.golang.org reachable?)",
            cwd=PROMTOOL_MODULE,
            env={**os.environ, "CGO_ENABLED": "0"},
            timeout=GO_BUILD_TIMEOUT_SECONDS,
        )
        os.replace(built, binary)
    binary.with_suffix(".source").write_text(_promtool_source())
    return binary


def kustomize_binary() -> Path:
    """Where the provisioned kustomize lives (the version is in the name)."""
    return cache_dir() / "bin" / f"kustomize-{KUSTOMIZE_VERSION}"


def kustomize_is_provisioned() -> bool:
    """True when kustomize of the pinned version is in the cache."""
    return kustomize_binary().exists()


def ensure_kustomize() -> Path:
    """The kustomize binary, built with ``go install`` unless cached."""
    binary = kustomize_binary()
    if kustomize_is_provisioned():
        return binary
    go = _go()
    binary.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=binary.parent) as gobin:
        run_build_step(
            [go, "install", f"{KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION}"],
            f"Building kustomize {KUSTOMIZE_VERSION} from the Go module proxy "
            "(is proxy.golang.org reachable?)",
            cwd=binary.parent,
            env={**os.environ, "GOBIN": gobin, "CGO_ENABLED": "0"},
            timeout=GO_BUILD_TIMEOUT_SECONDS,
        )
        os.replace(Path(gobin) / "kustomize", binary)
    return binary
