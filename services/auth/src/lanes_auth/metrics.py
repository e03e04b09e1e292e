"""Auth's Prometheus metrics: logins, registrations and refreshes by outcome, and lockouts.

Outcomes are read off each answer's route and status by the HTTP telemetry
middleware (`record_outcome`), so the route handlers hold no metrics code;
lockouts are counted where they start, in the login throttle.
"""

from __future__ import annotations

from prometheus_client import Counter

from lanes_auth.throttle import LoginThrottle
from lanes_common.telemetry.http import HttpAnswer

LOGINS = Counter(
    "lanes_auth_logins",
    "Login attempts by outcome (success, invalid_credentials, throttled, invalid_request, error).",
    ["outcome"],
)
REGISTRATIONS = Counter(
    "lanes_auth_registrations",
    "Registrations by outcome (created, exists, invalid_request, error).",
    ["outcome"],
)
REFRESHES = Counter(
    "lanes_auth_refreshes",
    "Refresh-token exchanges by outcome (success, rejected, invalid_request, error).",
    ["outcome"],
)
LOCKOUTS = Counter(
    "lanes_auth_lockouts",
    "Times failed logins put an account or a client address over its limit.",
)

_OUTCOMES: dict[str, tuple[Counter, dict[int, str]]] = {
    "/v1/auth/login": (
        LOGINS,
        {200: "success", 401: "invalid_credentials", 429: "throttled"},
    ),
    "/v1/auth/register": (REGISTRATIONS, {201: "created", 409: "exists"}),
    "/v1/auth/refresh": (REFRESHES, {200: "success", 401: "rejected"}),
}


def outcome_of(status: int, known: dict[int, str]) -> str:
    """The outcome an answer's status stands for."""
    if status in known:
        return known[status]
    return "error" if status >= 500 else "invalid_request"


def record_outcome(answer: HttpAnswer) -> None:
    """Count a login, registration or refresh answer (other routes are not counted here)."""
    entry = _OUTCOMES.get(answer.route)
    if answer.method == "POST" and entry is not None:
        counter, known = entry
        counter.labels(outcome_of(answer.status, known)).inc()


class CountingLoginThrottle(LoginThrottle):
    """A `LoginThrottle` that counts each lockout as it starts."""

    def record_failure(self, account: str, address: str | None) -> None:
        """Count the failure; a lockout starts when it takes the login from allowed to refused."""
        was_allowed = self.retry_after(account, address) == 0
        super().record_failure(account, address)
        if was_allowed and self.retry_after(account, address) > 0:
            LOCKOUTS.inc()
