#!/bin/bash
# `postgres [options]`: as root, own the data directory and run again as user postgres;
# on an empty data directory, initdb with POSTGRES_USER / POSTGRES_PASSWORD, create
# POSTGRES_DB and run the init scripts on a server that listens on its socket only.
set -euo pipefail
if [[ "${1:-}" != postgres ]]; then
    exec "$@"
fi
if [[ "$(id -u)" == 0 ]]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown -R postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
export POSTGRES_USER="${POSTGRES_USER:-postgres}"
export POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"

psql_as_owner() { psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password "$@"; }

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
    if [[ -z "${POSTGRES_PASSWORD:-}" ]]; then
        echo "docker-entrypoint.sh: the database is uninitialized and POSTGRES_PASSWORD is not set" >&2
        exit 1
    fi
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
    if [[ "$POSTGRES_DB" != postgres ]]; then
        psql_as_owner --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
    fi
    for file in /docker-entrypoint-initdb.d/*; do
        case "$file" in
            *.sh)
                echo "docker-entrypoint.sh: running $file"
                if [[ -x "$file" ]]; then "$file"; else . "$file"; fi ;;
            *.sql)
                echo "docker-entrypoint.sh: running $file"
                psql_as_owner --dbname "$POSTGRES_DB" -f "$file" ;;
            *) ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop
fi
exec "$@" -c listen_addresses='*'
