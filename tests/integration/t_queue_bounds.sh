#!/usr/bin/env bash
# The queue's bounds (schema/081_queue_bounds.sql, lib/pg/queue.c, workers/core/worker.c): an INSERT that sets a
# column out of its bound (the poison row attempts = 2147483647 among them) is refused with a message saying what
# is allowed; a claim that fails backs off (bounded log lines, no busy loop) and the kind runs again by itself
# once the fault is gone; one claim takes payloads up to a byte budget (always at least one job); an inline
# ingest larger than ingest.max_document_bytes ends with a status naming the bound.
. "$(dirname "$0")/lib.sh"
pg_start
# --- a database with a poison row from before the bounds: the migration that adds them makes it dead, saying why
mkdir -p "$T_DIR/schema_before"
for f in "$PGKB_SRC_DIR"/schema/*.sql; do
	n=$(basename "$f"); [ "${n%%_*}" -lt 81 ] && cp "$f" "$T_DIR/schema_before/"
done
PGKB_SCHEMA_DIR=$T_DIR/schema_before migrate
sql "INSERT INTO pgkb.jobs (kind, payload, attempts) VALUES ('noop', '{}', 2147483647)"
sql "INSERT INTO pgkb.jobs (kind, payload) VALUES ('noop', '{}')"
migrate
assert_eq "$(sql "SELECT string_agg(state || ' ' || attempts || ' ' || (last_error IS NOT NULL), ', ' ORDER BY id) FROM pgkb.jobs")" \
	"dead 5 true, queued 0 false" "migration 081 makes a poison row from before dead (with a last_error), keeps the rest"
assert_match "$(sql "SELECT last_error FROM pgkb.jobs WHERE state = 'dead'")" "broke a bound" "... saying why"
sql "DELETE FROM pgkb.jobs"

# --- columns an INSERT may set are bounded, and the message says what is allowed
refused() { # SQL VALUES-LIST REGEX DESCRIPTION
	local out
	out=$(psql -qAtX -c "INSERT INTO pgkb.jobs $1" 2>&1)
	assert_match "$out" "$2" "$3"
}
refused "(kind, payload, attempts) VALUES ('noop', '{}', 2147483647)" \
	'ERROR: +pgkb: job attempts must be from 0 to max_attempts \(5\), and below it while queued, got 2147483647' \
	"the poison row (attempts 2147483647) is refused, saying what is allowed"
refused "(kind, attempts) VALUES ('noop', -1)" 'job attempts must be .*got -1' "negative attempts are refused"
refused "(kind, attempts, max_attempts) VALUES ('noop', 3, 3)" 'job attempts must be .*below it while queued, got 3' \
	"a queued job without a try left is refused (its claim would break the bound)"
refused "(kind, max_attempts) VALUES ('noop', 0)" 'job max_attempts must be from 1 to 1000, got 0' "max_attempts 0 is refused"
refused "(kind, max_attempts) VALUES ('noop', 2147483647)" 'job max_attempts must be from 1 to 1000, got 2147483647' \
	"a huge max_attempts is refused"
refused "(kind, priority) VALUES ('noop', 32767)" 'job priority must be from -1000 to 1000 .*got 32767' \
	"an out-of-range priority is refused"
refused "(kind, run_at) VALUES ('noop', 'infinity')" 'job run_at must be a finite time .*got infinity' \
	"run_at infinity is refused"
refused "(kind, run_at) VALUES ('noop', '1900-01-01')" 'job run_at must be a finite time .*got 1900' \
	"run_at in 1900 is refused"
refused "(kind, lease_owner) VALUES ('noop', 'someone')" \
	'job lease_owner and lease_until must be NULL unless the job is running.*got queued job leased to someone' \
	"a queued job holding a lease owner is refused"
refused "(kind, state, lease_owner, lease_until) VALUES ('noop', 'running', 'x', 'infinity')" \
	'job lease_owner and lease_until must be .*a lease must end' "a lease that never ends is refused"
refused "(kind, dedupe_key) VALUES ('noop', repeat('k', 600))" 'job dedupe_key must be at most 512 bytes, got 600 bytes' \
	"an overlong dedupe key is refused"
refused "(kind, payload) VALUES ('noop', jsonb_build_object('pad', repeat('x', 40 * 1024 * 1024)))" \
	'job payload must be at most 32 MiB \(33554432 bytes\), got [0-9]{8} bytes' "a 40 MiB payload is refused"
assert_eq "$(sql "INSERT INTO pgkb.jobs (kind, payload, priority, run_at, attempts, max_attempts, dedupe_key)
	VALUES ('noop', '{}', -1000, now() + interval '1 day', 4, 5, 'ok') RETURNING state")" "queued" \
	"a job with every column inside its bound is accepted"
sql "DELETE FROM pgkb.jobs"

# --- a claim that keeps failing backs off, and the kind runs once the fault is gone. The fault is a trigger
# that fails every claim of noop jobs (as the poison row did before the bounds).
sql "CREATE FUNCTION public.t_fail_claims() RETURNS trigger LANGUAGE plpgsql AS \$\$
	BEGIN RAISE EXCEPTION 'simulated claim failure'; END \$\$"
sql "CREATE TRIGGER t_fail_claims BEFORE UPDATE ON pgkb.jobs FOR EACH ROW
	WHEN (OLD.state = 'queued' AND NEW.state = 'running') EXECUTE FUNCTION public.t_fail_claims()"
sql "INSERT INTO pgkb.jobs (kind, payload) SELECT 'noop', jsonb_build_object('log', true) FROM generate_series(1, 100)"
# a 30 s lease: claims of 6 MB payloads take seconds on a loaded machine, and a rescue would claim a job twice
LEASE=30s write_config "$T_DIR/pgkb.yaml" "workers:
  noop: {processes: 1, concurrency: 8}
  ingest: {processes: 0}
  crawl: {processes: 0}
  embed: {processes: 0}"
sup_start "$T_DIR/pgkb.yaml" sup
sleep 6
lines=$(grep -c "claiming noop jobs failed" "$T_DIR/sup.log")
assert_ge "$lines" 1 "the failing claim is logged"
assert_ge 8 "$lines" "... at most once per backoff step ($lines lines in 6 s)"
total=$(grep -c . "$T_DIR/sup.log")
assert_ge 30 "$total" "the whole log stays short: no busy retry loop ($total lines)"
sql "DROP TRIGGER t_fail_claims ON pgkb.jobs"
wait_for "SELECT count(*) = 100 FROM pgkb.noop_log" 20 "jobs run after the fault is gone" &&
	pass "claims resume by themselves within the backoff cap: 100 of 100 jobs done"
assert_match "$(cat "$T_DIR/sup.log")" "claiming noop jobs works again after [0-9]+ failed tries" "recovery is logged once"

# --- one claim takes payloads up to its byte budget (16 MiB), always at least one job. A statement trigger
# records how many jobs each claim took and their stored payload bytes. The padding is hex from md5, which
# barely compresses, so the stored size is close to the real one.
sql "CREATE TABLE public.t_claims (jobs bigint, bytes bigint)"
sql "CREATE FUNCTION public.t_record_claim() RETURNS trigger LANGUAGE plpgsql AS \$\$
	BEGIN
		INSERT INTO public.t_claims SELECT count(*), sum(pg_column_size(n.payload))
		  FROM new_rows n JOIN old_rows o USING (id) WHERE o.state = 'queued' AND n.state = 'running' HAVING count(*) > 0;
		RETURN NULL;
	END \$\$"
sql "CREATE TRIGGER t_record_claim AFTER UPDATE ON pgkb.jobs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION public.t_record_claim()"
kill -STOP $(worker_pids "$SUP_PID") # the jobs go in before any claim sees them
sql "INSERT INTO pgkb.jobs (kind, payload, priority)
	SELECT 'noop', jsonb_build_object('pad', (SELECT string_agg(md5(g::text || '-' || i), '') FROM generate_series(1, 200000) g)), 1
	  FROM generate_series(1, 8) i"
sql "INSERT INTO pgkb.jobs (kind, payload, priority)
	VALUES ('noop', jsonb_build_object('pad', (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 700000) g)), 0)"
kill -CONT $(worker_pids "$SUP_PID")
wait_for "SELECT count(*) = 0 FROM pgkb.jobs" 60 "large-payload jobs done"
assert_eq "$(sql "SELECT sum(jobs) FROM public.t_claims")" "9" "all 9 large-payload jobs were claimed"
assert_eq "$(sql "SELECT count(*) FROM public.t_claims WHERE jobs > 1 AND bytes > 16 * 1024 * 1024")" "0" \
	"no claim of several jobs went past 16 MiB of payload ($(sql "SELECT string_agg(jobs || ' jobs ' || bytes || ' B', ', ') FROM public.t_claims"))"
assert_eq "$(sql "SELECT count(*) FROM public.t_claims WHERE jobs = 1 AND bytes > 16 * 1024 * 1024")" "1" \
	"a 22 MB payload, over the budget alone, is still claimed (alone)"
kill -TERM "$SUP_PID"; wait "$SUP_PID"

# --- inline content larger than ingest.max_document_bytes ends with a status naming the bound
write_config "$T_DIR/ingest.yaml" "workers:
  noop: {processes: 0}
  ingest: {processes: 1}
  crawl: {processes: 0}
  embed: {processes: 0}
ingest:
  max_document_bytes: 1MB"
sup_start "$T_DIR/ingest.yaml" ingest
sql "INSERT INTO pgkb.jobs (kind, payload) VALUES
	('ingest', jsonb_build_object('content', repeat('big words ', 300000), 'url', 'https://inline.example/big')),
	('ingest', jsonb_build_object('content', 'small words', 'url', 'https://inline.example/small'))"
wait_for "SELECT count(*) = 0 FROM pgkb.jobs WHERE kind = 'ingest'" 60 "inline ingests done"
assert_eq "$(sql "SELECT status || ': ' || coalesce(error, '') FROM pgkb.documents WHERE url = 'https://inline.example/big'")" \
	"failed: inline content is 3.0 MB, larger than ingest.max_document_bytes (1.0 MB)" \
	"3 MB of inline content: failed with both sizes"
assert_eq "$(sql "SELECT count(*) FROM public.archon_crawled_pages WHERE url = 'https://inline.example/big'")" "0" "... and no chunks"
assert_eq "$(sql "SELECT status FROM pgkb.documents WHERE url = 'https://inline.example/small'")" "chunked" \
	"small inline content is ingested"
kill -TERM "$SUP_PID"; wait "$SUP_PID"
finish
