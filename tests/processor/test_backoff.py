"""Backoff grows exponentially, stays under its cap, and is jittered."""

import random

from lanes_processor.backoff import Backoff


def test_delays_stay_within_the_doubling_bound_and_cap() -> None:
    backoff = Backoff(base=0.1, cap=1.0)
    rng = random.Random(1)
    for attempt, bound in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (30, 1.0)]:
        delays = [backoff.delay(attempt, rng) for _ in range(200)]
        assert all(0 <= d <= bound for d in delays)
        assert max(delays) > bound * 0.8  # jitter spreads over the whole range
        assert len(set(delays)) > 100
