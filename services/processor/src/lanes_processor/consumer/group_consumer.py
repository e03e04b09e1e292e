"""The group's Kafka consumer: its configuration, and the one thread every call on it runs on.

librdkafka calls block, so none of them runs on the event loop: every call
on the group's consumer goes through one `KafkaThread` (a consumer is used
from one thread only). Rebalance callbacks fire inside
``consume`` on that thread; they hand their work to the event loop and wait
for it, which is safe because the loop never blocks on that thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from lanes_common.errors import LanesError
from lanes_common.types import KafkaConfig

T = TypeVar("T")

WATERMARK_TIMEOUT_SECONDS = 2.0
"""How long one committed-offset or watermark query may take."""
PREFETCH_KBYTES = 4096
"""librdkafka's fetch queue per consumer (its default, 64 MiB, would dwarf the held records)."""


def consumer_config(
    bootstrap_servers: str, group_id: str, group_protocol: str, client_id: str
) -> KafkaConfig:
    """Manual commits only, and an incremental rebalance protocol.

    ``group.protocol=consumer`` is KIP-848 (the broker assigns partitions
    incrementally); ``classic`` falls back to cooperative-sticky.
    """
    config: KafkaConfig = {
        "bootstrap.servers": bootstrap_servers,
        "group.id": group_id,
        "client.id": client_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "group.protocol": group_protocol,
        "queued.max.messages.kbytes": PREFETCH_KBYTES,
    }
    if group_protocol == "classic":
        config["partition.assignment.strategy"] = "cooperative-sticky"
        config["session.timeout.ms"] = 10_000
        config["heartbeat.interval.ms"] = 1_000
    return config


class RebalanceStuckError(LanesError):
    """Rebalance work handed to the event loop did not finish in time."""


class KafkaThread:
    """One thread for every call on a consumer, and the way back to the event loop."""

    def __init__(self, name: str = "kafka-consumer") -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=name)
        self._loop: asyncio.AbstractEventLoop | None = None

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` on the thread and await its result; the event loop goes on meanwhile."""
        self._loop = asyncio.get_running_loop()
        return await self._loop.run_in_executor(self._executor, partial(fn, *args, **kwargs))

    def on_loop(self, coro_fn: Callable[[], Coroutine[Any, Any, T]], timeout: float) -> T:
        """From the thread: run a coroutine on the event loop and wait for it.

        Raises `RebalanceStuckError` when it overruns ``timeout``.
        """
        assert self._loop is not None, "called back before any call went to the thread"
        future = asyncio.run_coroutine_threadsafe(coro_fn(), self._loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError as exc:
            future.cancel()
            raise RebalanceStuckError(f"rebalance work overran {timeout:.0f}s") from exc

    def shutdown(self) -> None:
        """Wait for the call in progress, then end the thread."""
        self._executor.shutdown(wait=True)
