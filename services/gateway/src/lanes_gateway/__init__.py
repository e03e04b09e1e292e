"""Lanes gateway: the public REST API."""
