"""The MongoDB documents Lanes stores, and how user JSON is kept inside them.

User payloads and handler results are arbitrary JSON. MongoDB rejects keys
with ``.`` or a leading ``$`` (and some MongoDB-wire servers more), so those
values are stored as JSON text, never as nested documents: any payload
round-trips, byte for byte in meaning.
"""

from __future__ import annotations

import json
from typing import Any

REQUESTS_COLLECTION = "requests"
"""One document per request, ``_id`` = request id; the processor and gateway write it.

Fields: ``user_id``, ``type``, ``payload_json`` (JSON text), ``state`` (a
`RequestState` value), ``state_rank`` (its rank: writes are conditional on it,
so state only moves forward), ``attempts``, ``result_json`` (JSON text),
``error`` (``{"code", "message"}``), ``partition`` and ``offset`` (where Kafka
stored it: one user's offsets order their queue), ``enqueued_at``,
``started_at``, ``finished_at``, ``updated_at`` (UTC datetimes),
``idempotency_key`` and, once finished, ``expires_at`` (when retention
deletes it: a TTL index on MongoDB, and a periodic job everywhere).
Per-user open counts live in `lanes_common.user_queues`.
"""

USERS_COLLECTION = "users"
"""One document per user, owned by the auth service."""

DELETED_USERS_COLLECTION = "deleted_users"
"""One document per deleted account, ``_id`` = its user id: auth writes it, the gateway reads it.

Access tokens are verified without asking auth, so a deleted user's token
would stay good until it expires; the gateway refuses a token whose subject
is listed here (one lookup by ``_id``, the lookup every MongoDB-wire server
indexes).
"""


def encode_json_value(value: Any) -> str:
    """Store an arbitrary JSON value as compact text."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def decode_json_value(text: str | None) -> Any:
    """Read back a value stored by `encode_json_value` (None stays None)."""
    if text is None:
        return None
    return json.loads(text)
