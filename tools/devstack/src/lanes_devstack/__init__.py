"""Provisions and runs real Kafka and MongoDB-wire servers on loopback, for make run and tests."""
