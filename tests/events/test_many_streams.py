"""A hundred streams on one gateway: each sees its own events, within a stated memory bound.

The bound: 100 open streams add less than `RSS_BOUND_MIB` to the gateway's
resident memory (measured: see docs/performance.md, "Event streams").
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from lanes_devstack.waiting import eventually
from tests.events.conftest import EventsStack
from tests.events.sse import bearer, frames
from tests.processor.proof_support import replica_metric

pytestmark = pytest.mark.integration

STREAMS = 100
RSS_BOUND_MIB = 25
OPEN_STREAMS = "lanes_gateway_event_streams"


def rss_mib(pid: int) -> float:
    """The process's resident set size, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


async def test_hundred_streams_fan_out_within_the_memory_bound(events_stack: EventsStack) -> None:
    gateway = events_stack.stack.gateway
    assert gateway is not None and gateway.process.pid is not None
    # The warm-up request is another user's: its event must not reach the streams.
    _, warm_up = events_stack.token()
    users = [events_stack.token() for _ in range(STREAMS)]
    limits = httpx.Limits(max_connections=STREAMS * 2, max_keepalive_connections=STREAMS * 2)
    async with httpx.AsyncClient(base_url=events_stack.url, timeout=60, limits=limits) as http:
        # Warm: the first stream and enqueue load code and fill pools once.
        await http.post("/v1/requests", json={"type": "echo"}, headers=bearer(warm_up))
        before = rss_mib(gateway.process.pid)
        streams_before = await replica_metric(gateway, OPEN_STREAMS)
        opened = asyncio.Barrier(STREAMS + 1)

        async def follow(token: str) -> str:
            async with http.stream("GET", "/v1/events", headers=bearer(token)) as response:
                assert response.status_code == 200
                await opened.wait()
                async for frame in frames(response):
                    if frame.data.get("state") == "succeeded":
                        return str(frame.data["request_id"])
            raise AssertionError("stream ended early")

        followers = [asyncio.create_task(follow(token)) for _, token in users]
        await asyncio.wait_for(opened.wait(), 60)
        during = rss_mib(gateway.process.pid)
        # Operators see the streams: the gauge counts every open one.
        assert await replica_metric(gateway, OPEN_STREAMS) == streams_before + STREAMS
        ids = []
        for _, token in users:
            answer = await http.post("/v1/requests", json={"type": "echo"}, headers=bearer(token))
            ids.append(answer.json()["id"])
        seen = await asyncio.wait_for(asyncio.gather(*followers), 120)

    async def closed() -> bool:
        return await replica_metric(gateway, OPEN_STREAMS) == streams_before

    # The clients hung up: the gateway let every stream go.
    await eventually(closed, 30, "the open-streams gauge back where it was")
    # Each stream saw its own user's request, and only that.
    assert seen == ids
    assert during - before < RSS_BOUND_MIB, f"{during - before:.1f} MiB for {STREAMS} streams"
