"""The one shape of every time the API returns: UTC, milliseconds, ``Z``.

pydantic writes ``2026-12-04T18:38:10Z`` when the microseconds are zero and
``2026-12-04T18:38:10.511000Z`` otherwise; a client that compares times as
text (as many do) then orders them wrongly. ``Timestamp`` always writes
``2026-12-04T18:38:10.000Z``: fixed width, so text order is time order.
Milliseconds are what a BSON date holds, so nothing stored is lost.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema

TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"


def format_timestamp(moment: datetime) -> str:
    """``moment`` in UTC to the millisecond (truncated), as ``2026-12-04T18:38:10.000Z``.

    A naive datetime is taken as UTC, which is what MongoDB stores.
    """
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


Timestamp = Annotated[
    datetime,
    PlainSerializer(format_timestamp, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": TIMESTAMP_PATTERN,
            "description": "UTC, to the millisecond, always with three decimals and `Z`.",
            "examples": ["2026-12-04T18:38:10.000Z"],
        },
        mode="serialization",
    ),
]
"""A datetime the API writes as `format_timestamp` does (and documents so in OpenAPI)."""
