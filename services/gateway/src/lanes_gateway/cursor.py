"""Opaque pagination cursors for ``GET /v1/requests``.

A cursor names the last request of a page by its sort key (``enqueued_at``,
``_id``); the next page starts strictly after it. It is base64url JSON so
that clients treat it as a token, not as something to build by hand.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lanes_gateway.errors import InvalidCursorError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
MAX_CURSOR_LENGTH = 256


@dataclass(frozen=True, slots=True)
class PageCursor:
    """The sort key of the last item on a page.

    ``enqueued_at`` keeps millisecond precision, the precision BSON dates have,
    so a cursor made from a stored document compares equal to it.
    """

    enqueued_at: datetime
    request_id: str

    def encode(self) -> str:
        """The cursor as an opaque URL-safe string."""
        millis = (self.enqueued_at - _EPOCH) // _MILLISECOND
        raw = json.dumps({"t": millis, "i": self.request_id}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> PageCursor:
        """Read a cursor made by `encode`; anything else raises `InvalidCursorError`."""
        if len(text) > MAX_CURSOR_LENGTH:
            raise InvalidCursorError("cursor is too long")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            fields = json.loads(raw)
        except (binascii.Error, ValueError) as exc:
            raise InvalidCursorError("cursor is not one this API handed out") from exc
        if not isinstance(fields, dict):
            raise InvalidCursorError("cursor is not one this API handed out")
        millis, request_id = fields.get("t"), fields.get("i")
        # `type(...) is int`: bool is an int subclass, and a cursor never holds one.
        if type(millis) is not int or not isinstance(request_id, str):
            raise InvalidCursorError("cursor is not one this API handed out")
        try:
            enqueued_at = _EPOCH + millis * _MILLISECOND
        except OverflowError as exc:
            raise InvalidCursorError("cursor is not one this API handed out") from exc
        return cls(enqueued_at=enqueued_at, request_id=request_id)
