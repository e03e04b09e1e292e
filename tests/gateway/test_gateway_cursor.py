"""Pagination cursors: they round-trip, and anything else is refused."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from lanes_gateway.cursor import MAX_CURSOR_LENGTH, PageCursor
from lanes_gateway.errors import InvalidCursorError


def test_cursor_round_trips_at_millisecond_precision() -> None:
    cursor = PageCursor(datetime(2026, 5, 1, 12, 30, 15, 123000, tzinfo=UTC), "some-id")

    decoded = PageCursor.decode(cursor.encode())

    assert decoded == cursor


def test_cursor_is_url_safe_text() -> None:
    encoded = PageCursor(datetime(2026, 1, 1, tzinfo=UTC), "x" * 36).encode()

    assert encoded.isascii()
    assert not set(encoded) & set("+/=")


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "not base64!",
        _b64("not json"),
        _b64("[1, 2]"),
        _b64('{"t": "yesterday", "i": "x"}'),
        _b64('{"t": true, "i": "x"}'),
        _b64('{"t": 1, "i": 2}'),
        _b64('{"t": 1}'),
        _b64('{"t": 99999999999999999999, "i": "x"}'),
        "A" * (MAX_CURSOR_LENGTH + 1),
    ],
)
def test_foreign_cursors_are_refused(garbage: str) -> None:
    with pytest.raises(InvalidCursorError):
        PageCursor.decode(garbage)
