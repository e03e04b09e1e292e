"""Profiles of the two hot paths under load: the gateway's accept and the processor's drain.

    uv run python -m bench.profile [--seconds 20] [--only accept,drain]

Starts its own Kafka and MongoDB-wire server, loads the gateway with wrk (as
the accept benchmark does) and the processor with an ``echo`` burst (as the
drain benchmark does), and records each with py-spy (``--idle`` off: CPU samples
only, plus a second ``--idle`` profile for where time is waited). Writes
speedscope JSON and a top-functions text table under
``bench/results/<UTC timestamp>/profiles/``. py-spy needs ptrace on the
child (root, or ``kernel.yama.ptrace_scope=0``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import signal
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.accept import BODY
from bench.drain import ProcessorDrain, _echo_payload, burst_messages, produce, wait_all_assigned
from bench.harness import Settings, local_infra, register_and_login
from bench.wrk import locate_wrk, run_wrk, write_script
from lanes_common.kafka import AsyncProducer, producer_config
from lanes_common.logs import configure_logging
from lanes_devstack.infra import LocalInfra
from lanes_devstack.process import free_port
from lanes_devstack.stack import LanesStack, StackConfig

logger = logging.getLogger("bench.profile")
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise RuntimeError("py-spy not found: uv sync (it is in the dev group)")
    return found


def record(pid: int, seconds: float, out: Path, idle: bool) -> subprocess.Popen[bytes]:
    """Start py-spy recording ``pid`` for ``seconds`` into ``out`` (raw collapsed stacks)."""
    command = [
        _py_spy(),
        "record",
        "-p",
        str(pid),
        "-d",
        str(int(seconds)),
        "-r",
        "200",
        "-f",
        "raw",
        "-o",
        str(out),
        "--nonblocking",
    ]
    if idle:
        command.append("--idle")
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # noqa: S603


def top_functions(collapsed: Path, limit: int = 25) -> str:
    """Self and inclusive sample shares of the busiest frames in a collapsed-stack file."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        total += count
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
        own[frames[-1]] = own.get(frames[-1], 0) + count
    lines = [f"{total} samples", "", "inclusive%  self%  frame"]
    for frame, count in sorted(inclusive.items(), key=lambda kv: -kv[1])[:limit]:
        lines.append(f"{100 * count / total:9.1f}  {100 * own.get(frame, 0) / total:5.1f}  {frame}")
    lines += ["", "self%  frame"]
    for frame, count in sorted(own.items(), key=lambda kv: -kv[1])[:limit]:
        lines.append(f"{100 * count / total:5.1f}  {frame}")
    return "\n".join(lines) + "\n"


async def profile_accept(infra: LocalInfra, work: Path, out: Path, seconds: float) -> None:
    """wrk on the gateway while py-spy records it."""
    topic = "bench-profile.requests"
    infra.create_topics([topic, f"{topic}.dlq"], 4)
    (work / "keys").mkdir(exist_ok=True)
    stack = LanesStack.on(
        infra,
        StackConfig(
            log_dir=out / "logs",
            keys_dir=work / "keys",
            auth_port=free_port(),
            gateway_port=free_port(),
            processor_ports=[],
            database="bench-profile",
            requests_topic=topic,
            dead_letter_topic=f"{topic}.dlq",
            extra_env={"LANES_MAX_QUEUED_PER_USER": "100000000"},
        ),
    )
    await asyncio.to_thread(stack.start)
    try:
        assert stack.auth is not None and stack.gateway is not None
        tokens = [await register_and_login(stack.auth.url, f"profile-{n}") for n in range(8)]
        script = write_script(work / "gateway.lua", "/v1/requests", BODY, tokens)
        url = f"{stack.gateway.url}/v1/requests"
        wrk = locate_wrk()
        await asyncio.to_thread(run_wrk, wrk, url, script, 16, 3)
        pid = stack.gateway.process.pid
        assert pid is not None
        for idle in (False, True):
            name = "gateway-idle" if idle else "gateway-cpu"
            spy = record(pid, seconds, out / f"{name}.txt", idle)
            result = await asyncio.to_thread(run_wrk, wrk, url, script, 16, seconds + 1)
            await asyncio.to_thread(spy.wait)
            logger.info("%s under load: %s", name, result)
            (out / f"{name}.top.txt").write_text(
                f"{result}\n\n" + top_functions(out / f"{name}.txt")
            )
    finally:
        await asyncio.to_thread(stack.stop)


async def profile_drain(infra: LocalInfra, out: Path, seconds: float, requests: int) -> None:
    """An echo burst through one processor replica while py-spy records it."""
    drain = ProcessorDrain(infra, 4, out / "logs")
    await asyncio.to_thread(drain.start, 1)
    producer = AsyncProducer(producer_config(infra.kafka_bootstrap_servers, "lanes-bench"))
    try:
        urls = [r.url for r in drain.replicas]
        await wait_all_assigned(urls, 4)
        done = 0
        pid = drain.replicas[0].process.pid
        assert pid is not None
        for idle in (False, True):
            name = "processor-idle" if idle else "processor-cpu"
            spy = record(pid, seconds, out / f"{name}.txt", idle)
            await produce(
                producer, drain.topic, burst_messages(requests, 200, "echo", _echo_payload)
            )
            done += requests
            await drain.wait_done(done, 600)
            await asyncio.to_thread(spy.wait)
            (out / f"{name}.top.txt").write_text(top_functions(out / f"{name}.txt"))
    finally:
        await producer.close()
        await asyncio.to_thread(drain.stop)


async def main_async(seconds: float, only: list[str], requests: int) -> Path:
    """Start the servers, profile, stop."""
    out = RESULTS_DIR / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") / "profiles"
    (out / "logs").mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="lanes-profile-") as scratch:
        work = Path(scratch)
        infra = local_infra(work / "infra")
        await asyncio.to_thread(infra.start)
        try:
            if "accept" in only:
                await profile_accept(infra, work, out, seconds)
            if "drain" in only:
                await profile_drain(infra, out, seconds, requests)
        finally:
            await asyncio.to_thread(infra.stop)
    sys.stdout.write(f"Profiles: {out}\n")
    return out


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    """Entry point of ``python -m bench.profile``."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--requests", type=int, default=Settings.create(False).drain_requests)
    parser.add_argument("--only", default="accept,drain")
    args = parser.parse_args()
    configure_logging("bench", "INFO", "text")
    signal.signal(signal.SIGTERM, _interrupt)  # unwind like Ctrl-C: every server is stopped
    asyncio.run(main_async(args.seconds, args.only.split(","), args.requests))


if __name__ == "__main__":
    main()
