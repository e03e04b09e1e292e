#!/bin/sh
# The broker, configured as the apache/kafka image is: every KAFKA_<NAME>
# variable becomes the property <name> ("_" -> ".", "__" -> "_", "___" -> "-"),
# and the storage is formatted with CLUSTER_ID on first start.
set -eu
: "${CLUSTER_ID:?must be set (the KRaft cluster id)}"
config=/opt/kafka/config/server.properties
env | grep '^KAFKA_' | grep -v -e '^KAFKA_HEAP_OPTS=' -e '^KAFKA_JVM_PERFORMANCE_OPTS=' -e '^KAFKA_OPTS=' | while IFS='=' read -r name value; do
  key=$(printf '%s' "${name#KAFKA_}" | tr 'A-Z' 'a-z' | sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g')
  printf '%s=%s\n' "$key" "$value"
done > "$config"
log_dirs=$(sed -n 's/^log\.dirs=//p' "$config")
if [ ! -f "${log_dirs:-/var/lib/kafka/data}/meta.properties" ]; then
  /opt/kafka/bin/kafka-run-class.sh kafka.tools.StorageTool format \
    "--cluster-id=$CLUSTER_ID" -c "$config" --ignore-formatted
fi
# The broker: a bigger heap, and the full JIT (it runs for long).
export KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx768m}"
export KAFKA_JVM_PERFORMANCE_OPTS="${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseSerialGC}"
exec /opt/kafka/bin/kafka-run-class.sh kafka.Kafka "$config"
