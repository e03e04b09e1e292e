"""Kafka's own command-line tools, so that create-topics.sh runs here as in the kafka image.

The devstack's broker jars lack the tools jar; it comes from Maven Central at
the same version (infra/kafka/pom.xml) and is cached next to them. A small
stand-in for /opt/kafka/bin/kafka-topics.sh then runs the real TopicCommand.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from lanes_devstack.errors import DevstackError
from lanes_devstack.paths import cache_dir
from lanes_devstack.provision import KAFKA_POM, ensure_kafka, require_tool


def kafka_version() -> str:
    """The Kafka version the devstack runs (and the deploy images must match)."""
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", KAFKA_POM.read_text())
    if match is None:
        raise DevstackError(f"no <kafka.version> in {KAFKA_POM}")
    return match[1]


def ensure_kafka_tools() -> Path:
    """The folder holding kafka-tools-<version>.jar, downloaded once."""
    version = kafka_version()
    folder = cache_dir() / "kafka-tools" / version
    jar = folder / f"kafka-tools-{version}.jar"
    if jar.exists():
        return folder
    mvn = require_tool("mvn", "Install Maven (Debian: apt-get install maven).")
    result = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "dependency:copy",
            f"-Dartifact=org.apache.kafka:kafka-tools:{version}",
            f"-DoutputDirectory={folder}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0 or not jar.exists():
        raise DevstackError(
            f"Downloading kafka-tools {version} from Maven Central failed "
            f"(is Maven Central reachable?):\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return folder


def write_kafka_topics_command(folder: Path) -> Path:
    """A kafka-topics.sh that runs Kafka's TopicCommand from the cached jars."""
    java = shutil.which("java")
    if java is None:
        raise DevstackError("'java' was not found on PATH. Install a Java 17+ runtime.")
    classpath = f"{ensure_kafka()}/*:{ensure_kafka_tools()}/*"
    script = folder / "kafka-topics.sh"
    script.write_text(
        "#!/bin/sh\n"
        f'exec "{java}" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "{classpath}" '
        'org.apache.kafka.tools.TopicCommand "$@"\n'
    )
    script.chmod(0o755)
    return script
