#!/bin/sh
# Run one Kafka main class on the broker's jars, as Kafka's own script does.
# The admin commands are short-lived: a small heap and the quick JIT tier.
exec java ${KAFKA_HEAP_OPTS:--Xmx256m} ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1} \
  -cp '/opt/kafka/libs/*' "$@"
