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
# An existing Archon database's archon_migrations (Archon's columns and rows) is left as Archon's, completed with
# the rows Archon's setup inserts; pgkb records itself in pgkb.schema_migrations.
sql "CREATE DATABASE archon_like"
PGDATABASE=archon_like psql -qX -c "CREATE TABLE archon_migrations (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), version varchar(20) NOT NULL, migration_name varchar(255) NOT NULL, applied_at timestamptz DEFAULT now(), checksum varchar(32), UNIQUE (version, migration_name))" \
	-c "INSERT INTO archon_migrations (version, migration_name) VALUES ('0.1.0', '001_add_source_url_display_name')"
out=$(PGDATABASE=archon_like "$PGKB" migrate 2>&1); rc=$?
assert_eq "$rc" "0" "migrate works on a database with Archon's own archon_migrations"
assert_eq "$(PGDATABASE=archon_like sql "SELECT count(*) || ' ' || count(*) FILTER (WHERE version = '0.1.0') FROM archon_migrations")" "11 11" \
	"archon_migrations holds Archon's 0.1.0 rows only"
assert_eq "$(PGDATABASE=archon_like sql "SELECT count(*) FROM pgkb.schema_migrations")" "$(ls "$PGKB_SCHEMA_DIR"/[0-9][0-9][0-9]_*.sql | wc -l)" \
	"pgkb's migrations are in pgkb.schema_migrations"

# A database migrated by the old scheme (before 088: pgkb's rows in archon_migrations, widened to text columns,
# NOT NULL checksum and duration_ms): the next migrate moves those rows once, applies only what is new, and
# gives archon_migrations back Archon's columns.
sql "CREATE DATABASE old_scheme"
mkdir -p "$T_DIR/schema_old"
for f in "$PGKB_SCHEMA_DIR"/[0-9][0-9][0-9]_*.sql; do
	case $(basename "$f") in 088_*|09[0-9]_*|[1-9][0-9][0-9]_*) ;; *) cp "$f" "$T_DIR/schema_old/" ;; esac
done
PGDATABASE=old_scheme PGKB_SCHEMA_DIR=$T_DIR/schema_old "$PGKB" migrate >/dev/null 2>&1 || fail "migrating to 086"
old=$(ls "$T_DIR/schema_old" | wc -l)
PGDATABASE=old_scheme psql -qX -v ON_ERROR_STOP=1 \
	-c "CREATE TABLE archon_migrations (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), version text NOT NULL, migration_name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), duration_ms integer NOT NULL DEFAULT 0, UNIQUE (version, migration_name))" \
	-c "INSERT INTO archon_migrations (version, migration_name, checksum, applied_at) SELECT version, name, checksum, applied_at FROM pgkb.schema_migrations" \
	-c "DROP TABLE pgkb.schema_migrations" || fail "building the old bookkeeping"
out=$(PGDATABASE=old_scheme "$PGKB" migrate 2>&1); rc=$?
assert_eq "$rc" "0" "migrate over the old bookkeeping succeeds"
assert_eq "$(printf '%s\n' "$out" | grep -c '^applied')" "$(( $(ls "$PGKB_SCHEMA_DIR"/[0-9][0-9][0-9]_*.sql | wc -l) - old ))" \
	"... applying only the migrations after 086 ($out)"
assert_eq "$(PGDATABASE=old_scheme sql "SELECT count(*) FROM pgkb.schema_migrations WHERE version <= '086'")" "$old" \
	"the old rows moved to pgkb.schema_migrations"
assert_eq "$(PGDATABASE=old_scheme sql "SELECT count(*) FILTER (WHERE version ~ '^[0-9]{3}$') || ' ' || count(*) FROM archon_migrations")" "0 11" \
	"archon_migrations keeps no pgkb row, and Archon's 11"
assert_eq "$(PGDATABASE=old_scheme sql "SELECT string_agg(column_name || ' ' || is_nullable, ', ' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'archon_migrations'")" \
	"id NO, version NO, migration_name NO, applied_at YES, checksum YES" "... and Archon's columns (no duration_ms, checksum nullable)"
assert_match "$(PGDATABASE=old_scheme "$PGKB" migrate 2>&1)" "up to date" "a second run finds nothing to do"
finish
