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
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.harness import Settings, median, register_and_login, start_python
from bench.rss import PeakRss
from bench.wrk import WrkResult, locate_wrk, run_wrk, write_script
from lanes_devstack.infra import LocalInfra
from lanes_devstack.process import free_port
from lanes_devstack.stack import LanesStack, StackConfig

logger = logging.getLogger("bench.accept")

BODY = '{"type":"echo","payload":{"n":1,"text":"hello"}}'
WARMUP_SECONDS = 3


def _summary(runs: list[WrkResult]) -> dict[str, Any]:
    return {
        "throughput_rps": median([r.throughput_rps for r in runs]),
        "p50_ms": median([r.p50_ms for r in runs]),
        "p95_ms": median([r.p95_ms for r in runs]),
        "p99_ms": median([r.p99_ms for r in runs]),
        "non_2xx": sum(r.non_2xx for r in runs),
        "runs": [asdict(r) for r in runs],
    }


async def run_accept(
    infra: LocalInfra, settings: Settings, work_dir: Path, log_dir: Path, rss: PeakRss
) -> dict[str, Any]:
    """Both servers, warmed up, then alternating wrk runs; medians and the ratio."""
    wrk = locate_wrk()
    rss.phase = "accept"
    base = f"bench-accept-{uuid.uuid4().hex[:8]}"
    topic, dlq = f"{base}.requests", f"{base}.requests.dlq"
    infra.create_topics([topic, dlq], settings.drain_partitions)
    keys_dir = work_dir / "keys"
    keys_dir.mkdir(exist_ok=True)
    stack = LanesStack.on(
        infra,
        StackConfig(
            log_dir=log_dir,
            keys_dir=keys_dir,
            auth_port=free_port(),
            gateway_port=free_port(),
            processor_ports=[],
            database=base,
            requests_topic=topic,
            dead_letter_topic=dlq,
            partitions=settings.drain_partitions,
            # Nothing drains during this phase: the quota must not refuse.
            extra_env={"LANES_MAX_QUEUED_PER_USER": "100000000"},
        ),
    )
    await asyncio.to_thread(stack.start)
    bare_port = free_port()
    bare = await start_python(
        "bare-fastapi",
        "bench.bare_app",
        ["--port", str(bare_port)],
        log_dir,
        f"http://127.0.0.1:{bare_port}/readyz",
    )
    try:
        assert stack.auth is not None and stack.gateway is not None
        tokens = [
            await register_and_login(stack.auth.url, f"bench-{base}-{n}")
            for n in range(settings.accept_users)
        ]
        gateway_script = write_script(work_dir / "gateway.lua", "/v1/requests", BODY, tokens)
        bare_script = write_script(work_dir / "bare.lua", "/v1/requests", BODY, [])
        targets = {
            "gateway": (f"{stack.gateway.url}/v1/requests", gateway_script),
            "bare": (f"http://127.0.0.1:{bare_port}/v1/requests", bare_script),
        }
        runs: dict[str, list[WrkResult]] = {"gateway": [], "bare": []}
        for name, (url, script) in targets.items():
            logger.info("accept: warming up %s", name)
            await asyncio.to_thread(
                run_wrk, wrk, url, script, settings.accept_connections, WARMUP_SECONDS
            )
        for rep in range(settings.repetitions):
            for name, (url, script) in targets.items():
                result = await asyncio.to_thread(
                    run_wrk, wrk, url, script, settings.accept_connections, settings.accept_seconds
                )
                logger.info("accept rep %d %s: %s", rep + 1, name, result)
                runs[name].append(result)
        rss.sample()
    finally:
        await asyncio.to_thread(bare.stop)
        await asyncio.to_thread(stack.stop)
    ratios = [
        g.throughput_rps / b.throughput_rps
        for g, b in zip(runs["gateway"], runs["bare"], strict=True)
    ]
    return {
        "connections": settings.accept_connections,
        "seconds_per_run": settings.accept_seconds,
        "users": settings.accept_users,
        "repetitions": settings.repetitions,
        "gateway": _summary(runs["gateway"]),
        "bare": _summary(runs["bare"]),
        "ratio": round(median(ratios), 3),
    }
