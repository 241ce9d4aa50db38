#!/usr/bin/env bash
# Bad jobs and the CLI: a malformed payload fails that job (dead, readable last_error), never the worker;
# failures back off and end dead after max_attempts; jobs --dead, retry, cancel (also of a running job), status.
. "$(dirname "$0")/lib.sh"
pg_start
migrate
write_config "$T_DIR/pgkb.yaml" "workers:
  noop: {processes: 1, concurrency: 8}
  ingest: {processes: 0}
  crawl: {processes: 0}
  embed: {processes: 0}"
# history older than queue.history_retention (7 days by default) is pruned by the workers
sql "INSERT INTO pgkb.job_history (id, kind, payload, priority, state, attempts, created_at, finished_at)
     VALUES (-1, 'noop', '{}', 0, 'succeeded', 1, now() - interval '9 days', now() - interval '8 days'),
            (-2, 'noop', '{}', 0, 'succeeded', 1, now() - interval '2 days', now() - interval '1 day')"
sup_start "$T_DIR/pgkb.yaml" sup
wait_for "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'pgkb-noop' AND query LIKE 'LISTEN%'" 20 "worker up"
worker=$(worker_pids "$SUP_PID")
wait_for "SELECT NOT EXISTS (SELECT 1 FROM pgkb.job_history WHERE id = -1)" 10 "history older than the retention pruned"
assert_eq "$(sql 'SELECT count(*) FROM pgkb.job_history WHERE id = -2')" "1" "recent history kept"

bad=$("$PGKB" enqueue noop '{"sleep_ms": "soon"}')
wait_for "SELECT state = 'dead' FROM pgkb.jobs WHERE id = $bad" 10 "malformed payload: job dead"
assert_eq "$(sql "SELECT last_error FROM pgkb.jobs WHERE id = $bad")" 'noop: "sleep_ms" must be an integer from 0 to 86400000' "malformed payload: readable last_error"
assert_eq "$(sql "SELECT attempts FROM pgkb.jobs WHERE id = $bad")" "1" "malformed payload: not retried"

flaky=$("$PGKB" enqueue noop '{"fail": "upstream said no"}' --max-attempts 2)
wait_for "SELECT state = 'dead' FROM pgkb.jobs WHERE id = $flaky" 20 "failing job: dead after max_attempts"
assert_eq "$(sql "SELECT attempts || ' ' || last_error FROM pgkb.jobs WHERE id = $flaky")" "2 upstream said no" "failing job: 2 attempts, last_error kept"
gap=$(sql "SELECT 1")
assert_eq "$(worker_pids "$SUP_PID")" "$worker" "the worker survived the bad jobs"

out=$("$PGKB" jobs --dead)
assert_match "$out" "$bad +noop +dead +1/5" "jobs --dead lists the malformed job"
assert_match "$out" "upstream said no" "jobs --dead shows last_error"
assert_match "$("$PGKB" status)" "noop +dead +2" "status counts dead jobs"
assert_match "$("$PGKB" status)" "Dead jobs: 2" "status shows the dead total"

sql "UPDATE pgkb.jobs SET payload = '{\"log\": true}' WHERE id = $flaky"
assert_match "$("$PGKB" retry "$flaky")" "queued to run now" "retry of a dead job"
wait_for "SELECT count(*) = 1 FROM pgkb.job_history WHERE id = $flaky AND state = 'succeeded'" 10 "retried job succeeded"
out=$("$PGKB" retry "$flaky" 2>&1); rc=$?
assert_eq "$rc" "1" "retry of a finished job fails"
assert_match "$out" "already finished \\(succeeded" "... saying it already finished"

later=$("$PGKB" enqueue noop '{}' --run-at '2099-01-01')
assert_match "$("$PGKB" cancel "$later")" "job $later cancelled" "cancel of a scheduled job"
assert_eq "$(sql "SELECT state FROM pgkb.job_history WHERE id = $later")" "cancelled" "cancelled job in history"

running=$("$PGKB" enqueue noop '{"sleep_ms": 1500, "log": true}')
wait_for "SELECT state = 'running' FROM pgkb.jobs WHERE id = $running" 10 "job running"
assert_match "$("$PGKB" cancel "$running")" "was running on .*result will be discarded" "cancel of a running job"
sleep 2.5
assert_eq "$(sql "SELECT count(*) FROM pgkb.noop_log WHERE job_id = $running")" "0" "the cancelled job's result was discarded"
assert_eq "$(sql "SELECT string_agg(state, ',') FROM pgkb.job_history WHERE id = $running")" "cancelled" "no success recorded for it"

out=$("$PGKB" retry 999999 2>&1); rc=$?
assert_match "$out" "no job 999999" "retry of an unknown id"
out=$("$PGKB" frobnicate 2>&1); rc=$?
assert_eq "$rc" "2" "an unknown command exits 2"
out=$(PGPORT=1 "$PGKB" status 2>&1); rc=$?
assert_eq "$rc" "1" "an unreachable database exits 1"
assert_match "$out" "^pgkb: cannot connect to host=127.0.0.1 port=1" "... with a readable error"
kill -TERM "$SUP_PID"; wait "$SUP_PID"
finish
