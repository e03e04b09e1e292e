"""Auth's outcomes are read off its answers; lockouts are counted as they start."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from lanes_auth.metrics import CountingLoginThrottle, record_outcome
from lanes_common.telemetry.http import HttpAnswer


def value(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


@pytest.mark.parametrize(
    ("route", "status", "metric", "outcome"),
    [
        ("/v1/auth/login", 200, "lanes_auth_logins_total", "success"),
        ("/v1/auth/login", 401, "lanes_auth_logins_total", "invalid_credentials"),
        ("/v1/auth/login", 429, "lanes_auth_logins_total", "throttled"),
        ("/v1/auth/login", 422, "lanes_auth_logins_total", "invalid_request"),
        ("/v1/auth/login", 503, "lanes_auth_logins_total", "error"),
        ("/v1/auth/register", 201, "lanes_auth_registrations_total", "created"),
        ("/v1/auth/register", 409, "lanes_auth_registrations_total", "exists"),
        ("/v1/auth/register", 422, "lanes_auth_registrations_total", "invalid_request"),
        ("/v1/auth/refresh", 200, "lanes_auth_refreshes_total", "success"),
        ("/v1/auth/refresh", 401, "lanes_auth_refreshes_total", "rejected"),
    ],
)
def test_answers_are_counted_by_outcome(route: str, status: int, metric: str, outcome: str) -> None:
    before = value(metric, {"outcome": outcome})
    record_outcome(HttpAnswer("POST", route, status))
    assert value(metric, {"outcome": outcome}) == before + 1


def test_other_routes_count_nothing() -> None:
    before = [value(m) for m in ("lanes_auth_logins_total", "lanes_auth_refreshes_total")]
    record_outcome(HttpAnswer("POST", "/v1/auth/logout", 204))
    record_outcome(HttpAnswer("GET", "/v1/auth/login", 405))
    assert [value(m) for m in ("lanes_auth_logins_total", "lanes_auth_refreshes_total")] == before


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_lockout_is_counted_once_when_it_starts() -> None:
    clock = FakeClock()
    throttle = CountingLoginThrottle(per_account=3, per_address=100, window_seconds=60, clock=clock)
    before = value("lanes_auth_lockouts_total")
    for _ in range(2):
        throttle.record_failure("alice", "10.0.0.1")
    assert value("lanes_auth_lockouts_total") == before
    throttle.record_failure("alice", "10.0.0.1")  # the third: locked out
    throttle.record_failure("alice", "10.0.0.1")  # already locked: not a new lockout
    assert value("lanes_auth_lockouts_total") == before + 1
    clock.now += 61
    for _ in range(3):
        throttle.record_failure("alice", "10.0.0.1")
    assert value("lanes_auth_lockouts_total") == before + 2
