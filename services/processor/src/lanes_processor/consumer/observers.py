"""What the consumer reports as it works: hooks that telemetry fills in.

The runner and the engine call these at the moments an operator cares about
(a request consumed, an attempt running, a commit, a rebalance) and hold no
telemetry of their own, as FastStream's middleware keeps it out of handlers
and loops. These base classes observe nothing; `lanes_processor.metrics`
records the same hooks as Prometheus metrics.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import datetime

from lanes_common.messages import RequestMessage
from lanes_common.states import RequestState
from lanes_common.types import PartitionId


class RunObserver:
    """Hooks of `RequestRunner`: one request on its way through its attempts."""

    def consumed(self, message: RequestMessage) -> None:
        """A record was decoded into a request message."""

    def attempting(self) -> AbstractContextManager[object]:
        """Around one attempt, while it holds an in-flight slot."""
        return nullcontext()

    def handling(self, message: RequestMessage) -> AbstractContextManager[object]:
        """Around one handler call, whatever it ends with."""
        return nullcontext()

    def skipped(self, message: RequestMessage) -> None:
        """The request was already finished or cancelled; its handler did not run."""

    def retrying(self, message: RequestMessage) -> None:
        """An attempt failed and the request will be tried again in place."""

    def finished(self, message: RequestMessage, state: RequestState, at: datetime) -> None:
        """The request's terminal ``state`` is recorded, as of ``at``."""


class ConsumerObserver:
    """Hooks of the consume loop: held and spilled records, commits, rebalances and lag."""

    def holding(self, records: int, paused_partitions: int) -> None:
        """After each poll: records held in memory, and partitions paused by backpressure."""

    def committing(self) -> AbstractContextManager[object]:
        """Around one synchronous offset commit; a `KafkaException` out of it is a failure."""
        return nullcontext()

    def rebalanced(self, kind: str) -> None:
        """Partitions were assigned, revoked or lost (``kind``)."""

    def owning(self, partitions: int) -> None:
        """The replica owns this many partitions now."""

    def lagging(self, partition: PartitionId, records: int) -> None:
        """An owned partition's commit point is ``records`` behind its end."""

    def released(self, partition: PartitionId) -> None:
        """The partition is no longer ours: its new owner reports its lag."""

    def spilled(self, users: int) -> None:
        """``users`` more users have records left in Kafka (fewer when negative)."""

    def replay_skipped(self) -> None:
        """A record read again was found terminal in the store and not run."""

    def backfill_read(self, records: int) -> None:
        """Records read again from Kafka for spilled users."""
