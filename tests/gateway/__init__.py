"""Tests of the gateway service (lanes_gateway)."""
