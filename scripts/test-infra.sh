#!/usr/bin/env bash
# Real Kafka + PostgreSQL for the test suite, on their own ports and state dirs
# (apart from `make up`'s), left running between test runs so the second
# `up` costs well under a second.
#
#   scripts/test-infra.sh up      # install if needed, start both, print exports
#   scripts/test-infra.sh down    # stop both
#   scripts/test-infra.sh status
#
# `up` prints only the export lines on stdout (progress goes to stderr), so
#   eval "$(scripts/test-infra.sh up)"
# works. Ports: SHOPMESH_TEST_KAFKA_PORT (default 19092; the controller takes
# the next port) and SHOPMESH_TEST_PG_PORT (default 15432).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRIPTS="$REPO/scripts"
KAFKA_STATE="$REPO/.data/test/kafka"
PG_STATE="$REPO/.data/test/postgres"
KAFKA_PORT="${SHOPMESH_TEST_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="$((KAFKA_PORT + 1))"
PG_PORT="${SHOPMESH_TEST_PG_PORT:-15432}"

# Prefix each line so the two parallel outputs stay readable.
tag() { sed -u "s/^/[$1] /" >&2; }

up() {
    local t0=$SECONDS kafka_pid pg_pid rc=0
    # Kafka (mvn fetch + JVM start) and PostgreSQL (apt + initdb + start) do not
    # depend on each other: run them side by side.
    { "$SCRIPTS/kafka.sh" install && "$SCRIPTS/kafka.sh" start "$KAFKA_STATE" "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; } 2>&1 | tag kafka &
    kafka_pid=$!
    { "$SCRIPTS/postgres.sh" install && "$SCRIPTS/postgres.sh" start "$PG_STATE" "$PG_PORT"; } 2>&1 | tag postgres &
    pg_pid=$!
    # With pipefail, a pipeline's status is its first failing command's.
    wait "$kafka_pid" || { rc=1; echo "test-infra: Kafka failed to start" >&2; }
    wait "$pg_pid" || { rc=1; echo "test-infra: PostgreSQL failed to start" >&2; }
    ((rc == 0)) || return "$rc"
    echo "test-infra: up in $((SECONDS - t0))s" >&2
    echo "export SHOPMESH_TEST_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT"
    echo "export SHOPMESH_TEST_DATABASE_ADMIN_URL=postgresql+asyncpg://shopmesh@127.0.0.1:$PG_PORT/postgres"
}

down() {
    local rc=0
    "$SCRIPTS/kafka.sh" stop "$KAFKA_STATE" 2>&1 | tag kafka || rc=1
    "$SCRIPTS/postgres.sh" stop "$PG_STATE" 2>&1 | tag postgres || rc=1
    return "$rc"
}

status() {
    local rc=0
    "$SCRIPTS/kafka.sh" status "$KAFKA_STATE" 2>&1 | tag kafka || rc=1
    "$SCRIPTS/postgres.sh" status "$PG_STATE" 2>&1 | tag postgres || rc=1
    return "$rc"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 {up|down|status}" >&2; exit 2 ;;
esac
