"""A kafka-topics.sh stand-in, so that create-topics.sh runs here as in the kafka image.

Kafka's command-line tools jar is provisioned with the broker jars, at the
same version (`lanes_devstack.provision.ensure_kafka_tools`); this small
script runs the real TopicCommand from both, as /opt/kafka/bin/kafka-topics.sh does.
"""

from __future__ import annotations

from pathlib import Path

from lanes_devstack.provision import ensure_kafka, ensure_kafka_tools, require_java


def write_kafka_topics_command(folder: Path) -> Path:
    """A kafka-topics.sh that runs Kafka's TopicCommand from the cached jars."""
    java = require_java()
    classpath = f"{ensure_kafka()}/*:{ensure_kafka_tools()}/*"
    script = folder / "kafka-topics.sh"
    script.write_text(
        "#!/bin/sh\n"
        f'exec "{java}" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "{classpath}" '
        'org.apache.kafka.tools.TopicCommand "$@"\n'
    )
    script.chmod(0o755)
    return script
