"""The resources a lifespan opens, handed to requests through Starlette's lifespan state.

A lifespan yields `lifespan_state(resources)`; the server copies that mapping
into every request's ``state`` (not into ``app.state``, which would outlive
the lifespan). `resources_dependency` reads it back as the type the service
opened: one typed way in, one typed way out, for every service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import Request

R = TypeVar("R")

_RESOURCES = "resources"


def lifespan_state(resources: object) -> dict[str, object]:
    """What a lifespan yields so that every request's state carries ``resources``."""
    return {_RESOURCES: resources}


def resources_dependency(kind: type[R]) -> Callable[[Request], R]:
    """A FastAPI dependency: the ``kind`` of resources the app's lifespan yielded."""

    def get_resources(request: Request) -> R:
        resources = getattr(request.state, _RESOURCES, None)
        if not isinstance(resources, kind):
            # Only a wiring mistake gets here: an app served without its lifespan.
            raise RuntimeError(f"no {kind.__name__} in the request state; did the lifespan run?")
        return resources

    get_resources.__doc__ = f"The {kind.__name__} the lifespan opened."
    return get_resources
