"""Every time the API returns has one shape: UTC, three decimals, ``Z``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from lanes_auth.config import AuthSettings
from lanes_auth.main import create_app as create_auth_app
from lanes_common.timestamps import TIMESTAMP_PATTERN, Timestamp, format_timestamp
from lanes_gateway.config import GatewaySettings
from lanes_gateway.main import create_app as create_gateway_app


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 12, 4, 18, 38, 10, tzinfo=UTC), "2026-12-04T18:38:10.000Z"),
        (datetime(2026, 12, 4, 18, 38, 10, 511000, tzinfo=UTC), "2026-12-04T18:38:10.511Z"),
        # Truncated, not rounded: never a time later than the one stored.
        (datetime(2026, 12, 4, 18, 38, 10, 999999, tzinfo=UTC), "2026-12-04T18:38:10.999Z"),
        (datetime(2026, 12, 4, 18, 38, 10, 7000), "2026-12-04T18:38:10.007Z"),
        (
            datetime(2026, 12, 4, 19, 38, 10, tzinfo=timezone(timedelta(hours=1))),
            "2026-12-04T18:38:10.000Z",
        ),
    ],
)
def test_every_time_is_utc_with_three_decimals(moment: datetime, text: str) -> None:
    """Zero milliseconds, microseconds, naive (UTC) and offset times all come out alike."""
    assert format_timestamp(moment) == text
    assert re.fullmatch(TIMESTAMP_PATTERN, text)


def test_text_order_is_time_order() -> None:
    """The reason for a fixed width: ``10Z`` sorted after ``10.511Z`` as text."""
    whole = datetime(2026, 12, 4, 18, 38, 10, tzinfo=UTC)
    later = whole + timedelta(milliseconds=511)
    assert format_timestamp(whole) < format_timestamp(later)


class Stamped(BaseModel):
    at: Timestamp
    maybe: Timestamp | None = None


def test_models_write_the_shape_in_json_and_keep_datetimes_in_python() -> None:
    """JSON gets the fixed text; Python code reading the model still gets a datetime."""
    stamped = Stamped(at=datetime(2026, 12, 4, 18, 38, 10, tzinfo=UTC))
    assert stamped.model_dump_json() == '{"at":"2026-12-04T18:38:10.000Z","maybe":null}'
    assert isinstance(stamped.model_dump()["at"], datetime)
    assert Stamped.model_validate_json(stamped.model_dump_json()) == stamped


def _date_time_properties(node: Any, where: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every ``format: date-time`` schema in an OpenAPI document, with where it is."""
    found = []
    if isinstance(node, dict):
        if node.get("format") == "date-time":
            found.append((where, node))
        for key, value in node.items():
            found += _date_time_properties(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _date_time_properties(value, f"{where}/{index}")
    return found


def test_every_response_time_of_both_services_is_documented_in_the_shape(tmp_path: Path) -> None:
    """Gateway (the /v1 and legacy routes) and auth: no response time escapes `Timestamp`."""
    documents = {
        "gateway": create_gateway_app(GatewaySettings()).openapi(),
        "auth": create_auth_app(AuthSettings(auth_keys_dir=tmp_path)).openapi(),
    }
    times = [
        (f"{service}{where}", schema)
        for service, document in documents.items()
        for where, schema in _date_time_properties(document)
    ]

    assert times, "no response time found: the walk itself is broken"
    assert all(schema.get("pattern") == TIMESTAMP_PATTERN for _, schema in times), times
