"""``python -m lanes_client.cli``: the same as ``lanes``."""

from lanes_client.cli.app import main

main()
