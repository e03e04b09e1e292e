"""``python -m lanes_auth`` runs the auth service."""

from lanes_auth.main import run

run()
