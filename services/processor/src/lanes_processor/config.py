"""The processor's settings: `LANES_*` variables on top of the shared ones."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from lanes_common.settings import LanesSettings


class ProcessorSettings(LanesSettings):
    """How one processor replica consumes, runs, retries and records requests."""

    processor_host: str = "0.0.0.0"  # noqa: S104  (probes must answer from the pod network)
    processor_port: int = Field(default=8002, ge=1, le=65535)
    processor_group_id: str = "lanes-processor"
    processor_group_protocol: Literal["consumer", "classic"] = "consumer"
    processor_ordering: Literal["key", "partition"] = "key"
    processor_max_in_flight: int = Field(default=256, ge=1)
    processor_max_buffered: int = Field(default=5_000, ge=1)
    """Records one replica holds in memory, over all its partitions."""
    processor_max_buffered_per_partition: int = Field(default=1_000, ge=1)
    processor_max_buffered_per_user: int = Field(default=100, ge=2)
    processor_max_attempts: int = Field(default=5, ge=1)
    processor_retry_base_seconds: float = Field(default=0.2, gt=0)
    processor_retry_max_seconds: float = Field(default=10.0, gt=0)
    processor_handler_timeout_seconds: float = Field(default=30.0, gt=0)
    processor_commit_interval_seconds: float = Field(default=1.0, gt=0)
    processor_drain_timeout_seconds: float = Field(default=20.0, gt=0)
    processor_store_batch_size: int = Field(default=500, ge=1)
