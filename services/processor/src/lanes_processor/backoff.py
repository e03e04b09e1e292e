"""Exponential backoff with full jitter, for handler retries and store outages."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays that double from ``base`` up to ``cap``, each drawn uniformly below that bound.

    Full jitter keeps many retrying users from hitting a recovering dependency in step.
    """

    base: float
    cap: float

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The wait before retry number ``attempt`` (1 = the first retry)."""
        bound = min(self.cap, self.base * 2 ** max(0, attempt - 1))
        return (rng or _rng).uniform(0, bound)


_rng = random.Random()  # noqa: S311  (jitter, not a secret)
