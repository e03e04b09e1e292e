"""Fetch the real servers from Maven Central: the Kafka broker and mongo-java-server.

Both land in the cache folder once; later calls only check that they are there.
The machine supplies only the toolchains (Java with javac, Maven), found on PATH;
everything built with them is the project's own, listed in `lanes_devstack.tools`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from lanes_devstack.errors import DevstackError
from lanes_devstack.paths import REPO_ROOT, cache_dir

KAFKA_POM = REPO_ROOT / "infra" / "kafka" / "pom.xml"
MONGO_SERVER_SOURCE = REPO_ROOT / "infra" / "mongo-server"
MONGO_SERVER_POM = MONGO_SERVER_SOURCE / "pom.xml"
MAVEN_TIMEOUT_SECONDS = 900


def require_tool(name: str, fix: str) -> str:
    """The path of a toolchain the machine provides (java, javac, mvn, go), or how to install it.

    Only for what the project does not install itself: anything it fetches
    or builds is resolved through `lanes_devstack.tools`, never on PATH.
    """
    path = shutil.which(name)
    if path is None:
        raise DevstackError(f"'{name}' was not found on PATH. {fix}")
    return path


def require_java() -> str:
    """The Java runtime that runs Kafka (and its tools)."""
    return require_tool(
        "java", "Install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)."
    )


def run_build_step(
    cmd: list[str], what: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 1800
) -> None:
    """Run one fetch or build command; on failure, raise with what failed and its last lines."""
    try:
        result = subprocess.run(
            cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise DevstackError(
            f"{what} did not finish within {timeout:.0f} s: {' '.join(cmd)}. On a busy machine "
            "run it again: what was downloaded and compiled so far is cached."
        ) from None
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise DevstackError(f"{what} failed (exit {result.returncode}): {' '.join(cmd)}\n{tail}")


def kafka_lib_dir() -> Path:
    """The folder holding the Kafka broker jars and their dependencies."""
    return cache_dir() / "kafka" / "lib"


def kafka_is_provisioned() -> bool:
    """True when the broker jars of the pinned Kafka version are in the cache."""
    stamp = kafka_lib_dir() / ".complete"
    return stamp.exists() and stamp.read_text() == KAFKA_POM.read_text()


def ensure_kafka() -> Path:
    """Download the Kafka broker jars with Maven unless they are cached; return the folder."""
    lib = kafka_lib_dir()
    if kafka_is_provisioned():
        return lib
    require_java()
    mvn = require_tool("mvn", "Install Maven (Debian: apt-get install maven).")
    if lib.exists():
        shutil.rmtree(lib)
    lib.mkdir(parents=True)
    run_build_step(
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
        timeout=MAVEN_TIMEOUT_SECONDS,
    )
    (lib / ".complete").write_text(KAFKA_POM.read_text())
    return lib


def kafka_version() -> str:
    """The Kafka version the devstack runs (and the deploy images must match)."""
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", KAFKA_POM.read_text())
    if match is None:
        raise DevstackError(f"no <kafka.version> in {KAFKA_POM}")
    return match[1]


def kafka_tools_dir() -> Path:
    """The folder holding kafka-tools-<version>.jar (TopicCommand and friends)."""
    return cache_dir() / "kafka-tools" / kafka_version()


def kafka_tools_are_provisioned() -> bool:
    """True when Kafka's command-line tools jar of the pinned version is in the cache."""
    return (kafka_tools_dir() / f"kafka-tools-{kafka_version()}.jar").exists()


def ensure_kafka_tools() -> Path:
    """Download Kafka's command-line tools jar unless it is cached; return its folder.

    The broker jars lack it; the deploy proofs run ``kafka-topics.sh`` with it.
    """
    folder = kafka_tools_dir()
    if kafka_tools_are_provisioned():
        return folder
    mvn = require_tool("mvn", "Install Maven (Debian: apt-get install maven).")
    run_build_step(
        [
            mvn,
            "-q",
            "-B",
            "dependency:copy",
            f"-Dartifact=org.apache.kafka:kafka-tools:{kafka_version()}",
            f"-DoutputDirectory={folder}",
        ],
        "Downloading kafka-tools from Maven Central (is Maven Central reachable?)",
        cwd=REPO_ROOT,
        timeout=MAVEN_TIMEOUT_SECONDS,
    )
    if not kafka_tools_are_provisioned():
        raise DevstackError(f"Maven reported success but no kafka-tools jar is in {folder}")
    return folder


def mongo_server_dir() -> Path:
    """The folder holding mongo-java-server's jars (lib/) and the compiled launcher (classes/)."""
    return cache_dir() / "mongo-server"


def mongo_server_classpath() -> str:
    """The JVM classpath of the launcher and mongo-java-server with its H2 backend."""
    folder = mongo_server_dir()
    return f"{folder / 'classes'}{os.pathsep}{folder / 'lib'}/*"


def _mongo_server_sources() -> list[Path]:
    return sorted((MONGO_SERVER_SOURCE / "src").rglob("*.java"))


def _mongo_server_fingerprint() -> str:
    parts = [MONGO_SERVER_POM.read_text()] + [p.read_text() for p in _mongo_server_sources()]
    return "\n".join(parts)


def mongo_server_is_provisioned() -> bool:
    """True when the pinned jars and a launcher compiled from the current source are cached."""
    stamp = mongo_server_dir() / ".complete"
    return stamp.exists() and stamp.read_text() == _mongo_server_fingerprint()


def ensure_mongo_server() -> Path:
    """Fetch mongo-java-server and compile its launcher unless cached; return the folder."""
    folder = mongo_server_dir()
    if mongo_server_is_provisioned():
        return folder
    require_java()
    javac = require_tool(
        "javac", "Install a Java 17+ JDK (Debian: apt-get install openjdk-17-jdk-headless)."
    )
    mvn = require_tool("mvn", "Install Maven (Debian: apt-get install maven).")
    lib, classes = folder / "lib", folder / "classes"
    if folder.exists():
        shutil.rmtree(folder)
    lib.mkdir(parents=True)
    run_build_step(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(MONGO_SERVER_POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={lib}",
            "-DincludeScope=runtime",
        ],
        "Downloading mongo-java-server from Maven Central (is Maven Central reachable?)",
        cwd=MONGO_SERVER_SOURCE,
        timeout=MAVEN_TIMEOUT_SECONDS,
    )
    run_build_step(
        [javac, "--release", "17", "-d", str(classes), "-cp", f"{lib}/*"]
        + [str(p) for p in _mongo_server_sources()],
        "Compiling the MongoDB-wire server's launcher",
        cwd=MONGO_SERVER_SOURCE,
    )
    (folder / ".complete").write_text(_mongo_server_fingerprint())
    return folder
