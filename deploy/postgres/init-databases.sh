#!/bin/bash
# Creates one database per service (owned by $POSTGRES_USER) on the first start of
# the postgres container (/docker-entrypoint-initdb.d). The names are what
# SHOPMESH_DATABASE_URL_TEMPLATE=postgresql+asyncpg://...@postgres:5432/{service} implies.
set -euo pipefail
DATABASES="auth customers products payments analytics orders dispatcher"
for db in $DATABASES; do
    echo "creating database $db"
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<-SQL
	CREATE DATABASE "$db" OWNER "$POSTGRES_USER";
	SQL
done
