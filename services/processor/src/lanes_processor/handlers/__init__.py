"""Request handlers: one async callable per request ``type``, found as plugins.

A handler is registered under the ``lanes.handlers`` entry-point group, the
entry point's name being the request type it serves::

    [project.entry-points."lanes.handlers"]
    resize-image = "my_package.handlers:resize_image"
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from lanes_common.errors import LanesError

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "lanes.handlers"


@dataclass(frozen=True, slots=True)
class HandlerRequest:
    """What a handler gets: the request and which attempt this is (1-based)."""

    id: str
    user_id: str
    type: str
    payload: Any
    attempt: int


Handler = Callable[[HandlerRequest], Awaitable[Any]]
"""Returns the request's result (any JSON value) or raises to fail the attempt."""


class HandlerError(LanesError):
    """A handler failed; raise it (or any exception) to have the attempt retried."""


class PermanentError(HandlerError):
    """A failure retrying cannot fix (bad payload, say): the request fails at once."""


def load_handlers(group: str = ENTRY_POINT_GROUP) -> dict[str, Handler]:
    """Every handler registered under ``group``, by request type."""
    handlers: dict[str, Handler] = {}
    for entry_point in entry_points(group=group):
        handlers[entry_point.name] = entry_point.load()
    logger.info("handlers loaded", extra={"types": sorted(handlers)})
    return handlers


def describe(handlers: Mapping[str, Handler]) -> str:
    """A short list of registered types, for logs and errors."""
    return ", ".join(sorted(handlers)) or "(none)"
