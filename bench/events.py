"""Event latency: from a status write to the SSE event at the client, with 100 clients connected.

A stack with one processor; 100 users, each with one ``GET /v1/events``
stream open on the one gateway; each user enqueues 10 echo requests at once
(the burst), then 50 users one request each, one after the other (the
trickle: latency without a queue in front of it). For every ``status``
event received, latency is the receive time minus the event's
``occurred_at``, which the writer stamps right after the store confirmed
the write (same machine, same clock). It includes the
status topic round trip (produce with ``acks=all``, the gateway's reader,
the fan-out) and the HTTP stream. The gateway's RSS is read before the
streams open and with all of them open: the difference is the cost of 100
connections.
"""

from __future__ import annotations

import asyncio
import json
import logging
import statistics
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.harness import Settings
from bench.rss import PeakRss
from lanes_devstack.infra import LocalInfra
from lanes_devstack.process import free_port
from lanes_devstack.stack import LanesStack, StackConfig

logger = logging.getLogger("bench.events")

CLIENTS = 100
TRICKLE = 50
TERMINAL = {"succeeded", "failed", "cancelled", "dead_lettered"}


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def _signing_key(keys_dir: Path) -> Ed25519PrivateKey:
    """A key auth will sign with (and the bench mints tokens with: no argon2 per user)."""
    key = Ed25519PrivateKey.generate()
    path = keys_dir / "signing.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return key


def _token(key: Ed25519PrivateKey, kid: str, subject: str) -> str:
    now = int(time.time())
    claims = {"sub": subject, "iss": "lanes-auth", "aud": "lanes", "iat": now, "nbf": now,
              "exp": now + 3600, "jti": uuid.uuid4().hex}  # fmt: skip
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 1)


class _Tally:
    """Latencies per load phase, and a wake-up whenever a request finishes."""

    def __init__(self) -> None:
        self.phase = "burst"
        self.latencies: dict[str, list[float]] = {"burst": [], "trickle": []}
        self.finished = 0
        self.changed = asyncio.Condition()

    async def wait_finished(self, count: int) -> None:
        async with self.changed:
            await self.changed.wait_for(lambda: self.finished >= count)


async def _follow(http: httpx.AsyncClient, token: str, tally: _Tally, opened: Any) -> None:
    """Read one stream until cancelled, timing every event."""
    headers = {"Authorization": f"Bearer {token}"}
    async with http.stream("GET", "/v1/events", headers=headers) as response:
        response.raise_for_status()
        await opened.wait()
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            received = time.time()
            data = json.loads(line[6:])
            written = datetime.fromisoformat(data["occurred_at"]).timestamp()
            tally.latencies[tally.phase].append(received - written)
            if data["state"] in TERMINAL:
                async with tally.changed:
                    tally.finished += 1
                    tally.changed.notify_all()


def _figures(seconds: list[float]) -> dict[str, float]:
    millis = [1000 * max(0.0, s) for s in seconds]
    return {
        "events": len(millis),
        "p50_ms": _percentile(millis, 0.50),
        "p95_ms": _percentile(millis, 0.95),
        "p99_ms": _percentile(millis, 0.99),
        "mean_ms": round(statistics.fmean(millis), 1),
    }


async def run_events(
    infra: LocalInfra, settings: Settings, work_dir: Path, log_dir: Path, rss: PeakRss
) -> dict[str, Any]:
    """100 streams, a burst of work per user, latency percentiles and RSS per 100 streams."""
    rss.phase = "events"
    per_user = 3 if settings.quick else 10
    base = f"bench-events-{uuid.uuid4().hex[:8]}"
    topics = [f"{base}.requests", f"{base}.requests.dlq", f"{base}.status"]
    infra.create_topics(topics, settings.drain_partitions)
    keys_dir = work_dir / "events-keys"
    keys_dir.mkdir(exist_ok=True)
    key = _signing_key(keys_dir)
    stack = LanesStack.on(
        infra,
        StackConfig(
            log_dir=log_dir, keys_dir=keys_dir, auth_port=free_port(), gateway_port=free_port(),
            processor_ports=[free_port()], database=base, requests_topic=topics[0],
            dead_letter_topic=topics[1], status_topic=topics[2],
            partitions=settings.drain_partitions, group_id=f"{base}-processor",
            extra_env={"LANES_MAX_STREAMS": str(CLIENTS * 2)},
        ),
    )  # fmt: skip
    await asyncio.to_thread(stack.start)
    try:
        assert stack.auth is not None and stack.gateway is not None
        pid = stack.gateway.process.pid
        assert pid is not None
        async with httpx.AsyncClient(timeout=10) as probe:
            kid = (await probe.get(f"{stack.auth.url}/.well-known/jwks.json")).json()["keys"][0]
        tokens = [_token(key, kid["kid"], f"bench-{n}") for n in range(CLIENTS)]
        limits = httpx.Limits(max_connections=CLIENTS * 2, max_keepalive_connections=CLIENTS)
        async with httpx.AsyncClient(
            base_url=stack.gateway.url, timeout=120, limits=limits
        ) as http:
            await http.get("/v1/queue", headers={"Authorization": f"Bearer {tokens[0]}"})
            before = _rss_mib(pid)
            tally = _Tally()
            opened = asyncio.Barrier(CLIENTS + 1)
            followers = [asyncio.create_task(_follow(http, t, tally, opened)) for t in tokens]
            await asyncio.wait_for(opened.wait(), 60)
            with_streams = _rss_mib(pid)
            started = time.perf_counter()

            async def enqueue(token: str, count: int) -> None:
                for n in range(count):
                    answer = await http.post(
                        "/v1/requests", json={"type": "echo", "payload": {"n": n}},
                        headers={"Authorization": f"Bearer {token}"},
                    )  # fmt: skip
                    answer.raise_for_status()

            # Burst: every user at once; then trickle: one request at a time, each awaited.
            await asyncio.gather(*(enqueue(t, per_user) for t in tokens))
            await asyncio.wait_for(tally.wait_finished(CLIENTS * per_user), 600)
            elapsed = time.perf_counter() - started
            tally.phase = "trickle"
            for n, token in enumerate(tokens[:TRICKLE]):
                await enqueue(token, 1)
                await asyncio.wait_for(tally.wait_finished(CLIENTS * per_user + n + 1), 60)
            peak = _rss_mib(pid)
            for follower in followers:
                follower.cancel()
            await asyncio.gather(*followers, return_exceptions=True)
    finally:
        await asyncio.to_thread(stack.stop)
    burst = _figures(tally.latencies["burst"])
    result = {
        "clients": CLIENTS,
        "requests": CLIENTS * per_user,
        "seconds": round(elapsed, 1),
        **burst,
        "trickle": _figures(tally.latencies["trickle"]),
        "gateway_rss_mib_before": round(before, 1),
        "gateway_rss_mib_with_streams": round(with_streams, 1),
        "gateway_rss_mib_per_100_streams": round((with_streams - before) * 100 / CLIENTS, 1),
        "gateway_rss_mib_after_load": round(peak, 1),
    }
    logger.info("events: %s", result)
    return result
