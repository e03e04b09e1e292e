"""Parsing ``text/event-stream`` line by line (the WHATWG rules Lanes uses)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Frame:
    """One dispatched event."""

    event: str
    data: Any
    id: str | None


@dataclass
class FrameParser:
    """Feed lines (without their newline); complete events come back."""

    _event: str = "message"
    _data: list[str] = field(default_factory=list)
    _id: str | None = None

    def feed(self, line: str) -> Frame | None:
        """Take one line; returns an event when the line completed one."""
        if line == "":
            frame = None
            if self._data:
                frame = Frame(self._event, json.loads("\n".join(self._data)), self._id)
            self._event, self._data, self._id = "message", [], None
            return frame
        if line.startswith(":"):
            return None  # a heartbeat comment
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value
        return None
