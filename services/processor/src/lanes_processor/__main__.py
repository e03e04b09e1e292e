"""``python -m lanes_processor`` runs one processor replica."""

from lanes_processor.main import run

run()
