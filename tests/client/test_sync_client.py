"""The blocking client's own lifecycle: its private event loop never outlives it."""

from __future__ import annotations

import os

import pytest

from lanes_client import LanesClient


def open_descriptors() -> int:
    """This process's open file descriptors (an event loop holds a selector and a self-pipe)."""
    return len(os.listdir("/proc/self/fd"))


def test_a_misspelt_option_is_a_type_error_and_closes_the_private_loop() -> None:
    before = open_descriptors()
    with pytest.raises(TypeError, match="timout"):
        LanesClient("http://127.0.0.1:9", timout=5)  # type: ignore[call-arg]
    assert open_descriptors() == before
