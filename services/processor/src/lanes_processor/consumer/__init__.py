"""The Kafka side of the processor: scheduling, offsets, retries and the consume loop."""
