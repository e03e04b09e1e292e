"""Failed-login limits per account and per address, on a clock the tests move."""

from __future__ import annotations

from lanes_auth.throttle import LoginThrottle


class FakeClock:
    """A monotonic clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _throttle(clock: FakeClock, per_account: int = 3, per_address: int = 5) -> LoginThrottle:
    return LoginThrottle(
        per_account=per_account, per_address=per_address, window_seconds=60, clock=clock
    )


def test_an_account_is_blocked_after_its_limit_until_the_oldest_failure_ages_out() -> None:
    clock = FakeClock()
    throttle = _throttle(clock)
    for second in range(3):
        assert throttle.retry_after("alice", f"10.0.0.{second}") == 0
        throttle.record_failure("alice", f"10.0.0.{second}")
        clock.now += 1
    # Three failures at t=1000, 1001, 1002; the first ages out at 1060.
    assert throttle.retry_after("alice", "10.0.0.9") == 57
    clock.now = 1059.5
    assert throttle.retry_after("alice", None) == 1
    clock.now = 1060.0
    assert throttle.retry_after("alice", None) == 0
    assert throttle.retry_after("bob", "10.0.0.9") == 0


def test_an_address_is_blocked_after_its_limit_whatever_account_it_tries() -> None:
    clock = FakeClock()
    throttle = _throttle(clock)
    for n in range(5):
        throttle.record_failure(f"user-{n}", "203.0.113.7")
    assert throttle.retry_after("someone-else", "203.0.113.7") == 60
    assert throttle.retry_after("someone-else", "203.0.113.8") == 0


def test_success_clears_the_account_but_not_the_address() -> None:
    clock = FakeClock()
    throttle = _throttle(clock, per_account=2, per_address=2)
    throttle.record_failure("alice", "203.0.113.7")
    throttle.record_failure("alice", "203.0.113.7")
    throttle.record_success("alice")
    assert throttle.retry_after("alice", None) == 0
    assert throttle.retry_after("alice", "203.0.113.7") == 60


def test_the_number_of_tracked_keys_is_bounded() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(
        per_account=1, per_address=1000, window_seconds=60, max_keys=10, clock=clock
    )
    for n in range(100):
        throttle.record_failure(f"sprayed-{n}", None)
    assert throttle.retry_after("sprayed-99", None) == 60
    # The stalest entries were forgotten to keep memory bounded.
    assert throttle.retry_after("sprayed-0", None) == 0
