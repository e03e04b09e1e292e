"""The client's pure parts: event-stream parsing, Retry-After, problem codes, profiles."""

from __future__ import annotations

import stat
from pathlib import Path

from lanes_client.cli.profiles import Profile, ProfileStore
from lanes_client.errors import ConflictError, RateLimitedError, api_error
from lanes_client.retries import RetryPolicy, retry_after_seconds
from lanes_client.sse import FrameParser
from lanes_client.types import Tokens


def test_parser_yields_events_and_skips_heartbeats() -> None:
    parser = FrameParser()
    lines = [": keepalive", "", "retry: 1000", "", "id: 2-7", "event: status", 'data: {"a": 1}', ""]
    frames = [f for f in (parser.feed(line) for line in lines) if f is not None]
    assert len(frames) == 1
    assert (frames[0].event, frames[0].id, frames[0].data) == ("status", "2-7", {"a": 1})


def test_retry_after_in_seconds_or_date_else_backoff() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_seconds("soon") is None
    policy = RetryPolicy(base_seconds=1.0, max_seconds=4.0)
    assert policy.delay(1, 2.0) == 2.0
    assert policy.delay(1, 100.0) == 4.0
    assert 2.0 <= policy.delay(3, None) <= 4.0


def test_problems_become_typed_errors_with_their_code() -> None:
    error = api_error(409, {"code": "not_cancellable", "detail": "it runs"}, None)
    assert isinstance(error, ConflictError)
    assert (error.code, error.detail) == ("not_cancellable", "it runs")
    limited = api_error(429, {"code": "quota_exceeded", "detail": "x"}, 5.0)
    assert isinstance(limited, RateLimitedError) and limited.retry_after == 5.0
    legacy = api_error(401, {"error": {"code": "unauthorized", "message": "no"}}, None)
    assert legacy.code == "unauthorized"


def test_profiles_are_saved_owner_only(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "lanes")
    profile = Profile(url="http://gw")
    profile.take(Tokens(access_token="a", expires_in=60, refresh_token="r"))
    store.save("work", profile)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    loaded = store.load("work")
    assert (loaded.url, loaded.access_token, loaded.refresh_token) == ("http://gw", "a", "r")
    assert store.load("other") == Profile()
