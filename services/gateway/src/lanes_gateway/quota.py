"""The per-user quota: how many requests one user may have waiting (``LANES_MAX_QUEUED_PER_USER``).

The quota keeps one user from filling Kafka and the status store for
everyone. It is a soft limit: the count is read before producing, and
concurrent enqueues of one user each read it before any of them is
recorded, so a burst of N parallel enqueues can pass the limit by up to N-1.
Making it exact would need a per-user counter updated atomically with the
produce, which neither Kafka nor FerretDB offers.
"""

from __future__ import annotations

from lanes_gateway.errors import QuotaExceededError
from lanes_gateway.store import RequestStore


async def ensure_below_quota(store: RequestStore, user_id: str, limit: int) -> None:
    """Raise `QuotaExceededError` when the user already has ``limit`` queued requests."""
    if await store.count_queued(user_id) >= limit:
        raise QuotaExceededError(limit)
