"""Ports for the servers tests start: free, and out of the way of outgoing connections."""

from __future__ import annotations

import socket

from lanes_devstack.process import EPHEMERAL_RANGE, LOWEST_SERVER_PORT, free_port


def test_free_ports_are_below_the_ephemeral_range_and_bindable() -> None:
    first_ephemeral = int(EPHEMERAL_RANGE.read_text().split()[0])
    for _ in range(20):
        port = free_port()
        assert LOWEST_SERVER_PORT <= port < first_ephemeral
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
            server.bind(("127.0.0.1", port))
            server.listen()
