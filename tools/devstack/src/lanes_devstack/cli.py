"""``lanes-dev``: provision the servers, or run all of Lanes until Ctrl-C.

Also ``image`` (build the Lanes container image on this machine) and
``healthchecks`` (run the containers' healthchecks, which Podman 4.3 does not).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time

from lanes_devstack.containers.cli import healthchecks, image, provision_container_images
from lanes_devstack.errors import DevstackError
from lanes_devstack.infra import LocalInfra
from lanes_devstack.paths import keys_dir, lanes_home, run_dir
from lanes_devstack.provision import ensure_kafka, ensure_mongo_server
from lanes_devstack.stack import LanesStack, StackConfig
from lanes_devstack.tools import format_summary, make_times_file, provision_all, take_make_records


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    try:
        return int(raw)
    except ValueError:
        raise DevstackError(f"{name} must be a whole number, not {raw!r}") from None


def provision() -> None:
    """Fetch or build every provisioned tool not yet cached; end with what each one took."""
    by_make = take_make_records(make_times_file())
    started = time.monotonic()
    by_devstack = provision_all()
    # After the servers and tools: the images are built from their jars.
    images = provision_container_images()
    elapsed = sum(record.seconds for record in by_make) + time.monotonic() - started
    print(format_summary([*by_make, *by_devstack, *images], lanes_home(), elapsed))


def _curl_example(gateway: str) -> str:
    return f"""
Try it (copy and paste):

  curl -s -X POST {gateway}/v1/auth/register -H 'content-type: application/json' \\
       -d '{{"username": "ada", "password": "correct-horse-battery"}}'
  TOKEN=$(curl -s -X POST {gateway}/v1/auth/login -H 'content-type: application/json' \\
       -d '{{"username": "ada", "password": "correct-horse-battery"}}' | \\
       python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  ID=$(curl -s -X POST {gateway}/v1/requests -H "authorization: Bearer $TOKEN" \\
       -H 'content-type: application/json' \\
       -d '{{"type": "echo", "payload": {{"hello": "lanes"}}}}' | \\
       python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -s {gateway}/v1/requests/$ID -H "authorization: Bearer $TOKEN"
"""


def run() -> None:
    """Start Kafka, the MongoDB-wire server, auth, gateway and processors; stop all on Ctrl-C."""
    processors = _env_int("PROCESSORS", 1)
    if processors < 1:
        raise DevstackError("PROCESSORS must be at least 1")
    base = run_dir()
    infra = LocalInfra(
        data_dir=base,
        kafka_port=_env_int("LANES_DEV_KAFKA_PORT", 9092),
        kafka_controller_port=_env_int("LANES_DEV_KAFKA_CONTROLLER_PORT", 9093),
        mongo_port=_env_int("LANES_DEV_MONGO_PORT", 27017),
        kafka_brokers=_env_int("LANES_DEV_BROKERS", 1),
    )
    config = StackConfig(
        log_dir=base / "logs",
        keys_dir=keys_dir(),
        auth_port=_env_int("LANES_DEV_AUTH_PORT", 8001),
        gateway_port=_env_int("LANES_DEV_GATEWAY_PORT", 8000),
        processor_ports=[_env_int("LANES_DEV_PROCESSOR_PORT", 8002) + i for i in range(processors)],
        partitions=_env_int("LANES_DEV_PARTITIONS", 12),
    )
    print("Provisioning Kafka and the MongoDB-wire server (cached after the first run)...")
    print("Kafka broker jars:  ", ensure_kafka())
    print("MongoDB-wire server:", ensure_mongo_server())
    print("Starting Kafka and the MongoDB-wire server...")
    infra.start()
    stack = LanesStack.on(infra, config)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        infra.create_topics(
            [config.requests_topic, config.dead_letter_topic, config.status_topic],
            config.partitions,
        )
        print(f"Starting auth, gateway and {processors} processor(s)...")
        stack.start()
        gateway = f"http://127.0.0.1:{config.gateway_port}"
        print(f"""
Lanes is running.
  API (gateway):  {gateway}        OpenAPI: {gateway}/docs
  auth:           http://127.0.0.1:{config.auth_port}
  processors:     {", ".join(f"http://127.0.0.1:{p}/metrics" for p in config.processor_ports)}
  Kafka:          {infra.kafka_bootstrap_servers}   MongoDB wire: {infra.mongo_uri}
  topics:         replication factor {infra.durability.replication_factor}, \
min.insync.replicas {infra.durability.min_insync_replicas}
  logs:           {config.log_dir}
{_curl_example(gateway)}
Press Ctrl-C to stop everything.""")
        stopping.wait()
    finally:
        print("\nStopping...")
        stack.stop()
        infra.stop()
        print("Stopped.")


def main() -> None:
    """Command-line entry point of ``lanes-dev``."""
    parser = argparse.ArgumentParser(prog="lanes-dev", description=__doc__)
    commands = {"provision": provision, "run": run, "image": image, "healthchecks": healthchecks}
    parser.add_argument("command", choices=list(commands))
    args = parser.parse_args()
    try:
        commands[args.command]()
    except DevstackError as exc:
        print(f"lanes-dev: {exc}", file=sys.stderr)
        sys.exit(1)
