"""Where an event sits on the status topic; it is also the SSE event id."""

from __future__ import annotations

import re
from typing import NamedTuple

_POSITION = re.compile(r"^([0-9]{1,9})-([0-9]{1,18})$")


class EventPosition(NamedTuple):
    """A partition and offset of the status topic, written ``"<partition>-<offset>"``."""

    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.partition}-{self.offset}"

    @classmethod
    def parse(cls, text: str) -> EventPosition:
        """Read an SSE event id back; `ValueError` when it is not one we handed out."""
        match = _POSITION.match(text.strip())
        if match is None:
            raise ValueError(f"not an event id: {text[:64]!r}")
        return cls(int(match[1]), int(match[2]))
