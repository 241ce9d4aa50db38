#!/usr/bin/env bash
# Group commit of job results: the results of jobs that finish together share one transaction (one fence,
# their rows in one statement, one completion); when one job's writes fail, that job alone fails with the
# error and every other job of its group is still recorded exactly once.
. "$(dirname "$0")/lib.sh"
pg_start
migrate
# a write that fails for one job only: the poisoned payload breaks a constraint of the log table
sql "ALTER TABLE pgkb.noop_log ADD CONSTRAINT no_poison CHECK (payload ->> 'poison' IS NULL)"
write_config "$T_DIR/pgkb.yaml" "workers:
  noop: {processes: 1, concurrency: 64}
  ingest: {processes: 0}
  crawl: {processes: 0}
  embed: {processes: 0}"
sup_start "$T_DIR/pgkb.yaml" sup
wait_for "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'pgkb-noop' AND query LIKE 'LISTEN%'" 20 "worker connected"

poison=$(sql "WITH j AS (
	INSERT INTO pgkb.jobs (kind, payload, max_attempts)
	SELECT 'noop', jsonb_build_object('log', true, 'note', E'quote \" backslash \\\\ {brace}, comma NULL')
	               || CASE WHEN g = 30 THEN '{\"poison\": 1}' ELSE '{}' END::jsonb, 1
	  FROM generate_series(1, 60) g ORDER BY g RETURNING id, payload)
	SELECT id FROM j WHERE payload ? 'poison'")
wait_for "SELECT count(*) = 0 FROM pgkb.jobs WHERE kind = 'noop' AND state IN ('queued', 'running')" 30 "all jobs finished"

assert_eq "$(sql "SELECT count(*) FROM pgkb.job_history WHERE kind = 'noop' AND state = 'succeeded'")" "59" \
	"every job but the poisoned one succeeded"
assert_eq "$(sql "SELECT count(*) || ' ' || count(DISTINCT job_id) FROM pgkb.noop_log")" "59 59" \
	"each succeeded job is logged exactly once"
assert_eq "$(sql "SELECT count(*) FROM pgkb.noop_log WHERE payload ->> 'note' = E'quote \" backslash \\\\ {brace}, comma NULL'")" "59" \
	"values with quotes, backslashes, braces and commas survive the rows' array literals"
assert_eq "$(sql "SELECT count(*) FROM pgkb.noop_log WHERE job_id = $poison")" "0" "the poisoned job wrote nothing"
assert_eq "$(sql "SELECT state FROM pgkb.jobs WHERE id = $poison")" "dead" "the poisoned job failed (one attempt)"
assert_match "$(sql "SELECT last_error FROM pgkb.jobs WHERE id = $poison")" \
	"writing the job's results failed: .*violates check constraint \"no_poison\"" "... with the database's error"
# xmin is the inserting transaction: fewer transactions than rows means results were committed together
assert_eq "$(sql "SELECT count(DISTINCT xmin::text) < count(*) FROM pgkb.noop_log")" "t" \
	"jobs that finished together committed in shared transactions"
assert_eq "$(sql "SELECT count(*) FROM pgkb.job_history h JOIN pgkb.noop_log l ON l.job_id = h.id AND l.attempt = h.attempts")" "59" \
	"each log row belongs to the attempt that completed"
kill -TERM "$SUP_PID"; wait "$SUP_PID"
finish
