#!/bin/bash
# KAFKA_FOO_BAR=v becomes foo.bar=v in server.properties (as in the public image: "__"
# stands for "_" and "___" for "-"); the JVM's own KAFKA_*_OPTS are not properties.
# The storage is formatted once with CLUSTER_ID, then the broker runs in the foreground.
set -euo pipefail
config=/opt/kafka/config/server.properties
: >"$config"
while IFS= read -r -d '' entry; do
    name="${entry%%=*}" value="${entry#*=}"
    case "$name" in
        KAFKA_HEAP_OPTS | KAFKA_JVM_PERFORMANCE_OPTS | KAFKA_OPTS | KAFKA_LOG4J_OPTS | KAFKA_JMX_OPTS) continue ;;
        KAFKA_*) ;;
        *) continue ;;
    esac
    key="${name#KAFKA_}"
    key="${key,,}" key="${key//___/-}" key="${key//__/@}" key="${key//_/.}" key="${key//@/_}"
    printf '%s=%s\n' "$key" "$value" >>"$config"
done < <(env -0)
: "${CLUSTER_ID:?CLUSTER_ID must be set (kafka-storage random-uuid prints one)}"
java=(java -cp "/opt/kafka/libs/*")
grep -q '^log.dirs=' "$config" || echo "log.dirs=/var/lib/kafka/data" >>"$config"
"${java[@]}" -Dlog4j.configuration=file:/opt/kafka/config/tools-log4j.properties \
    kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$config" --ignore-formatted
# shellcheck disable=SC2086  # the *_OPTS are lists of JVM flags
exec "${java[@]}" ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC} \
    -Djava.awt.headless=true -Dlog4j.configuration=file:/opt/kafka/config/log4j.properties \
    ${KAFKA_OPTS:-} kafka.Kafka "$config"
