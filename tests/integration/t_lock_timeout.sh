#!/usr/bin/env bash
# Session timeouts (database.lock_timeout, statement_timeout, idle_in_transaction_timeout): worker sessions
# carry them. Another session holds archon_crawled_pages in ACCESS EXCLUSIVE mode while an ingest job runs: the
# worker's statements give up after lock_timeout (1 s here), the pool logs the lock timeout and sends the
# request again with backoff (a transient error: no attempt of the job is spent), and the job completes once
# the lock is released, its chunks written once. The session setup (seen in the server's statement log) sets
# the three timeouts; result writes set their own statement_timeout (database.write_statement_timeout).
. "$(dirname "$0")/lib.sh"
PG_TEST_OPTS="-c log_statement=all" pg_start
migrate
LEASE=60s write_config "$T_DIR/pgkb.yaml" "database:
  lock_timeout: 1s
  statement_timeout: 3s
  idle_in_transaction_timeout: 20s
workers:
  ingest: {processes: 1, concurrency: 2}
  noop: {processes: 0}
  crawl: {processes: 0}
  embed: {processes: 0}"
sup_start "$T_DIR/pgkb.yaml" sup
wait_for "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'pgkb-ingest' AND query LIKE 'LISTEN%'" 20 "ingest worker up"

# every worker session sets the three timeouts (the server logs the session setup: log_statement = all)
SETUP="set_config('statement_timeout', '3000ms', false), set_config('lock_timeout', '1000ms', false), set_config('idle_in_transaction_session_timeout', '20000ms', false)"
for i in $(seq 1 50); do
	setup=$(grep -cF "$SETUP" "$T_DIR/server.log")
	[ "$setup" -ge 4 ] && break
	sleep 0.2
done
assert_ge "$setup" 4 "each of the pool's 4 sessions sets statement_timeout, lock_timeout and idle_in_transaction_session_timeout ($setup sessions)"

HOLD=120 # an upper bound: the test ends the lock itself once its checks ran (a slow sanitizer worker needs long)
PGAPPNAME=t_lock_holder psql -qAtX -c "BEGIN; LOCK TABLE archon_crawled_pages IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep($HOLD); COMMIT;" \
	>"$T_DIR/locker.log.txt" 2>&1 &
LOCKER=$!
T_PIDS+=("$LOCKER")
wait_for "SELECT count(*) = 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'archon_crawled_pages' AND l.mode = 'AccessExclusiveLock' AND l.granted" 20 "the table is locked"
locked_at=$(date +%s)
body=$(printf 'Paragraph %d about locks and timeouts in PostgreSQL. ' $(seq 1 200))
id=$(sql "INSERT INTO pgkb.jobs (kind, payload) VALUES ('ingest', jsonb_build_object('content', '$body', 'url', 'note://locked', 'title', 'Locked')) RETURNING id")

# the worker meets the lock, logs it and keeps trying while the lock is held
deadline=$(( $(date +%s) + 20 ))
while [ "$(date +%s)" -lt "$deadline" ] && ! grep -q 'lock timeout' "$T_DIR/sup.log"; do sleep 0.2; done
assert_match "$(grep 'lock timeout' "$T_DIR/sup.log" | head -1)" 'transient error: canceling statement due to lock timeout \(SQLSTATE 55P03\); sending it again' \
	"the worker logs the lock timeout and that it sends the request again"
if kill -0 "$LOCKER" 2>/dev/null; then
	# (not read from archon_crawled_pages: ACCESS EXCLUSIVE blocks readers too, so such a check would wait for
	# the lock to go and race the job's completion; the document row is written in the same transaction)
	assert_eq "$(sql "SELECT state FROM pgkb.jobs WHERE id = $id")" "running" "the job is still running, not failed"
	assert_eq "$(sql "SELECT count(*) FROM pgkb.documents WHERE url = 'note://locked' AND status IN ('chunked', 'ready')")" "0" \
		"... and its document is not written while the lock is held"
else
	fail "the lock was released before the checks (machine too slow?)"
fi
# keep it until the worker has sent its request again at least once, then release it: end the locker's session,
# which aborts its transaction
for _ in $(seq 1 100); do grep -q 'try 2 of' "$T_DIR/sup.log" && break; sleep 0.2; done
sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 't_lock_holder'" >/dev/null
wait "$LOCKER"
wait_for "SELECT count(*) = 0 FROM pgkb.jobs WHERE id = $id" 30 "the job completes after the lock is released" &&
	pass "the job completed after the lock went ($(( $(date +%s) - locked_at )) s after it was taken)"
assert_eq "$(sql "SELECT state || ':' || attempts FROM pgkb.job_history WHERE id = $id")" "succeeded:1" \
	"the job succeeded on its first attempt (a lock timeout spends no attempt)"
assert_eq "$(sql "SELECT status FROM pgkb.documents WHERE url = 'note://locked'")" "chunked" "its document is chunked"
chunks=$(sql "SELECT count(*) FROM archon_crawled_pages WHERE url = 'note://locked'")
assert_ge "$chunks" 2 "its chunks are written ($chunks)"
assert_eq "$(sql "SELECT count(DISTINCT chunk_number) FROM archon_crawled_pages WHERE url = 'note://locked'")" "$chunks" \
	"each chunk written once"
assert_match "$(grep 'after [0-9]* transient failures' "$T_DIR/sup.log" | head -1)" 'succeeded after [0-9]+ transient failures' \
	"the log says when the request went through"

# the result writes raise statement_timeout for their own transaction (database.write_statement_timeout)
assert_ge "$(grep -c "pgkb_set_write_timeout.*statement_timeout" "$T_DIR/server.log")" 1 "result writes are prepared with their own statement_timeout"
assert_match "$(grep -A1 'execute pgkb_set_write_timeout' "$T_DIR/server.log" | head -2)" "300000ms" "... 5 minutes by default"
out=$("$SUPERVISOR" -c "$T_DIR/pgkb.yaml" --check)
assert_match "$out" 'lock_timeout: 1s' "--check shows database.lock_timeout"
assert_match "$out" 'statement_timeout: 3s' "--check shows database.statement_timeout"
assert_match "$out" 'write_statement_timeout: 5m' "--check shows database.write_statement_timeout's default"

kill -TERM "$SUP_PID"; wait "$SUP_PID"
finish
