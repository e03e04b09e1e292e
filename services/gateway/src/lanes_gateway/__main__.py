"""``python -m lanes_gateway`` starts the gateway."""

from lanes_gateway.main import run

run()
