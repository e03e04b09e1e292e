"""Tests of the auth service (lanes_auth)."""
