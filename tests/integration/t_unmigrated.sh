#!/usr/bin/env bash
# A supervisor started on a database without the pgkb schema: its workers back off (a bounded number of log
# lines, not thousands a second), say once that `pgkb migrate` fixes it, and start working by themselves once
# it is migrated. A role without the grants is told which function grants them.
. "$(dirname "$0")/lib.sh"
pg_start
write_config "$T_DIR/pgkb.yaml" "workers:
  noop: {processes: 2, concurrency: 4}
  ingest: {processes: 1}
  crawl: {processes: 1}
  embed: {processes: 1}"
sup_start "$T_DIR/pgkb.yaml" sup
sleep 5
lines=$(grep -c . "$T_DIR/sup.log")
assert_ge 60 "$lines" "5 s on an unmigrated database: a bounded log ($lines lines)"
hints=$(grep -c 'has no pgkb schema, or one older than this binary: run `pgkb migrate`' "$T_DIR/sup.log")
assert_ge "$hints" 1 "the log says the schema is missing and that pgkb migrate fixes it"
assert_ge 5 "$hints" "... once per worker ($hints times)"
migrate
id=$(sql "INSERT INTO pgkb.jobs(kind, payload) VALUES ('noop', '{\"log\": true}') RETURNING id")
wait_for "SELECT count(*) = 1 FROM pgkb.noop_log WHERE job_id = $id" 20 "a job enqueued after the migration is done" &&
	pass "workers start working by themselves once the database is migrated"
kill -TERM "$SUP_PID"; wait "$SUP_PID"

# --- a role that may connect but was never granted the worker privileges
sql "CREATE ROLE pgkb_nogrant_t LOGIN"
write_config "$T_DIR/nogrant.yaml" "workers:
  noop: {processes: 1}
  ingest: {processes: 0}
  crawl: {processes: 0}
  embed: {processes: 0}"
DATABASE_URL="postgresql://pgkb_nogrant_t@127.0.0.1:$PGPORT/pgkb_test" sup_start "$T_DIR/nogrant.yaml" nogrant
sleep 3
assert_eq "$(grep -c "run SELECT pgkb.grant_worker_role('pgkb_nogrant_t')" "$T_DIR/nogrant.log")" "1" \
	"a role without grants is told, once, which function grants them"
assert_ge 15 "$(grep -c . "$T_DIR/nogrant.log")" "... in a bounded log"
sql "SELECT pgkb.grant_worker_role('pgkb_nogrant_t')"
id=$(sql "INSERT INTO pgkb.jobs(kind, payload) VALUES ('noop', '{\"log\": true}') RETURNING id")
wait_for "SELECT count(*) = 1 FROM pgkb.noop_log WHERE job_id = $id" 20 "a job is done once the role is granted" &&
	pass "workers start working by themselves once the role is granted"
kill -TERM "$SUP_PID"; wait "$SUP_PID"
finish
