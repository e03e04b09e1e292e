"""Accept rate: authenticated ``POST /v1/requests`` on the gateway beside a bare FastAPI route.

Both servers run at the same time on the same machine with the same uvicorn
settings; wrk drives each in turn at the same concurrency, alternating, so
drift on the shared machine hits both alike. The gateway's figure includes
JWT verification, the deleted-account lookup, validation, the quota, the
Kafka acknowledgement (``acks=all``) and the ``queued`` insert.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from bench.cpu import cpu_ms_per_request, cpu_snapshot, median_by_kind
from bench.harness import Settings, median, register_and_login, start_python, token_subject
from bench.rss import PeakRss
from bench.wrk import WrkResult, locate_wrk, run_wrk, write_script
from lanes_devstack.infra import LocalInfra
from lanes_devstack.process import free_port
from lanes_devstack.stack import LanesStack, StackConfig

logger = logging.getLogger("bench.accept")

BODY = '{"type":"echo","payload":{"n":1,"text":"hello"}}'
WARMUP_SECONDS = 3


def summarise_wrk(runs: list[WrkResult]) -> dict[str, Any]:
    """Medians over the runs, and every run."""
    return {
        "throughput_rps": median([r.throughput_rps for r in runs]),
        "p50_ms": median([r.p50_ms for r in runs]),
        "p95_ms": median([r.p95_ms for r in runs]),
        "p99_ms": median([r.p99_ms for r in runs]),
        "non_2xx": sum(r.non_2xx for r in runs),
        "cpu_ms_per_request": median_by_kind([r.cpu_ms_per_request for r in runs]),
        "runs": [asdict(r) for r in runs],
    }


@dataclass
class GatewayUnderLoad:
    """A gateway (with its auth) on its own topic and database, and a wrk script for it."""

    stack: LanesStack
    database: str
    url: str
    script: Path
    user_ids: list[str]


async def start_gateway(
    infra: LocalInfra, settings: Settings, work_dir: Path, log_dir: Path, label: str
) -> GatewayUnderLoad:
    """Auth and gateway on a fresh topic and database; ``accept_users`` users logged in."""
    base = f"bench-{label}-{uuid.uuid4().hex[:8]}"
    topic, dlq = f"{base}.requests", f"{base}.requests.dlq"
    infra.create_topics([topic, dlq], settings.drain_partitions)
    keys_dir = work_dir / f"keys-{label}"
    keys_dir.mkdir(exist_ok=True)
    stack = LanesStack.on(
        infra,
        StackConfig(
            log_dir=log_dir / label,
            keys_dir=keys_dir,
            auth_port=free_port(),
            gateway_port=free_port(),
            processor_ports=[],
            database=base,
            requests_topic=topic,
            dead_letter_topic=dlq,
            partitions=settings.drain_partitions,
            # Nothing drains during these phases: the quota must not refuse.
            extra_env={"LANES_MAX_QUEUED_PER_USER": "100000000"},
        ),
    )
    (log_dir / label).mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(stack.start)
    assert stack.auth is not None and stack.gateway is not None
    tokens = [
        await register_and_login(stack.auth.url, f"{base}-{n}")
        for n in range(settings.accept_users)
    ]
    script = write_script(work_dir / f"{label}.lua", "/v1/requests", BODY, tokens)
    return GatewayUnderLoad(
        stack, base, f"{stack.gateway.url}/v1/requests", script, [token_subject(t) for t in tokens]
    )


async def alternate_wrk(
    targets: dict[str, tuple[str, Path]], settings: Settings, phase: str
) -> dict[str, list[WrkResult]]:
    """Warm every target up, then ``repetitions`` rounds of one wrk run each, in turn."""
    wrk = locate_wrk()
    for name, (url, script) in targets.items():
        logger.info("%s: warming up %s", phase, name)
        await asyncio.to_thread(
            run_wrk, wrk, url, script, settings.accept_connections, WARMUP_SECONDS
        )
    runs: dict[str, list[WrkResult]] = {name: [] for name in targets}
    for rep in range(settings.repetitions):
        for name, (url, script) in targets.items():
            before = cpu_snapshot()
            result = await asyncio.to_thread(
                run_wrk, wrk, url, script, settings.accept_connections, settings.accept_seconds
            )
            cpu = cpu_ms_per_request(before, cpu_snapshot(), result.requests)
            result = replace(result, cpu_ms_per_request=cpu)
            logger.info("%s rep %d %s: %s", phase, rep + 1, name, result)
            runs[name].append(result)
    return runs


async def run_accept(
    infra: LocalInfra, settings: Settings, work_dir: Path, log_dir: Path, rss: PeakRss
) -> dict[str, Any]:
    """Both servers, warmed up, then alternating wrk runs; medians and the ratio."""
    rss.phase = "accept"
    gateway = await start_gateway(infra, settings, work_dir, log_dir, "accept")
    try:
        bare_port = free_port()
        bare = await start_python(
            "bare-fastapi",
            "bench.bare_app",
            ["--port", str(bare_port)],
            log_dir,
            f"http://127.0.0.1:{bare_port}/readyz",
        )
        try:
            bare_script = write_script(work_dir / "bare.lua", "/v1/requests", BODY, [])
            runs = await alternate_wrk(
                {
                    "gateway": (gateway.url, gateway.script),
                    "bare": (f"http://127.0.0.1:{bare_port}/v1/requests", bare_script),
                },
                settings,
                "accept",
            )
            rss.sample()
        finally:
            await asyncio.to_thread(bare.stop)
    finally:
        await asyncio.to_thread(gateway.stack.stop)
    return {
        "connections": settings.accept_connections,
        "seconds_per_run": settings.accept_seconds,
        "users": settings.accept_users,
        "repetitions": settings.repetitions,
        "gateway": summarise_wrk(runs["gateway"]),
        "bare": summarise_wrk(runs["bare"]),
        "ratio": ratio_of_runs(runs["gateway"], runs["bare"]),
    }


def ratio_of_runs(runs: list[WrkResult], baseline: list[WrkResult]) -> float:
    """The median of the per-round throughput ratios (each round ran both, back to back)."""
    ratios = [r.throughput_rps / b.throughput_rps for r, b in zip(runs, baseline, strict=True)]
    return round(median(ratios), 3)
