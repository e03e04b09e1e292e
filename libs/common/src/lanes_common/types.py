"""The type aliases Lanes shares: shapes of Kafka and MongoDB values, named once."""

from __future__ import annotations

from typing import Any

KafkaConfig = dict[str, Any]
"""A librdkafka configuration (``bootstrap.servers``, ``group.id``, ...)."""

KafkaHeaders = list[tuple[str, str | bytes | None]]
"""A record's headers, in order; a name may repeat."""

PartitionId = tuple[str, int]
"""A Kafka partition: its topic and its number."""

MongoDocument = dict[str, Any]
"""A MongoDB document, a filter or an update, as PyMongo takes and returns them."""
