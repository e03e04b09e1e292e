#!/bin/sh
# Create the Lanes topics, or check that the ones already there match.
#
# Run by the lanes-create-topics Job (Kubernetes) and the kafka-topics service
# (docker-compose.yml), both on the apache/kafka image. Idempotent: safe to run
# on every deploy. It never changes the partition count of an existing topic:
# adding partitions moves keys (users) to other partitions, which breaks
# per-user order for records already queued. Doing that is an operator's
# decision (docs/deploy.md), so a mismatch fails the run instead.
set -eu

: "${LANES_KAFKA_BOOTSTRAP_SERVERS:?must name the Kafka bootstrap servers}"
: "${LANES_REQUESTS_TOPIC:?must name the requests topic}"
: "${LANES_DEAD_LETTER_TOPIC:?must name the dead-letter topic}"
: "${TOPIC_PARTITIONS:?must say how many partitions each topic gets}"
: "${TOPIC_REPLICATION_FACTOR:?must say how many replicas each partition gets}"
: "${TOPIC_MIN_INSYNC_REPLICAS:?must say how many replicas acknowledge a write (acks=all)}"
KAFKA_TOPICS="${KAFKA_TOPICS:-/opt/kafka/bin/kafka-topics.sh}"

# The status-event topic (docs/architecture.md), when the deployment names one.
for topic in "$LANES_REQUESTS_TOPIC" "$LANES_DEAD_LETTER_TOPIC" ${LANES_STATUS_TOPIC:-}; do
  "$KAFKA_TOPICS" --bootstrap-server "$LANES_KAFKA_BOOTSTRAP_SERVERS" \
    --create --if-not-exists --topic "$topic" \
    --partitions "$TOPIC_PARTITIONS" \
    --replication-factor "$TOPIC_REPLICATION_FACTOR" \
    --config "min.insync.replicas=$TOPIC_MIN_INSYNC_REPLICAS"

  partitions=$("$KAFKA_TOPICS" --bootstrap-server "$LANES_KAFKA_BOOTSTRAP_SERVERS" \
    --describe --topic "$topic" \
    | sed -n 's/.*PartitionCount:[[:space:]]*\([0-9][0-9]*\).*/\1/p' | head -n 1)
  if [ "$partitions" != "$TOPIC_PARTITIONS" ]; then
    echo "topic $topic has ${partitions:-no} partitions, this deployment expects $TOPIC_PARTITIONS." >&2
    echo "Changing a topic's partition count remaps users to partitions; see docs/deploy.md." >&2
    exit 1
  fi
  echo "topic $topic: $partitions partitions"
done
