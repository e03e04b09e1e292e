"""The ``lanes`` command-line tool, built on `lanes_client`."""
