"""How the CLI shows things: Rich tables for people, JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from rich.table import Table

from lanes_client.types import QueueSummary, RequestView, StatusEvent

STATE_STYLES = {
    "queued": "cyan",
    "processing": "yellow",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "dim",
    "dead_lettered": "magenta",
}


def as_json(value: BaseModel | list[BaseModel] | dict[str, Any]) -> str:
    """One line of JSON for scripts."""
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    if isinstance(value, list):
        return json.dumps([item.model_dump(mode="json") for item in value])
    return json.dumps(value)


def _when(value: datetime | None) -> str:
    return "" if value is None else value.isoformat(timespec="milliseconds")


def _state(state: str) -> str:
    return f"[{STATE_STYLES.get(state, 'white')}]{state}[/]"


def request_table(requests: Iterable[RequestView]) -> Table:
    """Requests as rows."""
    table = Table("id", "type", "state", "attempts", "enqueued", "finished")
    for r in requests:
        table.add_row(
            r.id, r.type, _state(r.state.value), str(r.attempts), _when(r.enqueued_at),
            _when(r.finished_at),
        )  # fmt: skip
    return table


def request_detail(request: RequestView) -> Table:
    """One request, field by field."""
    table = Table(show_header=False)
    for name, value in request.model_dump(mode="json").items():
        shown = _state(value) if name == "state" else json.dumps(value) if value else str(value)
        table.add_row(name, shown)
    return table


def queue_table(summary: QueueSummary) -> Table:
    """Counts per state, pending, the oldest age and the ETA."""
    table = Table("state", "count")
    for state, count in summary.counts.items():
        table.add_row(_state(state.value), str(count))
    table.add_row("pending", str(summary.pending))
    age = summary.oldest_queued_age_seconds
    table.add_row("oldest queued", "" if age is None else f"{age:.1f} s")
    table.add_row("queued work starts by", _when(summary.estimated_start_at) or "unknown")
    return table


def watch_table(latest: dict[str, StatusEvent]) -> Table:
    """The latest state of every request seen on the stream, newest change last."""
    table = Table("request", "type", "state", "attempts", "at", "error")
    for event in latest.values():
        s = event.status
        table.add_row(
            s.request_id, s.type, _state(s.state.value), str(s.attempts), _when(s.occurred_at),
            s.error_code or "",
        )  # fmt: skip
    return table
