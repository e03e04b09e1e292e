"""Fetch and build the real servers: Kafka from Maven Central, FerretDB from Go modules.

Both land in the cache folder once; later calls only check that they are there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from lanes_devstack.errors import DevstackError
from lanes_devstack.paths import REPO_ROOT, cache_dir

KAFKA_POM = REPO_ROOT / "infra" / "kafka" / "pom.xml"
FERRETDB_SOURCE = REPO_ROOT / "infra" / "ferretdb"


def require_tool(name: str, fix: str) -> str:
    """The path of an executable, or a `DevstackError` saying how to install it."""
    path = shutil.which(name)
    if path is None:
        raise DevstackError(f"'{name}' was not found on PATH. {fix}")
    return path


def _run(cmd: list[str], what: str, cwd: Path, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise DevstackError(f"{what} failed (exit {result.returncode}): {' '.join(cmd)}\n{tail}")


def kafka_lib_dir() -> Path:
    """The folder holding the Kafka broker jars and their dependencies."""
    return cache_dir() / "kafka" / "lib"


def ensure_kafka() -> Path:
    """Download the Kafka broker jars with Maven unless they are cached; return the folder."""
    lib = kafka_lib_dir()
    stamp = lib / ".complete"
    if stamp.exists() and stamp.read_text() == KAFKA_POM.read_text():
        return lib
    require_tool(
        "java", "Install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)."
    )
    mvn = require_tool("mvn", "Install Maven (Debian: apt-get install maven).")
    if lib.exists():
        shutil.rmtree(lib)
    lib.mkdir(parents=True)
    _run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(KAFKA_POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={lib}",
            "-DincludeScope=runtime",
        ],
        "Downloading the Kafka broker from Maven Central (is Maven Central reachable?)",
        cwd=KAFKA_POM.parent,
    )
    stamp.write_text(KAFKA_POM.read_text())
    return lib


def ferretdb_binary() -> Path:
    """Where the built FerretDB binary lives."""
    return cache_dir() / "bin" / "lanes-ferretdb"


def ensure_ferretdb() -> Path:
    """Build the embedded-FerretDB binary unless it is cached; return its path."""
    binary = ferretdb_binary()
    stamp = binary.with_suffix(".source")
    source = (FERRETDB_SOURCE / "go.sum").read_text() + (FERRETDB_SOURCE / "main.go").read_text()
    if binary.exists() and stamp.exists() and stamp.read_text() == source:
        return binary
    go = require_tool(
        "go", "Install Go 1.22+ (https://go.dev/doc/install, or apt-get install golang)."
    )
    binary.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CGO_ENABLED="0")
    _run(
        [go, "build", "-trimpath", "-o", str(binary), "."],
        "Building FerretDB from the Go module proxy (is proxy.golang.org reachable?)",
        cwd=FERRETDB_SOURCE,
        env=env,
    )
    stamp.write_text(source)
    return binary
