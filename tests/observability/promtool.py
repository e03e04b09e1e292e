"""promtool for the rule checks: built from the Go module proxy into the cache, once.

``go install github.com/prometheus/prometheus/cmd/promtool@version`` is
refused because Prometheus's go.mod carries a ``replace`` directive, so the
tool is built from the pinned module next to this file (go.mod and go.sum,
like infra/ferretdb): the same Prometheus release docker-compose.yml runs.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from lanes_devstack.errors import DevstackError
from lanes_devstack.paths import cache_dir
from lanes_devstack.provision import require_tool

PROMTOOL_MODULE = Path(__file__).parent / "promtool"
PROMTOOL_PACKAGE = "github.com/prometheus/prometheus/cmd/promtool"
PROMTOOL_VERSION = "v3.5.0"  # module version v0.305.0
GO_BUILD_TIMEOUT_SECONDS = 1800


def promtool_binary() -> Path:
    """Where the provisioned promtool lives (the version is in the name)."""
    return cache_dir() / "bin" / f"promtool-{PROMTOOL_VERSION}"


def ensure_promtool() -> Path:
    """The promtool binary, built on first use; fails saying what to install."""
    binary = promtool_binary()
    stamp = binary.with_suffix(".source")
    source = (PROMTOOL_MODULE / "go.sum").read_text()
    if binary.exists() and stamp.exists() and stamp.read_text() == source:
        return binary
    go = require_tool(
        "go", "Install Go 1.23+ (https://go.dev/doc/install, or apt-get install golang)."
    )
    binary.parent.mkdir(parents=True, exist_ok=True)
    # Build into a private folder and rename: two sessions provisioning at
    # once never see a half-written binary.
    with tempfile.TemporaryDirectory(dir=binary.parent) as build_dir:
        built = Path(build_dir) / "promtool"
        result = subprocess.run(
            [go, "build", "-trimpath", "-o", str(built), PROMTOOL_PACKAGE],
            cwd=PROMTOOL_MODULE,
            env={**os.environ, "CGO_ENABLED": "0"},
            capture_output=True,
            text=True,
            timeout=GO_BUILD_TIMEOUT_SECONDS,
            check=False,
        )
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
            raise DevstackError(
                f"Building promtool {PROMTOOL_VERSION} from the Go module proxy failed "
                f"(is proxy.golang.org reachable?):\n{tail}"
            )
        os.replace(built, binary)
    stamp.write_text(source)
    return binary
