"""Telemetry every service shares: Prometheus metrics, OpenTelemetry traces, log context.

- `metrics`: the HTTP metrics and the ``/metrics`` exposition (multi-process aware).
- `http`: ASGI middleware that times, counts and traces every request by route template.
- `tracing`: the tracer provider, configured by the standard ``OTEL_*`` variables.
- `propagation`: W3C trace context in Kafka record headers and outgoing HTTP calls.
- `log_context`: trace ids, request id and user id on every log line; secrets scrubbed.
"""
