"""Brute-force protection: too many failed logins for an account or an address answer 429.

Failures are counted in a sliding window per account (the normalised login
name, whether or not such an account exists, so the limit reveals nothing)
and per client address. While either is over its limit, logins are refused
before any password is checked. The counts live in this process: with R auth
replicas an attacker gets at most R times the budget.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

Clock = Callable[[], float]


class FailureWindow:
    """Failure times per key within a sliding window, for a bounded number of keys."""

    def __init__(self, limit: int, window_seconds: float, max_keys: int, clock: Clock) -> None:
        self._limit = limit
        self._window = window_seconds
        self._max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may try again; 0 when it may now."""
        failures = self._recent(key)
        if failures is None or len(failures) < self._limit:
            return 0.0
        # Blocked until enough failures age out to bring the count under the limit.
        return failures[-self._limit] + self._window - self._clock()

    def record(self, key: str) -> None:
        """Count one failure for ``key``."""
        failures = self._recent(key)
        if failures is None:
            failures = self._failures[key] = deque()
            # Spraying many names must not grow memory without bound: forget the stalest.
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)
        failures.append(self._clock())
        self._failures.move_to_end(key)
        while len(failures) > self._limit:
            failures.popleft()

    def clear(self, key: str) -> None:
        """Forget the failures of ``key``."""
        self._failures.pop(key, None)

    def _recent(self, key: str) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        horizon = self._clock() - self._window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return failures


class LoginThrottle:
    """Limits failed logins per account and per client address."""

    def __init__(
        self,
        *,
        per_account: int,
        per_address: int,
        window_seconds: float,
        max_keys: int = 100_000,
        clock: Clock = time.monotonic,
    ) -> None:
        self._accounts = FailureWindow(per_account, window_seconds, max_keys, clock)
        self._addresses = FailureWindow(per_address, window_seconds, max_keys, clock)

    def retry_after(self, account: str, address: str | None) -> int:
        """Whole seconds until this login may be attempted; 0 when it may be now."""
        wait = self._accounts.retry_after(account)
        if address is not None:
            wait = max(wait, self._addresses.retry_after(address))
        return math.ceil(wait) if wait > 0 else 0

    def record_failure(self, account: str, address: str | None) -> None:
        """Count a failed login against the account and the address."""
        self._accounts.record(account)
        if address is not None:
            self._addresses.record(address)

    def record_success(self, account: str) -> None:
        """A correct password clears the account's failures (not the address's: one valid
        account must not reset an address that is guessing at others)."""
        self._accounts.clear(account)
