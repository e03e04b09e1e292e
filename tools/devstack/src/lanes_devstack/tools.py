"""Every tool the project fetches or builds itself, resolved in one place.

The tests, the devstack and ``make provision`` ask here (or the ``ensure_*``
functions listed here) for a tool's path; none looks on PATH for one of
these. A copy someone installed by hand would let a machine pass where a
fresh clone fails, so CI shadows these names on PATH with decoys
(``.ci/run``). The machine supplies only toolchains: Python 3.11+, a Java
JDK, Maven and Go. (The benchmarks' wrk is Debian's package, resolved through
dpkg by `lanes_devstack.debian`.)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lanes_devstack.errors import DevstackError
from lanes_devstack.gotools import (
    KUSTOMIZE_VERSION,
    PROMTOOL_VERSION,
    ensure_kustomize,
    ensure_promtool,
    kustomize_is_provisioned,
    promtool_is_provisioned,
)
from lanes_devstack.paths import lanes_home, tools_dir
from lanes_devstack.provision import (
    ensure_kafka,
    ensure_kafka_tools,
    ensure_mongo_server,
    kafka_is_provisioned,
    kafka_tools_are_provisioned,
    mongo_server_is_provisioned,
)

# Commands of the tools below (and of their usual hand-installed stand-ins,
# like kubectl's built-in kustomize) that no code may look up on PATH.
# `.ci/run` puts a failing decoy of each first on PATH; a test keeps the two lists equal.
COMMANDS_NEVER_FROM_PATH = (
    "uv",
    "uvx",
    "kustomize",
    "kubectl",
    "promtool",
    "kafka-topics.sh",
    "kafka-server-start.sh",
    "wrk",
)


@dataclass(frozen=True)
class ProvisionedTool:
    """One thing ``make provision`` fetches or builds into the cache.

    Tools of one ``lane`` are provisioned one after another; lanes run at
    once, so downloads overlap compiles (Maven's local repository takes one
    writer at a time, so every Maven fetch shares a lane).
    """

    name: str
    verb: Literal["fetched", "built"]
    source: str
    is_provisioned: Callable[[], bool]
    ensure: Callable[[], Path]
    lane: str


@dataclass(frozen=True)
class ProvisionRecord:
    """What provisioning did for one tool, and how long it took."""

    name: str
    action: str  # "fetched", "built", "installed", "synced" or "cached"
    source: str
    seconds: float


PROVISIONED_TOOLS: tuple[ProvisionedTool, ...] = (
    ProvisionedTool(
        "Kafka broker jars",
        "fetched",
        "Maven Central",
        kafka_is_provisioned,
        ensure_kafka,
        lane="maven",
    ),
    ProvisionedTool(
        "Kafka command-line tools",
        "fetched",
        "Maven Central",
        kafka_tools_are_provisioned,
        ensure_kafka_tools,
        lane="maven",
    ),
    # Fetched with Maven, then its launcher compiled with javac: Maven's lane.
    ProvisionedTool(
        "MongoDB-wire server",
        "fetched",
        "Maven Central",
        mongo_server_is_provisioned,
        ensure_mongo_server,
        lane="maven",
    ),
    # The longest step (a few hundred modules): a lane of its own.
    ProvisionedTool(
        f"promtool {PROMTOOL_VERSION}",
        "built",
        "the Go module proxy",
        promtool_is_provisioned,
        ensure_promtool,
        lane="promtool",
    ),
    ProvisionedTool(
        f"kustomize {KUSTOMIZE_VERSION}",
        "built",
        "the Go module proxy",
        kustomize_is_provisioned,
        ensure_kustomize,
        lane="go",
    ),
)


def uv_binary() -> Path:
    """The project's own uv, which the Makefile installs before any Python code runs."""
    binary = tools_dir() / "bin" / "uv"
    if not binary.exists():
        raise DevstackError(f"uv is not installed at {binary}; any make target installs it.")
    return binary


def make_times_file() -> Path:
    """Where the Makefile notes the uv install and ``uv sync`` it ran, for the summary."""
    return lanes_home() / "provision-times.tsv"


def _say(message: str) -> None:
    # One write per line (print's separate newline interleaves across lanes), flushed:
    # under make, stdout is a pipe, and a newcomer should see a slow step start.
    sys.stdout.write(f"{message}\n")
    sys.stdout.flush()


def _provision_lane(
    tools: Sequence[ProvisionedTool], announce: Callable[[str], None], clock: Callable[[], float]
) -> list[ProvisionRecord]:
    records = []
    for tool in tools:
        started = clock()
        if tool.is_provisioned():
            records.append(ProvisionRecord(tool.name, "cached", tool.source, clock() - started))
            continue
        doing = {"fetched": "fetching", "built": "building"}[tool.verb]
        announce(f"{tool.name}: {doing} from {tool.source}...")
        tool.ensure()
        records.append(ProvisionRecord(tool.name, tool.verb, tool.source, clock() - started))
        announce(f"{tool.name}: {tool.verb} in {records[-1].seconds:.0f} s")
    return records


def provision_all(
    tools: Sequence[ProvisionedTool] = PROVISIONED_TOOLS,
    announce: Callable[[str], None] = _say,
    clock: Callable[[], float] = time.monotonic,
) -> list[ProvisionRecord]:
    """Fetch or build every tool not yet cached, lanes at once, timing each tool.

    A failure is raised once every lane has stopped, so what could be built is cached.
    """
    lanes: dict[str, list[ProvisionedTool]] = {}
    for tool in tools:
        lanes.setdefault(tool.lane, []).append(tool)
    with ThreadPoolExecutor(max_workers=len(lanes) or 1) as pool:
        futures = [pool.submit(_provision_lane, lane, announce, clock) for lane in lanes.values()]
        done = {record.name: record for future in futures for record in future.result()}
    return [done[tool.name] for tool in tools]


def take_make_records(path: Path) -> list[ProvisionRecord]:
    """The Makefile's notes (``name<TAB>action<TAB>source<TAB>seconds``), removed once read.

    Each note is shown once, in the summary of the run that did the work.
    """
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) == 4:
            name, action, source, seconds = fields
            records.append(ProvisionRecord(name, action, source, float(seconds)))
    path.unlink()
    return records


def format_summary(records: Sequence[ProvisionRecord], home: Path, elapsed: float) -> str:
    """The table ``make provision`` ends with: what was fetched or built, and how long it took.

    ``elapsed`` is the wall-clock total, less than the sum when lanes overlapped.
    """
    lines = [f"Provisioned into {home} (git-ignored; later runs reuse it):"]
    for record in records:
        how = "cached" if record.action == "cached" else f"{record.action} from {record.source}"
        lines.append(f"  {record.name:<26} {how:<40} {record.seconds:7.1f} s")
    lines.append(f"  {'total (lanes run at once)':<26} {'':<40} {elapsed:7.1f} s")
    return "\n".join(lines)
