#!/usr/bin/env bash
# Migrations and the queue's SQL contract: plain INSERT enqueue, rejections with clear messages, job kinds as
# rows of pgkb.job_kinds (a migration adds one with an INSERT), dedupe keys, concurrent migrate, checksum
# protection, migrate --status.
. "$(dirname "$0")/lib.sh"
pg_start

# Two migrate runs at once (as from two hosts): both succeed, each migration is applied exactly once.
"$PGKB" migrate >"$T_DIR/m1.log" 2>&1 & m1=$!
"$PGKB" migrate >"$T_DIR/m2.log" 2>&1 & m2=$!
wait $m1; r1=$?; wait $m2; r2=$?
assert_eq "$r1$r2" "00" "two concurrent migrate runs both exit 0"
files=$(ls "$PGKB_SCHEMA_DIR"/[0-9][0-9][0-9]_*.sql | wc -l)
assert_ge "$files" 9 "the schema directory holds the migrations"
assert_eq "$(sql 'SELECT count(*) FROM pgkb.schema_migrations')" "$files" "every migration recorded once (pgkb.schema_migrations)"
assert_eq "$(sql "SELECT string_agg(version || '_' || name || '.sql', ' ' ORDER BY version) FROM pgkb.schema_migrations")" \
	"$(cd "$PGKB_SCHEMA_DIR" && echo [0-9][0-9][0-9]_*.sql)" "... the files of the schema directory, in order"
assert_eq "$(grep -h '^applied' "$T_DIR/m1.log" "$T_DIR/m2.log" | sort | uniq -d | wc -l)" "0" "no migration applied by both runs"
assert_match "$("$PGKB" migrate)" "up to date" "re-running migrate is a no-op"
assert_match "$("$PGKB" migrate --status)" "^applied +001_queue.sql" "migrate --status lists applied migrations"

# A changed migration file is refused, naming the file.
cp -r "$PGKB_SCHEMA_DIR" "$T_DIR/schema"
echo "-- edited" >>"$T_DIR/schema/001_queue.sql"
out=$(PGKB_SCHEMA_DIR=$T_DIR/schema "$PGKB" migrate 2>&1); rc=$?
assert_eq "$rc" "1" "migrate with an edited applied file fails"
assert_match "$out" "001_queue.sql was changed after it was applied" "the error names the edited file"
# (a new job kind: one row, as schema/001_queue.sql describes; applied at the end of this test)
printf -- "INSERT INTO pgkb.job_kinds (kind, position, description) VALUES ('extra', 35, 'a test kind');\n" \
	>"$T_DIR/schema/999_extra.sql"
cp "$PGKB_SCHEMA_DIR/001_queue.sql" "$T_DIR/schema/001_queue.sql"
assert_match "$(PGKB_SCHEMA_DIR=$T_DIR/schema "$PGKB" migrate --status)" "pending +999_extra.sql" "status lists a pending migration"

# Enqueue with a plain INSERT, every other column defaulted.
sql "INSERT INTO pgkb.jobs(kind, payload) VALUES ('noop', '{}')"
assert_eq "$(sql "SELECT state || ',' || attempts || ',' || max_attempts || ',' || priority || ',' || (run_at <= now()) FROM pgkb.jobs")" \
	"queued,0,5,0,true" "a plain INSERT gets sensible defaults"
sql "INSERT INTO pgkb.jobs(kind) VALUES ('noop')"
assert_eq "$(sql "SELECT count(*) FROM pgkb.jobs WHERE payload = '{}'")" "2" "payload defaults to {}"

out=$(psql -qAtX -c "INSERT INTO pgkb.jobs(kind, payload) VALUES ('nope', '{}')" 2>&1)
assert_match "$out" 'unknown job kind "nope"' "an unknown kind is rejected by name"
assert_match "$out" 'known kinds: noop, crawl, fetch, ingest, embed' "the rejection lists the known kinds"
# The kind check runs once per statement: one unknown kind among many rows rejects the whole statement.
out=$(psql -qAtX -c "INSERT INTO pgkb.jobs(kind) SELECT CASE WHEN g = 500 THEN 'nope2' ELSE 'noop' END FROM generate_series(1, 1000) g" 2>&1)
assert_match "$out" 'unknown job kind "nope2"' "an unknown kind in a bulk INSERT is rejected by name"
assert_eq "$(sql "SELECT count(*) FROM pgkb.jobs")" "2" "... and none of the statement's rows is kept"
out=$(psql -qAtX -c "UPDATE pgkb.jobs SET kind = 'nope3'" 2>&1)
assert_match "$out" 'unknown job kind "nope3"' "an UPDATE to an unknown kind is rejected"
assert_eq "$(sql "SELECT count(*) FROM pgkb.jobs WHERE kind = 'nope3'")" "0" "... and changes nothing"
out=$(psql -qAtX -c "INSERT INTO pgkb.jobs(kind, payload) VALUES ('noop', '[1,2]')" 2>&1)
assert_match "$out" 'payload must be a JSON object, got array' "a non-object payload is rejected"
out=$(psql -qAtX -c "INSERT INTO pgkb.jobs(kind, payload) VALUES ('noop', '{bad')" 2>&1)
assert_match "$out" 'invalid input syntax for type json' "malformed JSON is rejected by Postgres"

# Dedupe keys: a second active job with the same key is not created, by plain INSERT.
sql "INSERT INTO pgkb.jobs(kind, dedupe_key) VALUES ('noop', 'k1')"
sql "INSERT INTO pgkb.jobs(kind, dedupe_key) VALUES ('noop', 'k1'), ('noop', 'k2')"
assert_eq "$(sql "SELECT count(*) FROM pgkb.jobs WHERE dedupe_key = 'k1'")" "1" "duplicate dedupe key skipped"
assert_eq "$(sql "SELECT count(*) FROM pgkb.jobs WHERE dedupe_key = 'k2'")" "1" "other keys in the same statement kept"
# ... concurrently from many sessions
for i in $(seq 1 8); do psql -qAtX -c "INSERT INTO pgkb.jobs(kind, dedupe_key) VALUES ('noop', 'race')" & done; wait
assert_eq "$(sql "SELECT count(*) FROM pgkb.jobs WHERE dedupe_key = 'race'")" "1" "concurrent inserts of one dedupe key create one job"

# The CLI's enqueue and its errors.
id=$("$PGKB" enqueue noop '{"a":1}' --priority 3 --dedupe cli1)
assert_match "$id" '^[0-9]+$' "pgkb enqueue prints the job id"
out=$("$PGKB" enqueue noop '{}' --dedupe cli1 2>&1)
assert_match "$out" 'dedupe key "cli1" exists' "pgkb enqueue reports a dedupe skip"
out=$("$PGKB" enqueue bogus 2>&1); rc=$?
assert_eq "$rc" "1" "pgkb enqueue of an unknown kind exits 1"
assert_match "$out" 'unknown job kind "bogus"' "... with the database's message"

# Wakeups are throttled per kind: a burst of single-row INSERTs sends far fewer NOTIFYs than rows.
notes=$( { echo "LISTEN pgkb_jobs;"; for i in $(seq 1 200); do echo "INSERT INTO pgkb.jobs(kind) VALUES ('noop');"; done; echo "SELECT 1;"; } \
	| psql -qX 2>&1 | grep -c 'Asynchronous notification "pgkb_jobs"')
if [ "$notes" -ge 1 ] && [ "$notes" -lt 200 ]; then pass "200 inserts sent $notes notifications (throttled, at least one)"; else fail "throttled notifications: got $notes for 200 inserts"; fi

# Job kinds are data: a later migration adds one with one INSERT, and the queue accepts it and lists it in its
# position. The worker role reads the kinds (its enqueues are checked against them) but cannot change them.
out=$(PGKB_SCHEMA_DIR=$T_DIR/schema "$PGKB" migrate 2>&1)
assert_match "$out" "applied +999_extra.sql" "a migration adding a job kind applies"
assert_eq "$(sql "INSERT INTO pgkb.jobs(kind) VALUES ('extra') RETURNING kind")" "extra" "the new kind is accepted"
out=$(psql -qAtX -c "INSERT INTO pgkb.jobs(kind, payload) VALUES ('nope', '{}')" 2>&1)
assert_match "$out" 'known kinds: noop, crawl, fetch, extra, ingest, embed' "the rejection lists it in position order"
sql "CREATE ROLE pgkb_kinds_t LOGIN" && sql "SELECT pgkb.grant_worker_role('pgkb_kinds_t')"
out=$(psql -qAtX -U pgkb_kinds_t -c "INSERT INTO pgkb.jobs(kind) VALUES ('extra') RETURNING kind" 2>&1)
assert_eq "$out" "extra" "the worker role enqueues a kind it reads from pgkb.job_kinds"
out=$(psql -qAtX -U pgkb_kinds_t -c "INSERT INTO pgkb.job_kinds VALUES ('evil', 99, 'x')" 2>&1)
assert_match "$out" 'permission denied' "the worker role cannot add a kind"
finish
