#!/bin/sh
# Creates Temporal's two databases on temporal-db and brings their schemas to the version this
# server needs (docker-compose.yml's one-shot `temporal-schema` job, temporalio/admin-tools image).
# Idempotent: `create` on an existing database fails harmlessly, update-schema only applies what is
# missing. The password comes from SQL_PASSWORD (read by temporal-sql-tool), never from argv.
set -eu
: "${POSTGRES_SEEDS:?POSTGRES_SEEDS is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
PORT="${DB_PORT:-5432}"
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

echo "waiting for PostgreSQL at ${POSTGRES_SEEDS}:${PORT}…"
until nc -z -w 5 "${POSTGRES_SEEDS}" "${PORT}"; do sleep 2; done

tool() {
  temporal-sql-tool --plugin postgres12 --ep "${POSTGRES_SEEDS}" -p "${PORT}" -u "${POSTGRES_USER}" "$@"
}

for db in temporal temporal_visibility; do
  tool --db "$db" create || echo "database $db already exists"
  tool --db "$db" setup-schema -v 0.0 || echo "schema of $db already set up"
done
tool --db temporal update-schema -d "${SCHEMA_DIR}/temporal/versioned"
tool --db temporal_visibility update-schema -d "${SCHEMA_DIR}/visibility/versioned"
echo "temporal schema ready"
