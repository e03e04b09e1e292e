"""Provisions and runs real Kafka and FerretDB servers on loopback, for make run and the tests."""
