#!/usr/bin/env bash
# The Archon-compatible schema: tables, constraints and the search functions (vector, keyword, hybrid RRF),
# checked by tests/sql/test_archon_schema.sql on a freshly migrated database.
. "$(dirname "$0")/lib.sh"
pg_start
migrate
assert_eq "$(sql 'SELECT pgkb.embedding_backend()')" "array" "without pgvector the embedding columns are real[]"
out=$(psql -qAtX -v ON_ERROR_STOP=1 -f "$PGKB_SRC_DIR/tests/sql/test_archon_schema.sql" 2>&1); rc=$?
assert_eq "$rc" "0" "schema checks run without error"
assert_match "$out" "archon schema: all checks passed \\(array variant\\)" "every schema check passed"
[ "$rc" = 0 ] || echo "$out" | tail -20
# An existing Archon database's archon_migrations (checksum varchar(32), no duration) is widened, not refused.
sql "CREATE DATABASE archon_like"
PGDATABASE=archon_like psql -qX -c "CREATE TABLE archon_migrations (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), version varchar(20) NOT NULL, migration_name varchar(255) NOT NULL, applied_at timestamptz DEFAULT now(), checksum varchar(32), UNIQUE (version, migration_name))" \
	-c "INSERT INTO archon_migrations (version, migration_name) VALUES ('0.1.0', '001_add_source_url_display_name')"
out=$(PGDATABASE=archon_like "$PGKB" migrate 2>&1); rc=$?
assert_eq "$rc" "0" "migrate works on a database with Archon's own archon_migrations"
assert_eq "$(PGDATABASE=archon_like sql "SELECT count(*) FROM archon_migrations WHERE version = '0.1.0'")" "1" "Archon's migration rows are kept"
finish
